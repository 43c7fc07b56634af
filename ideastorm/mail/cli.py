"""`flask mail list|resend`: emails not sent (waiting, interrupted by a crash, refused, failed), and resending one."""

from __future__ import annotations

from datetime import datetime

import click
from flask.cli import AppGroup

from ..extensions import db
from . import services
from .models import OutgoingEmail

mail_cli = AppGroup("mail", help="Emails: those not sent, and sending one again.")


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S") if moment else "-"


def _state(email: OutgoingEmail) -> str:
    if email.interrupted_at:
        return f"interrupted {_when(email.interrupted_at)} (may have reached the server)"
    if email.skipped_reason:
        return f"not sent: {email.skipped_reason}"
    if email.sending_at:
        return f"being sent since {_when(email.sending_at)}"
    return "waiting"


def _line(email: OutgoingEmail) -> str:
    error = (email.last_error or "").splitlines()[0][:200] if email.last_error else "-"
    return (f"email {email.id}  {email.kind}  user {email.user_id}  {email.message_id}"
            f"  created {_when(email.created_at)}  attempts {email.attempts}  {_state(email)}  error: {error}")


@mail_cli.command("list")
@click.option("--interrupted", is_flag=True, help="Only those cut off by a crash while being sent.")
@click.option("--failed", is_flag=True, help="Only those with an error (refused, unreachable server, ...).")
@click.option("--limit", type=click.IntRange(min=1), default=100, show_default=True, help="At most this many lines.")
def list_command(interrupted: bool, failed: bool, limit: int) -> None:
    """One line per email not sent, newest first: kind, recipient, Message-ID, attempts, state, last error."""
    found = services.listing(interrupted=interrupted, failed=failed, limit=limit + 1)
    for email in found[:limit]:
        click.echo(_line(email))
    if len(found) > limit:
        click.echo(f"Only the first {limit} are shown (--limit).")
    elif not found:
        click.echo("No email to show.")


@mail_cli.command("resend")
@click.argument("email_id", type=int)
def resend_command(email_id: int) -> None:
    """Send an email that was not sent (interrupted, refused, failed) again, with the same Message-ID."""
    try:
        services.resend(email_id)
    except LookupError:
        raise click.ClickException(f"There is no email {email_id} (see `flask mail list`).") from None
    except ValueError as error:
        raise click.ClickException(f"Not sent again: {error}.") from None
    db.session.commit()
    click.echo(f"Email {email_id} queued again; a running worker sends it now.")
