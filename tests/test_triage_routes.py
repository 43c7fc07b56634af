import pytest
from sqlalchemy import func, select

from ideastorm.extensions import db
from ideastorm.ideas.models import Idea, StatusChange
from ideastorm.triage.models import StaffNote
from ideastorm.votes.verify import find_differences


@pytest.fixture
def staff(make_user, auth):
    user = make_user("staff")
    auth.login(user)
    return user


def _statuses(*ideas):
    db.session.expire_all()
    return [db.session.get(Idea, i.id).status for i in ideas]


def test_queue_lists_awaiting_ideas_with_filters(client, staff, make_idea):
    make_idea(title="Fresh idea to triage")
    make_idea(title="Already planned idea", status="planned")
    page = client.get("/triage").get_data(as_text=True)
    assert "Fresh idea to triage" in page and "Already planned idea" not in page
    planned = client.get("/triage?status=planned").get_data(as_text=True)
    assert "Already planned idea" in planned and "Fresh idea to triage" not in planned
    assert "Fresh idea to triage" not in client.get("/triage?age=3").get_data(as_text=True)
    assert "Fresh idea to triage" not in client.get("/triage?min_score=1").get_data(as_text=True)
    assert client.get("/triage?sort=nope").status_code == 400
    assert client.get("/triage?age=abc").status_code == 400
    assert client.get("/triage?age=999999999").status_code == 400
    assert client.get("/triage?min_score=99999999999").status_code == 400
    fragment = client.get("/triage", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert fragment.lstrip().startswith('<div id="queue">')


def test_bulk_status_with_one_response(client, staff, make_idea):
    ideas = [make_idea(title=f"Bulk idea number {n}") for n in range(3)]
    response = client.post_form("/triage/bulk", {
        "ids": [str(i.id) for i in ideas], "status": "planned", "response": "On the roadmap for Q3.",
    })
    assert response.status_code == 302
    assert _statuses(*ideas) == ["planned"] * 3
    responses = db.session.scalars(select(StatusChange.response)).all()
    assert responses == ["On the roadmap for Q3."] * 3
    page = client.get(f"/ideas/{ideas[0].id}").get_data(as_text=True)
    assert "On the roadmap for Q3." in page and "Official response" in page


def test_bulk_bad_input_applies_nothing(client, staff, make_idea):
    idea = make_idea()
    cases = [
        ({"ids": [str(idea.id), "999999"], "status": "planned"}, 404),
        ({"ids": [str(idea.id)], "status": "bogus"}, 422),
        ({"ids": [str(idea.id)], "status": "planned", "response": "x" * 1_000_000}, 422),
        ({"ids": [str(n) for n in range(1, 10_001)], "status": "planned"}, 422),
        ({"ids": [], "status": "planned"}, 422),
        ({"ids": ["abc"], "status": "planned"}, 422),
        ({"ids": [str(idea.id), "99999999999"], "status": "planned"}, 422),  # past a 32-bit id
        ({"ids": [str(idea.id), "1" * 5000], "status": "planned"}, 422),  # more digits than int() takes
        ({"ids": ["-3"], "status": "planned"}, 422),
        ({"ids": [str(idea.id)]}, 422),
    ]
    for data, code in cases:
        response = client.post_form("/triage/bulk", data)
        assert response.status_code == code, (data.get("status"), code, response.status_code)
    assert _statuses(idea) == ["new"]
    assert db.session.scalar(select(func.count()).select_from(StatusChange)) == 0


def test_status_duplicate_notes_and_moderation_from_the_idea_page(client, staff, make_idea, make_user):
    from tests.helpers import cast_vote

    a, b = make_idea(title="Idea to merge away"), make_idea(title="The original idea")
    cast_vote(make_user().id, a.id, 1)
    page = client.get(f"/ideas/{a.id}").get_data(as_text=True)
    assert "Staff tools" in page
    assert client.post_form(f"/ideas/{a.id}/status", {"status": "under_review", "response": "Looking"}).status_code == 302
    assert client.post_form(f"/ideas/{a.id}/status", {"status": "nope"}).status_code == 422
    assert client.post_form(f"/ideas/{a.id}/duplicate", {"original_id": str(a.id)}).status_code == 422
    assert client.post_form(f"/ideas/{a.id}/duplicate", {"original_id": "424242"}).status_code == 422
    assert client.post_form(f"/ideas/{a.id}/duplicate", {"original_id": str(2**31)}).status_code == 422
    asked = client.post_form(f"/ideas/{a.id}/duplicate", {"original_id": str(b.id)})  # no confirm: the question
    assert asked.status_code == 302 and asked.headers["Location"] == f"/ideas/{a.id}/merge/confirm?into={b.id}"
    assert _statuses(a) == ["under_review"]
    assert client.post_form(f"/ideas/{a.id}/duplicate", {"original_id": str(b.id), "confirm": "1"}).status_code == 302
    db.session.expire_all()
    assert (db.session.get(Idea, a.id).duplicate_of_id, db.session.get(Idea, b.id).score) == (b.id, 1)
    assert "The original idea" in client.get(f"/ideas/{a.id}").get_data(as_text=True)
    assert client.post_form(f"/ideas/{a.id}/unduplicate").status_code == 302
    assert client.post_form(f"/ideas/{a.id}/unduplicate").status_code == 409
    assert _statuses(a) == ["under_review"] and find_differences() == []

    client.post_form(f"/ideas/{a.id}/notes", {"body": "Ask the firmware team"})
    assert db.session.scalar(select(StaffNote.body)) == "Ask the firmware team"
    client.post_form(f"/ideas/{a.id}/visibility", {"hidden": "1", "confirm": "1"})
    client.post_form(f"/ideas/{a.id}/lock", {"locked": "1", "confirm": "1"})
    db.session.expire_all()
    assert (db.session.get(Idea, a.id).is_hidden, db.session.get(Idea, a.id).comments_locked) == (True, True)


def test_members_never_see_staff_tools_or_notes(client, make_user, make_idea, auth):
    from ideastorm.triage.services import add_note

    idea = make_idea()
    add_note(make_user("staff"), idea, "Secret internal remark")
    db.session.commit()
    auth.login(make_user())
    page = client.get(f"/ideas/{idea.id}").get_data(as_text=True)
    assert "Staff tools" not in page and "Secret internal remark" not in page
    assert client.get("/triage").status_code == 403
    assert client.post_form(f"/ideas/{idea.id}/status", {"status": "planned"}).status_code == 403


# --- the triage desk: sorts, total, excerpt ------------------------------------------------------

def _order(page: str, titles) -> list[str]:
    return sorted(titles, key=page.index)


def test_queue_sorts_total_and_excerpt(client, staff, make_idea, make_user):
    from datetime import timedelta

    from ideastorm.comments.services import add_comment
    from tests.helpers import cast_vote

    old = make_idea(title="Oldest idea in the queue", description="First **bold** line of the oldest one.")
    voted = make_idea(title="Most voted idea in the queue")
    talked = make_idea(title="Most discussed idea in the queue")
    new = make_idea(title="Newest idea in the queue")
    for n, idea in enumerate((old, voted, talked, new)):
        db.session.get(Idea, idea.id).created_at -= timedelta(days=10 - n)
    db.session.commit()
    cast_vote(make_user().id, voted.id, 1)
    add_comment(make_user(), talked, "Me too")
    add_comment(make_user(), talked, "And me")
    db.session.commit()
    titles = [i.title for i in (old, voted, talked, new)]

    page = client.get("/triage").get_data(as_text=True)
    assert "4 ideas" in page
    assert _order(page, titles) == titles  # oldest first by default
    assert "First bold line of the oldest one." in page and "<strong>bold</strong>" not in page
    assert _order(client.get("/triage?sort=newest").get_data(as_text=True), titles) == titles[::-1]
    assert _order(client.get("/triage?sort=score").get_data(as_text=True), titles)[0] == voted.title
    assert _order(client.get("/triage?sort=comments").get_data(as_text=True), titles)[0] == talked.title
    assert "1 idea" in client.get("/triage?min_score=1").get_data(as_text=True)
    page = client.get("/triage?sort=newest&status=new").get_data(as_text=True)
    assert 'value="newest" selected' in page and 'id="select-all"' in page and 'class="bulk-bar"' in page
    for bad in ("/triage?sort=popular", "/triage?sort=newest&page=0"):
        assert client.get(bad).status_code == 400


# --- bulk actions and their undo ------------------------------------------------------------------

def _bulk(client, ideas, **fields):
    data = {"ids": [str(i.id) for i in ideas], **fields}
    return client.post_form("/triage/bulk", data)


def _responses(idea):
    return db.session.scalars(select(StatusChange.response).where(StatusChange.idea_id == idea.id)
                              .order_by(StatusChange.id)).all()


def test_bulk_names_the_ideas_and_undo_restores_everything(client, staff, make_idea):
    from ideastorm.audit.models import AuditEntry
    from ideastorm.ideas import counters
    from ideastorm.triage import services

    ideas = [make_idea(title=f"Batch idea number {n}") for n in range(7)]
    services.change_status(staff, ideas[0], "under_review", "We are looking at it.")
    db.session.commit()
    before_counters = counters.values()
    response = _bulk(client, ideas, status="implemented", response="Shipped in 4.2.", next="/triage?sort=newest")
    assert response.status_code == 302 and response.headers["Location"] == "/triage?sort=newest"
    assert _statuses(*ideas) == ["implemented"] * 7
    assert counters.values()["implemented"] == before_counters["implemented"] + 7
    page = client.get("/triage?sort=newest").get_data(as_text=True)
    assert "Updated 7 ideas:" in page and "and 2 more" in page
    assert f'<a href="/ideas/{ideas[0].id}">Batch idea number 0</a>' in page
    assert "Batch idea number 6" not in page  # named beyond the first five: "and 2 more"
    batch_id = int(page.split('name="batch" value="')[1].split('"')[0])
    assert "Updated 7 ideas" not in client.get("/triage").get_data(as_text=True)  # said once

    undone = client.post_form("/triage/undo", {"batch": str(batch_id), "next": "/triage?sort=newest"})
    assert undone.status_code == 302 and undone.headers["Location"] == "/triage?sort=newest"
    assert _statuses(*ideas) == ["under_review"] + ["new"] * 6
    assert _responses(ideas[0]) == ["We are looking at it."] and _responses(ideas[1]) == []
    assert counters.values() == before_counters and counters.differences() == {}
    page = client.get("/triage").get_data(as_text=True)
    assert "Undone: 7 ideas are back as they were" in page and "Batch idea number 3" in page

    again = client.post_form("/triage/undo", {"batch": str(batch_id)})
    assert again.status_code == 409 and "already undone" in again.get_data(as_text=True)
    assert _statuses(*ideas) == ["under_review"] + ["new"] * 6
    actions = db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions.count("triage.bulk") == 1 and actions.count("triage.bulk_undo") == 1
    assert actions.count("idea.status") == 1 + 7 + 7  # the first change, the bulk's, the undo's
    undo_entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "triage.bulk_undo"))
    assert (undo_entry.target_type, undo_entry.target_id, undo_entry.actor_id) == ("batch", batch_id, staff.id)


def test_bulk_by_htmx_answers_the_queue_with_the_undo(client, staff, make_idea):
    ideas = [make_idea(title=f"Swapped idea {n}") for n in range(2)]
    response = client.htmx_post("/triage/bulk?sort=newest", {"ids": [str(i.id) for i in ideas], "status": "planned",
                                                             "csrf_token": client.csrf_token()})
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and body.lstrip().startswith('<div id="queue">')
    assert "Updated 2 ideas:" in body and 'hx-post="/triage/undo?sort=newest"' in body
    batch_id = body.split('name="batch" value="')[1].split('"')[0]
    undone = client.htmx_post("/triage/undo?sort=newest", {"batch": batch_id})
    assert undone.status_code == 200 and "Undone: 2 ideas" in undone.get_data(as_text=True)
    assert _statuses(*ideas) == ["new", "new"]


def test_undo_leaves_ideas_changed_since_and_says_so(client, staff, make_idea):
    from ideastorm.triage import services

    kept, changed, answered = (make_idea(title=f"Idea changed or not {n}") for n in range(3))
    _bulk(client, [kept, changed, answered], status="planned", response="Soon.")
    batch_id = int(client.get("/triage").get_data(as_text=True).split('name="batch" value="')[1].split('"')[0])
    services.change_status(staff, db.session.get(Idea, changed.id), "declined")
    services.change_status(staff, db.session.get(Idea, answered.id), "planned", "A newer response.")
    db.session.commit()
    assert client.post_form("/triage/undo", {"batch": str(batch_id)}).status_code == 302
    assert _statuses(kept, changed, answered) == ["new", "declined", "planned"]
    assert _responses(answered) == ["Soon.", "A newer response."]
    page = client.get("/triage").get_data(as_text=True)
    assert "Undone: 1 idea is back as it was" in page
    assert "because they changed since" in page and "Idea changed or not 1" in page


def test_undo_refused_when_every_idea_changed(client, staff, make_idea):
    from ideastorm.triage import services

    idea = make_idea()
    _bulk(client, [idea], status="planned")
    batch_id = int(client.get("/triage").get_data(as_text=True).split('name="batch" value="')[1].split('"')[0])
    services.change_status(staff, db.session.get(Idea, idea.id), "declined")
    db.session.commit()
    refused = client.post_form("/triage/undo", {"batch": str(batch_id)})
    assert refused.status_code == 409 and "changed since" in refused.get_data(as_text=True)
    assert _statuses(idea) == ["declined"]


def test_undo_bad_arguments_and_members(client, staff, make_idea, make_user, auth):
    for value, code in (("", 400), ("abc", 400), ("-1", 400), ("99999999999", 400), ("1" * 5000, 400), ("424242", 404)):
        assert client.post_form("/triage/undo", {"batch": value}).status_code == code, value
    idea = make_idea()
    _bulk(client, [idea], status="planned")
    batch_id = int(client.get("/triage").get_data(as_text=True).split('name="batch" value="')[1].split('"')[0])
    auth.logout()
    auth.login(make_user())
    assert client.post_form("/triage/undo", {"batch": str(batch_id)}).status_code == 403
    assert client.get(f"/ideas/{idea.id}/merge?q=dark").status_code == 403
    assert client.get(f"/ideas/{idea.id}/merge/confirm?into={idea.id}").status_code == 403
    assert client.get(f"/ideas/{idea.id}/moderate").status_code == 403
    assert _statuses(idea) == ["planned"]


# --- merging from the idea page ---------------------------------------------------------------

def test_merge_picker_confirmation_and_suggestion_without_one_click(client, staff, make_idea, make_user):
    from ideastorm import search
    from tests.helpers import cast_vote

    dup = make_idea(title="Export my invoices as a spreadsheet file")
    original = make_idea(title="Export invoices as spreadsheet")
    voters = [make_user() for _ in range(3)]
    for voter in voters:
        cast_vote(voter.id, dup.id, 1)
    cast_vote(voters[0].id, original.id, 1)
    search.sync()

    page = client.get(f"/ideas/{dup.id}").get_data(as_text=True)
    confirm_url = f"/ideas/{dup.id}/merge/confirm?into={original.id}"
    assert f'href="{confirm_url}"' in page  # the suggestion links to the confirmation
    assert 'name="original_id"' not in page  # no one-click merge form left on the page
    assert page.count('name="response"') == 1  # one official response box

    found = client.get(f"/ideas/{dup.id}/merge?q=spreadsheet", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert found.lstrip().startswith('<div id="merge-candidates"') and confirm_url.replace("&", "&amp;") in found
    assert f"/merge/confirm?into={dup.id}" not in found  # never itself
    full = client.get(f"/ideas/{dup.id}/merge?q=spreadsheet").get_data(as_text=True)
    assert "Merge into another idea" in full and "Export invoices as spreadsheet" in full
    assert f"#{original.id}" in client.get(f"/ideas/{dup.id}/merge?q=%23{original.id}").get_data(as_text=True)
    assert client.get(f"/ideas/{dup.id}/merge?q=" + "x" * 300).status_code == 400

    confirm = client.get(confirm_url)
    body = confirm.get_data(as_text=True)
    assert confirm.status_code == 200 and "Export invoices as spreadsheet" in body
    assert "2 votes move to the original." in body and "1 member voted on both" in body
    assert "0 comments stay on this idea" in body
    assert _statuses(dup) == ["new"]
    assert client.get(f"/ideas/{dup.id}/merge/confirm").status_code == 400
    assert client.get(f"/ideas/{dup.id}/merge/confirm?into=abc").status_code == 400
    assert client.get(f"/ideas/{dup.id}/merge/confirm?into=424242").status_code == 404
    itself = client.get(f"/ideas/{dup.id}/merge/confirm?into={dup.id}")
    assert itself.status_code == 422 and "cannot be a duplicate of itself" in itself.get_data(as_text=True)

    merged = client.post_form(f"/ideas/{dup.id}/duplicate", {"original_id": str(original.id), "confirm": "1"})
    assert merged.status_code == 302
    db.session.expire_all()
    assert db.session.get(Idea, dup.id).duplicate_of_id == original.id
    assert db.session.get(Idea, original.id).score == 3 and find_differences() == []


def test_merge_error_focuses_the_merge_card(client, staff, make_idea):
    idea = make_idea()
    refused = client.post_form(f"/ideas/{idea.id}/duplicate", {"original_id": "424242", "confirm": "1"})
    body = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "There is no idea number 424242." in body
    assert 'id="merge-q"' in body and body.split('id="merge-q"')[1].split(">")[0].count("autofocus") == 1
    status_error = client.post_form(f"/ideas/{idea.id}/status", {"status": "nope"}).get_data(as_text=True)
    assert 'autofocus' in status_error.split('id="status-form"')[1].split("</form>")[0]


def test_hide_and_lock_ask_for_confirmation(client, staff, make_idea):
    idea = make_idea(title="An idea to moderate")
    asked = client.post_form(f"/ideas/{idea.id}/visibility", {"hidden": "1"})
    assert asked.status_code == 302 and asked.headers["Location"] == f"/ideas/{idea.id}/moderate?what=visibility"
    question = client.get(asked.headers["Location"]).get_data(as_text=True)
    assert "Hide this idea?" in question and 'name="confirm" value="1"' in question
    asked = client.post_form(f"/ideas/{idea.id}/lock", {"locked": "1"})
    assert asked.headers["Location"] == f"/ideas/{idea.id}/moderate?what=comments"
    assert "Lock the comments?" in client.get(asked.headers["Location"]).get_data(as_text=True)
    db.session.expire_all()
    assert (db.session.get(Idea, idea.id).is_hidden, db.session.get(Idea, idea.id).comments_locked) == (False, False)
    assert client.get(f"/ideas/{idea.id}/moderate?what=nope").status_code == 400
    client.post_form(f"/ideas/{idea.id}/visibility", {"hidden": "1", "confirm": "1"})
    db.session.expire_all()
    assert db.session.get(Idea, idea.id).is_hidden
    assert "Show this idea again?" in client.get(f"/ideas/{idea.id}/moderate").get_data(as_text=True)


def test_bulk_refusal_is_shown_in_the_bulk_bar(client, staff, make_idea):
    make_idea()
    for data, message in (({"status": "planned"}, "Select at least one idea."),
                          ({"ids": ["abc"], "status": "planned"}, "Idea numbers must be whole numbers.")):
        response = client.htmx_post("/triage/bulk", {**data, "csrf_token": client.csrf_token()})
        bar = response.get_data(as_text=True).split('class="bulk-bar"')[1].split("</fieldset>")[0]
        assert response.status_code == 422 and f'role="alert">{message}</p>' in bar
        assert response.headers["HX-Reswap"] == "outerHTML"  # no jump to the top
    idea = make_idea(title="Stays selected")
    refused = client.post_form("/triage/bulk", {"ids": [str(idea.id)]})  # nothing to apply
    assert refused.status_code == 422 and f'value="{idea.id}" id="select-{idea.id}" checked' in refused.get_data(as_text=True)
