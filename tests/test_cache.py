"""The aggregate cache: fresh values from memory, stale ones served while one thread refreshes."""

from __future__ import annotations

import threading

from ideastorm.cache import AggregateCache


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_fresh_value_is_computed_once():
    calls = []
    cache = AggregateCache(clock=Clock())
    first = cache.get("k", lambda: calls.append(1) or len(calls), max_age=60)
    again = cache.get("k", lambda: calls.append(1) or len(calls), max_age=60)
    assert first.value == again.value == 1 and again.computed_at == first.computed_at
    assert len(calls) == 1


def test_a_stale_value_is_served_at_once_while_one_thread_refreshes_it():
    clock = Clock()
    cache = AggregateCache(clock=clock)
    cache.get("k", lambda: "old", max_age=60)
    clock.now += 61
    release, started, calls = threading.Event(), threading.Event(), []

    def slow_refresh():
        calls.append(1)
        started.set()
        release.wait(5)
        return "new"

    assert cache.get("k", slow_refresh, max_age=60).value == "old"  # nobody waits for the refresh
    started.wait(5)
    assert cache.get("k", slow_refresh, max_age=60).value == "old"  # still refreshing: no second thread
    release.set()
    cache.wait()
    assert cache.get("k", slow_refresh, max_age=60).value == "new"
    assert len(calls) == 1


def test_a_failed_refresh_keeps_the_older_value():
    clock = Clock()
    cache = AggregateCache(clock=clock)
    cache.get("k", lambda: "old", max_age=60)
    clock.now += 61

    def broken():
        raise RuntimeError("database went away")

    assert cache.get("k", broken, max_age=60).value == "old"
    cache.wait()
    assert cache.get("k", lambda: "new", max_age=60).value == "old"  # served, and a new refresh starts
    cache.wait()
    assert cache.get("k", lambda: "newer", max_age=60).value == "new"


def test_max_age_zero_always_computes():
    cache = AggregateCache(clock=Clock())
    values = iter([1, 2])
    assert cache.get("k", lambda: next(values), max_age=0).value == 1
    assert cache.get("k", lambda: next(values), max_age=0).value == 2


def test_leaderboard_refreshes_in_its_own_app_context(app, client, make_idea, member):
    """The background refresh runs the real query outside any request."""
    from tests.helpers import cast_vote

    app.config["AGGREGATE_CACHE_SECONDS"] = 3600
    idea = make_idea(title="Offline mode for the installer")
    assert "Offline mode for the installer" not in client.get("/leaderboard").get_data(as_text=True)
    cast_vote(member.id, idea.id, 1)
    cache = app.extensions["ideastorm.cache"]
    cache._clock = lambda: 10**9  # everything is now stale
    client.get("/leaderboard")  # served the stale ranking, refresh started
    cache.wait()
    assert "Offline mode for the installer" in client.get("/leaderboard").get_data(as_text=True)
