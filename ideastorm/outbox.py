"""After-commit work (search indexing, notifications, webhooks) through one durable mechanism.

A service that changes something others must hear about calls ``emit(topic, **payload)``
inside its transaction: the event row commits or rolls back with the change itself, so a
process that dies between the commit and the follow-up work loses nothing. ``drain()``
then hands pending events to the handlers subscribed to their topic. The web app drains
right after a request that emitted events; ``flask outbox drain`` (or a worker) catches
up on anything left behind.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime
from typing import Any, Callable

from flask import Flask, current_app, g
from sqlalchemy import JSON, DateTime, Index, Integer, String, Text, event, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from .extensions import db
from .timeutil import utcnow

log = logging.getLogger(__name__)

Handler = Callable[["OutboxEvent"], None]
MAX_ATTEMPTS = 10


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
    app.extensions["ideastorm.outbox"] = defaultdict(list)

    @app.after_request
    def _drain_after_request(response):
        if g.pop("outbox_pending", False) and app.extensions["ideastorm.outbox"]:
            try:
                drain()
            except Exception:  # the change is committed; a worker will catch up
                log.exception("outbox drain failed")
                db.session.rollback()
        return response


def subscribe(app: Flask, topic: str, handler: Handler) -> None:
    """Call ``handler(event)`` for every event of ``topic``, after its transaction commits."""
    app.extensions["ideastorm.outbox"][topic].append(handler)


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
    """Process up to ``limit`` pending events in order; returns how many were handled."""
    handlers = current_app.extensions["ideastorm.outbox"]
    query = (
        select(OutboxEvent)
        .where(OutboxEvent.processed_at.is_(None), OutboxEvent.attempts < MAX_ATTEMPTS)
        .order_by(OutboxEvent.id)
        .limit(limit)
    )
    if db.session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    events = db.session.scalars(query).all()
    for outbox_event in events:
        outbox_event.attempts += 1
        try:
            for handler in handlers.get(outbox_event.topic, ()):
                handler(outbox_event)
        except Exception as exc:  # keep it pending; a later drain retries it
            log.warning("outbox event %s failed: %s", outbox_event.id, exc)
            outbox_event.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        else:
            outbox_event.processed_at = utcnow()
            outbox_event.last_error = None
    db.session.commit()
    return len(events)


def pending_count() -> int:
    return db.session.scalar(
        select(db.func.count()).select_from(OutboxEvent).where(OutboxEvent.processed_at.is_(None))
    ) or 0
