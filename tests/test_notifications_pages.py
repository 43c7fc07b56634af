"""The inbox at /notifications, the header's unread count and the mention suggestions.

Notifications are made here directly (as the worker's fan-out would), so these tests are about
what a member sees and can do with them.
"""

from __future__ import annotations

import itertools
import re

import pytest
from sqlalchemy import event, select

from ideastorm.comments.services import add_comment
from ideastorm.extensions import db
from ideastorm.notifications.models import Notification
from ideastorm.timeutil import utcnow

EVENTS = itertools.count(1000)
EMPTY = "Nothing yet. Follow an idea to hear about it."


def notify(user, kind, idea, *, actor=None, comment=None, data=None, read=False) -> Notification:
    notification = Notification(
        user_id=user.id, kind=kind, idea_id=idea.id, comment_id=comment.id if comment else None,
        actor_id=actor.id if actor else None, event_id=next(EVENTS), data=data or {},
        read_at=utcnow() if read else None,
    )
    db.session.add(notification)
    db.session.commit()
    return notification


def _item(page: str, notification_id: int) -> str:
    """The <li> of one notification in the page."""
    found = re.search(rf'<li class="notification[^"]*" id="notification-{notification_id}">.*?</li>', page, re.DOTALL)
    assert found, f"notification {notification_id} is not on the page"
    return found.group(0)


@pytest.fixture
def people(make_user):
    marie = make_user(name="Marie Curie")
    rosalind = make_user("staff", name="Rosalind Franklin")
    for user, handle in ((marie, "marie-curie"), (rosalind, "rosalind-franklin")):
        user.handle = handle
    db.session.commit()
    return marie, rosalind


def test_the_inbox_is_for_members(client):
    response = client.get("/notifications")
    assert response.status_code == 302 and response.headers["Location"] == "/login?next=%2Fnotifications"


def test_an_empty_inbox_says_how_to_hear_of_ideas(client, member):
    page = client.get("/notifications").get_data(as_text=True)
    assert EMPTY in page
    assert "Mark all as read" not in page


def test_the_inbox_tells_who_did_what_on_which_idea_newest_first(client, member, people, make_idea):
    marie, rosalind = people
    idea = make_idea(title="Dark mode", category="store")
    original = make_idea(title="Night theme")
    comment = add_comment(marie, idea, "Yes please")
    db.session.commit()
    status = notify(member, "status", idea, actor=rosalind, data={
        "from": "new", "to": "planned", "response": "We start **next month**, with the mobile app first."})
    commented = notify(member, "comment", idea, actor=marie, comment=comment)
    merged = notify(member, "merge", idea, actor=rosalind, data={"original_id": original.id})
    mention = notify(member, "mention", idea, actor=marie, comment=comment)
    new_idea = notify(member, "new_idea", idea, actor=marie, read=True)

    page = client.get("/notifications").get_data(as_text=True)
    assert EMPTY not in page
    ids = [int(n) for n in re.findall(r'<li class="notification[^"]*" id="notification-(\d+)">', page)]
    assert ids == [new_idea.id, mention.id, merged.id, commented.id, status.id]

    item = _item(page, status.id)
    assert "Rosalind Franklin changed the status of “Dark mode” to Planned" in item
    assert "We start next month, with the mobile app first." in item  # the response, as plain text
    assert f'href="/notifications/{status.id}"' in item
    assert "<time datetime=" in item
    assert '<span class="unread-mark">Unread</span>' in item
    assert "Mark read" in item
    assert "Marie Curie commented on “Dark mode”" in _item(page, commented.id)
    assert "“Dark mode” was merged into “Night theme”" in _item(page, merged.id)
    assert "Marie Curie mentioned you on “Dark mode”" in _item(page, mention.id)
    item = _item(page, new_idea.id)
    assert "New idea in Online store: “Dark mode”" in item
    assert "Unread" not in item and "Mark read" not in item  # read already
    assert "Mark all as read" in page


def test_titles_and_names_are_escaped(client, member, make_user, make_idea):
    actor = make_user(name="<b>Bold</b> Actor")
    idea = make_idea(title="<script>alert(1)</script> idea")
    notify(member, "new_idea", idea, actor=actor)
    page = client.get("/notifications").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt; idea" in page
    assert "<b>Bold</b>" not in page


def test_the_inbox_in_french(client, member, people, make_idea):
    marie, _ = people
    idea = make_idea(title="Mode sombre")
    notify(member, "comment", idea, actor=marie, comment=add_comment(marie, idea, "Oui"))
    client.post_form("/locale", {"locale": "fr"})
    page = client.get("/notifications").get_data(as_text=True)
    assert '<html lang="fr">' in page
    assert "Mode sombre" in page


def test_opening_a_notification_marks_it_read_and_goes_to_the_comment(client, member, people, make_idea):
    marie, rosalind = people
    idea = make_idea()
    original = make_idea(title="The original")
    comment = add_comment(marie, idea, "Nice")
    db.session.commit()
    commented = notify(member, "comment", idea, actor=marie, comment=comment)
    mention = notify(member, "mention", idea, actor=marie, comment=comment)
    merged = notify(member, "merge", idea, actor=rosalind, data={"original_id": original.id})
    status = notify(member, "status", idea, actor=rosalind, data={"from": "new", "to": "planned", "response": None})

    response = client.get(f"/notifications/{commented.id}")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/ideas/{idea.id}#comment-{comment.id}"
    db.session.refresh(commented)
    assert commented.read_at is not None
    assert client.get(f"/notifications/{mention.id}").headers["Location"] == f"/ideas/{idea.id}#comment-{comment.id}"
    assert client.get(f"/notifications/{merged.id}").headers["Location"] == f"/ideas/{original.id}"
    assert client.get(f"/notifications/{status.id}").headers["Location"] == f"/ideas/{idea.id}#answer-title"
    # Opening it again still leads there.
    assert client.get(f"/notifications/{commented.id}").status_code == 302
    assert "unread" not in client.get("/notifications/count").get_data(as_text=True)


def test_mark_one_read_without_javascript_and_with_htmx(client, member, people, make_idea):
    marie, _ = people
    idea = make_idea()
    first, second = notify(member, "new_idea", idea, actor=marie), notify(member, "new_idea", idea, actor=marie)

    response = client.post_form(f"/notifications/{first.id}/read", {"next": "/notifications?page=1"})
    assert response.status_code == 302 and response.headers["Location"] == "/notifications?page=1"
    db.session.refresh(first)
    assert first.read_at is not None

    response = client.htmx_post(f"/notifications/{second.id}/read")
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "<html" not in body
    item = _item(body, second.id)
    assert "Unread" not in item and "Mark read" not in item
    # The header's count comes along, swapped out of band: nothing unread is left.
    assert re.search(r'<li id="nav-notifications"[^>]*hx-swap-oob="true"', body)
    assert 'class="badge"' not in body
    db.session.refresh(second)
    assert second.read_at is not None


def test_mark_all_read(client, member, people, make_idea):
    marie, _ = people
    idea = make_idea()
    for _ in range(3):
        notify(member, "new_idea", idea, actor=marie)
    assert '<span class="badge" aria-hidden="true">3</span>' in client.get("/").get_data(as_text=True)
    response = client.post_form("/notifications/read-all")
    assert response.status_code == 302 and response.headers["Location"] == "/notifications"
    page = client.get("/notifications").get_data(as_text=True)
    assert "All your notifications are marked as read." in page
    assert "Unread" not in page and "Mark all as read" not in page and 'class="badge"' not in page
    assert db.session.scalar(select(Notification.id).where(Notification.read_at.is_(None))) is None


def test_another_members_notification_does_not_exist(client, member, make_user, make_idea, people):
    marie, _ = people
    other = make_user()
    theirs = notify(other, "new_idea", make_idea(), actor=marie)
    assert client.get(f"/notifications/{theirs.id}").status_code == 404
    assert client.post_form(f"/notifications/{theirs.id}/read").status_code == 404
    assert client.get("/notifications/999999").status_code == 404
    db.session.refresh(theirs)
    assert theirs.read_at is None
    assert "There is no such notification." in client.get(f"/notifications/{theirs.id}").get_data(as_text=True)


def test_a_visitor_opening_a_notification_is_asked_to_log_in(client, make_user, make_idea, people):
    marie, _ = people
    notification = notify(make_user(), "new_idea", make_idea(), actor=marie)
    response = client.get(f"/notifications/{notification.id}")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/login?next=%2Fnotifications%2F{notification.id}"


def test_content_hidden_since_shows_for_staff_only(client, make_user, make_idea, auth, people):
    marie, rosalind = people
    member = make_user()
    hidden_idea = make_idea(title="Secret plan")
    visible_idea = make_idea(title="Public plan")
    comment = add_comment(marie, visible_idea, "A rude remark")
    db.session.commit()
    about_idea = notify(member, "new_idea", hidden_idea, actor=marie)
    about_comment = notify(member, "comment", visible_idea, actor=marie, comment=comment)
    kept = notify(member, "status", visible_idea, actor=rosalind, data={"from": "new", "to": "planned"})
    staff_copy = notify(rosalind, "new_idea", hidden_idea, actor=marie)
    hidden_idea.is_hidden = True
    comment.is_hidden = True
    db.session.commit()

    auth.login(member)
    page = client.get("/notifications").get_data(as_text=True)
    assert "Secret plan" not in page and f"notification-{about_comment.id}" not in page
    assert f"notification-{kept.id}" in page
    assert client.get(f"/notifications/{about_idea.id}").status_code == 404
    assert client.get(f"/notifications/{about_comment.id}").status_code == 404
    auth.logout()

    auth.login(rosalind)
    page = client.get("/notifications").get_data(as_text=True)
    assert "Secret plan" in _item(page, staff_copy.id) and "Hidden" in _item(page, staff_copy.id)
    assert client.get(f"/notifications/{staff_copy.id}").status_code == 302


def test_a_merge_into_a_hidden_idea_is_left_out(client, member, make_idea, people):
    _, rosalind = people
    duplicate, original = make_idea(title="Duplicate"), make_idea(title="Hidden original", hidden=True)
    notify(member, "merge", duplicate, actor=rosalind, data={"original_id": original.id})
    page = client.get("/notifications").get_data(as_text=True)
    assert "Hidden original" not in page and EMPTY in page


def test_the_inbox_reads_a_page_in_a_few_queries(app, client, member, make_user, make_idea):
    def queries_for_inbox() -> int:
        statements = []

        def count(*args, **kwargs):
            statements.append(args[2])

        event.listen(db.engine, "before_cursor_execute", count)
        try:
            assert client.get("/notifications").status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        return len(statements)

    def add(n: int):
        for i in range(n):
            actor = make_user()
            idea = make_idea(actor, title=f"Idea {actor.id}")
            notify(member, "comment", idea, actor=actor, comment=add_comment(actor, idea, f"Comment {i}"))

    add(2)
    few = queries_for_inbox()
    add(10)
    assert queries_for_inbox() == few


def test_the_inbox_is_paginated(client, member, make_idea, people):
    marie, _ = people
    idea = make_idea()
    made = [notify(member, "new_idea", idea, actor=marie) for _ in range(31)]
    page = client.get("/notifications").get_data(as_text=True)
    assert page.count('<li class="notification') == 30 and 'rel="next"' in page
    page = client.get("/notifications?page=2").get_data(as_text=True)
    assert page.count('<li class="notification') == 1 and f"notification-{made[0].id}" in page


# --- the header's count ----------------------------------------------------------------------

def test_the_header_shows_the_unread_count_to_members(client, make_user, make_idea, auth, people):
    marie, _ = people
    page = client.get("/").get_data(as_text=True)
    assert 'id="nav-notifications"' not in page  # visitors: no link, no polling
    member = make_user()
    auth.login(member)
    page = client.get("/").get_data(as_text=True)
    link = page.split('<li id="nav-notifications"')[1].split("</li>")[0]
    assert 'href="/notifications"' in link and ">Notifications</span>" in link
    assert 'class="badge"' not in link
    assert 'hx-get="/notifications/count"' in link and 'hx-trigger="notifications:poll from:body"' in link
    assert 'data-poll-seconds="60"' in link
    assert "[" not in link.split("hx-trigger=")[1].split('"')[1]  # no trigger filter (no eval under the CSP)
    notify(member, "new_idea", make_idea(), actor=marie)
    notify(member, "new_idea", make_idea(), actor=marie)
    page = client.get("/ideas").get_data(as_text=True)
    assert '<span class="badge" aria-hidden="true">2</span>' in page
    assert '<span class="visually-hidden">2 unread</span>' in page


def test_the_count_fragment(client, member, make_idea, people):
    marie, _ = people
    body = client.get("/notifications/count", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert body.lstrip().startswith('<li id="nav-notifications"') and "<html" not in body
    assert 'class="badge"' not in body
    notify(member, "new_idea", make_idea(), actor=marie)
    response = client.get("/notifications/count", headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_data(as_text=True)
    assert '<span class="badge" aria-hidden="true">1</span>' in body and "1 unread" in body
    # Asked from the inbox itself, the link stays the current page's.
    body = client.get("/notifications/count", headers={"HX-Request": "true",
                                                       "HX-Current-URL": "http://localhost/notifications?page=1"})
    assert 'aria-current="page"' in body.get_data(as_text=True)


def test_the_count_for_a_session_that_ended_is_empty(client):
    response = client.get("/notifications/count", headers={"HX-Request": "true"})
    assert response.status_code == 200 and response.get_data(as_text=True) == ""


# --- mention suggestions ---------------------------------------------------------------------

def test_suggestions_are_for_members(client):
    response = client.get("/members/suggest?q=ro")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_suggestions_match_handles_and_names(client, member, make_user, people):
    banned = make_user(name="Rob Banned", banned=True)
    banned.handle = "rob-banned"
    robert = make_user(name="Robert Hooke")
    robert.handle = "bob"
    db.session.commit()

    body = client.get("/members/suggest?q=ro", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert '<ul role="listbox"' in body and "<html" not in body
    handles = re.findall(r'role="option" id="mention-option-\d+" data-handle="([^"]+)"', body)
    assert set(handles) == {"rosalind-franklin", "bob"}  # "bob" by his name, "Robert"; the banned one left out
    assert "Rosalind Franklin" in body and "@rosalind-franklin" in body
    assert 'class="avatar' in body

    body = client.get("/members/suggest?q=@marie-c").get_data(as_text=True)
    assert re.findall(r'data-handle="([^"]+)"', body) == ["marie-curie"]
    assert client.get("/members/suggest?q=zzz").get_data(as_text=True).strip() == ""
    assert client.get("/members/suggest").get_data(as_text=True).strip() == ""
    assert client.get("/members/suggest?q=" + "a" * 300).status_code == 400


def test_the_comment_box_is_marked_for_mentions(client, member, make_idea):
    idea = make_idea()
    page = client.get(f"/ideas/{idea.id}").get_data(as_text=True)
    assert re.search(r'<textarea[^>]*data-mentions="/members/suggest"', page)


def test_the_badge_leaves_out_what_was_hidden_since(app, client, member, make_user, make_idea):
    from ideastorm.notifications.models import Notification
    from ideastorm.notifications.services import unread_count

    idea = make_idea(title="An idea hidden after the fact")
    db.session.add(Notification(user_id=member.id, kind="status", idea_id=idea.id, event_id=424242,
                                data={"from": "new", "to": "planned", "response": None}))
    db.session.commit()
    assert unread_count(member) == 1
    idea.is_hidden = True
    db.session.commit()
    assert unread_count(member) == 0
    assert "An idea hidden after the fact" not in client.get("/notifications").get_data(as_text=True)


def test_a_malformed_current_url_header_is_no_page_of_ours(client, member):
    # htmx names the page that asks; any client may send anything there.
    answer = client.get("/notifications/count", headers={"HX-Request": "true", "HX-Current-URL": "http://[x/"})
    assert answer.status_code == 200 and "nav-notifications" in answer.get_data(as_text=True)
