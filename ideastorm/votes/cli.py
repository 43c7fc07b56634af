import sys

import click
from flask.cli import AppGroup

from ..extensions import db
from .verify import find_differences, repair

votes_cli = AppGroup("votes", help="Vote counters.")


@votes_cli.command("verify")
@click.option("--fix", is_flag=True, help="Write the recounted values into the counters.")
def verify_command(fix: bool) -> None:
    """Recount every idea's votes and list each counter that differs (exit 1 if any)."""
    differences = find_differences()
    for d in differences:
        click.echo(f"idea {d.idea_id}: {d.field} is {d.stored}, the votes say {d.counted}")
    if not differences:
        click.echo("0 differences: every counter equals the stored votes.")
        return
    click.echo(f"{len(differences)} difference(s).")
    if fix:
        repair(differences)
        db.session.commit()
        click.echo("Repaired.")
    sys.exit(1)


@votes_cli.command("void-banned")
def void_banned_command() -> None:
    """Delete every vote cast by a banned member and recount the ideas they were on (audited)."""
    from ..integrity.services import void_banned_votes

    result = void_banned_votes(None)
    db.session.commit()
    click.echo(f"{result.votes} vote(s) of banned accounts voided on {result.ideas} idea(s).")
