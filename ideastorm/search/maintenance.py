"""Keeping the whole index true to the database: rebuild aside and swap, and list every difference."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..extensions import db
from ..timeutil import utcnow
from . import backend, documents, indexer
from .interface import Difference, IndexBusy

# Changes the indexer finished with this long before a rebuild began are certainly visible
# to it; the margin covers clocks of other processes and transactions that were committing at
# that moment. What workers indexed into the old index meanwhile is indexed again after the swap.
CATCH_UP_MARGIN = timedelta(seconds=30)


def rebuild_index(progress=None, *, only_if_missing: bool = False) -> int | None:
    """Build a new index from the database, swap it in, then re-index what changed meanwhile.

    The new index's marker is the last outbox event recorded before it began: whatever those
    events changed is in what it reads, or re-indexed by the catch-up. With ``only_if_missing``,
    None when another process built the missing index first.
    """
    from ..outbox import OutboxEvent

    began = utcnow()
    with Session(db.engine) as session:
        through = session.scalar(select(func.max(OutboxEvent.id)))
        total = documents.count_indexable(session)
        if not backend().rebuild(documents.all_documents(session), total, progress, through=through,
                                 only_if_missing=only_if_missing):
            return None
    changed = indexer.changed_since(began - CATCH_UP_MARGIN)
    for attempt in range(1, 31):  # workers hold the lock for moments only
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
