"""The feed package."""

from flask import Flask


def init_app(app: Flask) -> None:
    """Connect this package's signal receivers, CLI commands and health checks."""
