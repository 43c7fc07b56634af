"""After-commit work (search indexing, notifications, webhooks) through one durable mechanism.

A service that changes something others must hear about calls ``emit(topic, **payload)``
inside its transaction: the event row commits or rolls back with the change itself, so a
process that dies between the commit and the follow-up work loses nothing. ``drain()``
then hands pending events to the handlers subscribed to their topic. The web app drains
once the response of a request that emitted events has been sent; ``flask outbox drain``
(or a worker) catches up on anything left behind.

A handler subscribed with ``subscribe`` gets one event at a time; one subscribed with
``subscribe_batch`` gets every pending event of its topics at once (the search indexer writes
them in one commit). A handler that raises ``Deferred`` leaves its events pending, untouched,
for whoever holds what it needs (another process already draining); any other exception
counts as a failed attempt, retried by a later drain.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Iterable

from flask import Flask, current_app, g
from sqlalchemy import JSON, DateTime, Index, Integer, String, Text, event, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from .extensions import db
from .timeutil import utcnow

log = logging.getLogger(__name__)

Handler = Callable[["OutboxEvent"], None]
BatchHandler = Callable[[list["OutboxEvent"]], None]
MAX_ATTEMPTS = 10
# After a response, events deferred by a busy handler are retried this often, for this long.
DEFERRED_RETRY_SECONDS = 0.25
AFTER_RESPONSE_PATIENCE = 10.0


class Deferred(Exception):
    """Raised by a handler that cannot run now while someone else will: its events stay pending as they are."""


@dataclass
class Subscribers:
    single: dict[str, list[Handler]] = field(default_factory=lambda: defaultdict(list))
    batch: list[tuple[frozenset[str], BatchHandler]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.single or self.batch)


class OutboxEvent(db.Model):
    __tablename__ = "outbox_events"
    __table_args__ = (Index("ix_outbox_events_pending", "processed_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    topic: Mapped[str] = mapped_column(String(60))
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    processed_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_error: Mapped[str | None] = mapped_column(Text)

    def __repr__(self) -> str:
        return f"<OutboxEvent {self.id} {self.topic} {self.payload}>"


def init_app(app: Flask) -> None:
    app.extensions["ideastorm.outbox"] = Subscribers()

    @app.after_request
    def _drain_after_response(response):
        # After the response is sent (the WSGI server closes it), in this worker: the
        # client never waits for the follow-up work, and its failure cannot break the response.
        if g.pop("outbox_pending", False) and app.extensions["ideastorm.outbox"]:
            response.call_on_close(lambda: _drain_quietly(app))
        return response


def _drain_quietly(app: Flask) -> None:
    with app.app_context():
        try:
            drain_all(patience=AFTER_RESPONSE_PATIENCE)
        except Exception:  # the change is committed; a later drain catches up
            log.exception("outbox drain failed")
            db.session.rollback()


def subscribe(app: Flask, topic: str, handler: Handler) -> None:
    """Call ``handler(event)`` for every event of ``topic``, after its transaction commits."""
    app.extensions["ideastorm.outbox"].single[topic].append(handler)


def subscribe_batch(app: Flask, topics: Iterable[str], handler: BatchHandler) -> None:
    """Call ``handler(events)`` once per drain with every pending event of these ``topics``."""
    app.extensions["ideastorm.outbox"].batch.append((frozenset(topics), handler))


def emit(topic: str, **payload: Any) -> OutboxEvent:
    """Record an event in the current transaction."""
    outbox_event = OutboxEvent(topic=topic, payload=payload)
    db.session.add(outbox_event)
    db.session.info["outbox_pending"] = True
    return outbox_event


@event.listens_for(Session, "after_commit")
def _note_committed_events(session: Session) -> None:
    if session.info.pop("outbox_pending", False):
        try:
            g.outbox_pending = True
        except RuntimeError:  # outside an app context (scripts): nothing to schedule
            pass


@event.listens_for(Session, "after_rollback")
def _forget_rolled_back_events(session: Session) -> None:
    session.info.pop("outbox_pending", None)


def drain(limit: int = 500) -> int:
    """Process up to ``limit`` pending events in order; returns how many were handled successfully."""
    return _drain_round(limit)[0]


def _drain_round(limit: int) -> tuple[int, int]:
    """(events handled, events deferred by a handler) for one round of at most ``limit`` events.

    Events are only changed after their handlers ran, so handlers may read the database in a
    session of their own without this transaction holding a write lock meanwhile.
    """
    subscribers: Subscribers = current_app.extensions["ideastorm.outbox"]
    query = (
        select(OutboxEvent)
        .where(OutboxEvent.processed_at.is_(None), OutboxEvent.attempts < MAX_ATTEMPTS)
        .order_by(OutboxEvent.id)
        .limit(limit)
    )
    if db.session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    events = db.session.scalars(query).all()
    errors: dict[int, str] = {}
    deferred: set[int] = set()

    def run(batch: list[OutboxEvent], call: Callable[[], None]) -> None:
        try:
            call()
        except Deferred:
            deferred.update(e.id for e in batch)
        except Exception as exc:  # keep them pending; a later drain retries them
            log.warning("outbox events %s failed: %s", [e.id for e in batch], exc)
            errors.update((e.id, f"{type(exc).__name__}: {exc}"[:2000]) for e in batch)

    for outbox_event in events:
        for handler in subscribers.single.get(outbox_event.topic, ()):
            run([outbox_event], lambda: handler(outbox_event))
    for topics, batch_handler in subscribers.batch:
        batch = [e for e in events if e.topic in topics]
        if batch:
            run(batch, lambda: batch_handler(batch))

    handled = 0
    for outbox_event in events:
        if outbox_event.id in deferred:
            continue
        outbox_event.attempts += 1
        if outbox_event.id in errors:
            outbox_event.last_error = errors[outbox_event.id]
        else:
            outbox_event.processed_at = utcnow()
            outbox_event.last_error = None
            handled += 1
    db.session.commit()
    return handled, len(deferred)


def drain_all(patience: float = 0.0) -> int:
    """Drain until a round handles nothing (nothing pending, or only failing or deferred events).

    With ``patience``, deferred events (a handler's resource busy elsewhere, e.g. the search
    index being swapped by a rebuild) are retried for up to that many seconds.
    """
    total = 0
    deadline = time.monotonic() + patience
    while True:
        handled, deferred = _drain_round(500)
        total += handled
        if handled:
            continue
        if not deferred or time.monotonic() >= deadline:
            return total
        time.sleep(DEFERRED_RETRY_SECONDS)


def pending_count() -> int:
    return db.session.scalar(
        select(db.func.count()).select_from(OutboxEvent).where(OutboxEvent.processed_at.is_(None))
    ) or 0


def oldest_pending() -> datetime | None:
    """When the oldest unprocessed event was recorded (None when nothing is pending)."""
    return db.session.scalar(select(db.func.min(OutboxEvent.created_at)).where(OutboxEvent.processed_at.is_(None)))
