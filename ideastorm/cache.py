"""Aggregates cached with an explicit freshness.

Some public figures (leaderboards by period, contributors, stats) would
read every vote or count the whole backlog if computed per request. Each process computes them
at most once per ``AGGREGATE_CACHE_SECONDS`` and serves them with the time they were computed,
which the pages show ("Updated ..."). Once a value is older than that, the next request still
gets it at once while one background thread computes the new value: only the very first
request of a process waits for the computation. ``AGGREGATE_CACHE_SECONDS = 0`` turns the
cache off (the tests use it so that every figure is exact).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Callable, Generic, Hashable, TypeVar

from flask import Flask, current_app

from .timeutil import utcnow

T = TypeVar("T")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Cached(Generic[T]):
    value: T
    computed_at: datetime


class AggregateCache:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._entries: dict[Hashable, tuple[float, Cached]] = {}
        self._locks: dict[Hashable, threading.Lock] = {}
        self._refreshing: dict[Hashable, threading.Thread] = {}
        self._guard = threading.Lock()

    def get(self, key: Hashable, compute: Callable[[], T], max_age: float,
            compute_elsewhere: Callable[[], T] | None = None) -> Cached[T]:
        """``key``'s value: fresh from the cache, stale while a refresh runs, or computed now.

        ``compute`` runs in the caller's thread (first use); ``compute_elsewhere`` (defaults to
        ``compute``) in the background thread that refreshes a stale value.
        """
        if max_age <= 0:
            return Cached(compute(), utcnow())
        entry = self._entries.get(key)
        if entry is not None:
            if self._clock() - entry[0] >= max_age:
                self._refresh_in_background(key, compute_elsewhere or compute)
            return entry[1]
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:  # concurrent first requests wait for one computation instead of all running it
            entry = self._entries.get(key)
            if entry is None:
                entry = self._store(key, compute())
            return entry[1]

    def _store(self, key: Hashable, value) -> tuple[float, Cached]:
        entry = (self._clock(), Cached(value, utcnow()))
        self._entries[key] = entry
        return entry

    def _refresh_in_background(self, key: Hashable, compute: Callable[[], T]) -> None:
        def refresh() -> None:
            try:
                self._store(key, compute())
            except Exception:  # keep serving the older value; the next request tries again
                log.exception("refreshing the cached %r failed", key)
            finally:
                with self._guard:
                    self._refreshing.pop(key, None)

        with self._guard:
            if key in self._refreshing:
                return
            thread = threading.Thread(target=refresh, name=f"refresh {key!r}", daemon=True)
            self._refreshing[key] = thread
        thread.start()

    def wait(self) -> None:
        """Wait for the refreshes under way (tests, orderly shutdown)."""
        with self._guard:
            threads = list(self._refreshing.values())
        for thread in threads:
            thread.join()

    def clear(self) -> None:
        with self._guard:
            self._entries.clear()


def init_app(app: Flask) -> None:
    app.extensions["ideastorm.cache"] = AggregateCache()


def cached(key: Hashable, compute: Callable[[], T], max_age: float | None = None) -> Cached[T]:
    """``compute()``'s result for ``key``, at most ``AGGREGATE_CACHE_SECONDS`` old (plus one refresh)."""
    app = current_app._get_current_object()
    if max_age is None:
        max_age = app.config["AGGREGATE_CACHE_SECONDS"]

    def compute_in_own_context() -> T:  # a background thread has no app context (nor DB session)
        with app.app_context():
            return compute()

    return app.extensions["ideastorm.cache"].get(key, compute, max_age, compute_in_own_context)


def clear() -> None:
    current_app.extensions["ideastorm.cache"].clear()
