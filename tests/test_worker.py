"""The worker: `worker --once`, a running worker's freshness and shutdown, several workers at once."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from ideastorm import create_app, outbox, search
from ideastorm.extensions import db
from ideastorm.search.interface import SearchQuery
from ideastorm.worker import Worker

ROOT = Path(__file__).resolve().parent.parent
COUNTED = "test.count"


def searchable_within(text_: str, seconds: float) -> float | None:
    """Seconds until a search for ``text_`` finds something, or None if not within ``seconds``."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if search.backend().query(SearchQuery(text_)).total:
            return time.monotonic() - started
        time.sleep(0.02)
    return None


@pytest.fixture
def running_worker(app):
    """A worker loop on the test's app in a thread, stopped at teardown."""
    worker = Worker(app, name="test-worker")
    thread = threading.Thread(target=worker.run, name="outbox-worker", daemon=True)
    thread.start()
    yield worker
    worker.stop()
    thread.join(10)
    assert not thread.is_alive(), "the worker did not stop"


def test_worker_once_and_outbox_drain_deliver_what_is_due(app, runner, make_idea):
    make_idea(title="Barcode scanner in the store app")
    result = runner.invoke(args=["worker", "--once"])
    assert result.exit_code == 0, result.output
    assert result.output == "2 delivery(ies) made, 0 still pending, 0 dead.\n"  # the index, the notifications
    assert search.backend().query(SearchQuery("barcode")).total == 1
    make_idea(title="Barcode printing for shelves")
    result = runner.invoke(args=["outbox", "drain"])
    assert result.exit_code == 0 and result.output == "2 delivery(ies) made, 0 still pending, 0 dead.\n"
    assert runner.invoke(args=["worker", "--once"]).output == "0 delivery(ies) made, 0 still pending, 0 dead.\n"


def test_a_running_worker_makes_a_new_idea_searchable_within_a_second(running_worker, make_idea, make_user):
    search.backend().ensure()  # the site's (empty) index, as the first search of an empty site makes it
    author = make_user()
    for n in range(3):
        make_idea(author, title=f"Conveyor belt sensor number{n}x")
        found_after = searchable_within(f"number{n}x", 1.0)
        assert found_after is not None, f"idea {n} was not searchable within 1 s"
    deadline = time.monotonic() + 2  # marked delivered a moment after the index commit
    while outbox.pending_count() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert outbox.pending_count() == 0


def test_a_running_worker_retries_a_failure_and_stops_promptly(app, make_user):
    calls = []

    def flaky(event):
        calls.append(time.monotonic())
        if len(calls) == 1:
            raise OSError("first attempt fails")

    outbox.subscribe(app, "flaky", ["test.happened"], flaky, backoff=0.2, backoff_cap=0.2)
    worker = Worker(app)
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    try:
        outbox.emit("test.happened")
        db.session.commit()
        deadline = time.monotonic() + 5
        while len(calls) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(calls) == 2 and calls[1] - calls[0] >= 0.2
    finally:
        stopping = time.monotonic()
        worker.stop()
        thread.join(5)
    assert not thread.is_alive() and time.monotonic() - stopping < 1.0
    assert worker.delivered == 1 and outbox.pending_count() == 0


def test_flask_worker_runs_until_interrupted_and_exits_0(app, make_idea):
    search.backend().ensure()  # the site's (empty) index, as the first search of an empty site makes it
    environment = dict(
        os.environ,
        IDEASTORM_SECRET_KEY="a-secret-key-for-the-worker-test",
        IDEASTORM_BASE_URL="http://ideastorm.test",  # as an operator sets it (the default is warned about)
        IDEASTORM_SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
        IDEASTORM_SEARCH_INDEX_DIR=app.config["SEARCH_INDEX_DIR"],
        IDEASTORM_RATELIMIT_ENABLED="false",
    )
    process = subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", "worker"], cwd=ROOT,
                               env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        assert "delivering" in process.stderr.readline()  # started, listening or polling
        make_idea(title="Forklift battery telemetry")
        assert searchable_within("forklift", 5.0) is not None
        process.send_signal(signal.SIGINT)
        _, output = process.communicate(timeout=10)
        assert process.returncode == 0, output
        assert "SIGINT: stopping after the current batch." in output
        assert "stopped after 2 delivery(ies)" in output  # the index, the notifications
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate()


# --- several workers at once ---------------------------------------------------------------

def _record(subscriber: str, event_ids: list[int]) -> None:
    with db.engine.begin() as connection:
        if connection.dialect.name == "postgresql":  # the test's own tally needs no durability: faster
            connection.execute(text("SET LOCAL synchronous_commit = off"))
        connection.execute(
            text("INSERT INTO outbox_test_calls (subscriber, event_id, worker) "
                 "VALUES (:subscriber, :event_id, :worker)"),
            [{"subscriber": subscriber, "event_id": event_id, "worker": os.getpid()} for event_id in event_ids],
        )


def _count_one(event: outbox.Event) -> None:
    _record("count-single", [event.id])


def _count_batch(events: list[outbox.Event]) -> None:
    _record("count-batch", [event.id for event in events])


def _subscribe_counters(app) -> None:
    outbox.subscribe(app, "count-single", [COUNTED], _count_one)
    outbox.subscribe(app, "count-batch", [COUNTED], _count_batch, batch=True)


def _drain_in_a_process(database_url: str, folder: str, start) -> None:
    """A worker process: the test's configuration, the counting subscribers, one drain once both are ready."""
    from tests.conftest import _base_config

    app = create_app(_base_config(database_url, Path(folder)))
    _subscribe_counters(app)
    with app.app_context():
        start.wait(60)
        outbox.drain_all()
        db.session.remove()
        db.engine.dispose()


def _two_workers_deliver_each_event_once(app, tmp_path, count: int) -> None:
    _subscribe_counters(app)
    with db.engine.begin() as connection:
        connection.execute(text("CREATE TABLE outbox_test_calls (subscriber VARCHAR(60), event_id INTEGER, "
                                "worker INTEGER)"))
    try:
        for n in range(count):
            outbox.emit(COUNTED, n=n)
        db.session.commit()
        context = multiprocessing.get_context("spawn")
        start = context.Barrier(2)
        processes = [
            context.Process(target=_drain_in_a_process,
                            args=(app.config["SQLALCHEMY_DATABASE_URI"], str(tmp_path), start))
            for _worker in range(2)
        ]
        for process in processes:
            process.start()
        for process in processes:
            process.join(60)
        assert [process.exitcode for process in processes] == [0, 0]
        with db.engine.connect() as connection:
            calls = connection.execute(text(
                "SELECT subscriber, count(*), count(DISTINCT event_id), count(DISTINCT worker) "
                "FROM outbox_test_calls GROUP BY subscriber ORDER BY subscriber"
            )).all()
        assert [tuple(row[:3]) for row in calls] == [("count-batch", count, count), ("count-single", count, count)]
        assert dict((row[0], row[3]) for row in calls)["count-single"] == 2  # both took part
        assert outbox.pending_count() == 0 and outbox.health()["outbox_dead"] == 0
    finally:
        db.session.rollback()
        with db.engine.begin() as connection:
            connection.execute(text("DROP TABLE outbox_test_calls"))


@pytest.mark.postgres_only
def test_two_worker_processes_deliver_each_event_once_per_subscriber(app, backend, tmp_path):
    if backend != "postgresql":
        pytest.skip("PostgreSQL: FOR UPDATE SKIP LOCKED between two worker processes")
    _two_workers_deliver_each_event_once(app, tmp_path, 1000)


def test_two_workers_on_sqlite_at_once(app, backend, tmp_path):
    if backend != "sqlite":
        pytest.skip("SQLite: two workers behind its single writer (PostgreSQL has its own test)")
    _two_workers_deliver_each_event_once(app, tmp_path, 100)
