import click
from flask.cli import AppGroup

from . import outbox

outbox_cli = AppGroup("outbox", help="After-commit work queue.")


@outbox_cli.command("drain")
def drain_command() -> None:
    """Process every pending event (indexing, notifications)."""
    total = outbox.drain_all()
    click.echo(f"{total} event(s) processed, {outbox.pending_count()} still pending.")
