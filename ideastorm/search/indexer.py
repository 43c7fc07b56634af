"""The outbox subscriber that keeps the index following the database (``search-index``).

Every event names what changed; the handler re-reads those ideas from the database and
indexes them, or removes them (hidden, gone), so handling an event twice is harmless. It is
a batch subscriber: every due event goes into one index commit, each idea once however many
events name it. When another process holds the index's write lock beyond a short wait, the
handler raises ``outbox.Deferred`` and the worker tries again a moment later.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime

from flask import has_request_context
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from .. import outbox
from ..extensions import db
from . import backend, documents
from .interface import IndexBusy

IDEA_TOPICS = (
    "idea.created", "idea.updated", "idea.voted", "idea.commented", "idea.status_changed", "idea.visibility",
)
TOPICS = (*IDEA_TOPICS, "category.updated", "user.updated")
SUBSCRIBER = "search-index"


def affected_ideas(session: Session, events: Iterable[outbox.Event]) -> set[int]:
    """The ideas these events name, directly or through their category or author (each once)."""
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
    if has_request_context():
        raise RuntimeError("The search index is written by the worker (`flask worker`), never inside a web request")
    if not idea_ids:
        return

    def load(ids: Collection[int]):
        # A session of its own, opened under the index lock: it sees every commit made so far.
        with Session(db.engine) as session:
            yield from documents.documents_for(session, ids)

    backend().apply(idea_ids, load)


def handle(events: list[outbox.Event]) -> None:
    """Index the ideas these events name, in one index commit."""
    with Session(db.engine) as session:
        ids = affected_ideas(session, events)
    try:
        reindex(ids)
    except IndexBusy:
        raise outbox.Deferred from None


def changed_since(moment: datetime) -> set[int]:
    """Ideas named by events the indexer has not finished with, or finished with since ``moment`` (rebuild catch-up)."""
    event, delivery = outbox.OutboxEvent, outbox.OutboxDelivery
    with Session(db.engine) as session:
        rows = session.execute(
            select(event.topic, event.payload).join(delivery, delivery.event_id == event.id).where(
                delivery.subscriber == SUBSCRIBER,
                or_(and_(delivery.delivered_at.is_(None), delivery.dead_at.is_(None)),
                    delivery.delivered_at >= moment, delivery.dead_at >= moment),
            )
        ).all()
        return affected_ideas(session, rows)
