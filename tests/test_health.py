"""/healthz tells the truth about the index and the outbox; search says "unavailable", never "no results",
when its index is gone; a database outage answers 503 with Retry-After, never a 500."""

from __future__ import annotations

import logging
import os
import shutil
import stat
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from ideastorm import create_app, search
from ideastorm.extensions import db
from ideastorm.outbox import OutboxEvent
from ideastorm.search.whoosh_backend import LOCK_FILE, MARKER
from ideastorm.timeutil import utcnow

from .conftest import Client, _base_config

UNAVAILABLE = "Search is unavailable right now."


def health(client) -> tuple[int, dict]:
    response = client.get("/healthz")
    return response.status_code, response.get_json()


def generation_dir(app) -> Path:
    backend = search.backend()
    return Path(app.config["SEARCH_INDEX_DIR"]) / backend._pointer()


@pytest.fixture
def indexed(make_idea):
    """Two ideas, indexed."""
    ideas = [make_idea(title="Label printer support"), make_idea(title="Keyboard shortcuts everywhere")]
    search.sync()
    return ideas


def test_healthz_is_ok_when_the_index_matches_the_database(client, indexed):
    status, body = health(client)
    assert status == 200 and body["status"] == "ok", body
    assert body["database"]["status"] == "ok"
    found = body["search"]
    assert found["status"] == "ok" and found["documents"] == found["expected"] == 2
    assert found["writable"] is True and found["problems"] == []
    assert found["indexed_through"] >= found["database_through"] > 0
    assert body["outbox"] == {"status": "ok", "pending": 0, "oldest_seconds": None, "dead": 0,
                              "max_age_seconds": 300, "problems": []}
    assert client.get("/healthz").headers["Cache-Control"] == "no-store"


def test_an_index_deleted_while_serving_is_reported_and_searches_say_unavailable(app, client, indexed, make_idea,
                                                                                 caplog):
    assert f'id="hit-{indexed[0].id}"' in client.get("/search?q=printer").get_data(as_text=True)
    shutil.rmtree(app.config["SEARCH_INDEX_DIR"])
    status, body = health(client)
    assert status == 503 and body["status"] == "error"
    assert body["search"]["status"] == "error" and body["search"]["index"] == "missing"
    assert body["search"]["expected"] == 2 and "missing" in body["search"]["problems"][0]
    assert not os.path.exists(app.config["SEARCH_INDEX_DIR"])  # the probe did not make an empty one

    caplog.set_level(logging.ERROR, logger="ideastorm.search")
    response = client.get("/search?q=printer")
    page = response.get_data(as_text=True)
    assert response.status_code == 503
    assert UNAVAILABLE in page and "Browse all ideas" in page and "No idea matches" not in page
    errors = [r for r in caplog.records if r.levelno == logging.ERROR and "search is unavailable" in r.getMessage()]
    assert len(errors) == 1
    fragment = client.get("/search?q=printer", headers={"HX-Request": "true"})
    assert fragment.status_code == 503 and fragment.headers["X-Swap-Error"] == "true"
    assert UNAVAILABLE in fragment.get_data(as_text=True) and "<html" not in fragment.get_data(as_text=True)
    similar = client.get("/search/similar?title=Label+printer", headers={"HX-Request": "true"})
    assert similar.status_code == 503 and UNAVAILABLE in similar.get_data(as_text=True)

    verify = app.test_cli_runner().invoke(args=["search", "verify"])
    assert verify.exit_code == 1 and "`flask search rebuild`" in verify.output

    # The worker builds it again from the database with its next delivery.
    added = make_idea(title="Printer tray sensor")
    search.sync()
    status, body = health(client)
    assert status == 200 and body["status"] == "ok", body
    assert body["search"]["documents"] == 3
    assert f'id="hit-{added.id}"' in client.get("/search?q=printer").get_data(as_text=True)


def test_an_index_path_that_is_not_a_folder_is_an_error(app, client, indexed):
    shutil.rmtree(app.config["SEARCH_INDEX_DIR"])
    Path(app.config["SEARCH_INDEX_DIR"]).write_text("not an index")
    status, body = health(client)
    assert status == 503 and body["search"]["index"].startswith("error")
    assert client.get("/search?q=printer").status_code == 503


def test_an_unwritable_index_is_an_error_and_the_failed_indexing_is_logged(app, client, indexed, make_idea, caplog):
    lock = generation_dir(app) / LOCK_FILE
    if lock.exists():
        lock.unlink()
    lock.mkdir()  # nothing can take Whoosh's write lock, whoever the process runs as
    status, body = health(client)
    assert status == 503 and body["search"]["writable"] is False
    assert "cannot be written" in body["search"]["problems"][0]
    assert client.get("/search?q=printer").status_code == 200  # reading still works

    caplog.set_level(logging.ERROR, logger="ideastorm.search")
    idea = make_idea(title="Scanner driver update")
    search.sync()
    failures = [r for r in caplog.records if r.name == "ideastorm.search.indexer" and r.levelno == logging.ERROR]
    assert failures and f"[{idea.id}]" in failures[0].getMessage() and failures[0].exc_info
    lock.rmdir()
    status, body = health(client)
    assert status == 200 and body["status"] == "degraded"  # the delivery waits for its retry
    assert body["search"]["failing"] == 1 and body["search"]["documents"] == 2 and body["search"]["expected"] == 3


@pytest.mark.skipif(os.geteuid() == 0, reason="as root, file permissions do not stop writes")
def test_a_read_only_index_is_an_error(app, client, indexed):
    folder = generation_dir(app)
    folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        status, body = health(client)
        assert status == 503 and body["search"]["writable"] is False
    finally:
        folder.chmod(stat.S_IRWXU)


def test_documents_missing_from_the_index_are_degraded_with_both_counts(client, indexed):
    search.backend().remove([indexed[0].id])  # behind the database's back
    status, body = health(client)
    assert status == 200 and body["status"] == "degraded"
    assert body["search"]["status"] == "degraded"
    assert body["search"]["documents"] == 1 and body["search"]["expected"] == 2
    assert "holds 1 ideas, the database 2" in body["search"]["problems"][0]


def test_an_index_older_than_what_the_database_says_was_indexed_is_degraded(app, client, indexed):
    (generation_dir(app) / MARKER).write_text("1")  # an old copy put back, say
    status, body = health(client)
    assert status == 200 and body["search"]["status"] == "degraded"
    assert "reflects events up to 1" in body["search"]["problems"][0]


def test_an_outbox_backlog_older_than_the_threshold_is_degraded(client, make_idea):
    search.backend().ensure()
    make_idea()  # its events wait for a worker
    status, body = health(client)
    assert status == 200 and body["status"] == "ok"  # the index's backlog explains the missing document
    assert body["search"]["documents"] == 0 and body["search"]["expected"] == 1 and body["search"]["backlog"] == 1
    db.session.execute(update(OutboxEvent).values(created_at=utcnow() - timedelta(seconds=400)))
    db.session.commit()
    status, body = health(client)
    assert status == 200 and body["status"] == "degraded" and body["outbox"]["status"] == "degraded"
    assert body["outbox"]["oldest_seconds"] >= 400 and "is a worker" in body["outbox"]["problems"][0]


def _down_app(url: str, tmp_path) -> Client:
    app = create_app(_base_config(url, tmp_path))
    app.test_client_class = Client
    return app


@pytest.fixture(params=["sqlite", "postgresql"])
def down_app(request, tmp_path):
    """The app pointed at a database that cannot be reached: a SQLite file in a removed folder, a closed port."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/removed/ideastorm.db"
    else:
        url = "postgresql+psycopg://postgres@127.0.0.1:1/ideastorm?connect_timeout=2"
    app = _down_app(url, tmp_path)
    with app.app_context():
        yield app
        db.engine.dispose()


def test_a_database_outage_answers_503_with_retry_after(down_app, caplog):
    client = down_app.test_client()
    caplog.set_level(logging.ERROR, logger="ideastorm.errors")
    response = client.get("/")
    page = response.get_data(as_text=True)
    assert response.status_code == 503 and response.headers["Retry-After"] == "30"
    assert "cannot reach its database" in page and "try again in 30 seconds" in page
    assert any("database unavailable during GET /" in r.getMessage() for r in caplog.records)

    french = client.get("/ideas", headers={"Accept-Language": "fr"})
    assert french.status_code == 503 and 'lang="fr"' in french.get_data(as_text=True)

    api = client.get("/", headers={"Accept": "application/json"})
    assert api.status_code == 503 and api.headers["Retry-After"] == "30"
    assert api.get_json()["error"]["code"] == "database_unavailable"

    probe = client.get("/healthz")
    assert probe.status_code == 503 and probe.get_json()["status"] == "error"
    assert probe.get_json()["database"]["status"].startswith("error: OperationalError")


def test_a_signed_in_member_gets_the_503_page_too(app, client, member, tmp_path):
    """The member's session names an account that cannot be loaded while the database is down."""
    broken = _down_app(f"sqlite:///{tmp_path}/removed/ideastorm.db", tmp_path / "down")
    broken.config["SECRET_KEY"] = app.config["SECRET_KEY"]
    visitor = broken.test_client()
    for name in ("session", "remember_token"):
        cookie = client.get_cookie(name)
        if cookie is not None:
            visitor.set_cookie(name, cookie.value)
    with broken.app_context():
        response = visitor.get("/account")
        assert response.status_code == 503 and response.headers["Retry-After"] == "30"
        db.engine.dispose()


def test_pages_that_only_suggest_keep_working_without_search(app, client, indexed, make_user, auth):
    """The idea page's duplicate candidates (staff) and the submit form shown again leave suggestions out."""
    auth.login(make_user("staff"))
    shutil.rmtree(app.config["SEARCH_INDEX_DIR"])
    assert client.get(f"/ideas/{indexed[0].id}").status_code == 200
    response = client.post_form("/ideas/new", {"title": "Label printer", "description": "", "category": "", "tags": ""})
    assert response.status_code == 422 and "Similar ideas" not in response.get_data(as_text=True)
