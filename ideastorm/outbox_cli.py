"""`flask outbox list|replay|drain`: what the worker has left to do, what died, and trying it again."""

from __future__ import annotations

from datetime import datetime

import click
from flask.cli import AppGroup

from . import outbox
from .worker import summary

outbox_cli = AppGroup("outbox", help="After-commit work: deliveries per subscriber.")


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S") if moment else "-"


def _line(delivery: outbox.DeliveryInfo) -> str:
    if delivery.dead_at:
        state = f"dead {_when(delivery.dead_at)}"
    elif delivery.leased_until:
        state = f"running on {delivery.leased_by} until {_when(delivery.leased_until)}"
    else:
        state = f"next attempt {_when(delivery.next_attempt_at)}"
    error = (delivery.last_error or "").splitlines()[0][:200] if delivery.last_error else "-"
    return (f"delivery {delivery.id}  event {delivery.event_id}  {delivery.topic}  {delivery.subscriber}  "
            f"attempts {delivery.attempts}  created {_when(delivery.created_at)}  {state}  error: {error}")


@outbox_cli.command("list")
@click.option("--dead", "dead_only", is_flag=True, help="Only the dead deliveries (out of attempts).")
@click.option("--limit", type=click.IntRange(min=1), default=100, show_default=True,
              help="At most this many lines.")
def list_command(dead_only: bool, limit: int) -> None:
    """One line per delivery not yet made (pending or dead): event, topic, subscriber, attempts, last error, times."""
    found = outbox.deliveries(dead_only=dead_only, limit=limit + 1)
    for delivery in found[:limit]:
        click.echo(_line(delivery))
    if len(found) > limit:
        click.echo(f"Only the first {limit} are shown (--limit).")
    elif not found:
        click.echo("No dead deliveries." if dead_only else "No pending or dead deliveries.")


@outbox_cli.command("replay")
@click.argument("delivery_ids", nargs=-1, type=int)
@click.option("--all-dead", is_flag=True, help="Every dead delivery.")
def replay_command(delivery_ids: tuple[int, ...], all_dead: bool) -> None:
    """Make dead deliveries (by the ids `outbox list` shows) due now, with their attempts reset."""
    if bool(delivery_ids) == all_dead:
        raise click.UsageError("Give the ids of dead deliveries or --all-dead (not both).")
    try:
        replayed = outbox.replay(delivery_ids, all_dead=all_dead)
    except LookupError as missing:
        ids = ", ".join(str(i) for i in missing.args[0])
        raise click.ClickException(
            f"Not dead deliveries (see `flask outbox list --dead`): {ids}; nothing replayed.") from None
    click.echo(f"{len(replayed)} delivery(ies) due again; a running worker delivers them now.")


@outbox_cli.command("drain")
def drain_command() -> None:
    """Deliver everything due now, then exit (the same as `flask worker --once`)."""
    click.echo(summary(outbox.drain_all()))
