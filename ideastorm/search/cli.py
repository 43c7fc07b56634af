import click
from flask.cli import AppGroup
from sqlalchemy.orm import Session

from ..extensions import db
from . import backend, documents
from .interface import SearchUnavailable
from .maintenance import differences, rebuild_index

search_cli = AppGroup("search", help="Full-text search index.")

@search_cli.command("rebuild")
@click.option("--if-empty", is_flag=True,
              help="Only when the index holds nothing while the database has ideas (first start).")
def rebuild_command(if_empty: bool) -> None:
    """Rebuild the index from the database aside, then swap it in (searches keep working)."""
    with Session(db.engine) as session:
        total = documents.count_indexable(session)
    try:
        indexed = backend().document_count()
    except SearchUnavailable as exc:
        if not exc.missing:
            raise click.ClickException(f"The search index is unavailable: {exc}") from None
        indexed = 0  # no index at all: build it
    if if_empty and (indexed or not total):
        click.echo("The search index is already in use; nothing to do.")
        return
    with click.progressbar(length=total, label="Indexing ideas") as bar:
        indexed = rebuild_index(progress=bar.update)
    click.echo(f"Indexed {indexed} ideas; the new index is in use.")


@search_cli.command("verify")
def verify_command() -> None:
    """List every difference between the index and the database; exit 1 if there is any."""
    try:
        found = differences()
    except SearchUnavailable as exc:
        click.echo(f"The search index is unavailable: {exc}. `flask search rebuild` builds it from the database.")
        raise SystemExit(1) from None
    for difference in found:
        click.echo(f"idea {difference.idea_id}: {difference.problem}")
    if found:
        click.echo(f"{len(found)} difference(s) between the search index and the database.")
        raise SystemExit(1)
    click.echo("The search index matches the database.")
