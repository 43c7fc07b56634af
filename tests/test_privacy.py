"""A member's data: the export holds all of it and nobody else's; deletion erases it and keeps the counters right.

Also: staff see a deleted account's placeholder nowhere, and the hourly retention job forgets old
network prefixes only (both databases).
"""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from ideastorm.accounts.models import LoginSession, User, UserIdentity
from ideastorm.comments.services import add_comment
from ideastorm.extensions import db
from ideastorm.ideas.models import Category, Idea
from ideastorm.mail.models import OutgoingEmail
from ideastorm.mail.services import queue_email
from ideastorm.notifications.models import CategoryWatch, Follow, Notification
from ideastorm.timeutil import utcnow
from ideastorm.votes.models import Vote
from tests.conftest import PASSWORD
from tests.helpers import cast_vote, is_signed_in, signed_in_client

ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def _count(model, **where) -> int:
    query = select(func.count()).select_from(model)
    for name, value in where.items():
        query = query.where(getattr(model, name) == value)
    return db.session.scalar(query)


def _fill(user, idea_of_other, *, user_agent: str, provider_email: str):
    """One of everything the site keeps about ``user``."""
    now = utcnow()
    comment = add_comment(user, idea_of_other, f"A comment by {user.display_name}")
    db.session.add(Notification(user_id=user.id, kind="comment", idea_id=idea_of_other.id, comment_id=comment.id,
                                event_id=1000 + user.id, data={}))
    db.session.add(LoginSession(user_id=user.id, secret_hash="0" * 64, user_agent=user_agent, ip_prefix="192.0.2.0/24",
                                expires_at=now + timedelta(days=1)))
    db.session.add(UserIdentity(user_id=user.id, provider="keycloak", subject=f"subject-{user.id}",
                                email=provider_email))
    db.session.commit()
    queue_email("verify_email", user.id)
    db.session.commit()
    cast_vote(user.id, idea_of_other.id, 1)
    return comment


def _export(client) -> dict:
    response = client.get("/account/export")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert re.fullmatch(r'attachment; filename="ideastorm-export-\d{4}-\d\d-\d\d\.json"',
                        response.headers["Content-Disposition"])
    return json.loads(response.get_data(as_text=True))


def test_the_export_holds_everything_of_the_member_and_nothing_of_another(client, auth, make_user, make_idea):
    me = make_user("staff", name="Marie Dupont", email="marie@example.com", locale="fr")
    other = make_user(name="Otto Other", email="otto@example.com")
    mine = make_idea(me, title="My own idea about exports")
    theirs = make_idea(other, title="Someone else's idea entirely")
    _fill(me, theirs, user_agent="MyBrowser/1.0", provider_email="marie@corp.example")
    _fill(other, mine, user_agent="OttoBrowser/9.9", provider_email="otto@corp.example")
    products = db.session.scalar(select(Category.id).where(Category.slug == "products"))
    db.session.add(CategoryWatch(user_id=me.id, category_id=products))
    db.session.commit()
    auth.login(me)

    data = _export(client)
    profile = data["profile"]
    assert (profile["id"], profile["email"], profile["display_name"], profile["handle"], profile["language"],
            profile["role"]) == (me.id, "marie@example.com", "Marie Dupont", "marie-dupont", "fr", "staff")
    assert ISO_UTC.match(profile["created_at"]) and ISO_UTC.match(profile["last_login_at"])
    assert profile["email_notifications"]["email_status"] == "immediate"
    assert set(profile["follow_automatically"]) == {"follow_on_submit", "follow_on_vote", "follow_on_comment"}
    assert [(i["id"], i["title"], i["status"]) for i in data["ideas"]] == [(mine.id, mine.title, "new")]
    assert data["ideas"][0]["url"] == f"http://ideastorm.test/ideas/{mine.id}"
    assert data["ideas"][0]["description"] == mine.description
    assert [c["body"] for c in data["comments"]] == ["A comment by Marie Dupont"]
    assert [(v["idea_id"], v["value"]) for v in data["votes"]] == [(theirs.id, 1)]
    assert ISO_UTC.match(data["votes"][0]["voted_at"])
    assert {f["idea_id"] for f in data["follows"]} == {mine.id, theirs.id}  # submitted, commented and voted
    assert data["watched_categories"] == ["products"]
    assert [(n["kind"], n["idea_id"], n["read_at"]) for n in data["notifications"]] == [("comment", theirs.id, None)]
    agents = [s["user_agent"] for s in data["login_sessions"]]
    assert "MyBrowser/1.0" in agents and data["login_sessions"][0]["network"] == "192.0.2.0/24"
    assert [(i["provider"], i["email"]) for i in data["sign_on_identities"]] == [("keycloak", "marie@corp.example")]
    assert "subject" not in json.dumps(data["sign_on_identities"])
    assert data["api_tokens"] == []
    assert [(e["kind"], e["status"]) for e in data["emails"]] == [("verify_email", "waiting")]

    text = json.dumps(data)
    for foreign in ("otto", "Otto", "OttoBrowser", "Someone else's idea", "A comment by Otto"):
        assert foreign not in text, foreign


def test_visitors_are_sent_to_log_in(client):
    for url in ("/account/export", "/account/delete"):
        response = client.get(url)
        assert response.status_code == 302 and response.headers["Location"].startswith("/login?next=")
    response = client.post_form("/account/delete", {"confirmation": PASSWORD})
    assert response.status_code == 302 and response.headers["Location"].startswith("/login?next=")


def test_the_account_page_links_export_and_deletion(client, member):
    page = client.get("/account").get_data(as_text=True)
    assert 'href="/account/export"' in page and 'href="/account/delete"' in page
    page = client.get("/account/delete").get_data(as_text=True)
    assert "What is erased" in page and "What is kept" in page and 'type="password"' in page


def _state(user_id: int) -> tuple:
    user = db.session.get(User, user_id)
    db.session.refresh(user)
    return (user.email, user.display_name, user.password_hash, user.handle, user.deleted_at,
            _count(Vote, user_id=user_id), _count(Follow, user_id=user_id))


def test_a_wrong_password_deletes_nothing(client, member, make_idea):
    cast_vote(member.id, make_idea().id, 1)
    before = _state(member.id)
    for wrong in ("not my password", "", "x" * 500):
        response = client.post_form("/account/delete", {"confirmation": wrong})
        assert response.status_code == 422
        assert _state(member.id) == before
    assert "Your password is not correct." in client.post_form("/account/delete", {"confirmation": "nope"}).get_data(
        as_text=True)
    assert is_signed_in(client)


def test_deletion_erases_the_member_and_keeps_their_ideas_and_comments(app, client, auth, make_user, make_idea,
                                                                       runner):
    from ideastorm.search import sync

    me = make_user(name="Zoe Leaving", email="zoe@example.com")
    others = [make_user() for _ in range(3)]
    mine = make_idea(me, title="Printer labels in bulk")
    promoted, demoted = make_idea(others[0], title="Shared calendars"), make_idea(others[1], title="Dark theme")
    comment = add_comment(me, promoted, "A comment on calendars by Zoe")
    db.session.commit()
    for voter in others:
        cast_vote(voter.id, promoted.id, 1)
        cast_vote(voter.id, demoted.id, -1)
    cast_vote(me.id, promoted.id, 1)
    cast_vote(me.id, demoted.id, -1)
    cast_vote(me.id, mine.id, 1)
    queue_email("verify_email", me.id)
    db.session.commit()
    elsewhere = signed_in_client(app, me)
    auth.login(me)
    assert is_signed_in(elsewhere)

    response = client.post_form("/account/delete", {"confirmation": PASSWORD})
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert "Your account is deleted." in client.get("/").get_data(as_text=True)
    assert not is_signed_in(client) and not is_signed_in(elsewhere)

    user = db.session.get(User, me.id)
    db.session.refresh(user)
    assert (user.display_name, user.email, user.password_hash, user.handle, user.locale, user.role) == (
        "Deleted member", f"deleted-{me.id}@deleted.invalid", None, None, None, "member")
    assert user.deleted_at is not None and not user.is_banned
    for model in (Vote, Follow, Notification, OutgoingEmail, LoginSession, UserIdentity):
        assert _count(model, user_id=me.id) == 0, model
    for idea, promotes, demotes in ((promoted, 3, 0), (demoted, 0, 3), (mine, 0, 0)):
        db.session.refresh(idea)
        assert (idea.promote_count, idea.demote_count, idea.score) == (promotes, demotes, promotes - demotes)
    result = runner.invoke(args=["votes", "verify"])
    assert result.exit_code == 0, result.output

    assert db.session.get(Idea, mine.id).author_id == me.id  # kept
    page = client.get(f"/ideas/{promoted.id}").get_data(as_text=True)
    assert "A comment on calendars" in page and "Deleted member" in page and "Zoe Leaving" not in page
    assert "Deleted member" in client.get(f"/ideas/{mine.id}").get_data(as_text=True)
    profile = client.get(f"/users/{me.id}").get_data(as_text=True)
    assert "Deleted member" in profile and "Zoe" not in profile and "zoe@" not in profile
    sync()
    results = client.get("/search?q=printer").get_data(as_text=True)
    assert "labels in bulk" in results and "Deleted member" in results and "Zoe Leaving" not in results
    assert comment.id  # the comment row stays too
    assert _count(type(comment), author_id=me.id) == 1

    assert auth.login("zoe@example.com").status_code == 422  # the old password signs nobody in
    passphrase = "a brand new passphrase"
    response = client.post_form("/register", {"email": "zoe@example.com", "display_name": "Zoe Again",
                                              "password": passphrase, "confirm": passphrase})
    assert response.status_code < 400
    again = db.session.scalar(select(User).where(User.email == "zoe@example.com"))
    assert again is not None and again.id != me.id and again.display_name == "Zoe Again"


def test_an_account_without_a_password_confirms_with_its_email(client, make_user, auth, app):
    user = make_user(email="sso@example.com")
    auth.login(user)
    user = db.session.get(User, user.id)
    user.password_hash = None  # as a single sign-on account has none
    db.session.commit()
    page = client.get("/account/delete").get_data(as_text=True)
    assert "type its email address, sso@example.com" in page
    assert client.post_form("/account/delete", {"confirmation": "other@example.com"}).status_code == 422
    assert db.session.get(User, user.id).deleted_at is None
    assert client.post_form("/account/delete", {"confirmation": " SSO@example.com "}).status_code == 302
    db.session.expire_all()
    assert db.session.get(User, user.id).deleted_at is not None


def test_the_last_administrator_cannot_leave(app, client, make_user, auth):
    admin = make_user("admin")
    auth.login(admin)
    response = client.post_form("/account/delete", {"confirmation": PASSWORD})
    assert response.status_code == 409
    assert "You are the last administrator" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, admin.id).deleted_at is None and is_signed_in(client)

    make_user("admin")
    assert client.post_form("/account/delete", {"confirmation": PASSWORD}).status_code == 302
    db.session.expire_all()
    gone = db.session.get(User, admin.id)
    assert gone.deleted_at is not None and gone.role == "member"


def test_staff_see_no_address_of_a_deleted_account(client, make_user, auth):
    from ideastorm.privacy.services import delete_member

    leaving = make_user(email="leaving@example.com")
    delete_member(leaving)
    db.session.commit()
    auth.login(make_user("admin"))
    page = client.get("/admin/users").get_data(as_text=True)
    assert "Account deleted" in page and "deleted.invalid" not in page


def test_the_cli_exports_and_deletes(runner, make_user, make_idea):
    user = make_user(email="cli@example.com")
    make_idea(user, title="An idea from the command line")
    result = runner.invoke(args=["privacy", "export", "CLI@example.com"])
    assert result.exit_code == 0 and json.loads(result.output)["ideas"][0]["title"] == "An idea from the command line"
    assert runner.invoke(args=["privacy", "delete", "cli@example.com", "--yes"]).exit_code == 0
    result = runner.invoke(args=["privacy", "delete", "cli@example.com", "--yes"])
    assert result.exit_code == 1 and "No account" in result.output


@pytest.mark.parametrize("days_old, erased", [(91, True), (89, False)])
def test_the_retention_job_erases_old_network_prefixes_only(app, make_user, make_idea, days_old, erased):
    from ideastorm import outbox

    now = utcnow()
    then = now - timedelta(days=days_old)
    old_user = make_user(created_at=then, signup_ip_prefix="198.51.100.0/24")
    new_user = make_user(signup_ip_prefix="203.0.113.0/24")
    idea = make_idea()
    cast_vote(old_user.id, idea.id, 1)
    cast_vote(new_user.id, idea.id, 1)
    db.session.execute(Vote.__table__.update().where(Vote.user_id == old_user.id)
                       .values(ip_prefix="198.51.100.0/24", voted_at=then))
    db.session.execute(Vote.__table__.update().where(Vote.user_id == new_user.id).values(ip_prefix="203.0.113.0/24"))
    db.session.commit()

    outbox.run_scheduled_jobs({}, now)  # the worker's hourly jobs, "retention" among them

    db.session.expire_all()
    expected_old = None if erased else "198.51.100.0/24"
    assert db.session.get(User, old_user.id).signup_ip_prefix == expected_old
    assert db.session.scalar(select(Vote.ip_prefix).where(Vote.user_id == old_user.id)) == expected_old
    assert db.session.get(User, new_user.id).signup_ip_prefix == "203.0.113.0/24"
    assert db.session.scalar(select(Vote.ip_prefix).where(Vote.user_id == new_user.id)) == "203.0.113.0/24"
