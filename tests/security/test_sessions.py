"""Sessions live on the server: logging out, a password change and "sign out everywhere" end them for
every copy of the cookies; the session is regenerated at sign-in; remember-me cookies rotate, and the
old secret used after a rotation ends that login session (a stolen copy)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import event, select

from ideastorm.accounts.models import LoginSession
from ideastorm.accounts.tokens import make_reset_token
from ideastorm.extensions import db
from ideastorm.timeutil import utcnow
from tests.conftest import PASSWORD
from tests.helpers import is_signed_in, signed_in_client

REMEMBER = "remember_token"
CHROME_ON_LINUX = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
                   "Chrome/120.0.0.0 Safari/537.36")
FIREFOX_ON_WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0"
NEW_PASSWORD = "a brand new passphrase"


@pytest.fixture(autouse=True)
def _form_client(client):
    """Every client these tests open sends CSRF tokens like the app's forms (the ``client`` fixture's class)."""


def _cookie(client, name: str) -> str | None:
    cookie = client.get_cookie(name)
    return cookie.value if cookie else None


def _browser(app, **cookies):
    """A fresh browser holding only these cookies (a copy taken from another)."""
    browser = app.test_client()
    for name, value in cookies.items():
        browser.set_cookie(name, value)
    return browser


def _rows(user) -> list[LoginSession]:
    db.session.expire_all()
    return list(db.session.scalars(select(LoginSession).where(LoginSession.user_id == user.id)
                                   .order_by(LoginSession.id)))


def _only_remembered(client):
    """Close the browser: the session cookie goes, the remember-me cookie stays."""
    client.delete_cookie("session")
    return client


# Logout and fixation ---------------------------------------------------------------------------


def test_logout_ends_the_session_for_a_copy_of_its_cookie(app, client, make_user, auth):
    user = make_user()
    auth.login(user)
    copy = _browser(app, session=_cookie(client, "session"))
    assert is_signed_in(copy)  # the copy works while the session is open...
    assert auth.logout().status_code == 302
    assert not is_signed_in(client)
    response = copy.get("/account")  # ...and no longer once its owner logged out
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    assert _rows(user)[0].revoked_at is not None


def test_logout_ends_a_copied_remember_me_cookie(app, client, make_user, auth):
    user = make_user()
    auth.login(user, remember=True)
    stolen = _cookie(client, REMEMBER)
    response = auth.logout()
    assert any(c.startswith(f"{REMEMBER}=;") for c in response.headers.getlist("Set-Cookie"))  # deleted here
    copy = _browser(app, remember_token=stolen)
    refused = copy.get("/")
    # The dead cookie is deleted at once, not sent back and checked again on every request.
    assert any(c.startswith(f"{REMEMBER}=;") for c in refused.headers.getlist("Set-Cookie"))
    assert not is_signed_in(copy) and _cookie(copy, REMEMBER) is None


def test_logout_is_a_post_with_its_csrf_token(client, member):
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400
    assert is_signed_in(client)


def test_signing_in_regenerates_the_session_and_its_csrf_token(app, client, make_user, auth):
    user = make_user()
    before_token = client.csrf_token()
    before_cookie = _cookie(client, "session")
    planted = _browser(app, session=before_cookie)  # a session an attacker made and handed to the victim
    auth.login(user)
    assert _cookie(client, "session") != before_cookie
    assert client.csrf_token() != before_token
    assert client.post("/logout", data={"csrf_token": before_token}).status_code == 400  # the old token is dead
    assert not is_signed_in(planted)


def test_signing_in_as_someone_else_ends_the_former_login_session(app, client, make_user, auth):
    first, second = make_user(), make_user()
    auth.login(first)
    copy = _browser(app, session=_cookie(client, "session"))
    # A password reset link opened in a browser signed in as someone else signs it in afresh.
    token = make_reset_token(second)
    assert client.post_form(f"/reset-password/{token}", {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
                            ).status_code == 302
    assert "Signed in as " + second.email in client.get("/account").get_data(as_text=True)
    assert not is_signed_in(copy)


# Remember-me rotation --------------------------------------------------------------------------


def test_a_remember_me_cookie_restores_the_session_and_is_rotated(app, client, make_user, auth):
    user = make_user()
    auth.login(user, remember=True)
    first = _cookie(client, REMEMBER)
    browser = _browser(app, remember_token=first)
    assert is_signed_in(browser)
    second = _cookie(browser, REMEMBER)
    assert second and second != first
    row = _rows(user)[0]
    assert row.remember and row.rotated_at is not None and row.previous_secret_hash is not None
    assert is_signed_in(_only_remembered(browser))  # the new cookie works, and rotates again
    assert _cookie(browser, REMEMBER) not in (first, second)


def test_the_old_cookie_used_after_a_rotation_ends_the_login_session(app, client, make_user, auth):
    app.config["LOGIN_SESSION_ROTATION_GRACE_SECONDS"] = 0
    user = make_user()
    auth.login(user, remember=True)
    stolen = _cookie(client, REMEMBER)
    owner = _browser(app, remember_token=stolen)
    assert is_signed_in(owner)  # the owner's browser came back: the cookie rotated
    assert not is_signed_in(_browser(app, remember_token=stolen))  # the thief's copy...
    assert _rows(user)[0].revoked_at is not None  # ...revokes the login session
    assert not is_signed_in(owner)
    assert not is_signed_in(_only_remembered(client))


def test_within_the_grace_the_old_cookie_is_refused_quietly(app, client, make_user, auth):
    user = make_user()
    auth.login(user, remember=True)
    first = _cookie(client, REMEMBER)
    owner = _browser(app, remember_token=first)
    assert is_signed_in(owner)
    assert not is_signed_in(_browser(app, remember_token=first))  # a request sent alongside: not signed in
    assert _rows(user)[0].revoked_at is None
    assert is_signed_in(owner) and is_signed_in(_only_remembered(owner))


# Password change and signing out elsewhere ------------------------------------------------------


def _change_password(client):
    return client.post_form("/account", {
        "password-current_password": PASSWORD, "password-new_password": NEW_PASSWORD,
        "password-confirm": NEW_PASSWORD, "password-csrf_token": client.csrf_token(),
    })


def test_a_password_change_signs_out_the_others_and_keeps_this_browser(app, client, make_user, auth):
    user = make_user()
    auth.login(user, remember=True)
    elsewhere = signed_in_client(app, user)
    remembered = _browser(app, remember_token=_cookie(signed_in_client(app, user, remember=True), REMEMBER))
    copied = _browser(app, session=_cookie(client, "session"), remember_token=_cookie(client, REMEMBER))
    assert _change_password(client).status_code == 302
    assert not is_signed_in(elsewhere)
    assert not is_signed_in(remembered)
    assert not is_signed_in(copied)  # a copy of this browser's cookies, taken before the change
    assert is_signed_in(client)
    assert is_signed_in(_only_remembered(client))  # this browser's remember-me cookie too
    # This browser signed in again on a new login session; the three before it ended.
    assert [row.revoked_at is None for row in _rows(user)] == [False, False, False, True]


def test_sign_out_everywhere_else(app, client, make_user, auth):
    user = make_user()
    auth.login(user)
    elsewhere = signed_in_client(app, user, remember=True)
    copied = _browser(app, session=_cookie(client, "session"))
    response = client.post_form("/account/sessions/sign-out-others")
    assert response.status_code == 302 and response.headers["Location"] == "/account#sessions-title"
    page = client.get("/account").get_data(as_text=True)
    assert "Every other browser where you were signed in is signed out." in page
    assert is_signed_in(client)
    assert not is_signed_in(elsewhere) and not is_signed_in(_only_remembered(elsewhere))
    assert not is_signed_in(copied)  # this browser's cookies from before: it signed in again


def test_sign_out_everywhere(app, client, make_user, auth):
    user = make_user()
    auth.login(user)
    elsewhere = signed_in_client(app, user)
    response = client.post_form("/account/sessions/sign-out-all")
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert "You are signed out everywhere" in client.get("/").get_data(as_text=True)
    assert not is_signed_in(client) and not is_signed_in(elsewhere)
    assert all(row.revoked_at is not None for row in _rows(user))


def test_the_account_page_lists_each_browser_and_signs_one_out(app, client, make_user, auth):
    user = make_user()
    client.post_form("/login", {"email": user.email, "password": PASSWORD},
                     headers={"User-Agent": CHROME_ON_LINUX}, environ_base={"REMOTE_ADDR": "203.0.113.7"})
    phone = app.test_client()
    phone.post_form("/login", {"email": user.email, "password": PASSWORD, "remember": "y"},
                    headers={"User-Agent": FIREFOX_ON_WINDOWS})
    third = signed_in_client(app, user)
    page = client.get("/account").get_data(as_text=True)
    assert "Where you are signed in" in page
    assert "Chrome on Linux" in page and "Firefox on Windows" in page
    assert "network 203.0.113.0/24" in page and "203.0.113.7" not in page
    assert page.count("This browser") == 1 and "with a password" in page
    rows = _rows(user)
    assert rows[0].user_agent == CHROME_ON_LINUX and rows[0].ip_prefix == "203.0.113.0/24"
    # This browser is listed first, with no button of its own; the two others have one each.
    assert page.index("Chrome on Linux") < page.index("Firefox on Windows")
    buttons = re.findall(r'action="/account/sessions/(\d+)/sign-out"', page)
    assert sorted(buttons) == sorted([str(rows[1].id), str(rows[2].id)])

    response = client.post_form(f"/account/sessions/{rows[1].id}/sign-out")
    assert response.status_code == 302
    assert "That browser is signed out." in client.get("/account").get_data(as_text=True)
    assert not is_signed_in(phone) and not is_signed_in(_only_remembered(phone))
    assert is_signed_in(third) and is_signed_in(client)


def test_someone_elses_session_answers_404(app, client, make_user, auth):
    owner, other = make_user(), make_user()
    theirs = signed_in_client(app, other)
    auth.login(owner)
    their_row = _rows(other)[0]
    for session_id in (their_row.id, 999999, "x", "99999999999"):
        response = client.post_form(f"/account/sessions/{session_id}/sign-out")
        assert response.status_code == 404, session_id
    assert client.post(f"/account/sessions/{_rows(owner)[0].id}/sign-out").status_code == 400  # no CSRF token
    assert is_signed_in(theirs) and _rows(other)[0].revoked_at is None


def test_the_session_routes_need_a_member(client):
    for url in ("/account/sessions/1/sign-out", "/account/sessions/sign-out-others", "/account/sessions/sign-out-all"):
        response = client.post_form(url)
        assert response.status_code == 302 and response.headers["Location"].startswith("/login"), url


# Expiry, last use, pruning ---------------------------------------------------------------------


def test_an_expired_login_session_signs_nobody_in(client, make_user, auth):
    user = make_user()
    auth.login(user, remember=True)
    row = _rows(user)[0]
    row.expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    assert not is_signed_in(client)
    assert not is_signed_in(_only_remembered(client))


def test_a_session_without_remember_me_ends_after_the_idle_timeout(app, client, make_user, auth):
    user = make_user()
    auth.login(user)
    row = _rows(user)[0]
    assert not row.remember
    idle = timedelta(seconds=app.config["LOGIN_SESSION_IDLE_SECONDS"])
    assert abs(row.expires_at - (row.created_at + idle)) < timedelta(seconds=5)


def test_last_use_is_written_every_few_minutes_and_slides_the_expiry(app, client, make_user, auth):
    user = make_user()
    auth.login(user)
    row = _rows(user)[0]
    seen = row.last_seen_at
    assert is_signed_in(client)
    assert _rows(user)[0].last_seen_at == seen  # not on every request
    row.last_seen_at = row.last_seen_at - timedelta(minutes=10)
    row.expires_at = utcnow() + timedelta(minutes=5)
    db.session.commit()
    assert is_signed_in(client)
    row = _rows(user)[0]
    assert row.last_seen_at > seen - timedelta(seconds=1)
    assert row.expires_at > utcnow() + timedelta(hours=23)


def test_a_signed_in_request_reads_its_session_with_one_query(client, member):
    statements = []

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    client.get("/account")  # warm
    event.listen(db.engine, "before_cursor_execute", record)
    try:
        assert client.get("/notifications/count").status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    loads = [s for s in statements if "login_sessions" in s or re.search(r"FROM users\b", s)]
    assert len(loads) == 1, loads
    assert "JOIN users" in loads[0]


def test_a_banned_or_deleted_member_is_signed_out(app, client, make_user, auth):
    banned, deleted = make_user(), make_user()
    auth.login(banned)
    other = signed_in_client(app, deleted)
    banned.is_banned = True
    deleted.deleted_at = utcnow()
    db.session.commit()
    assert not is_signed_in(client) and not is_signed_in(other)


def test_the_hourly_job_deletes_login_sessions_ended_a_week_ago(app, make_user):
    from ideastorm import outbox

    user = make_user()
    now = utcnow()
    long_ago, lately = now - timedelta(days=8), now - timedelta(days=1)
    rows = {
        "expired long ago": LoginSession(user_id=user.id, secret_hash="a" * 64, expires_at=long_ago),
        "revoked long ago": LoginSession(user_id=user.id, secret_hash="b" * 64, expires_at=now + timedelta(days=20),
                                         revoked_at=long_ago),
        "revoked lately": LoginSession(user_id=user.id, secret_hash="c" * 64, expires_at=now, revoked_at=lately),
        "expired lately": LoginSession(user_id=user.id, secret_hash="d" * 64, expires_at=lately),
        "open": LoginSession(user_id=user.id, secret_hash="e" * 64, expires_at=now + timedelta(days=1)),
    }
    db.session.add_all(rows.values())
    db.session.commit()
    kept = {row.id for name, row in rows.items() if "long ago" not in name}
    outbox.run_scheduled_jobs({}, now)  # what the worker does each hour
    assert {row.id for row in _rows(user)} == kept
