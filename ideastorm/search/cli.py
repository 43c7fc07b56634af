from datetime import timedelta

import click
from flask.cli import AppGroup
from sqlalchemy.orm import Session

from ..extensions import db
from ..timeutil import utcnow
from . import backend, documents, indexer
from .interface import Difference, IndexBusy

search_cli = AppGroup("search", help="Full-text search index.")

# Events processed this long before a rebuild began are certainly visible to it; the margin
# covers clocks of other processes and transactions that were committing at that moment.
CATCH_UP_MARGIN = timedelta(seconds=30)


def rebuild_index(progress=None) -> int:
    """Build a new index from the database, swap it in, then re-index what changed meanwhile."""
    began = utcnow()
    with Session(db.engine) as session:
        total = documents.count_indexable(session)
        backend().rebuild(documents.all_documents(session), total, progress)
    changed = indexer.changed_since(began - CATCH_UP_MARGIN)
    for attempt in range(1, 31):  # drainers hold the lock for moments only
        try:
            indexer.reindex(changed)
            break
        except IndexBusy:
            if attempt == 30:
                raise
    return total


def differences() -> list[Difference]:
    """Every idea whose indexed fingerprint differs from the database's (verify)."""
    indexed = backend().fingerprints()
    found: list[Difference] = []
    with Session(db.engine) as session:
        for document in documents.all_documents(session):
            fingerprint = indexed.pop(document.id, None)
            if fingerprint is None:
                found.append(Difference(document.id, "missing from the index"))
            elif fingerprint != document.fingerprint():
                found.append(Difference(document.id, "stale (the index differs from the database)"))
    found += [Difference(idea_id, "indexed but should not be (hidden or deleted)") for idea_id in indexed]
    return sorted(found, key=lambda d: d.idea_id)


@search_cli.command("rebuild")
@click.option("--if-empty", is_flag=True,
              help="Only when the index holds nothing while the database has ideas (first start).")
def rebuild_command(if_empty: bool) -> None:
    """Rebuild the index from the database aside, then swap it in (searches keep working)."""
    with Session(db.engine) as session:
        total = documents.count_indexable(session)
    if if_empty and (backend().document_count() or not total):
        click.echo("The search index is already in use; nothing to do.")
        return
    with click.progressbar(length=total, label="Indexing ideas") as bar:
        indexed = rebuild_index(progress=bar.update)
    click.echo(f"Indexed {indexed} ideas; the new index is in use.")


@search_cli.command("verify")
def verify_command() -> None:
    """List every difference between the index and the database; exit 1 if there is any."""
    found = differences()
    for difference in found:
        click.echo(f"idea {difference.idea_id}: {difference.problem}")
    if found:
        click.echo(f"{len(found)} difference(s) between the search index and the database.")
        raise SystemExit(1)
    click.echo("The search index matches the database.")
