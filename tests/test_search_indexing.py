"""The index follows the database: every change that affects search, crash safety, several processes."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest
from sqlalchemy import select

from ideastorm import create_app, outbox, search
from ideastorm.extensions import db
from ideastorm.ideas.models import Category
from ideastorm.outbox import OutboxDelivery, OutboxEvent
from ideastorm.search.interface import SearchQuery


def ids_found(text: str, **options) -> set[int]:
    return {hit.id for hit in search.backend().query(SearchQuery(text, per_page=100, **options)).hits}


def verify(runner):
    return runner.invoke(args=["search", "verify"])


@pytest.fixture
def staff(make_user):
    return make_user("staff")


def test_every_change_that_affects_search_reaches_the_index(app, runner, make_idea, make_user, staff):
    from ideastorm.accounts.services import update_profile
    from ideastorm.admin.services import update_category
    from ideastorm.comments.services import add_comment
    from ideastorm.ideas.services import update_idea
    from ideastorm.triage import services as triage
    from tests.helpers import cast_vote

    author = make_user(name="Nadia Perrin")
    idea = make_idea(author, title="Offline mode for the mobile app", tags="mobile")
    other = make_idea(title="Sync contacts when offline", tags="mobile")
    search.sync()
    assert ids_found("offline") == {idea.id, other.id}

    update_idea(idea, "Airplane mode for the mobile app", "Works without network.", idea.category_id, "mobile, travel")
    search.sync()
    assert ids_found("airplane") == {idea.id} and ids_found("offline") == {other.id}
    assert ids_found("", tag="travel") == {idea.id}

    triage.change_status(staff, idea, "planned", "On the roadmap.")
    search.sync()
    assert ids_found("airplane", status="planned") == {idea.id}

    comment = add_comment(make_user(), idea, "Please include the kiosk terminals too.")
    search.sync()
    assert ids_found("kiosk") == {idea.id}
    triage.set_comment_hidden(staff, comment, True)
    search.sync()
    assert ids_found("kiosk") == set()

    voter = make_user()
    cast_vote(voter.id, other.id, 1)
    search.sync()
    assert [h.score for h in search.backend().query(SearchQuery("offline")).hits] == [1]

    triage.mark_duplicate(staff, other, idea)
    search.sync()
    hits = {h.id: h for h in search.backend().query(SearchQuery("mobile")).hits}
    assert hits[idea.id].score == 1 and hits[other.id].status == "duplicate" and hits[other.id].score == 0
    triage.undo_duplicate(staff, db.session.get(type(other), other.id))
    search.sync()
    hits = {h.id: h for h in search.backend().query(SearchQuery("mobile")).hits}
    assert hits[idea.id].score == 0 and hits[other.id].score == 1 and hits[other.id].status == "new"

    triage.set_idea_hidden(staff, idea, True)
    search.sync()
    assert ids_found("airplane") == set() and idea.id not in search.backend().fingerprints()
    triage.set_idea_hidden(staff, idea, False)
    search.sync()
    assert ids_found("airplane") == {idea.id}

    category = db.session.get(Category, idea.category_id)
    update_category(make_user("admin"), category, "Gadgets and handhelds", category.description)
    search.sync()
    assert idea.id in ids_found("handhelds")
    assert {h.category_name for h in search.backend().query(SearchQuery("airplane")).hits} == {"Gadgets and handhelds"}

    update_profile(author, "Nadia Perrin-Leclerc", None)
    search.sync()
    assert ids_found("leclerc") == {idea.id}

    targets = [make_idea(title=f"Bulk target number {n}") for n in range(3)]
    search.sync()
    triage.bulk_apply(staff, [t.id for t in targets], status="declined", tag="bulkdone")
    search.sync()
    assert ids_found("bulk", status="declined") == {t.id for t in targets}
    assert ids_found("", tag="bulkdone") == {t.id for t in targets}

    assert verify(runner).exit_code == 0


def test_a_request_leaves_indexing_to_the_worker(app, client, member, runner):
    search.backend().ensure()  # the site's (empty) index, as the first search of an empty site makes it
    category_id = db.session.scalar(select(Category.id).where(Category.slug == "products"))
    form = {"title": "Battery saver schedule", "description": "Turn it on at night.", "category": category_id,
            "tags": ""}
    # buffered: the test client then closes the response, as a WSGI server does once it is sent
    response = client.post_form("/ideas/new", form, buffered=True)
    assert response.status_code in (302, 303)
    # Web processes never index: the index's delivery waits, beside the notifications'.
    assert ids_found("battery") == set() and outbox.pending_count() == 2
    assert runner.invoke(args=["worker", "--once"]).exit_code == 0
    assert len(ids_found("battery")) == 1
    assert outbox.pending_count() == 0


def test_a_crash_between_commit_and_index_write_is_caught_up(app, runner, make_idea, monkeypatch):
    from ideastorm.search.whoosh_backend import WhooshBackend

    search.backend().ensure()
    idea = make_idea(title="Barcode scanner in the store app")

    def crash(self, *args, **kwargs):
        raise OSError("simulated crash before the index commit")

    with monkeypatch.context() as patch:
        patch.setattr(WhooshBackend, "apply", crash)
        search.sync()
    delivery = db.session.scalar(select(OutboxDelivery).join(OutboxEvent)
                                 .where(OutboxEvent.payload["idea_id"].as_integer() == idea.id))
    assert delivery.delivered_at is None and delivery.attempts == 1 and "simulated crash" in delivery.last_error
    result = verify(runner)
    assert result.exit_code == 1
    assert f"idea {idea.id}: missing from the index" in result.output
    assert "1 difference(s)" in result.output

    # A new process: another app and backend instance on the same database and index folder.
    restarted = create_app(dict(app.config))
    with restarted.app_context():
        assert search.sync() >= 1
        assert ids_found("barcode") == {idea.id}
        result = restarted.test_cli_runner().invoke(args=["search", "verify"])
        assert result.exit_code == 0, result.output
        assert "matches the database" in result.output
        db.session.remove()
        db.engine.dispose()


def test_an_event_waits_while_another_process_holds_the_index(app, make_idea, monkeypatch):
    from ideastorm.search import whoosh_backend

    monkeypatch.setattr(whoosh_backend, "LOCK_TIMEOUT", 0.2)
    idea = make_idea(title="Warranty lookup by serial number")
    backend = search.backend()
    backend.ensure()
    from whoosh import index as whoosh_index

    holder = whoosh_index.open_dir(str(Path(backend.root) / backend._pointer())).writer()  # another writer
    try:
        assert search.sync() == 1  # the notifications' delivery; the index's waits
        delivery = db.session.scalar(select(OutboxDelivery).where(OutboxDelivery.delivered_at.is_(None)))
        assert delivery.attempts == 0 and delivery.last_error is None  # deferred: tried again, no attempt spent
    finally:
        holder.cancel()
    assert search.sync() == 1
    assert ids_found("warranty") == {idea.id}


def _worker(database_url: str, index_dir: str, worker: int, count: int) -> None:
    """One process creating and editing ideas, delivering its events after each change, as a worker would."""
    from ideastorm.accounts.models import User
    from ideastorm.ideas.services import submit_idea, update_idea

    app = create_app({"TESTING": True, "SECRET_KEY": "x" * 32, "SQLALCHEMY_DATABASE_URI": database_url,
                      "SEARCH_INDEX_DIR": index_dir, "RATELIMIT_ENABLED": False})
    with app.app_context():
        user = User(email=f"worker{worker}@example.com", display_name=f"Worker {worker}", role="member")
        db.session.add(user)
        db.session.commit()
        category_id = db.session.scalar(select(Category.id).where(Category.slug == "products"))
        for n in range(count):
            idea = submit_idea(user, f"Parallel idea {worker}-{n} draft", "First version.", category_id, "parallel")
            db.session.commit()
            outbox.drain_all()
            update_idea(idea, f"Parallel idea {worker}-{n} final", f"Edited by worker {worker}.", category_id,
                        "parallel")
            db.session.commit()
            outbox.drain_all()
        db.session.remove()
        db.engine.dispose()


def test_several_processes_write_at_once(app, runner):
    workers, count = 4, 8
    context = multiprocessing.get_context("spawn")
    processes = [
        context.Process(target=_worker, args=(app.config["SQLALCHEMY_DATABASE_URI"], app.config["SEARCH_INDEX_DIR"],
                                              worker, count))
        for worker in range(workers)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(120)
    assert [p.exitcode for p in processes] == [0] * workers
    search.sync()  # what a process deferred (the index busy with another's write) a running worker retries
    assert outbox.pending_count() == 0
    result = verify(runner)
    assert result.exit_code == 0, result.output
    found = search.backend().query(SearchQuery("parallel final", per_page=100))
    assert found.total == workers * count
    assert search.backend().query(SearchQuery("draft")).total == 0


def test_a_busy_index_is_retried_by_the_worker_until_it_frees(app, make_idea, monkeypatch):
    """Deferred deliveries are tried again a moment later, without spending an attempt."""
    import threading
    import time

    from whoosh import index as whoosh_index

    from ideastorm.search import whoosh_backend
    from ideastorm.worker import Worker

    monkeypatch.setattr(whoosh_backend, "LOCK_TIMEOUT", 0.1)
    backend = search.backend()
    backend.ensure()
    holder = whoosh_index.open_dir(str(Path(backend.root) / backend._pointer())).writer()
    release = threading.Timer(0.6, holder.cancel)  # another process finishing its own commit
    worker = Worker(app)
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    try:
        idea = make_idea(title="Warranty lookup by serial number")
        release.start()
        deadline = time.monotonic() + 5
        while not ids_found("warranty") and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        release.join()
        worker.stop()
        thread.join(5)
    assert ids_found("warranty") == {idea.id}
    delivery = db.session.scalar(select(OutboxDelivery))
    assert delivery.attempts == 0 and delivery.delivered_at is not None


def test_the_pages_never_show_a_hidden_idea_the_index_still_holds(app, client, make_idea, make_user):
    """Between hiding and indexing (or if indexing is stuck), the database decides what is shown."""
    from sqlalchemy import update

    from ideastorm.ideas.models import Idea

    shown = make_idea(title="Zanzibar export for invoices")
    hidden = make_idea(title="Zanzibar export for receipts")
    search.sync()
    db.session.execute(update(Idea).where(Idea.id == hidden.id).values(is_hidden=True))  # no event: index lags
    db.session.commit()
    assert ids_found("zanzibar") == {shown.id, hidden.id}  # the index alone still has it
    for url in ("/search?q=zanzibar", "/search/similar?title=Zanzibar+export"):
        body = client.get(url).get_data(as_text=True)
        assert f"/ideas/{shown.id}" in body and f"/ideas/{hidden.id}" not in body, url


def test_a_search_survives_a_segment_file_vanishing_while_its_searcher_refreshes(app, make_idea, monkeypatch):
    # A writer's clean-up can delete a segment file just as a web process's searcher catches up
    # with the new index; Whoosh then retries, and its retry closed reused readers twice (a 500
    # seen under a vote storm). The search must answer.
    from whoosh import reading

    make_idea(title="First idea about label printers")
    search.sync()
    assert search.backend().query(SearchQuery("printers")).total == 1  # a searcher is open
    make_idea(title="Second idea about label printers")
    search.sync()  # a new segment: the open searcher is out of date
    real_init, calls = reading.SegmentReader.__init__, []

    def vanishing_once(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise FileNotFoundError("segment deleted by a writer's clean-up")
        real_init(self, *args, **kwargs)

    monkeypatch.setattr(reading.SegmentReader, "__init__", vanishing_once)
    assert search.backend().query(SearchQuery("printers")).total == 2
    assert calls, "the searcher did not open a segment: the test did not reach the race"
