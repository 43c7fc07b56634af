import click
from flask.cli import AppGroup
from sqlalchemy import func, select

from ..extensions import db
from ..ideas.models import Idea
from .seed import seed, steps

demo_cli = AppGroup("demo", help="Demo data.")


@demo_cli.command("seed")
@click.option("--ideas", default=300, show_default=True, type=click.IntRange(0, 2_000_000))
@click.option("--users", default=60, show_default=True, type=click.IntRange(1, 1_000_000))
@click.option("--votes", default=3000, show_default=True, type=click.IntRange(0, 50_000_000))
@click.option("--seed", "seed_value", default=1, show_default=True, type=int, help="Same seed, same data.")
@click.option("--if-empty", is_flag=True, help="Do nothing when the site already has ideas.")
def seed_command(ideas: int, users: int, votes: int, seed_value: int, if_empty: bool) -> None:
    """Add realistic demo users, ideas, votes, comments and triage history."""
    if if_empty and db.session.scalar(select(func.count()).select_from(Idea)):
        click.echo("The site already has ideas; no demo data added.")
        return
    with click.progressbar(length=steps(ideas, users, votes), label="Seeding demo data") as bar:
        report = seed(ideas=ideas, users=users, votes=votes, seed=seed_value, progress=bar.update)
    db.session.commit()
    from ..search import index_ideas

    index_ideas(report.idea_ids)  # the bulk inserts emit no outbox events: the index is filled here
    click.echo(
        f"Added {report.users} users, {report.ideas} ideas, {report.votes} votes and {report.comments} comments."
    )
