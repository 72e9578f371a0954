"""``flask search``: rebuild the index, run the catch-up sweep, show the index's state."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext
from tqdm import tqdm

from search import indexing
from search.backend import get_engine
from search.engine import SearchUnavailable

search_cli = AppGroup("search", help="Manage the search index.")


def _refuse_embedded_store() -> None:
    if current_app.config.get("MONGO_BACKEND") == "mongomock" and not current_app.testing:
        raise click.ClickException(
            "No MONGODB_URI is set: the embedded store lives inside the server process, so "
            "this command would see no posts and build an empty index. The embedded server "
            "indexes as content changes; set MONGODB_URI to rebuild from a real MongoDB."
        )


@search_cli.command("reindex")
@with_appcontext
def reindex_command() -> None:
    """Rebuild the index from MongoDB (new index, bulk load, atomic swap) with a progress bar."""
    _refuse_embedded_store()
    total = indexing.count_sources()
    engine = get_engine()
    with tqdm(total=total, unit="doc", desc=f"reindex ({engine.name})") as bar:
        try:
            written = indexing.reindex(progress=bar.update)
        except SearchUnavailable as exc:
            raise click.ClickException(f"search engine unavailable: {exc}") from None
    click.echo(f"indexed {written} documents from {total} posts and accounts")


@search_cli.command("sweep")
@with_appcontext
def sweep_command() -> None:
    """Index whatever changed but is not indexed yet (what the periodic job does)."""
    _refuse_embedded_store()
    click.echo(indexing.sweep())


@search_cli.command("status")
@with_appcontext
def status_command() -> None:
    """Which engine is configured, whether it answers, and how many documents it holds."""
    engine = get_engine()
    up = engine.ping()
    click.echo(f"engine: {engine.name}")
    click.echo(f"reachable: {'yes' if up else 'no'}")
    if up:
        click.echo(f"documents: {engine.count()}")
    click.echo(f"waiting to be indexed: {len(indexing.dirty_keys())}")
