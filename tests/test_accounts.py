from sqlalchemy import func, select

from ideastorm.accounts.models import User
from ideastorm.extensions import db
from tests.conftest import PASSWORD


def _register(client, email="ada@example.com", name="Ada", password=PASSWORD, confirm=None, **extra):
    data = {"email": email, "display_name": name, "password": password, "confirm": confirm or password}
    data.update(extra)
    return client.post_form("/register", data)


def _count_users() -> int:
    return db.session.scalar(select(func.count()).select_from(User))


def test_register_signs_in_and_hashes_the_password(client):
    response = _register(client)
    assert response.status_code == 302
    user = db.session.scalar(select(User).where(User.email == "ada@example.com"))
    assert user.role == "member"
    assert user.password_hash.startswith("$argon2id$") and PASSWORD not in user.password_hash
    page = client.get("/").get_data(as_text=True)
    assert "Ada" in page and "Log out" in page


def test_second_registration_with_same_email_in_any_case_is_refused(client):
    _register(client)
    client.post_form("/logout")
    response = _register(client, email="  ADA@Example.COM ", name="Impostor")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "already exists" in page
    assert 'value="Impostor"' in page  # what the user typed is kept
    assert _count_users() == 1
    assert db.session.scalar(select(User.display_name)) == "Ada"


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
