"""``flask notifications digest``: queue the daily digest emails (the worker sends them)."""

from __future__ import annotations

from datetime import date, timedelta

import click
from flask.cli import with_appcontext

from ..extensions import db
from ..timeutil import utcnow
from .digest import queue_digests

notifications_cli = click.Group("notifications", help="Notifications and their emails.")


@notifications_cli.command("digest")
@click.option("--day", "day_text", metavar="YYYY-MM-DD",
              help="The (UTC) day whose notifications to gather; yesterday by default.")
@with_appcontext
def digest_command(day_text: str | None) -> None:
    """Queue one digest email per member for a day's notifications; run again, it queues nothing twice."""
    if day_text:
        try:
            day = date.fromisoformat(day_text)
        except ValueError:
            raise click.BadParameter(f"{day_text!r} is not a date like 2026-12-01", param_hint="--day") from None
    else:
        day = utcnow().date() - timedelta(days=1)
    queued = queue_digests(day)
    db.session.commit()
    click.echo(f"{queued} digest(s) queued for {day.isoformat()}; the worker sends them.")
