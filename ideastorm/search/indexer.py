"""The outbox handler that keeps the index following the database.

Every event names what changed; the handler re-reads those ideas from the database and
indexes them, or removes them (hidden, gone), so processing an event twice is harmless.
All pending events of a drain go into one index commit. When another process holds the
index's write lock beyond a short wait, the events are left pending (``outbox.Deferred``):
that process drains again after releasing the lock and finds them.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from .. import outbox
from ..extensions import db
from . import backend, documents
from .interface import IndexBusy

IDEA_TOPICS = (
    "idea.created", "idea.updated", "idea.voted", "idea.commented", "idea.status_changed", "idea.visibility",
)
TOPICS = (*IDEA_TOPICS, "category.updated", "user.updated")


def affected_ideas(session: Session, events: Iterable[outbox.OutboxEvent]) -> set[int]:
    ids: set[int] = set()
    for event in events:
        payload = event.payload or {}
        if event.topic in IDEA_TOPICS and "idea_id" in payload:
            ids.add(int(payload["idea_id"]))
        elif event.topic == "category.updated":
            ids.update(documents.ideas_in_category(session, int(payload["category_id"])))
        elif event.topic == "user.updated":
            ids.update(documents.ideas_by_author(session, int(payload["user_id"])))
    return ids


def reindex(idea_ids: Collection[int]) -> None:
    """Index these ideas as the database has them now (remove those not to be indexed)."""
    if not idea_ids:
        return

    def load(ids: Collection[int]):
        # A session of its own, opened under the index lock: it sees every commit made so far.
        with Session(db.engine) as session:
            yield from documents.documents_for(session, ids)

    backend().apply(idea_ids, load)


def handle(events: list[outbox.OutboxEvent]) -> None:
    with Session(db.engine) as session:
        ids = affected_ideas(session, events)
    try:
        reindex(ids)
    except IndexBusy:
        raise outbox.Deferred from None


def changed_since(moment: datetime) -> set[int]:
    """Ideas named by events recorded or processed since ``moment``, or still pending (rebuild catch-up)."""
    with Session(db.engine) as session:
        events = session.scalars(
            select(outbox.OutboxEvent).where(
                outbox.OutboxEvent.topic.in_(TOPICS),
                or_(outbox.OutboxEvent.processed_at.is_(None), outbox.OutboxEvent.processed_at >= moment,
                    outbox.OutboxEvent.created_at >= moment),
            )
        ).all()
        return affected_ideas(session, events)
