"""``flask privacy``: an operator answering a member's request by email, and the retention job by hand."""

from __future__ import annotations

import json

import click
from flask.cli import AppGroup
from sqlalchemy import select

from ..accounts.models import User
from ..accounts.services import normalize_email
from ..cli import domain_command
from ..extensions import db
from .services import delete_member, erase_old_networks, export_member

privacy_cli = AppGroup("privacy", help="Members' data: export, deletion, retention.")


def _member(email: str) -> User:
    user = db.session.scalar(select(User).where(User.email == normalize_email(email), User.deleted_at.is_(None)))
    if user is None:
        raise click.ClickException(f"No account with the email {email!r}.")
    return user


@privacy_cli.command("export")
@click.argument("email")
@domain_command
def export_command(email: str) -> None:
    """Print everything stored about the member with this EMAIL, as JSON (what /account/export downloads)."""
    click.echo(json.dumps(export_member(_member(email)), ensure_ascii=False, indent=2))


@privacy_cli.command("delete")
@click.argument("email")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@domain_command
def delete_command(email: str, yes: bool) -> None:
    """Erase the member with this EMAIL as /account/delete does (ideas and comments stay, under "Deleted member")."""
    user = _member(email)
    if not yes:
        click.confirm(f"Erase the account {user.email} (id {user.id})?", abort=True)
    delete_member(user)
    click.echo(f"Account {user.id} deleted.")


@privacy_cli.command("retention")
@domain_command
def retention_command() -> None:
    """Erase the network prefixes older than VOTE_NETWORK_RETENTION_DAYS now (the worker does it every hour)."""
    votes, accounts = erase_old_networks()
    click.echo(f"Network prefixes erased: {votes} vote(s), {accounts} account(s).")
