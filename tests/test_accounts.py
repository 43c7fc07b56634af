import re

import pytest
from sqlalchemy import func, select

from ideastorm.accounts.auth import verify_password
from ideastorm.accounts.models import User
from ideastorm.extensions import db
from ideastorm.mail.models import OutgoingEmail
from tests.conftest import PASSWORD
from tests.helpers import is_signed_in


def _register(client, email="ada@example.com", name="Ada", password=PASSWORD, confirm=None, **extra):
    data = {"email": email, "display_name": name, "password": password, "confirm": confirm or password}
    data.update(extra)
    return client.post_form("/register", data)


def _confirm(email: str) -> None:
    """As the confirmation link does: the owner proved the address."""
    from ideastorm.timeutil import utcnow

    db.session.scalar(select(User).where(User.email == email)).email_verified_at = utcnow()
    db.session.commit()


def _count_users() -> int:
    return db.session.scalar(select(func.count()).select_from(User))


def _emails(kind: str) -> list[OutgoingEmail]:
    db.session.expire_all()
    return list(db.session.scalars(select(OutgoingEmail).where(OutgoingEmail.kind == kind).order_by(OutgoingEmail.id)))


def _answer(response) -> tuple[int, str]:
    """What a sign-up answers, the address it names aside (it is the one typed, normalised)."""
    page = response.get_data(as_text=True)
    main = re.search(r"<main.*?</main>", page, re.S).group(0)
    return response.status_code, re.sub(r"[\w.+-]+@example\.com", "EMAIL", main)


def test_register_creates_an_unconfirmed_account_and_asks_to_check_the_inbox(client):
    response = _register(client)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Check your inbox" in page and "We sent a link to ada@example.com to finish signing up." in page
    user = db.session.scalar(select(User).where(User.email == "ada@example.com"))
    assert user.role == "member" and user.email_verified_at is None
    assert user.password_hash.startswith("$argon2id$") and PASSWORD not in user.password_hash
    assert not is_signed_in(client)  # the emailed link signs in
    assert [e.user_id for e in _emails("verify_email")] == [user.id]


def test_a_taken_address_gets_the_same_answer_and_its_owner_an_email(app, client):
    new = _register(client, email="grace@example.com", name="Grace")
    _register(client)  # Ada's account
    _confirm("ada@example.com")
    taken = _register(client, email="  ADA@Example.COM ", name="Impostor", password="another good passphrase")
    assert _answer(taken) == _answer(new)
    page = taken.get_data(as_text=True)
    assert "We sent a link to ada@example.com to finish signing up." in page and "already" not in page
    assert _count_users() == 2
    ada = db.session.scalar(select(User).where(User.email == "ada@example.com"))
    assert ada.display_name == "Ada" and verify_password(ada.password_hash, PASSWORD)
    assert not is_signed_in(client)
    assert [e.user_id for e in _emails("account_exists")] == [ada.id]
    assert [e.user_id for e in _emails("verify_email")] == [
        db.session.scalar(select(User.id).where(User.email == "grace@example.com")), ada.id]
    # Again within the hour: the same answer, and no second email to flood the owner's mailbox.
    assert _answer(_register(client, name="Impostor")) == _answer(new)
    assert len(_emails("account_exists")) == 1


def test_signing_up_again_before_confirming_sends_the_link_again(app, client):
    first = _register(client)
    again = _register(client, name="Ada again")
    assert _answer(again) == _answer(first)
    ada = db.session.scalar(select(User).where(User.email == "ada@example.com"))
    assert [e.user_id for e in _emails("verify_email")] == [ada.id, ada.id]
    assert _emails("account_exists") == [] and ada.display_name == "Ada"


def test_the_owner_is_told_how_to_sign_in_or_reset_the_password(app, client):
    from ideastorm.mail.compose import compose

    _register(client)
    _confirm("ada@example.com")
    _register(client, name="Impostor")
    message = compose(_emails("account_exists")[0])
    text = message.body
    assert message.to == ["Ada <ada@example.com>"]
    assert "Someone tried to sign up with your email address" in message.subject
    assert "tried to create an account" in text and "nothing was changed" in text
    assert "http://ideastorm.test/login" in text and "http://ideastorm.test/reset-password/" in text
    html = message.alternatives[0][0]
    assert 'href="http://ideastorm.test/login"' in html and "Choose a new password" in html


def test_a_taken_address_does_the_same_work(app, client, monkeypatch):
    """The password is hashed for a taken address too, so the time taken tells nothing."""
    from ideastorm.accounts import services

    hashed = []
    real = services.hash_password
    monkeypatch.setattr(services, "hash_password", lambda password: hashed.append(password) or real(password))
    _register(client)
    _register(client, name="Impostor", password="another good passphrase")
    assert hashed == [PASSWORD, "another good passphrase"]


def test_register_validation_keeps_input(client):
    response = _register(client, email="not-an-email", name="Grace", password="short", confirm="other")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'value="Grace"' in page and 'value="not-an-email"' in page
    assert 'aria-invalid="true"' in page
    assert _count_users() == 0


def test_forged_csrf_token_gets_400_and_keeps_the_form(client):
    response = client.post("/register", data={
        "email": "eve@example.com", "display_name": "Eve", "password": PASSWORD, "confirm": PASSWORD,
        "csrf_token": "forged",
    })
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "could not be verified" in page
    assert 'value="Eve"' in page
    assert _count_users() == 0


def test_post_without_csrf_token_is_refused_everywhere(client, make_user, auth, make_idea):
    user = make_user()
    auth.login(user)
    idea = make_idea()
    assert client.post(f"/ideas/{idea.id}/vote", data={"value": "1"}).status_code == 400
    assert client.post("/logout").status_code == 400
    assert client.post("/locale", data={"locale": "fr"}).status_code == 400


def test_login_logout_and_wrong_password(client, make_user, auth):
    user = make_user(email="bob@example.com")
    wrong = auth.login("bob@example.com", "wrong password!")
    assert wrong.status_code == 422
    assert "Wrong email or password" in wrong.get_data(as_text=True)
    assert 'value="bob@example.com"' in wrong.get_data(as_text=True)
    ok = auth.login("BOB@example.com")
    assert ok.status_code == 302
    assert client.get("/account").status_code == 200
    auth.logout()
    assert client.get("/account").status_code == 302
    db.session.refresh(user)
    assert user.last_login_at is not None


def test_login_follows_only_local_next(client, make_user):
    user = make_user()
    data = {"email": user.email, "password": PASSWORD}
    response = client.post_form("/login?next=/ideas/new", data)
    assert response.headers["Location"] == "/ideas/new"
    client.post_form("/logout")
    for evil in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        response = client.post_form(f"/login?next={evil}", data)
        assert response.headers["Location"] == "/", evil
        client.post_form("/logout")


def test_remember_me_sets_a_persistent_cookie(client, make_user, auth):
    user = make_user()
    response = auth.login(user, remember=True)
    cookies = response.headers.getlist("Set-Cookie")
    assert any(c.startswith("remember_token=") and "HttpOnly" in c for c in cookies)


def test_banned_member_cannot_sign_in_and_is_signed_out(client, make_user, auth):
    user = make_user()
    auth.login(user)
    assert client.get("/account").status_code == 200
    user.is_banned = True
    db.session.commit()
    assert client.get("/account").status_code == 302  # signed out on the next request
    response = auth.login(user)
    assert response.status_code == 403
    assert "suspended" in response.get_data(as_text=True)


def test_account_page_updates_profile_and_password(client, make_user, auth):
    user = make_user()
    auth.login(user)
    response = client.post_form("/account", {
        "profile-display_name": "New Name", "profile-locale": "fr",
        "profile-csrf_token": client.csrf_token(),
    })
    assert response.status_code == 302
    db.session.refresh(user)
    assert (user.display_name, user.locale) == ("New Name", "fr")
    bad = client.post_form("/account", {
        "password-current_password": "nope nope nope", "password-new_password": "brand new password",
        "password-confirm": "brand new password", "password-csrf_token": client.csrf_token(),
    })
    assert bad.status_code == 422
    ok = client.post_form("/account", {
        "password-current_password": PASSWORD, "password-new_password": "brand new password",
        "password-confirm": "brand new password", "password-csrf_token": client.csrf_token(),
    })
    assert ok.status_code == 302
    client.post_form("/logout")
    assert client.post_form("/login", {"email": user.email, "password": "brand new password"}).status_code == 302


def test_a_message_flashed_twice_shows_once(client, make_idea):
    idea = make_idea()
    for _ in range(3):  # a visitor sent to sign in from several pages in a row
        client.get(f"/ideas/{idea.id}/edit")
    page = client.get("/login").get_data(as_text=True)
    assert page.count("Please sign in to continue.") == 1


@pytest.mark.parametrize("password", ["1234567890", "password12", "aaaaaaaaaa", "qwertyuiop", "ideastorm123",
                                      "ada@example.com!"])
def test_common_and_guessable_passwords_are_refused(client, password):
    response = _register(client, password=password)
    assert response.status_code == 422
    assert "This password is too common or too easy to guess." in response.get_data(as_text=True)
    assert _count_users() == 0


def test_a_passphrase_is_accepted_and_the_rule_is_shown(client):
    form = client.get("/register").get_data(as_text=True)
    assert "not a common or easily guessed password" in form
    assert _register(client, password="correct horse battery staple").status_code == 200
    assert _count_users() == 1


def test_the_command_line_follows_the_same_rule(runner):
    refused = runner.invoke(args=["users", "create", "--email", "rosa@example.com", "--name", "Rosa",
                                  "--password-stdin"], input="qwertyuiop\n")
    assert refused.exit_code == 1 and "too common or too easy to guess" in refused.output
    assert _count_users() == 0
