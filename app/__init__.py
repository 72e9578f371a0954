"""Fanhub's core (config, errors, Redis and database wiring, signals, auth primitives), the
accounts and push domains, the delivery layer (REST plumbing, pages, Socket.IO) and the app
factory (``app.factory.create_app``). The layers are drawn in pyproject.toml's import-linter
contracts and in ARCHITECTURE.md."""
