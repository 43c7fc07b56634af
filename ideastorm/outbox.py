"""After-commit work (search indexing, notifications, webhooks) through one durable mechanism.

A service that changes something others must hear about calls ``emit(topic, **payload)``
inside its transaction: the event row, and one delivery row per subscriber of that topic,
commit or roll back with the change itself, so a process that dies between the commit and
the follow-up work loses nothing.

Subscribers are registered by name when the app starts (``subscribe``); each delivery is
tracked, retried and finished for its own subscriber, so a failing webhook never makes the
indexer or the mailer run twice. The worker (``ideastorm.worker``, ``flask worker``) claims due
deliveries in a short transaction (a lease; ``FOR UPDATE SKIP LOCKED`` on PostgreSQL), runs the
handlers outside it, then marks each delivery delivered, failed (tried again after an
exponential backoff) or, after its last attempt, dead: kept, listed and replayable
(``flask outbox list|replay``). A handler that raises ``Deferred`` is tried again shortly
without spending an attempt. A lease that expires (a worker killed mid-batch) makes its
deliveries claimable again.

A single handler gets one event per call and each delivery is marked as soon as it ran; a
batch handler gets every due event of its topics in one call (the search indexer: a storm of
votes on one idea is one index update). Web processes never deliver: ``drain_all`` refuses to
run inside a request.
"""

from __future__ import annotations

import itertools
import logging
import os
import socket
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import Flask, current_app, has_request_context
from sqlalchemy import (
    JSON, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint, and_, case, func, insert, or_,
    select, text, update,
)
from sqlalchemy import event as orm_event
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from .extensions import db
from .timeutil import utcnow

log = logging.getLogger(__name__)

EXTENSION = "ideastorm.outbox"
SCHEDULED = "ideastorm.scheduled_jobs"  # jobs the worker runs once an hour (every_hour)
CHANNEL = "ideastorm_outbox"  # the PostgreSQL NOTIFY channel workers LISTEN on
# A deferred delivery (its handler's resource busy elsewhere) is tried again this much later.
DEFERRED_RETRY = timedelta(seconds=0.25)
# Batch handlers get up to this many events per call: a storm of 1,000 votes is one call.
BATCH_SIZE = 1000
# Single handlers are claimed this many at a time; with a 10 s webhook timeout, a claim ends
# well within the lease.
SINGLE_CLAIM_SIZE = 20
SQLITE_BUSY_RETRIES = 20
PENDING_SQL = "delivered_at IS NULL AND dead_at IS NULL"
DEAD_SQL = "dead_at IS NOT NULL"
_claims = itertools.count(1)


class Deferred(Exception):
    """Raised by a handler whose resource is busy elsewhere: try again shortly, without counting an attempt."""


class OutboxEvent(db.Model):
    __tablename__ = "outbox_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    topic: Mapped[str] = mapped_column(String(60))
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    deliveries: Mapped[list[OutboxDelivery]] = relationship(
        back_populates="event", cascade="all, delete-orphan", passive_deletes=True,
    )

    def __repr__(self) -> str:
        return f"<OutboxEvent {self.id} {self.topic} {self.payload}>"


class OutboxDelivery(db.Model):
    """One event for one subscriber: pending (due at ``next_attempt_at``), delivered or dead."""

    __tablename__ = "outbox_deliveries"
    __table_args__ = (
        UniqueConstraint("event_id", "subscriber"),
        # Partial indexes: the pending and dead rows stay few while delivered ones pile up.
        Index("ix_outbox_deliveries_due", "subscriber", "next_attempt_at",
              sqlite_where=text(PENDING_SQL), postgresql_where=text(PENDING_SQL)),
        Index("ix_outbox_deliveries_dead", "dead_at", sqlite_where=text(DEAD_SQL), postgresql_where=text(DEAD_SQL)),
        Index("ix_outbox_deliveries_delivered", "subscriber", "delivered_at"),  # the rebuild catch-up
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("outbox_events.id", ondelete="CASCADE"))
    subscriber: Mapped[str] = mapped_column(String(60))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime)
    leased_until: Mapped[datetime | None] = mapped_column(DateTime)
    leased_by: Mapped[str | None] = mapped_column(String(120))
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime)
    dead_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_error: Mapped[str | None] = mapped_column(Text)

    event: Mapped[OutboxEvent] = relationship(back_populates="deliveries")

    def __repr__(self) -> str:
        return f"<OutboxDelivery {self.id} event {self.event_id} to {self.subscriber}>"


_E = OutboxEvent.__table__
_D = OutboxDelivery.__table__
_PENDING = and_(_D.c.delivered_at.is_(None), _D.c.dead_at.is_(None))


@dataclass(frozen=True)
class Event:
    """What a handler receives: one recorded event, and which attempt of its delivery this is (1, 2, ...)."""

    id: int
    topic: str
    payload: dict
    created_at: datetime
    attempt: int


@dataclass(frozen=True)
class Subscriber:
    """A named handler of some topics, with its own retry policy."""

    name: str
    topics: frozenset[str]
    handler: Callable[[Any], None]
    batch: bool
    max_attempts: int
    backoff: float  # seconds between the first and the second attempt, doubled for each further one
    backoff_cap: float  # the longest wait between two attempts, in seconds
    claim_size: int

    def delay(self, failures: int) -> timedelta:
        """How long after its ``failures``-th failed attempt a delivery is tried again."""
        return timedelta(seconds=min(self.backoff * 2 ** (failures - 1), self.backoff_cap))


@dataclass
class Registry:
    subscribers: dict[str, Subscriber] = field(default_factory=dict)
    by_topic: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))


@dataclass(frozen=True)
class DeliveryInfo:
    """One delivery as ``flask outbox list`` shows it."""

    id: int
    event_id: int
    topic: str
    subscriber: str
    attempts: int
    created_at: datetime
    next_attempt_at: datetime
    leased_until: datetime | None
    leased_by: str | None
    delivered_at: datetime | None
    dead_at: datetime | None
    last_error: str | None


@dataclass
class Round:
    """What one pass over the subscribers did."""

    claimed: int = 0
    delivered: int = 0
    failed: int = 0
    deferred: int = 0
    dead: int = 0
    # Deliveries tried in this pass and still pending: a drain does not try them again.
    tried: set[int] = field(default_factory=set)


@dataclass(frozen=True)
class _Claim:
    delivery_id: int
    attempts: int
    event: Event


def init_app(app: Flask) -> None:
    app.extensions[EXTENSION] = Registry()
    app.extensions[SCHEDULED] = {}


def every_hour(app: Flask, name: str, job: Callable[[datetime], Any]) -> None:
    """Have the worker call ``job(now)`` when it starts and then once an hour (the daily digests).

    The job decides what is due at ``now`` and must be idempotent: every worker runs it, and a
    restarted worker runs it again.
    """
    app.extensions[SCHEDULED][name] = job


def run_scheduled_jobs(last_runs: dict[str, Any], now: datetime | None = None) -> None:
    """Run each scheduled job not run yet in this hour by this process (``last_runs``, updated)."""
    now = now or utcnow()
    slot = (now.date(), now.hour)
    for name, job in current_app.extensions[SCHEDULED].items():
        if last_runs.get(name) == slot:
            continue
        try:
            job(now)
        except Exception:
            db.session.rollback()
            log.exception("scheduled job %s failed; it runs again within the hour", name)
        else:
            last_runs[name] = slot


def subscribe(app: Flask, name: str, topics: Iterable[str], handler: Callable[[Any], None], *,
              batch: bool = False, max_attempts: int | None = None, backoff: float | None = None,
              backoff_cap: float | None = None) -> Subscriber:
    """Register ``handler`` under ``name`` for ``topics``: ``handler(event)``, or ``handler(events)`` with ``batch``.

    Retry policy: ``max_attempts`` attempts, the n-th failure waiting ``min(backoff * 2**(n-1),
    backoff_cap)`` seconds; the app's ``OUTBOX_*`` settings by default.
    """
    registry: Registry = app.extensions[EXTENSION]
    if name in registry.subscribers:
        raise ValueError(f"An outbox subscriber named {name!r} is already registered")
    config = app.config
    subscriber = Subscriber(
        name=name, topics=frozenset(topics), handler=handler, batch=batch,
        max_attempts=int(max_attempts or config["OUTBOX_MAX_ATTEMPTS"]),
        backoff=float(backoff if backoff is not None else config["OUTBOX_BACKOFF_SECONDS"]),
        backoff_cap=float(backoff_cap if backoff_cap is not None else config["OUTBOX_BACKOFF_CAP_SECONDS"]),
        claim_size=BATCH_SIZE if batch else SINGLE_CLAIM_SIZE,
    )
    if subscriber.max_attempts < 1:
        raise ValueError("max_attempts must be at least 1")
    registry.subscribers[name] = subscriber
    for topic in subscriber.topics:
        registry.by_topic[topic].append(name)
    return subscriber


def emit(topic: str, **payload: Any) -> int:
    """Record an event, and one delivery per subscriber of ``topic``, in the current transaction; its id.

    Two Core INSERTs rather than ORM objects: every vote emits one, and the unit of work's
    flush of two new objects costs more than the vote's own statements.
    """
    now = utcnow()
    names = current_app.extensions[EXTENSION].by_topic.get(topic, ())
    connection = db.session.connection()
    event_id = connection.execute(
        insert(_E).values(topic=topic, payload=payload, created_at=now).returning(_E.c.id)
    ).scalar_one()
    if names:
        connection.execute(insert(_D), [
            {"event_id": event_id, "subscriber": name, "attempts": 0, "next_attempt_at": now} for name in names
        ])
    db.session.info["outbox_emitted"] = True
    return event_id


@orm_event.listens_for(Session, "before_commit")
def _wake_workers(session: Session) -> None:
    # Sent inside the emitting transaction: PostgreSQL delivers it on commit (never for a
    # rollback), once per transaction however many events it holds.
    if session.info.pop("outbox_emitted", False) and session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": CHANNEL})


@orm_event.listens_for(Session, "after_rollback")
def _forget_rolled_back_events(session: Session) -> None:
    session.info.pop("outbox_emitted", None)


# --- delivering -----------------------------------------------------------------------------

def worker_name() -> str:
    """This process and thread, as leases name their holder."""
    return f"{socket.gethostname()}:{os.getpid()}:{threading.current_thread().name}"[:100]


def drain_all(now: datetime | None = None, *, include_scheduled: bool = False, worker: str | None = None,
              should_stop: Callable[[], bool] | None = None, wait_for_leases: float = 0.0) -> int:
    """Deliver everything due until nothing is left; returns how many deliveries were made.

    Each delivery is tried at most once per call (a failure waits for its backoff, a deferral
    for a moment). ``now`` fixes the clock (tests); ``include_scheduled`` also delivers what
    waits for a later attempt (``search.sync()``); ``should_stop`` is asked between batches;
    ``wait_for_leases`` waits up to that many seconds for deliveries another worker is running.
    """
    _refuse_to_run_here()
    worker = worker or worker_name()
    tried: set[int] = set()
    delivered = 0
    deadline = time.monotonic() + wait_for_leases
    while not (should_stop and should_stop()):
        result = run_round(now, include_scheduled=include_scheduled, worker=worker, exclude=tried,
                           should_stop=should_stop)
        delivered += result.delivered
        tried |= result.tried
        if result.claimed:
            continue
        if time.monotonic() < deadline and _leased_elsewhere(now or utcnow(), tried):
            time.sleep(0.05)
            continue
        break
    return delivered


def run_round(now: datetime | None = None, *, include_scheduled: bool = False, worker: str | None = None,
              exclude: set[int] | frozenset[int] = frozenset(),
              should_stop: Callable[[], bool] | None = None) -> Round:
    """Claim one batch per subscriber that has due deliveries, run its handler, record the outcome."""
    _refuse_to_run_here()
    registry: Registry = current_app.extensions[EXTENSION]
    clock = (lambda: now) if now is not None else utcnow
    lease = timedelta(seconds=float(current_app.config["OUTBOX_LEASE_SECONDS"]))
    worker = worker or worker_name()
    result = Round()
    waiting = _subscribers_with_work(clock(), include_scheduled, exclude, list(registry.subscribers))
    for subscriber in registry.subscribers.values():
        if subscriber.name not in waiting:
            continue
        if should_stop and should_stop():
            break
        token = f"{worker}/{next(_claims)}"
        claims = _transaction(lambda c, subscriber=subscriber, token=token: _claim(
            c, subscriber, clock(), lease, token, include_scheduled, exclude))
        if not claims:
            continue
        result.claimed += len(claims)
        try:
            if subscriber.batch:
                _deliver(subscriber, claims, clock, token, result)
            else:
                for claim in claims:
                    _deliver(subscriber, [claim], clock, token, result)
        except BaseException:
            # Interrupted (a second Ctrl-C): what is not marked yet is due again now, not when
            # the lease runs out. Marked deliveries no longer carry the token and stay as they are.
            _transaction(lambda c, claims=claims, token=token: _release(c, claims, token, next_attempt_at=clock()))
            raise
    return result


def _refuse_to_run_here() -> None:
    if has_request_context():
        # Handlers talk to the outside world (the index, mail, webhooks): never on a web worker's time.
        raise RuntimeError("The outbox is delivered by the worker (`flask worker`), never inside a web request")
    session = db.session()
    if db.engine.dialect.name == "sqlite" and session.in_transaction():
        # This thread's uncommitted write holds SQLite's only write lock: claiming would wait forever.
        dbapi_connection = session.connection().connection.dbapi_connection
        if dbapi_connection is not None and dbapi_connection.in_transaction:
            raise RuntimeError("Commit (or roll back) the session before delivering the outbox")


def _is_postgresql() -> bool:
    return db.engine.dialect.name == "postgresql"


def _sqlite_busy(exc: OperationalError) -> bool:
    message = str(exc.orig).lower()
    return db.engine.dialect.name == "sqlite" and ("locked" in message or "busy" in message)


def _transaction(work: Callable[[Connection], Any]) -> Any:
    """``work(connection)`` in a short transaction of its own, retried while SQLite is busy.

    Apart from the caller's session on purpose: a handler may read or write the database in a
    session of its own without this worker holding a lock meanwhile.
    """
    for attempt in itertools.count():
        try:
            with db.engine.begin() as connection:
                return work(connection)
        except OperationalError as exc:
            # "database is locked" after the busy timeout, or a stale WAL snapshot: both pass.
            if not _sqlite_busy(exc) or attempt >= SQLITE_BUSY_RETRIES:
                raise
            time.sleep(min(0.02 * 2 ** attempt, 1.0))


def _due(now: datetime, include_scheduled: bool, exclude: Iterable[int]) -> list:
    conditions = [_PENDING, or_(_D.c.leased_until.is_(None), _D.c.leased_until <= now)]
    if not include_scheduled:
        conditions.append(_D.c.next_attempt_at <= now)
    if exclude:
        conditions.append(_D.c.id.not_in(list(exclude)))
    return conditions


def _subscribers_with_work(now: datetime, include_scheduled: bool, exclude: Iterable[int],
                           names: list[str]) -> set[str]:
    """The subscribers with something due: one cheap read, so an idle poll takes no write lock."""
    if not names:
        return set()
    query = select(_D.c.subscriber).where(_D.c.subscriber.in_(names), *_due(now, include_scheduled, exclude)).distinct()
    return set(_transaction(lambda c: c.scalars(query).all()))


def _claim(connection: Connection, subscriber: Subscriber, now: datetime, lease: timedelta, token: str,
           include_scheduled: bool, exclude: Iterable[int]) -> list[_Claim]:
    conditions = [_D.c.subscriber == subscriber.name, *_due(now, include_scheduled, exclude)]
    wanted = select(_D.c.id).where(*conditions).order_by(_D.c.event_id, _D.c.id).limit(subscriber.claim_size)
    leased = {"leased_by": token, "leased_until": now + lease}
    if _is_postgresql():
        # Rows another worker is claiming are skipped, not waited for.
        ids = connection.scalars(wanted.with_for_update(skip_locked=True)).all()
        if not ids:
            return []
        connection.execute(update(_D).where(_D.c.id.in_(ids)).values(**leased))
    else:
        # SQLite has one writer at a time: this UPDATE, guarded by the same conditions, is atomic.
        if not connection.execute(update(_D).where(_D.c.id.in_(wanted), *conditions).values(**leased)).rowcount:
            return []
    rows = connection.execute(
        select(_D.c.id, _D.c.attempts, _E.c.id.label("event_id"), _E.c.topic, _E.c.payload, _E.c.created_at)
        .join(_E, _E.c.id == _D.c.event_id)
        .where(_D.c.leased_by == token)
        .order_by(_D.c.event_id, _D.c.id)
    ).all()
    return [
        _Claim(row.id, row.attempts,
               Event(row.event_id, row.topic, row.payload or {}, row.created_at, attempt=row.attempts + 1))
        for row in rows
    ]


def _deliver(subscriber: Subscriber, claims: list[_Claim], clock: Callable[[], datetime], token: str,
             result: Round) -> None:
    events = [claim.event for claim in claims]
    try:
        subscriber.handler(events if subscriber.batch else events[0])
    except Deferred:
        _transaction(lambda c: _release(c, claims, token, next_attempt_at=clock() + DEFERRED_RETRY))
        result.deferred += len(claims)
        result.tried.update(claim.delivery_id for claim in claims)
        return
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"[:2000]
        dead = _transaction(lambda c: _fail(c, subscriber, claims, token, clock(), error))
        _log_failure(subscriber, claims, dead, error)
        result.failed += len(claims)
        result.dead += len(dead)
        result.tried.update(claim.delivery_id for claim in claims)
        return
    _transaction(lambda c: _succeed(c, claims, token, clock()))
    result.delivered += len(claims)


def _mine(claims: list[_Claim], token: str) -> list:
    return [_D.c.id.in_([claim.delivery_id for claim in claims]), _D.c.leased_by == token]


def _warn_if_lease_lost(done: int, claims: list[_Claim]) -> None:
    if done < len(claims):
        # Another worker took over after the lease expired: the handler may have run twice.
        log.warning("outbox: the lease on deliveries %s expired before they finished; raise OUTBOX_LEASE_SECONDS",
                    [claim.delivery_id for claim in claims])


def _succeed(connection: Connection, claims: list[_Claim], token: str, now: datetime) -> None:
    done = connection.execute(update(_D).where(*_mine(claims, token)).values(
        delivered_at=now, leased_by=None, leased_until=None, last_error=None,
    )).rowcount
    _warn_if_lease_lost(done, claims)


def _release(connection: Connection, claims: list[_Claim], token: str, next_attempt_at: datetime) -> None:
    connection.execute(update(_D).where(*_mine(claims, token)).values(
        next_attempt_at=next_attempt_at, leased_by=None, leased_until=None,
    ))


def _fail(connection: Connection, subscriber: Subscriber, claims: list[_Claim], token: str, now: datetime,
          error: str) -> list[_Claim]:
    """Count a failed attempt for each claim: due again after its backoff, or dead. Returns the dead ones."""
    by_attempts: dict[int, list[_Claim]] = defaultdict(list)
    for claim in claims:
        by_attempts[claim.attempts + 1].append(claim)
    dead: list[_Claim] = []
    for attempts, group in by_attempts.items():
        values: dict[str, Any] = {"attempts": attempts, "last_error": error, "leased_by": None, "leased_until": None}
        if attempts >= subscriber.max_attempts:
            values["dead_at"] = now
            dead += group
        else:
            values["next_attempt_at"] = now + subscriber.delay(attempts)
        connection.execute(update(_D).where(*_mine(group, token)).values(**values))
    return dead


def _log_failure(subscriber: Subscriber, claims: list[_Claim], dead: list[_Claim], error: str) -> None:
    dead_ids = {claim.delivery_id for claim in dead}
    for claim in claims:
        event = claim.event
        if claim.delivery_id in dead_ids:
            log.error("outbox: %s failed on event %s (%s), attempt %s of %s: dead (delivery %s, "
                      "`flask outbox replay %s` tries again): %s", subscriber.name, event.id, event.topic,
                      event.attempt, subscriber.max_attempts, claim.delivery_id, claim.delivery_id, error)
        else:
            log.warning("outbox: %s failed on event %s (%s), attempt %s of %s, tried again in %s: %s",
                        subscriber.name, event.id, event.topic, event.attempt, subscriber.max_attempts,
                        subscriber.delay(event.attempt), error)


def _leased_elsewhere(now: datetime, exclude: Iterable[int]) -> bool:
    names = list(current_app.extensions[EXTENSION].subscribers)
    conditions = [_PENDING, _D.c.leased_until > now, _D.c.subscriber.in_(names)]
    if exclude:
        conditions.append(_D.c.id.not_in(list(exclude)))
    return _transaction(lambda c: c.scalar(select(_D.c.id).where(*conditions).limit(1))) is not None


def next_due() -> datetime | None:
    """When the earliest pending delivery to this app's subscribers becomes claimable (attempt due, lease over)."""
    names = list(current_app.extensions[EXTENSION].subscribers)
    if not names:
        return None
    ready = case((_D.c.leased_until > _D.c.next_attempt_at, _D.c.leased_until), else_=_D.c.next_attempt_at)
    # Only the subscribers registered here: another's deliveries (one since removed, say) would
    # look due for ever and keep the worker from sleeping.
    return _transaction(lambda c: c.scalar(select(func.min(ready)).where(_PENDING, _D.c.subscriber.in_(names))))


# --- what is left, what is dead -----------------------------------------------------------------

def pending_count() -> int:
    """Deliveries not yet made (neither delivered nor dead)."""
    return db.session.scalar(select(func.count()).select_from(_D).where(_PENDING)) or 0


def health(now: datetime | None = None) -> dict[str, int | float | None]:
    """The backlog for /healthz: pending deliveries, the age in seconds of the oldest one's event, dead deliveries."""
    now = now or utcnow()
    pending, oldest = db.session.execute(
        select(func.count(), func.min(_E.c.created_at)).select_from(_D.join(_E, _E.c.id == _D.c.event_id))
        .where(_PENDING)
    ).one()
    dead = db.session.scalar(select(func.count()).select_from(_D).where(_D.c.dead_at.is_not(None)))
    return {
        "outbox_pending": pending or 0,
        "outbox_oldest_pending_seconds": round((now - oldest).total_seconds(), 1) if oldest else None,
        "outbox_dead": dead or 0,
    }


def deliveries(*, dead_only: bool = False, limit: int = 100) -> list[DeliveryInfo]:
    """Deliveries not yet made and dead ones (only the dead with ``dead_only``), oldest first."""
    condition = _D.c.dead_at.is_not(None) if dead_only else _D.c.delivered_at.is_(None)
    rows = db.session.execute(
        select(_D.c.id, _D.c.event_id, _E.c.topic, _D.c.subscriber, _D.c.attempts, _E.c.created_at,
               _D.c.next_attempt_at, _D.c.leased_until, _D.c.leased_by, _D.c.delivered_at, _D.c.dead_at,
               _D.c.last_error)
        .join(_E, _E.c.id == _D.c.event_id).where(condition).order_by(_D.c.id).limit(limit)
    ).all()
    return [DeliveryInfo(**row._mapping) for row in rows]


def replay(delivery_ids: Iterable[int] | None = None, *, all_dead: bool = False,
           now: datetime | None = None) -> list[int]:
    """Make dead deliveries due now, attempts reset (these ids, or every dead one); returns the ids replayed.

    Raises ``LookupError`` naming the ids that are not dead deliveries, and replays nothing then.
    """
    now = now or utcnow()
    wanted = sorted(set(delivery_ids or ()))

    def work(connection: Connection) -> list[int]:
        query = select(_D.c.id).where(_D.c.dead_at.is_not(None))
        if not all_dead:
            query = query.where(_D.c.id.in_(wanted))
        found = sorted(connection.scalars(query))
        missing = sorted(set(wanted) - set(found))
        if missing and not all_dead:
            raise LookupError(missing)
        if found:
            connection.execute(update(_D).where(_D.c.id.in_(found), _D.c.dead_at.is_not(None)).values(
                dead_at=None, attempts=0, next_attempt_at=now, leased_by=None, leased_until=None,
            ))
            if _is_postgresql():
                connection.execute(text("SELECT pg_notify(:channel, '')"), {"channel": CHANNEL})
        return found

    return _transaction(work)
