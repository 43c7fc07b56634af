"""Pre-approval: with "Hold new members' first ideas" on, a member's first idea waits for the team.

Held, it exists for its author and staff only (404 for everyone else, absent from every list,
search and feed, not announced); approving publishes it as a submission would have; declining
keeps it hidden. An approved member, staff, and a site with the setting off are never held.
"""

from __future__ import annotations

import re
from urllib.parse import urlencode

from sqlalchemy import select

from ideastorm import search
from ideastorm.audit.models import AuditEntry
from ideastorm.extensions import db
from ideastorm.ideas import counters
from ideastorm.ideas.models import Category, Idea
from ideastorm.outbox import OutboxEvent
from ideastorm.search.interface import SearchQuery
from ideastorm.settings.services import DEFAULT_ACCENT, forget_cached, save_settings
from tests.helpers import signed_in_client

TITLE = "Quokka-friendly keyboard shortcuts"
PUBLIC_LISTS = ["/ideas", "/ideas?sort=new", "/ideas?sort=top", "/ideas?status=new", "/feeds/ideas.atom",
                "/", "/roadmap", "/leaderboard?period=all"]


def _hold(admin, on: bool = True) -> None:
    save_settings(admin, name="IdeaStorm", accent=DEFAULT_ACCENT, hold_first_ideas=on)
    db.session.commit()
    forget_cached()


def _submit(client, title: str = TITLE):
    category = db.session.scalar(select(Category.id).where(Category.slug == "products"))
    response = client.post_form("/ideas/new", {"title": title, "description": "Shortcuts a quokka could press.",
                                               "category": str(category), "tags": ""})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return db.session.scalar(select(Idea).where(Idea.title == title).order_by(Idea.id.desc()).limit(1))


def _events(topic: str, idea_id: int) -> int:
    db.session.expire_all()
    return sum(1 for e in db.session.scalars(select(OutboxEvent).where(OutboxEvent.topic == topic))
               if (e.payload or {}).get("idea_id") == idea_id)


def _audited(idea) -> str | None:
    return db.session.scalar(select(AuditEntry.action).where(AuditEntry.target_type == "idea",
                                                             AuditEntry.target_id == idea.id))


def _search_ids(client, text: str) -> str:
    return client.get("/search?" + urlencode({"q": text})).get_data(as_text=True)


def _checkbox(page: str) -> str:
    return re.search(r'<input[^>]*name="hold_first_ideas"[^>]*>', page).group(0)


def test_the_setting_is_on_the_admin_settings_page_and_off_by_default(client, make_user, auth):
    admin = make_user("admin")
    auth.login(admin)
    page = client.get("/admin/settings").get_data(as_text=True)
    assert "Hold new members&#39; first ideas for approval" in page or "Hold new members' first ideas" in page
    assert "checked" not in _checkbox(page)
    response = client.post_form("/admin/settings", {"name": "IdeaStorm", "accent": DEFAULT_ACCENT,
                                                    "hold_first_ideas": "y"})
    assert response.status_code == 302
    assert "checked" in _checkbox(client.get("/admin/settings").get_data(as_text=True))
    assert db.session.scalar(select(AuditEntry.after).where(AuditEntry.action == "site.settings")) == {
        "hold_first_ideas": True}


def test_a_held_idea_is_seen_by_its_author_and_staff_only(app, client, make_user, auth):
    admin, staff, other = make_user("admin"), make_user("staff"), make_user()
    _hold(admin)
    author = make_user()
    auth.login(author)
    idea = _submit(client)
    assert idea.awaiting_approval and idea.is_hidden
    assert counters.values()["submitted"] == 0  # the headline does not count it
    assert _events("idea.created", idea.id) == 0  # neither indexed nor announced
    search.sync()

    # Its author: the page, marked, and their profile; not public lists.
    page = client.get(f"/ideas/{idea.id}")
    assert page.status_code == 200 and "Waiting for approval by the team" in page.get_data(as_text=True)
    profile = client.get(f"/users/{author.id}").get_data(as_text=True)
    assert "Your ideas waiting for approval by the team" in profile and TITLE in profile
    assert client.get(f"/ideas/{idea.id}/edit").status_code == 200  # editing while waiting is fine

    # Staff: the page, with Approve and Decline, and the approval queue.
    staff_client = signed_in_client(app, staff)
    body = staff_client.get(f"/ideas/{idea.id}").get_data(as_text=True)
    assert "Approve and publish" in body and "Decline (keep it hidden)" in body
    queue = staff_client.get("/triage/approval")
    assert queue.status_code == 200 and TITLE in queue.get_data(as_text=True)
    assert "Waiting for approval (1)" in staff_client.get("/triage").get_data(as_text=True)

    # Visitors and other members: it does not exist.
    visitor = app.test_client()
    member = signed_in_client(app, other)
    for who, c in (("visitor", visitor), ("member", member)):
        assert c.get(f"/ideas/{idea.id}").status_code == 404, who
        assert TITLE not in c.get(f"/users/{author.id}").get_data(as_text=True), who
        for url in PUBLIC_LISTS:
            assert TITLE not in c.get(url).get_data(as_text=True), (who, url)
        assert f'id="hit-{idea.id}"' not in _search_ids(c, "quokka"), who
        assert c.post_form(f"/ideas/{idea.id}/vote", {"value": "1"}).status_code == 404, who
    assert search.backend().query(SearchQuery("quokka")).total == 0
    # Nobody votes on it, its author neither.
    assert client.post_form(f"/ideas/{idea.id}/vote", {"value": "1"}).status_code == 404
    assert member.get("/triage/approval").status_code == 403
    assert member.post_form(f"/ideas/{idea.id}/approve").status_code == 403


def test_approving_publishes_indexes_and_announces(app, client, make_user, auth):
    admin, staff = make_user("admin"), make_user("staff")
    _hold(admin)
    author = make_user()
    auth.login(author)
    idea = _submit(client)
    staff_client = signed_in_client(app, staff)
    response = staff_client.post_form(f"/ideas/{idea.id}/approve", {"next": "/triage/approval"})
    assert response.status_code == 302 and response.headers["Location"] == "/triage/approval"
    db.session.expire_all()
    idea = db.session.get(Idea, idea.id)
    assert not idea.awaiting_approval and not idea.is_hidden
    assert counters.values()["submitted"] == 1 and not counters.differences()
    assert _events("idea.created", idea.id) == 1
    assert _audited(idea) == "idea.approve"
    search.sync()
    assert search.backend().query(SearchQuery("quokka")).total == 1
    visitor = app.test_client()
    assert visitor.get(f"/ideas/{idea.id}").status_code == 200
    assert TITLE in visitor.get("/ideas?sort=new").get_data(as_text=True)
    assert TITLE in visitor.get("/feeds/ideas.atom").get_data(as_text=True)
    assert "Nothing is waiting for approval." in staff_client.get("/triage/approval").get_data(as_text=True)
    # Approving twice is refused with a clear answer.
    assert staff_client.post_form(f"/ideas/{idea.id}/approve").status_code == 409

    # The approved member's next idea is published at once.
    second = _submit(client, "A second idea about quokkas")
    assert not second.awaiting_approval and not second.is_hidden
    assert _events("idea.created", second.id) == 1


def test_declining_keeps_it_hidden_and_leaves_the_queue(app, client, make_user, auth):
    admin, staff = make_user("admin"), make_user("staff")
    _hold(admin)
    author = make_user()
    auth.login(author)
    idea = _submit(client)
    staff_client = signed_in_client(app, staff)
    assert staff_client.post_form(f"/ideas/{idea.id}/reject").status_code == 302
    db.session.expire_all()
    idea = db.session.get(Idea, idea.id)
    assert idea.is_hidden and not idea.awaiting_approval
    assert _audited(idea) == "idea.reject"
    assert _events("idea.created", idea.id) == 0
    assert app.test_client().get(f"/ideas/{idea.id}").status_code == 404
    assert TITLE not in staff_client.get("/triage/approval").get_data(as_text=True)
    # Declined is not approved: the member's next idea waits too.
    assert _submit(client, "Another quokka idea").awaiting_approval


def test_showing_a_held_idea_again_approves_it(app, client, make_user, auth):
    admin, staff = make_user("admin"), make_user("staff")
    _hold(admin)
    auth.login(make_user())
    idea = _submit(client)
    staff_client = signed_in_client(app, staff)
    assert staff_client.post_form(f"/ideas/{idea.id}/visibility", {"hidden": "0", "confirm": "1"}).status_code == 302
    db.session.expire_all()
    idea = db.session.get(Idea, idea.id)
    assert not idea.is_hidden and not idea.awaiting_approval and _events("idea.created", idea.id) == 1


def test_staff_and_a_site_without_the_setting_are_never_held(app, client, make_user, auth):
    admin, staff = make_user("admin"), make_user("staff")
    auth.login(make_user())
    assert not _submit(client, "Published at once without the setting").awaiting_approval
    _hold(admin)
    staff_client = signed_in_client(app, staff)
    category = db.session.scalar(select(Category.id).where(Category.slug == "products"))
    staff_client.post_form("/ideas/new", {"title": "Staff idea about quokkas", "description": "From the team.",
                                          "category": str(category)})
    staff_idea = db.session.scalar(select(Idea).where(Idea.title == "Staff idea about quokkas"))
    assert not staff_idea.awaiting_approval and not staff_idea.is_hidden
    _hold(admin, False)
    auth.logout()
    auth.login(make_user())
    assert not _submit(client, "A newcomer once the setting is off").awaiting_approval
