"""Operator commands: ``flask accounts grant-role``, plus each package's own groups."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from app.accounts.models import ROLES
from app.accounts.service import grant_role as grant

accounts_cli = AppGroup("accounts", help="Manage accounts.")


@accounts_cli.command("grant-role")
@click.argument("username")
@click.argument("role", type=click.Choice(ROLES))
def grant_role(username: str, role: str) -> None:
    """Give USERNAME the moderator or admin role (roles never come from the API)."""
    if current_app.config["MONGO_BACKEND"] == "mongomock":
        raise click.ClickException(
            "No MONGODB_URI is set: the embedded store lives inside the server process and "
            "cannot be reached from here. Start the server with ADMIN_USERNAME and "
            "ADMIN_PASSWORD to get an admin account in the embedded default."
        )
    try:
        account = grant(username, role)
    except LookupError:
        raise click.ClickException(f"no account named {username!r}") from None
    click.echo(f"{account.username} now has roles: {', '.join(account.roles)}")


def init_app(app: Flask) -> None:
    app.cli.add_command(accounts_cli)
