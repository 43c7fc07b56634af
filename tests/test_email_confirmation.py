"""Email confirmation: a link emailed at sign-up, resent on demand, and the administrators' setting that
makes a confirmed address a condition for posting, commenting and voting."""

from __future__ import annotations

import time

from itsdangerous.timed import TimestampSigner
from sqlalchemy import select

from ideastorm.accounts import services as accounts
from ideastorm.accounts.models import User
from ideastorm.accounts.tokens import make_confirm_token, make_reset_token
from ideastorm.audit.models import AuditEntry
from ideastorm.extensions import db
from ideastorm.ideas.models import Category
from ideastorm.mail.models import OutgoingEmail
from ideastorm.settings.models import SiteSettings
from ideastorm.settings.services import DEFAULT_ACCENT, DEFAULT_NAME, save_settings, site_settings
from ideastorm.timeutil import utcnow
from tests.conftest import PASSWORD

NOTICE = "Confirm your email address to post, comment and vote."
REFUSED = "Confirm your email address first"


def _emails(kind: str = "verify_email") -> list[OutgoingEmail]:
    db.session.expire_all()
    return list(db.session.scalars(select(OutgoingEmail).where(OutgoingEmail.kind == kind)))


def _register(client, email="ada@example.com", name="Ada"):
    return client.post_form("/register", {"email": email, "display_name": name, "password": PASSWORD,
                                          "confirm": PASSWORD})


def _require_confirmation(make_user, on: bool = True) -> None:
    save_settings(make_user("admin"), name=DEFAULT_NAME, accent=DEFAULT_ACCENT, require_verified_email=on)
    db.session.commit()


def _confirmed(user) -> bool:
    db.session.refresh(user)
    return user.email_verified_at is not None


# Sign-up and the command line ----------------------------------------------------------------


def test_registering_queues_a_confirmation_email_whose_link_signs_in(client):
    response = _register(client)
    assert response.status_code == 200 and "Check your inbox" in response.get_data(as_text=True)
    user = db.session.scalar(select(User).where(User.email == "ada@example.com"))
    assert user.email_verified_at is None
    assert [e.user_id for e in _emails()] == [user.id]
    assert client.get("/account").status_code == 302  # not signed in yet

    opened = client.get(f"/confirm-email/{make_confirm_token(user)}")
    page = opened.get_data(as_text=True)
    assert opened.status_code == 200
    assert "ada@example.com is confirmed" in page and "Welcome to IdeaStorm, Ada! You are signed in." in page
    account = client.get("/account").get_data(as_text=True)
    assert "Your email address is confirmed." in account
    assert "with the email confirmation link" in account  # how this browser signed in
    assert _confirmed(user)


def test_the_link_signs_in_once(app, client, make_user):
    user = make_user(email="ada@example.com")
    token = make_confirm_token(user)
    assert client.get(f"/confirm-email/{token}").status_code == 200
    assert client.get("/account").status_code == 200
    later = app.test_client()  # the link found again in the mailbox: it is done, and opens nothing
    page = later.get(f"/confirm-email/{token}").get_data(as_text=True)
    assert "was already confirmed" in page
    assert later.get("/account").status_code == 302


def test_the_link_does_not_switch_a_signed_in_member(client, make_user, auth):
    other = make_user(email="other@example.com")
    auth.login(other)
    user = make_user(email="ada@example.com")
    assert client.get(f"/confirm-email/{make_confirm_token(user)}").status_code == 200
    assert _confirmed(user)
    assert "Signed in as other@example.com" in client.get("/account").get_data(as_text=True)


def test_unconfirmed_members_sign_in_with_their_password(client, auth):
    _register(client)
    assert auth.login("ada@example.com").status_code == 302
    assert "not confirmed yet" in client.get("/account").get_data(as_text=True)


def test_a_taken_confirmed_address_queues_no_confirmation(client, make_user):
    from ideastorm.timeutil import utcnow

    make_user(email="ada@example.com", email_verified_at=utcnow())
    assert _register(client).status_code == 200
    assert _emails() == []
    assert len(_emails("account_exists")) == 1


def test_a_taken_unconfirmed_address_gets_its_link_again(client, make_user):
    ada = make_user(email="ada@example.com")
    assert _register(client).status_code == 200
    assert [email.user_id for email in _emails()] == [ada.id]
    assert _emails("account_exists") == []


def test_accounts_created_by_the_operator_are_confirmed(runner):
    result = runner.invoke(args=["users", "create", "--email", "root@example.com", "--name", "Root",
                                 "--role", "admin", "--password-stdin"], input="a long enough password\n")
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User).where(User.email == "root@example.com"))
    assert user.email_verified_at is not None
    assert _emails() == []


def test_create_user_is_unconfirmed_unless_told(app):
    assert accounts.create_user("one@example.com", "One", PASSWORD).email_verified_at is None
    assert accounts.create_user("two@example.com", "Two", PASSWORD, confirmed=True).email_verified_at is not None


# The link ------------------------------------------------------------------------------------


def test_the_link_confirms_once_and_then_says_so(client, make_user):
    user = make_user(email="ada@example.com")
    token = make_confirm_token(user)
    first = client.get(f"/confirm-email/{token}")  # no sign-in needed: the link is the proof
    assert first.status_code == 200
    assert "ada@example.com is confirmed" in first.get_data(as_text=True)
    assert _confirmed(user)
    when = user.email_verified_at
    second = client.get(f"/confirm-email/{token}")
    assert second.status_code == 200
    assert "was already confirmed" in second.get_data(as_text=True)
    db.session.refresh(user)
    assert user.email_verified_at == when


def test_the_account_page_shows_the_state(client, make_user, auth):
    user = make_user()
    auth.login(user)
    assert "not confirmed yet" in client.get("/account").get_data(as_text=True)
    client.get(f"/confirm-email/{make_confirm_token(user)}")
    page = client.get("/account").get_data(as_text=True)
    assert "Your email address is confirmed." in page and 'action="/account/confirm-email"' not in page


def test_a_bad_link_offers_a_new_one_to_the_signed_in_member(client, make_user, auth):
    user = make_user()
    for token in ("nonsense", make_reset_token(user)):
        response = client.get(f"/confirm-email/{token}")
        page = response.get_data(as_text=True)
        assert response.status_code == 400
        assert "This link no longer works" in page and "Log in" in page
        assert 'action="/account/confirm-email"' not in page
    auth.login(user)
    page = client.get("/confirm-email/nonsense").get_data(as_text=True)
    assert 'action="/account/confirm-email"' in page and "Send me a new link" in page
    assert not _confirmed(user)


def test_a_link_for_a_former_address_confirms_nothing(client, make_user):
    user = make_user(email="old@example.com")
    token = make_confirm_token(user)
    user.email = "new@example.com"
    db.session.commit()
    assert client.get(f"/confirm-email/{token}").status_code == 400
    assert not _confirmed(user)


def test_the_link_expires(app, client, make_user):
    user = make_user()
    real = TimestampSigner.get_timestamp
    TimestampSigner.get_timestamp = lambda self: int(time.time()) - app.config["EMAIL_CONFIRM_MAX_AGE"] - 1
    try:
        token = make_confirm_token(user)
    finally:
        TimestampSigner.get_timestamp = real
    assert client.get(f"/confirm-email/{token}").status_code == 400
    assert not _confirmed(user)


def test_a_banned_members_link_confirms_nothing(client, make_user):
    user = make_user(banned=True)
    assert client.get(f"/confirm-email/{make_confirm_token(user)}").status_code == 400
    assert not _confirmed(user)


# Sending it again ----------------------------------------------------------------------------


def test_resending_queues_a_new_email(client, make_user, auth):
    user = make_user()
    auth.login(user)
    response = client.post_form("/account/confirm-email")
    assert response.status_code == 302 and response.headers["Location"] == "/account"
    assert "We have emailed a new confirmation link" in client.get("/account").get_data(as_text=True)
    assert [e.user_id for e in _emails()] == [user.id]


def test_resending_returns_to_a_local_next_only(client, make_user, auth):
    auth.login(make_user())
    assert client.post_form("/account/confirm-email", {"next": "/ideas"}).headers["Location"] == "/ideas"
    assert client.post_form("/account/confirm-email", {"next": "//evil.example/"}).headers["Location"] == "/account"


def test_resending_is_refused_once_confirmed(client, make_user, auth):
    user = make_user()
    user.email_verified_at = utcnow()
    db.session.commit()
    auth.login(user)
    response = client.post_form("/account/confirm-email")
    assert response.status_code == 302 and response.headers["Location"] == "/account"
    assert "already confirmed" in client.get("/account").get_data(as_text=True)
    assert _emails() == []


def test_resending_needs_a_member_and_a_csrf_token(client, make_user, auth):
    response = client.post_form("/account/confirm-email")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    auth.login(make_user())
    assert client.post("/account/confirm-email").status_code == 400
    assert _emails() == []


# The administrators' setting -----------------------------------------------------------------


def test_the_setting_is_off_by_default_and_saved_with_an_audit_entry(app, make_user):
    assert site_settings().require_verified_email is False
    _require_confirmation(make_user)
    assert db.session.get(SiteSettings, 1).require_verified_email is True
    assert site_settings().require_verified_email is True
    entry = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
    assert entry.after == {"require_verified_email": True}
    # Saving the brand alone keeps the choice.
    save_settings(make_user("admin"), name="Renamed", accent=DEFAULT_ACCENT)
    db.session.commit()
    assert site_settings().require_verified_email is True


def test_administrators_switch_it_on_the_settings_page(client, make_user, auth):
    auth.login(make_user("admin"))
    page = client.get("/admin/settings").get_data(as_text=True)
    assert 'name="require_verified_email"' in page
    assert "Members must confirm their email address before they post, comment or vote" in page
    data = {"name": DEFAULT_NAME, "accent": DEFAULT_ACCENT, "welcome_en": "", "welcome_fr": "",
            "require_verified_email": "y", "csrf_token": client.csrf_token()}
    assert client.post("/admin/settings", data=data, content_type="multipart/form-data").status_code == 302
    assert site_settings().require_verified_email is True
    del data["require_verified_email"]
    data["csrf_token"] = client.csrf_token()
    assert client.post("/admin/settings", data=data, content_type="multipart/form-data").status_code == 302
    db.session.expire_all()
    assert site_settings().require_verified_email is False


def test_when_on_an_unconfirmed_member_sees_the_notice_and_cannot_contribute(client, make_user, make_idea, auth):
    idea = make_idea()
    _require_confirmation(make_user)
    user = make_user()
    auth.login(user)
    page = client.get("/").get_data(as_text=True)
    assert NOTICE in page and 'action="/account/confirm-email"' in page
    comment = client.post_form(f"/ideas/{idea.id}/comments", {"body": "Me too"})
    assert comment.status_code == 403 and REFUSED in comment.get_data(as_text=True)
    vote = client.post_form(f"/ideas/{idea.id}/vote", {"value": "1"})
    assert vote.status_code == 403
    category_id = db.session.scalar(select(Category.id).limit(1))
    submitted = client.post_form("/ideas/new", {"title": "Offline mode for the field app",
                                                "description": "We work without a network.",
                                                "category": category_id, "tags": ""})
    assert submitted.status_code == 403 and REFUSED in submitted.get_data(as_text=True)
    assert NOTICE not in client.get("/account").get_data(as_text=True)  # the account page says it itself

    client.get(f"/confirm-email/{make_confirm_token(user)}")
    assert NOTICE not in client.get("/").get_data(as_text=True)
    assert client.post_form(f"/ideas/{idea.id}/vote", {"value": "1"}).status_code in (200, 302, 303)


def test_when_off_nobody_sees_the_notice(client, make_user, auth):
    auth.login(make_user())
    assert NOTICE not in client.get("/").get_data(as_text=True)


def test_a_vote_cast_before_the_rule_can_still_be_withdrawn(client, make_user, make_idea, auth):
    from tests.helpers import cast_vote

    idea = make_idea()
    user = make_user()
    cast_vote(user.id, idea.id, 1)
    _require_confirmation(make_user)
    auth.login(user)
    assert client.post_form(f"/ideas/{idea.id}/vote", {"value": "0"}).status_code in (302, 303)
    db.session.expire_all()
    assert db.session.get(type(idea), idea.id).promote_count == 0
