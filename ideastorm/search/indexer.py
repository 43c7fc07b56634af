"""The outbox subscriber that keeps the index following the database (``search-index``).

Every event names what changed; the handler re-reads those ideas from the database and
indexes them, or removes them (hidden, gone), so handling an event twice is harmless. It is
a batch subscriber: every due event goes into one index commit, each idea once however many
events name it. When another process holds the index's write lock beyond a short wait, the
handler raises ``outbox.Deferred`` and the worker tries again a moment later.

Each write records the highest event id of its batch in the index (``indexed_through``), which
``/healthz`` compares with the last delivery the database marked done. A missing index (deleted)
is rebuilt from the database; any other failure is logged with the ideas it was indexing, then
raised, so the outbox tries again after its backoff.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable
from datetime import datetime

from flask import has_request_context
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from .. import outbox
from ..extensions import db
from . import backend, documents
from .interface import IndexBusy, SearchUnavailable

log = logging.getLogger(__name__)

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


def reindex(idea_ids: Collection[int], through: int | None = None) -> None:
    """Index these ideas as the database has them now (remove those not to be indexed).

    ``through``: the highest outbox event id handled by this write (the index's marker).
    """
    if has_request_context():
        raise RuntimeError("The search index is written by the worker (`flask worker`), never inside a web request")
    if not idea_ids and not through:
        return

    def load(ids: Collection[int]):
        # A session of its own, opened under the index lock: it sees every commit made so far.
        with Session(db.engine) as session:
            yield from documents.documents_for(session, ids)

    backend().apply(idea_ids, load, through=through)


def handle(events: list[outbox.Event]) -> None:
    """Index the ideas these events name, in one index commit."""
    with Session(db.engine) as session:
        ids = affected_ideas(session, events)
    through = max((event.id for event in events), default=None)
    try:
        reindex(ids, through=through)
    except IndexBusy:
        raise outbox.Deferred from None
    except SearchUnavailable as exc:
        if not exc.missing:
            _log_failure(ids, events)
            raise
        _rebuild_missing(exc, ids, through)
    except Exception:
        _log_failure(ids, events)
        raise


def _log_failure(ids: Collection[int], events: list[outbox.Event]) -> None:
    log.exception("search index: indexing ideas %s failed (events %s to %s, attempt %s); the outbox tries again",
                  sorted(ids), min(e.id for e in events), max(e.id for e in events), max(e.attempt for e in events))


def _rebuild_missing(reason: SearchUnavailable, ids: Collection[int], through: int | None) -> None:
    """The index is gone (deleted while serving, or never built): build it from the database.

    Several workers may find it missing at once: the first builds it, the others then index
    their batch into that one.
    """
    from .maintenance import rebuild_index

    # A warning, not an error: this heals it (and a new site's first idea lands here too). Pages
    # that could not search meanwhile logged their errors.
    log.warning("%s: building it from the database", reason)
    try:
        total = rebuild_index(only_if_missing=True)
        if total is None:
            reindex(ids, through=through)
    except IndexBusy:
        raise outbox.Deferred from None
    except Exception:
        log.exception("search index: the rebuild of the missing index failed; the outbox tries again")
        raise
    if total is not None:
        log.warning("search index: built with %s ideas", total)


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
