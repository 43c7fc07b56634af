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
    assert client.post_form(f"/ideas/{a.id}/duplicate", {"original_id": str(b.id)}).status_code == 302
    db.session.expire_all()
    assert (db.session.get(Idea, a.id).duplicate_of_id, db.session.get(Idea, b.id).score) == (b.id, 1)
    assert "The original idea" in client.get(f"/ideas/{a.id}").get_data(as_text=True)
    assert client.post_form(f"/ideas/{a.id}/unduplicate").status_code == 302
    assert client.post_form(f"/ideas/{a.id}/unduplicate").status_code == 409
    assert _statuses(a) == ["under_review"] and find_differences() == []

    client.post_form(f"/ideas/{a.id}/notes", {"body": "Ask the firmware team"})
    assert db.session.scalar(select(StaffNote.body)) == "Ask the firmware team"
    client.post_form(f"/ideas/{a.id}/visibility", {"hidden": "1"})
    client.post_form(f"/ideas/{a.id}/lock", {"locked": "1"})
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
