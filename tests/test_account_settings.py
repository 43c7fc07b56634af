"""The account page: a password change signs out every other session, and the notification settings
(what is followed automatically, how often each kind is emailed, and for staff the watched categories)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from ideastorm.accounts.auth import verify_password
from ideastorm.extensions import db
from ideastorm.ideas.models import Category
from ideastorm.notifications.models import CategoryWatch
from tests.conftest import PASSWORD
from tests.helpers import is_signed_in as _is_signed_in
from tests.helpers import signed_in_client as _signed_in_client

NEW_PASSWORD = "a brand new passphrase"


def _change_password(client, current=PASSWORD, new=NEW_PASSWORD):
    return client.post_form("/account", {
        "password-current_password": current, "password-new_password": new, "password-confirm": new,
        "password-csrf_token": client.csrf_token(),
    })


def _notifications(client, **changes):
    data = {
        "notifications-follow_on_submit": "y", "notifications-follow_on_vote": "y",
        "notifications-follow_on_comment": "y", "notifications-email_status": "immediate",
        "notifications-email_comments": "daily", "notifications-email_mentions": "immediate",
        "notifications-csrf_token": client.csrf_token(),
    }
    for name, value in changes.items():
        if value is None:
            data.pop(f"notifications-{name}", None)
        else:
            data[f"notifications-{name}"] = value
    return client.post("/account", data=data)


def _checked(page: str, name: str, value: str = "y") -> bool:
    tag = re.search(rf'<input[^>]*name="{re.escape(name)}"[^>]*value="{re.escape(value)}"[^>]*>', page)
    assert tag, f"no input {name}={value}"
    return " checked" in tag.group(0)


def _categories(*slugs) -> list[Category]:
    return [db.session.scalar(select(Category).where(Category.slug == slug)) for slug in slugs]


def _watched(user) -> set[int]:
    db.session.expire_all()
    return set(db.session.scalars(select(CategoryWatch.category_id).where(CategoryWatch.user_id == user.id)))


# Password change -----------------------------------------------------------------------------


def test_a_password_change_signs_out_every_other_session_and_keeps_this_one(app, client, make_user, auth):
    user = make_user()
    auth.login(user)
    elsewhere = _signed_in_client(app, user)
    remembered = _signed_in_client(app, user, remember=True)
    response = _change_password(client)
    assert response.status_code == 302 and response.headers["Location"] == "/account"
    page = client.get("/account").get_data(as_text=True)
    assert "Your password is changed." in page and "Log out" in page
    assert not _is_signed_in(elsewhere)
    remembered.delete_cookie("session")
    assert not _is_signed_in(remembered)
    db.session.refresh(user)
    assert verify_password(user.password_hash, NEW_PASSWORD)


def test_a_remembered_browser_stays_remembered_after_its_own_password_change(app, client, make_user):
    user = make_user()
    here = _signed_in_client(app, user, remember=True)
    response = _change_password(here)
    assert response.status_code == 302
    here.delete_cookie("session")
    assert _is_signed_in(here)  # by its remember-me cookie: its login session was kept


@pytest.mark.parametrize("password", ["1234567890", "qwertyuiop"])
def test_a_common_new_password_is_refused(app, client, make_user, auth, password):
    user = make_user()
    auth.login(user)
    response = _change_password(client, new=password)
    assert response.status_code == 422
    assert "This password is too common or too easy to guess." in response.get_data(as_text=True)
    db.session.refresh(user)
    assert verify_password(user.password_hash, PASSWORD)


def test_a_refused_password_change_signs_nobody_out(app, client, make_user, auth):
    user = make_user()
    auth.login(user)
    elsewhere = _signed_in_client(app, user)
    assert _change_password(client, current="not my password").status_code == 422
    assert _is_signed_in(client) and _is_signed_in(elsewhere)


# Notification settings -----------------------------------------------------------------------


def test_the_account_page_shows_the_stored_settings_and_the_handle(client, make_user, auth):
    user = make_user()
    user.handle = "ada-lovelace"
    db.session.commit()
    auth.login(user)
    page = client.get("/account").get_data(as_text=True)
    assert "Others mention you as @ada-lovelace" in page
    for name in ("follow_on_submit", "follow_on_vote", "follow_on_comment"):
        assert _checked(page, f"notifications-{name}")
    assert _checked(page, "notifications-email_status", "immediate")
    assert _checked(page, "notifications-email_comments", "daily")
    assert _checked(page, "notifications-email_mentions", "immediate")
    assert not _checked(page, "notifications-email_mentions", "never")
    for label in ("At once", "In a daily digest", "Never", "<legend>New comments</legend>"):
        assert label in page
    # Staff only: new ideas in watched categories.
    assert "notifications-email_new_ideas" not in page and "notifications-watched_categories" not in page


def test_labels_are_tied_to_their_inputs(client, member):
    page = client.get("/account").get_data(as_text=True)
    inputs = re.findall(r'<input(?![^>]*type="hidden")[^>]*id="(notifications-[^"]+)"', page)
    assert len(inputs) == 3 + 3 * 3  # three boxes, three groups of three choices
    for input_id in inputs:
        assert f'for="{input_id}"' in page, input_id


def test_a_member_saves_their_settings(client, member):
    response = _notifications(client, follow_on_vote=None, email_comments="never", email_mentions="daily")
    assert response.status_code == 302 and response.headers["Location"] == "/account"
    page = client.get("/account").get_data(as_text=True)
    assert "Your notification settings are saved." in page
    assert not _checked(page, "notifications-follow_on_vote") and _checked(page, "notifications-follow_on_submit")
    assert _checked(page, "notifications-email_comments", "never")
    db.session.refresh(member)
    assert (member.follow_on_submit, member.follow_on_vote, member.follow_on_comment) == (True, False, True)
    assert (member.email_status, member.email_comments, member.email_mentions) == ("immediate", "never", "daily")
    assert member.email_new_ideas == "daily"  # not on a member's form: kept


def test_a_member_cannot_watch_categories(client, member):
    products, = _categories("products")
    response = _notifications(client, email_new_ideas="never", watched_categories=str(products.id))
    assert response.status_code == 302
    db.session.refresh(member)
    assert member.email_new_ideas == "daily"
    assert _watched(member) == set()


@pytest.mark.parametrize("changes", [{"email_status": "hourly"}, {"email_comments": ""}])
def test_an_unknown_or_missing_frequency_is_refused(client, member, changes):
    response = _notifications(client, follow_on_vote=None, **changes)
    assert response.status_code == 422
    assert "Please correct the highlighted fields." in response.get_data(as_text=True)
    db.session.refresh(member)
    assert member.follow_on_vote is True and member.email_status == "immediate"


def test_the_settings_form_needs_its_csrf_token(client, member):
    response = _notifications(client, follow_on_vote=None, csrf_token="forged")
    assert response.status_code == 400
    db.session.refresh(member)
    assert member.follow_on_vote is True


def test_staff_watch_active_categories(client, make_user, auth):
    staff = make_user("staff")
    products, apps, other = _categories("products", "apps", "other")
    other.is_archived = True
    db.session.commit()
    auth.login(staff)
    page = client.get("/account").get_data(as_text=True)
    assert 'name="notifications-email_new_ideas"' in page
    box = 'name="notifications-watched_categories" type="checkbox" value="{}"'
    assert box.format(products.id) in page and box.format(apps.id) in page
    assert box.format(other.id) not in page  # archived

    data = {"email_new_ideas": "immediate", "watched_categories": [str(products.id), str(apps.id)]}
    assert _notifications(client, **data).status_code == 302
    assert _watched(staff) == {products.id, apps.id}
    db.session.refresh(staff)
    assert staff.email_new_ideas == "immediate"
    page = client.get("/account").get_data(as_text=True)
    assert _checked(page, "notifications-watched_categories", str(products.id))

    assert _notifications(client, watched_categories=str(apps.id), email_new_ideas="never").status_code == 302
    assert _watched(staff) == {apps.id}
    assert _notifications(client, watched_categories=None, email_new_ideas="never").status_code == 302
    assert _watched(staff) == set()


def test_staff_cannot_watch_an_archived_category(client, make_user, auth):
    staff = make_user("staff")
    other, = _categories("other")
    other.is_archived = True
    db.session.commit()
    auth.login(staff)
    response = _notifications(client, email_new_ideas="daily", watched_categories=str(other.id))
    assert response.status_code == 422
    assert _watched(staff) == set()


def test_the_three_forms_stay_apart(client, member):
    assert _notifications(client, follow_on_comment=None).status_code == 302
    # A refused profile form shows the page again with the stored notification settings, untouched.
    refused = client.post_form("/account", {"profile-display_name": "x", "profile-locale": "",
                                            "profile-csrf_token": client.csrf_token()})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert _checked(page, "notifications-follow_on_submit") and not _checked(page, "notifications-follow_on_comment")
    db.session.refresh(member)
    assert member.follow_on_comment is False and member.follow_on_submit is True
    # A refused settings form keeps the profile's stored name.
    refused = _notifications(client, email_status="hourly")
    assert refused.status_code == 422 and f'value="{member.display_name}"' in refused.get_data(as_text=True)


def test_members_cannot_set_staff_only_settings_through_the_service(make_user):
    from ideastorm.notifications.services import Preferences, preferences_of, save_preferences

    member = make_user()
    before = member.email_new_ideas
    save_preferences(member, Preferences(True, True, True, "daily", "daily", "daily", "never", (1,)))
    db.session.commit()
    assert member.email_new_ideas == before and preferences_of(member).watched_category_ids == ()
    assert db.session.scalar(select(CategoryWatch.id).where(CategoryWatch.user_id == member.id)) is None


def test_staff_cannot_watch_an_archived_category_through_the_service(make_user):
    from ideastorm.domain import DomainError
    from ideastorm.notifications.services import Preferences, save_preferences

    staff = make_user("staff")
    archived = db.session.scalar(select(Category).limit(1))
    archived.is_archived = True
    db.session.commit()
    with pytest.raises(DomainError):
        save_preferences(staff, Preferences(True, True, True, "daily", "daily", "daily", "daily", (archived.id,)))


def test_an_account_without_a_password_is_offered_a_link_to_choose_one(app, client, make_user):
    from ideastorm.accounts import services as account_services, sessions
    from ideastorm.mail.models import OutgoingEmail

    user = make_user(email="sso-member@example.com")
    user.password_hash = None  # made by single sign-on
    row, secret = account_services.open_login_session(user)
    db.session.commit()
    with client.session_transaction() as session:
        session["_user_id"] = sessions.make_token(user.id, row.id, secret)
    page = client.get("/account").get_data(as_text=True)
    assert "Current password" not in page and "Your account has no password" in page
    assert client.post_form("/reset-password", {"email": user.email}).status_code == 302
    assert db.session.scalars(select(OutgoingEmail.kind).where(OutgoingEmail.user_id == user.id)).all() == [
        "password_reset"]
