"""Password reset: the same answer for every address, a signed link that works once and for an hour,
the registration rules for the new password, and every other session signed out."""

from __future__ import annotations

import re
import time

import pytest
from itsdangerous.timed import TimestampSigner
from sqlalchemy import select

from ideastorm.accounts.auth import verify_password
from ideastorm.accounts.tokens import make_confirm_token, make_reset_token
from ideastorm.extensions import db
from ideastorm.mail.models import OutgoingEmail
from tests.conftest import PASSWORD, Auth
from tests.helpers import is_signed_in as _is_signed_in
from tests.helpers import signed_in_client as _signed_in_client

NEW_PASSWORD = "a brand new passphrase"
SENT = "we have emailed a link to choose a new password"
NO_LONGER_WORKS = "This link no longer works"


def _emails(kind: str = "password_reset") -> list[OutgoingEmail]:
    db.session.expire_all()
    return list(db.session.scalars(select(OutgoingEmail).where(OutgoingEmail.kind == kind)))


def _reset(client, token: str, password: str = NEW_PASSWORD, confirm: str | None = None):
    return client.post_form(f"/reset-password/{token}", {
        "password": password, "confirm": confirm if confirm is not None else password,
    })


def _old_token(user, age: int) -> str:
    """A reset token signed ``age`` seconds ago (the signer's clock, and nothing else, set back)."""
    real = TimestampSigner.get_timestamp
    TimestampSigner.get_timestamp = lambda self: int(time.time()) - age
    try:
        return make_reset_token(user)
    finally:
        TimestampSigner.get_timestamp = real


def test_the_login_page_links_to_the_reset_form(client):
    login = client.get("/login").get_data(as_text=True)
    assert 'href="/reset-password"' in login and "Forgot your password?" in login
    page = client.get("/reset-password")
    assert page.status_code == 200
    assert 'name="email"' in page.get_data(as_text=True)


def test_the_answer_is_the_same_for_known_unknown_and_banned_addresses(client, make_user):
    known = make_user(email="known@example.com")
    make_user(email="banned@example.com", banned=True)
    answers = []
    for email in ("Known@Example.com", "nobody@example.com", "banned@example.com"):
        response = client.post_form("/reset-password", {"email": email})
        page = client.get(response.headers["Location"]).get_data(as_text=True)
        message = re.search(r'<p class="flash flash-info">(.*?)</p>', page).group(1)
        answers.append((response.status_code, response.headers["Location"],
                        message.replace(email.lower(), "EMAIL")))
    assert answers[0] == answers[1] == answers[2]
    assert answers[0][0] == 302 and SENT in answers[0][2]
    emails = _emails()
    assert [e.user_id for e in emails] == [known.id]  # queued for the known, active member only


def test_an_account_without_a_password_may_choose_one(client, make_user):
    user = make_user(email="sso@example.com")
    user.password_hash = None  # made by single sign-on: the link to its address is the proof
    db.session.commit()
    response = client.post_form("/reset-password", {"email": "sso@example.com"})
    assert response.status_code == 302
    assert [email.kind for email in _emails()] == ["password_reset"]


@pytest.mark.parametrize("email, message", [
    ("", "An email address is required."),
    ("not-an-address", "This is not a valid email address."),
])
def test_a_malformed_address_is_refused_beside_the_field(client, email, message):
    response = client.post_form("/reset-password", {"email": email})
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert _emails() == []


def test_the_form_needs_its_csrf_token(client, make_user):
    make_user(email="known@example.com")
    response = client.post("/reset-password", data={"email": "known@example.com"})
    assert response.status_code == 400
    assert _emails() == []


def test_the_link_sets_the_password_signs_in_here_and_out_everywhere_else(app, client, make_user):
    user = make_user(email="ada@example.com")
    elsewhere = _signed_in_client(app, user)
    remembered = _signed_in_client(app, user, remember=True)
    remembered.delete_cookie("session")
    assert _is_signed_in(remembered)  # by its remember-me cookie alone
    token = make_reset_token(user)

    form = client.get(f"/reset-password/{token}")
    page = form.get_data(as_text=True)
    assert form.status_code == 200
    assert "ada@example.com" in page and 'name="password"' in page and 'name="confirm"' in page

    done = _reset(client, token)
    assert done.status_code == 302 and done.headers["Location"] == "/"
    assert "Your new password is set and you are signed in" in client.get("/").get_data(as_text=True)
    assert _is_signed_in(client)
    assert not _is_signed_in(elsewhere)
    remembered.delete_cookie("session")
    assert not _is_signed_in(remembered)  # the old remember-me cookie no longer signs anyone in

    db.session.refresh(user)
    assert verify_password(user.password_hash, NEW_PASSWORD)
    assert user.email_verified_at is not None  # the link reached the mailbox
    fresh = app.test_client()
    assert Auth(fresh).login(user, PASSWORD).status_code == 422
    assert Auth(fresh).login(user, NEW_PASSWORD).status_code == 302


def test_the_link_works_once(client, make_user):
    user = make_user()
    token = make_reset_token(user)
    assert _reset(client, token).status_code == 302
    client.post_form("/logout")
    again = client.get(f"/reset-password/{token}")
    page = again.get_data(as_text=True)
    assert again.status_code == 400
    assert NO_LONGER_WORKS in page and 'href="/reset-password"' in page
    assert _reset(client, token, "yet another passphrase").status_code == 400
    db.session.refresh(user)
    assert verify_password(user.password_hash, NEW_PASSWORD)


def test_a_new_link_kills_none_but_a_used_one_kills_all(client, make_user):
    user = make_user()
    first, second = make_reset_token(user), _old_token(user, 60)
    # Asking again leaves the first link working: both are open until one is used.
    assert client.get(f"/reset-password/{first}").status_code == 200
    assert client.get(f"/reset-password/{second}").status_code == 200
    assert _reset(client, second).status_code == 302
    assert client.get(f"/reset-password/{first}").status_code == 400  # every older link died with it


def test_the_link_expires_after_an_hour(app, client, make_user):
    user = make_user()
    max_age = app.config["PASSWORD_RESET_MAX_AGE"]
    assert max_age == 3600
    assert client.get(f"/reset-password/{_old_token(user, max_age - 60)}").status_code == 200
    expired = _old_token(user, max_age + 1)
    response = client.get(f"/reset-password/{expired}")
    assert response.status_code == 400 and NO_LONGER_WORKS in response.get_data(as_text=True)
    assert _reset(client, expired).status_code == 400
    db.session.refresh(user)
    assert verify_password(user.password_hash, PASSWORD)


def test_a_password_change_on_the_account_page_kills_the_link(client, make_user, auth):
    user = make_user()
    token = make_reset_token(user)
    auth.login(user)
    changed = client.post_form("/account", {
        "password-current_password": PASSWORD, "password-new_password": NEW_PASSWORD,
        "password-confirm": NEW_PASSWORD, "password-csrf_token": client.csrf_token(),
    })
    assert changed.status_code == 302
    assert client.get(f"/reset-password/{token}").status_code == 400


@pytest.mark.parametrize("password, confirm, message", [
    ("short", "short", "A password has at least 10 characters."),
    ("ada@example.com", "ada@example.com", "Your password cannot be your email address."),
    (NEW_PASSWORD, "something else entirely", "The passwords do not match."),
    ("password12", "password12", "This password is too common or too easy to guess."),
])
def test_the_new_password_follows_the_registration_rules(client, make_user, password, confirm, message):
    user = make_user(email="ada@example.com")
    token = make_reset_token(user)
    response = _reset(client, token, password, confirm)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert not _is_signed_in(client)
    db.session.refresh(user)
    assert verify_password(user.password_hash, PASSWORD)
    assert client.get(f"/reset-password/{token}").status_code == 200  # still usable


def test_forged_foreign_and_banned_tokens_are_refused(client, make_user):
    user = make_user()
    banned = make_user(banned=True)
    for token in ("nonsense", make_reset_token(user)[:-2] + "xx", make_confirm_token(user), make_reset_token(banned)):
        response = client.get(f"/reset-password/{token}")
        assert response.status_code == 400, token
        assert NO_LONGER_WORKS in response.get_data(as_text=True)


def test_the_reset_form_needs_its_csrf_token(client, make_user):
    user = make_user()
    token = make_reset_token(user)
    response = client.post(f"/reset-password/{token}", data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 400
    db.session.refresh(user)
    assert verify_password(user.password_hash, PASSWORD)
