"""Whether search tells the truth, for every backend: the index's own report compared with the database.

``report()`` is the ``search`` part of ``/healthz``. The backend says what it holds
(``SearchBackend.health``); the database says what it should hold (the visible ideas), what the
indexer still has to do (its pending deliveries) and the last event it marked indexed. The rules:

- ``error``: the index is missing or cannot be opened, or cannot be written (the worker's updates
  would all fail);
- ``degraded``: it holds a different number of ideas than the database, by more than the indexer's
  backlog could explain; or its marker is behind the last event the database says it indexed
  (writes were lost: the index was replaced by an older copy, say); or the indexer's deliveries
  are failing (each failure is in the worker's log, and in ``flask outbox list``).

Every figure is read afresh (a COUNT of visible ideas, two small indexed queries on the outbox, the
index's document count): nothing is cached, so nothing reported can be out of date.

``note_failure`` / ``note_success`` log search failures seen by pages: each failed request once at
error level, the first of a spell with its traceback, and the return of search once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import case, func, select

from ..extensions import db
from . import backend, documents
from .interface import SearchUnavailable

log = logging.getLogger(__name__)

_spell = threading.Event()  # set while searches fail in this process


def report() -> dict:
    """The ``search`` part of /healthz: ``status`` ("ok", "degraded", "error"), the figures, and ``problems``."""
    from .. import outbox
    from .indexer import SUBSCRIBER

    index = backend().health()
    delivery = outbox.OutboxDelivery
    pending = delivery.delivered_at.is_(None) & delivery.dead_at.is_(None)
    backlog, failing = db.session.execute(
        select(func.count(), func.count(case((delivery.attempts > 0, 1))))
        .where(delivery.subscriber == SUBSCRIBER, pending)
    ).one()
    # The latest delivery made: one step of a backward index scan. A batch shares its delivered_at;
    # any of its events will do, as the index's marker is at least the highest of the batch.
    database_through = db.session.scalar(
        select(delivery.event_id).where(delivery.subscriber == SUBSCRIBER, delivery.delivered_at.is_not(None))
        .order_by(delivery.delivered_at.desc()).limit(1)
    )
    expected = documents.count_indexable(db.session)
    result = {
        "status": "ok", "backend": type(backend()).__name__, "index": index["status"],
        "documents": index["documents"], "expected": expected, "backlog": backlog, "failing": failing,
        "writable": index.get("writable"), "generation": index.get("generation"),
        "indexed_through": index.get("indexed_through"), "database_through": database_through,
        "problems": [],
    }
    problems = result["problems"]
    if index["status"] == "missing":
        problems.append("the search index is missing: `flask search rebuild` builds it (a running worker does too)")
    elif index["status"] != "ok":
        problems.append(f"the search index cannot be opened ({index['status']})")
    elif index.get("writable") is False:
        problems.append("the search index cannot be written: check the owner and permissions of its folder")
    if problems:
        result["status"] = "error"
        return result
    if abs(index["documents"] - expected) > backlog:
        problems.append(f"the search index holds {index['documents']} ideas, the database {expected} "
                        f"(the indexer has {backlog} events to handle): `flask search verify` lists them")
    if database_through and (index.get("indexed_through") or 0) < database_through:
        problems.append(f"the search index reflects events up to {index.get('indexed_through')}, but the database "
                        f"says event {database_through} was indexed: `flask search rebuild`")
    if failing:
        problems.append(f"{failing} search-index deliveries failed at least once: see the worker's log "
                        f"and `flask outbox list`")
    if problems:
        result["status"] = "degraded"
    return result


@contextmanager
def answering() -> Iterator[None]:
    """Around a call to the backend for a page: any failure becomes SearchUnavailable, logged once."""
    try:
        yield
    except Exception as exc:
        note_failure(exc)
        if isinstance(exc, SearchUnavailable):
            raise
        raise SearchUnavailable(f"{type(exc).__name__}: {exc}") from exc
    note_success()


def note_failure(error: BaseException) -> None:
    """A page could not search: logged once at error level (the first of a spell with its traceback)."""
    if getattr(error, "noted", False):
        return
    error.noted = True
    if _spell.is_set():
        log.error("search is unavailable: %s: %s", type(error).__name__, error)
    else:
        _spell.set()
        log.error("search is unavailable: %s: %s", type(error).__name__, error, exc_info=error)


def note_success() -> None:
    if _spell.is_set():
        _spell.clear()
        log.warning("search is available again")
