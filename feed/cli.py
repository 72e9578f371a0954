"""``flask feeds rebuild`` and ``flask demo load``, with progress bars."""

from __future__ import annotations

import click
from flask.cli import AppGroup
from tqdm import tqdm

from app.accounts.models import Account
from app.accounts.service import username_key
from feed import graph, timeline
from feed.demo import load_demo

feeds_cli = AppGroup("feeds", help="Maintain home timelines.")
demo_cli = AppGroup("demo", help="Demo data.")


@feeds_cli.command("rebuild")
@click.option("--account", "username", help="Only this account (username).")
def rebuild(username: str | None) -> None:
    """Rebuild home timelines from MongoDB (all accounts, or one)."""
    graph.rebuild_big_authors()
    query = Account.objects(username_key=username_key(username)) if username else Account.objects
    total = query.count()
    if username and not total:
        raise click.ClickException(f"no account named {username!r}")
    entries = 0
    for account in tqdm(query, total=total, unit="timeline", desc="rebuilding"):
        entries += timeline.rebuild(account)
    click.echo(f"rebuilt {total} timelines with {entries} entries")


@demo_cli.command("load")
@click.option("--fans", default=1000, show_default=True)
def load(fans: int) -> None:
    """Load the demo: brands, influencers, fans, follows, posts and headlines."""
    summary = load_demo(fans=fans, progress=True)
    click.echo(", ".join(f"{v} {k}" for k, v in summary.items()))
