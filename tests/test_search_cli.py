"""`flask search rebuild` / `search verify`, `demo seed` filling the index, and /healthz."""

from __future__ import annotations

import os

from sqlalchemy import update

from ideastorm import search
from ideastorm.extensions import db
from ideastorm.ideas.models import Idea
from ideastorm.search.interface import SearchQuery


def test_verify_lists_every_difference_and_exits_1(runner, make_idea):
    kept = make_idea(title="Label printer support")
    stale = make_idea(title="Keyboard shortcuts everywhere")
    hidden = make_idea(title="Quiet fan profile")
    search.sync()
    assert runner.invoke(args=["search", "verify"]).exit_code == 0
    missing = make_idea(title="Never indexed idea")  # its event is not drained
    db.session.execute(update(Idea).where(Idea.id == stale.id).values(title="Changed behind the index's back"))
    db.session.execute(update(Idea).where(Idea.id == hidden.id).values(is_hidden=True))
    db.session.commit()
    result = runner.invoke(args=["search", "verify"])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert f"idea {stale.id}: stale (the index differs from the database)" in lines
    assert f"idea {hidden.id}: indexed but should not be (hidden or deleted)" in lines
    assert f"idea {missing.id}: missing from the index" in lines
    assert not any(line.startswith(f"idea {kept.id}:") for line in lines)
    assert lines[-1] == "3 difference(s) between the search index and the database."


def test_rebuild_swaps_in_a_new_index_while_searches_keep_working(app, runner, make_idea):
    ideas = [make_idea(title=f"Printer queue improvement {n}") for n in range(3)]
    search.sync()
    backend = search.backend()
    before = backend.health()["generation"]
    assert backend.query(SearchQuery("printer")).total == 3
    db.session.execute(update(Idea).where(Idea.id == ideas[0].id).values(title="Scanner queue improvement"))
    db.session.commit()  # a change that emitted no event: only a rebuild repairs it
    assert runner.invoke(args=["search", "verify"]).exit_code == 1

    result = runner.invoke(args=["search", "rebuild"])
    assert result.exit_code == 0, result.output
    assert "Indexing ideas" in result.output and "Indexed 3 ideas; the new index is in use." in result.output
    after = backend.health()["generation"]
    assert after != before
    assert os.path.isdir(os.path.join(app.config["SEARCH_INDEX_DIR"], after))
    assert backend.query(SearchQuery("printer")).total == 2  # the same backend instance follows the swap
    assert backend.query(SearchQuery("scanner")).total == 1
    assert runner.invoke(args=["search", "verify"]).exit_code == 0


def test_rebuild_reindexes_what_changed_while_it_ran(app, runner, make_idea, monkeypatch):
    from ideastorm.search import documents

    first = make_idea(title="Solar charging case")
    search.sync()
    all_documents = documents.all_documents

    def slow_rebuild_source(session, *args, **kwargs):
        yield from all_documents(session, *args, **kwargs)
        # meanwhile, a web worker changes an idea and drains its event into the old index
        idea = db.session.get(Idea, first.id)
        from ideastorm.ideas.services import update_idea
        update_idea(idea, "Solar charging case with a kickstand", idea.description, idea.category_id)
        search.sync()

    monkeypatch.setattr(documents, "all_documents", slow_rebuild_source)
    assert runner.invoke(args=["search", "rebuild"]).exit_code == 0
    monkeypatch.undo()
    assert {h.title for h in search.backend().query(SearchQuery("solar")).hits} == {"Solar charging case with a kickstand"}
    assert runner.invoke(args=["search", "verify"]).exit_code == 0


def test_demo_seed_fills_the_index(runner):
    result = runner.invoke(args=["demo", "seed", "--ideas", "40", "--users", "10", "--votes", "100"])
    assert result.exit_code == 0, result.output
    assert search.backend().query(SearchQuery("")).total == db.session.query(Idea).count() == 40
    assert runner.invoke(args=["search", "verify"]).exit_code == 0
    result = runner.invoke(args=["demo", "seed", "--ideas", "5", "--users", "3", "--votes", "10", "--seed", "2"])
    assert result.exit_code == 0
    assert runner.invoke(args=["search", "verify"]).exit_code == 0


def test_healthz_reports_the_index_and_the_outbox(client, make_idea):
    search.backend().ensure()  # as a running site has it
    make_idea()
    body = client.get("/healthz").get_json()
    assert body["search"]["status"] == "ok"
    assert body["search"]["documents"] == 0 and body["outbox"]["pending"] == 2  # the index's and the notifications'
    assert body["outbox"]["oldest_seconds"] >= 0
    search.sync()
    body = client.get("/healthz").get_json()
    assert body["search"]["documents"] == 1 and body["outbox"]["pending"] == 0
    assert body["outbox"]["oldest_seconds"] is None


def test_healthz_is_503_when_the_index_cannot_be_opened(app, client):
    folder = app.config["SEARCH_INDEX_DIR"]
    search.backend().ensure()
    with open(os.path.join(folder, "CURRENT"), "w") as pointer:
        pointer.write("gen-that-does-not-exist")
    search.backend().close()
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["search"]["index"] == "missing"


def test_rebuild_if_empty_fills_only_a_missing_index(app, runner, make_idea):
    idea = make_idea(title="Label printer support")  # its event is never drained: the index stays empty
    result = runner.invoke(args=["search", "rebuild", "--if-empty"])
    assert result.exit_code == 0 and "Indexed 1 ideas" in result.output
    assert [hit.id for hit in search.backend().query(SearchQuery("printer")).hits] == [idea.id]
    generation = search.backend().health()["generation"]
    result = runner.invoke(args=["search", "rebuild", "--if-empty"])
    assert result.exit_code == 0 and "nothing to do" in result.output
    assert search.backend().health()["generation"] == generation
