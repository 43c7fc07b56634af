"""The outbox: one delivery per event and subscriber, retried with backoff, dead, listed, replayed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from ideastorm import outbox, search
from ideastorm.extensions import db
from ideastorm.outbox import OutboxDelivery, OutboxEvent
from ideastorm.timeutil import utcnow


class Recorder:
    """A handler that records what it was given and fails (or defers) while told to."""

    def __init__(self, fail: Exception | None = None) -> None:
        self.calls: list = []
        self.fail = fail

    def __call__(self, given) -> None:
        self.calls.append(given)
        if self.fail is not None:
            raise self.fail

    @property
    def event_ids(self) -> list[int]:
        return [event.id for given in self.calls for event in (given if isinstance(given, list) else [given])]


def delivery(subscriber: str, event_id: int | None = None) -> OutboxDelivery:
    db.session.expire_all()  # the outbox writes through connections of its own
    query = select(OutboxDelivery).where(OutboxDelivery.subscriber == subscriber)
    if event_id is not None:
        query = query.where(OutboxDelivery.event_id == event_id)
    return db.session.scalars(query).one()


def emit_one(topic: str = "test.happened", **payload) -> int:
    event_id = outbox.emit(topic, **payload)
    db.session.commit()
    return event_id


def test_emit_writes_one_delivery_per_subscriber_in_the_same_transaction(app):
    outbox.subscribe(app, "first", ["test.happened"], Recorder())
    outbox.subscribe(app, "second", ["test.happened", "test.other"], Recorder(), batch=True)
    outbox.emit("test.happened", n=1)
    db.session.rollback()
    assert db.session.scalar(select(db.func.count()).select_from(OutboxEvent)) == 0
    assert outbox.pending_count() == 0

    happened, other = emit_one(n=2), emit_one("test.other")
    rows = db.session.execute(select(OutboxDelivery.event_id, OutboxDelivery.subscriber, OutboxDelivery.attempts)
                              .order_by(OutboxDelivery.event_id, OutboxDelivery.subscriber)).all()
    assert rows == [(happened, "first", 0), (happened, "second", 0), (other, "second", 0)]
    with pytest.raises(ValueError, match="already registered"):
        outbox.subscribe(app, "first", ["test.happened"], Recorder())


def test_workers_are_notified_once_per_emitting_transaction_on_postgresql(app, backend):
    from sqlalchemy import event as sqlalchemy_event

    notifications = []

    def count(conn, cursor, statement, parameters, context, executemany):
        if "pg_notify" in statement:
            notifications.append(parameters)

    outbox.subscribe(app, "anything", ["test.happened"], Recorder())
    sqlalchemy_event.listen(db.engine, "before_cursor_execute", count)
    try:
        for n in range(3):
            outbox.emit("test.happened", n=n)
        db.session.commit()
        outbox.emit("test.happened", n=4)
        db.session.rollback()
        db.session.execute(select(1))
        db.session.commit()  # nothing emitted: no notification
    finally:
        sqlalchemy_event.remove(db.engine, "before_cursor_execute", count)
    assert len(notifications) == (1 if backend == "postgresql" else 0)


def test_a_failing_subscriber_never_makes_another_run_twice(app, caplog):
    steady, failing = Recorder(), Recorder(fail=OSError("the receiver is down"))
    outbox.subscribe(app, "steady", ["test.happened"], steady)
    outbox.subscribe(app, "failing", ["test.happened"], failing, max_attempts=3, backoff=10, backoff_cap=60)
    event_id = emit_one()
    now = utcnow()

    for _attempt in range(3):
        outbox.drain_all(now=now)
        now += timedelta(hours=1)
    assert steady.event_ids == [event_id]
    assert failing.event_ids == [event_id] * 3
    assert [event.attempt for event in failing.calls] == [1, 2, 3]
    dead = delivery("failing")
    assert dead.attempts == 3 and dead.dead_at is not None and dead.last_error == "OSError: the receiver is down"
    assert delivery("steady").delivered_at is not None
    assert outbox.drain_all(now=now + timedelta(days=1)) == 0  # dead: never tried again by itself
    assert len(failing.calls) == 3
    assert outbox.health()["outbox_dead"] == 1 and outbox.pending_count() == 0
    failures = [r for r in caplog.records if r.name == "ideastorm.outbox"]
    assert len(failures) == 3
    assert all(f"failing failed on event {event_id} (test.happened)" in r.getMessage() for r in failures)
    assert "dead" in failures[-1].getMessage()


def test_backoff_doubles_up_to_its_cap_with_a_fake_clock(app):
    outbox.subscribe(app, "flaky", ["test.happened"], Recorder(fail=RuntimeError("no")),
                     max_attempts=6, backoff=60, backoff_cap=300)
    emit_one()
    t0 = utcnow()
    now, expected = t0, []
    for wait in (60, 120, 240, 300, 300):
        assert outbox.drain_all(now=now) == 0
        now += timedelta(seconds=wait)
        expected.append(now)
        found = delivery("flaky")
        assert found.next_attempt_at == now and found.dead_at is None
        assert found.leased_by is None and found.leased_until is None
        # not a moment before
        outbox.drain_all(now=now - timedelta(seconds=1))
        assert delivery("flaky").attempts == len(expected)
    assert expected[-1] == t0 + timedelta(seconds=60 + 120 + 240 + 300 + 300)
    outbox.drain_all(now=now)
    found = delivery("flaky")
    assert found.attempts == 6 and found.dead_at == now


def test_the_default_policy_spreads_six_attempts_over_about_an_hour(app):
    subscriber = outbox.subscribe(app, "policy", ["test.happened"], Recorder())
    waits = [subscriber.delay(failures).total_seconds() for failures in range(1, subscriber.max_attempts)]
    assert subscriber.max_attempts >= 5
    assert waits == [120, 240, 480, 960, 1800]
    assert 50 * 60 <= sum(waits) <= 70 * 60


def test_deferred_is_tried_again_shortly_without_counting_an_attempt(app):
    busy = Recorder(fail=outbox.Deferred())
    outbox.subscribe(app, "busy", ["test.happened"], busy)
    emit_one()
    now = utcnow()
    assert outbox.drain_all(now=now) == 0
    found = delivery("busy")
    assert found.attempts == 0 and found.last_error is None and found.dead_at is None
    assert found.next_attempt_at == now + outbox.DEFERRED_RETRY
    busy.fail = None
    assert outbox.drain_all(now=now + outbox.DEFERRED_RETRY) == 1
    assert [event.attempt for event in busy.calls] == [1, 1]
    assert delivery("busy").delivered_at is not None


def test_a_lease_left_by_a_killed_worker_expires(app):
    handler = Recorder()
    outbox.subscribe(app, "leased", ["test.happened"], handler)
    emit_one()
    now = utcnow()
    db.session.execute(update(OutboxDelivery).values(leased_by="gone:1:MainThread",
                                                     leased_until=now + timedelta(minutes=5)))
    db.session.commit()
    assert outbox.drain_all(now=now) == 0 and handler.calls == []
    assert outbox.drain_all(now=now + timedelta(minutes=5)) == 1
    assert len(handler.calls) == 1 and delivery("leased").leased_by is None


def test_a_storm_of_votes_on_one_idea_is_one_index_update(app, make_idea, monkeypatch):
    from ideastorm.search import indexer

    idea = make_idea(title="Bulk export of invoices")
    other = make_idea(title="Bulk import of contacts")
    search.sync()
    updates: list[set[int]] = []
    reindex = indexer.reindex
    monkeypatch.setattr(indexer, "reindex", lambda ids, **kw: (updates.append(set(ids)), reindex(ids, **kw)))
    for _vote in range(999):
        outbox.emit("idea.voted", idea_id=idea.id)
    outbox.emit("idea.voted", idea_id=other.id)
    db.session.commit()
    assert outbox.pending_count() == 1000
    assert outbox.drain_all() == 1000
    assert updates == [{idea.id, other.id}]  # one index commit, each idea once
    assert outbox.pending_count() == 0


def test_dead_deliveries_are_listed_and_replayed(app, runner):
    handler = Recorder(fail=ValueError("bad payload\nsecond line"))
    outbox.subscribe(app, "strict", ["test.happened", "test.other"], handler, max_attempts=1)
    first, second = emit_one(), emit_one("test.other")
    assert runner.invoke(args=["outbox", "list", "--dead"]).output == "No dead deliveries.\n"
    pending = runner.invoke(args=["outbox", "list"])
    assert pending.exit_code == 0 and len(pending.output.splitlines()) == 2
    assert "next attempt" in pending.output

    outbox.drain_all()
    listed = runner.invoke(args=["outbox", "list", "--dead"])
    assert listed.exit_code == 0
    lines = listed.output.splitlines()
    ids = [delivery("strict", first).id, delivery("strict", second).id]
    assert len(lines) == 2
    assert lines[0].startswith(f"delivery {ids[0]}  event {first}  test.happened  strict  attempts 1  created ")
    assert " dead " in lines[0] and lines[0].endswith("error: ValueError: bad payload")
    assert f"event {second}  test.other" in lines[1]
    assert outbox.health()["outbox_dead"] == 2

    replayed = runner.invoke(args=["outbox", "replay", str(ids[0])])
    assert replayed.exit_code == 0 and "1 delivery(ies) due again" in replayed.output
    found = delivery("strict", first)
    assert found.dead_at is None and found.attempts == 0 and found.next_attempt_at <= utcnow()
    handler.fail = None
    assert outbox.drain_all() == 1 and handler.event_ids == [first, second, first]

    assert runner.invoke(args=["outbox", "replay", "--all-dead"]).exit_code == 0
    assert outbox.drain_all() == 1
    assert outbox.health() == {"outbox_pending": 0, "outbox_oldest_pending_seconds": None, "outbox_dead": 0}
    assert runner.invoke(args=["outbox", "list"]).output == "No pending or dead deliveries.\n"


@pytest.mark.parametrize("args, message", [
    (["outbox", "replay"], "Give the ids of dead deliveries or --all-dead"),
    (["outbox", "replay", "1", "--all-dead"], "Give the ids of dead deliveries or --all-dead"),
    (["outbox", "replay", "12345"], "Not dead deliveries (see `flask outbox list --dead`): 12345; nothing replayed."),
    (["outbox", "replay", "x"], "'x' is not a valid integer"),
    (["outbox", "list", "--limit", "0"], "0 is not in the range x>=1"),
    (["worker", "--twice"], "No such option '--twice'"),
])
def test_bad_arguments_fail_with_one_line(runner, args, message):
    result = runner.invoke(args=args)
    assert result.exit_code != 0
    assert message in result.output
    assert len([line for line in result.output.splitlines() if line.startswith("Error")]) == 1


def test_replaying_a_delivery_that_is_not_dead_changes_nothing(app, runner):
    outbox.subscribe(app, "strict", ["test.happened"], Recorder(fail=ValueError("no")), max_attempts=1)
    emit_one()
    outbox.drain_all()
    emit_one()  # pending, not dead
    dead_id = outbox.deliveries(dead_only=True)[0].id
    pending_id = max(d.id for d in outbox.deliveries())
    result = runner.invoke(args=["outbox", "replay", str(dead_id), str(pending_id)])
    assert result.exit_code == 1
    assert f"Not dead deliveries (see `flask outbox list --dead`): {pending_id}" in result.output
    assert [d.id for d in outbox.deliveries(dead_only=True)] == [dead_id]


def test_draining_inside_a_request_refuses(app):
    outbox.subscribe(app, "anything", ["test.happened"], Recorder())
    emit_one()
    with app.test_request_context("/"):
        with pytest.raises(RuntimeError, match="never inside a web request"):
            outbox.drain_all()
        with pytest.raises(RuntimeError, match="never inside a web request"):
            search.sync()
        from ideastorm.search import indexer
        with pytest.raises(RuntimeError, match="never inside a web request"):
            indexer.reindex({1})
    assert outbox.pending_count() == 1


def test_a_request_never_delivers_its_events(app, client, member):
    handler = Recorder()
    outbox.subscribe(app, "watcher", ["idea.created"], handler)
    from ideastorm.ideas.models import Category

    category_id = db.session.scalar(select(Category.id).where(Category.slug == "products"))
    form = {"title": "Battery saver schedule", "description": "Turn it on at night.", "category": category_id,
            "tags": ""}
    # buffered: the test client then closes the response, as a WSGI server does once it is sent
    response = client.post_form("/ideas/new", form, buffered=True)
    assert response.status_code in (302, 303)
    assert handler.calls == []
    assert delivery("watcher").delivered_at is None and delivery("search-index").delivered_at is None
    assert outbox.drain_all() == 3 and len(handler.calls) == 1  # the watcher, the index, the notifications


def test_healthz_is_degraded_while_deliveries_are_dead(app, client):
    outbox.subscribe(app, "strict", ["test.happened"], Recorder(fail=ValueError("no")), max_attempts=1)
    emit_one()
    body = client.get("/healthz").get_json()
    assert body["status"] == "ok" and body["outbox"]["pending"] == 1 and body["outbox"]["dead"] == 0
    assert body["outbox"]["oldest_seconds"] >= 0
    outbox.drain_all()
    response = client.get("/healthz")
    body = response.get_json()
    assert response.status_code == 200
    assert body["status"] == "degraded" and body["outbox"]["dead"] == 1 and body["outbox"]["pending"] == 0
    assert body["outbox"]["oldest_seconds"] is None
    assert body["database"]["status"] == "ok" and body["search"]["status"] == "ok"
