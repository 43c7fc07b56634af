"""Aggregates cached with an explicit freshness.

Some public figures (leaderboards by period, contributors, stats) would scan every vote if
computed per request. They are computed at most once per ``AGGREGATE_CACHE_SECONDS`` per
process and served with the time they were computed, which the pages show ("as of ...").
A value of 0 turns the cache off (the tests use it so that every figure is exact).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Callable, Generic, Hashable, TypeVar

from flask import Flask, current_app

from .timeutil import utcnow

T = TypeVar("T")


@dataclass(frozen=True)
class Cached(Generic[T]):
    value: T
    computed_at: datetime


class AggregateCache:
    def __init__(self) -> None:
        self._entries: dict[Hashable, tuple[float, Cached]] = {}
        self._locks: dict[Hashable, threading.Lock] = {}
        self._guard = threading.Lock()

    def get(self, key: Hashable, compute: Callable[[], T], max_age: float) -> Cached[T]:
        """The cached value of ``key`` if younger than ``max_age`` seconds, else a fresh one.

        Concurrent callers of a stale key wait for one computation instead of all running it.
        """
        if max_age <= 0:
            return Cached(compute(), utcnow())
        entry = self._entries.get(key)
        if entry and time.monotonic() - entry[0] < max_age:
            return entry[1]
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            entry = self._entries.get(key)
            if entry and time.monotonic() - entry[0] < max_age:
                return entry[1]
            result = Cached(compute(), utcnow())
            self._entries[key] = (time.monotonic(), result)
            return result

    def clear(self) -> None:
        with self._guard:
            self._entries.clear()


def init_app(app: Flask) -> None:
    app.extensions["ideastorm.cache"] = AggregateCache()


def cached(key: Hashable, compute: Callable[[], T], max_age: float | None = None) -> Cached[T]:
    """``compute()``'s result for ``key``, at most ``AGGREGATE_CACHE_SECONDS`` old."""
    if max_age is None:
        max_age = current_app.config["AGGREGATE_CACHE_SECONDS"]
    return current_app.extensions["ideastorm.cache"].get(key, compute, max_age)


def clear() -> None:
    current_app.extensions["ideastorm.cache"].clear()
