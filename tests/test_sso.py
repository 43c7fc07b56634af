"""Single sign-on against a real OpenID Connect provider (tests/oidc_provider.py) on 127.0.0.1.

Each test follows the redirects by hand, as a browser would: the app sends the browser to the
provider's /authorize (fetched with ``requests``), which sends it back to the app's callback
(the test client), where the app exchanges the code and checks the ID token through Authlib.
"""

from __future__ import annotations

import time
from datetime import datetime
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from sqlalchemy import func, select

from ideastorm import create_app
from ideastorm.accounts import sessions
from ideastorm.accounts.models import LoginSession, User, UserIdentity
from ideastorm.audit.models import AuditEntry
from ideastorm.extensions import db
from ideastorm.sso import ProviderConfigError
from tests.conftest import _base_config
from tests.helpers import is_signed_in, signed_in_client
from tests.oidc_provider import oidc_provider_fixture  # noqa: F401  (the oidc_provider fixture)

CALLBACK = "http://ideastorm.test/login/sso/test/callback"


@pytest.fixture
def provider_settings() -> dict | None:
    """The test provider's OIDC_PROVIDERS entry, over its defaults; None: no provider configured."""
    return {}


@pytest.fixture
def app_config(oidc_provider, provider_settings) -> dict:
    entries = [] if provider_settings is None else [oidc_provider.settings(**provider_settings)]
    return {"OIDC_PROVIDERS": entries, "OIDC_TIMEOUT_SECONDS": 5}


@pytest.fixture
def sign_ins(monkeypatch) -> list[tuple[int, str]]:
    """Every call of sessions.sign_in: (member id, method)."""
    calls: list[tuple[int, str]] = []
    real = sessions.sign_in

    def spy(user, *, remember=False, method="password"):
        calls.append((user.id, method))
        return real(user, remember=remember, method=method)

    monkeypatch.setattr(sessions, "sign_in", spy)
    return calls


def start(client, next_url: str | None = None) -> str:
    """Click "Sign in with Test ID": the provider's authorization address the app redirects to."""
    response = client.get("/login/sso/test" + (f"?{urlencode({'next': next_url})}" if next_url else ""))
    assert response.status_code == 302, response.get_data(as_text=True)
    return response.headers["Location"]


def at_provider(authorize_url: str) -> str:
    """The browser at the provider, which approves at once: the app's callback path it redirects to."""
    answer = requests.get(authorize_url, allow_redirects=False, timeout=5)
    assert answer.status_code == 302, answer.text
    location = answer.headers["Location"]
    assert location.startswith(CALLBACK + "?"), location
    parts = urlsplit(location)
    return f"{parts.path}?{parts.query}"


def sign_in_with_provider(client, next_url: str | None = None):
    return client.get(at_provider(start(client, next_url)))


def page(client, response) -> str:
    """The page a redirect leads to (where the flashed messages show)."""
    assert response.status_code == 302, response.get_data(as_text=True)
    return client.get(urlsplit(response.headers["Location"]).path).get_data(as_text=True)


def user_count() -> int:
    return db.session.scalar(select(func.count()).select_from(User))


def identity(subject: str = "ada-1") -> UserIdentity | None:
    db.session.expire_all()
    return db.session.scalar(select(UserIdentity).where(UserIdentity.provider == "test",
                                                        UserIdentity.subject == subject))


def member_by_email(email: str) -> User | None:
    db.session.expire_all()
    return db.session.scalar(select(User).where(User.email == email))


# Accounts: created, linked, refused ---------------------------------------------------------


def test_first_sign_in_creates_a_confirmed_account_without_password(client, sign_ins):
    response = sign_in_with_provider(client)
    assert response.headers["Location"] == "/"
    assert "Welcome to IdeaStorm, Ada Lovelace!" in page(client, response)
    assert is_signed_in(client)
    user = member_by_email("ada@example.com")
    assert user.display_name == "Ada Lovelace" and user.handle == "ada-lovelace"
    assert user.is_verified and user.password_hash is None and user.role == "member"
    assert identity().user_id == user.id and identity().email == "ada@example.com"
    assert sign_ins == [(user.id, "sso:test")]
    assert db.session.scalars(select(LoginSession.method).where(LoginSession.user_id == user.id)).all() == ["sso:test"]
    account = client.get("/account").get_data(as_text=True)
    assert "Linked sign-in" in account and "Test ID (ada@example.com)" in account


def test_a_verified_email_links_the_existing_account(client, make_user, sign_ins):
    existing = make_user(email="ada@example.com", name="Ada L", email_verified_at=datetime(2026, 1, 1))
    response = sign_in_with_provider(client)
    assert "is now linked to this account" in page(client, response)
    assert identity().user_id == existing.id and user_count() == 1
    assert sign_ins == [(existing.id, "sso:test")]
    member = member_by_email("ada@example.com")
    assert member.display_name == "Ada L"  # the member's own name stays
    assert member.password_hash is not None  # and so does the password of a confirmed address


def test_linking_an_unconfirmed_account_drops_what_its_registration_set(app, client, make_user):
    # Someone registered the address with a password of their own and never confirmed it: the
    # provider proves the address now, so that password and its sessions end.
    squatter = make_user(email="ada@example.com", name="Ada L")
    squatter_browser = signed_in_client(app, squatter)
    sign_in_with_provider(client)
    member = member_by_email("ada@example.com")
    assert member.password_hash is None and member.is_verified
    assert not is_signed_in(squatter_browser)
    assert is_signed_in(client)


def test_an_unverified_email_never_links_nor_makes_an_account(client, make_user, oidc_provider):
    make_user(email="ada@example.com")
    oidc_provider.user["email_verified"] = False
    response = sign_in_with_provider(client)
    assert response.status_code == 403
    assert "Test ID has not confirmed that ada@example.com is yours" in response.get_data(as_text=True)
    assert identity() is None and not is_signed_in(client)

    oidc_provider.user.update(sub="grace-1", email="grace@example.com")  # no account either
    assert sign_in_with_provider(client).status_code == 403
    assert member_by_email("grace@example.com") is None


def test_the_next_sign_in_uses_the_identity_even_when_the_email_changed(client, oidc_provider):
    sign_in_with_provider(client)
    client.post_form("/logout")
    oidc_provider.user.update(email="ada@elsewhere.example", email_verified=False)
    response = sign_in_with_provider(client)
    assert "You are signed in." in page(client, response)
    assert user_count() == 1 and member_by_email("ada@example.com") is not None
    assert identity().email == "ada@elsewhere.example"


def test_a_refused_display_name_falls_back_to_another_the_provider_gave(client, oidc_provider):
    oidc_provider.user.update(name="A", preferred_username="ada.lovelace")
    sign_in_with_provider(client)
    assert member_by_email("ada@example.com").display_name == "ada.lovelace"


def test_a_banned_member_is_refused_by_email_and_by_identity(client, make_user, sign_ins):
    user = make_user(email="ada@example.com", banned=True)
    response = sign_in_with_provider(client)
    assert response.status_code == 403 and "This account has been suspended." in response.get_data(as_text=True)
    assert identity() is None

    user = db.session.get(User, user.id)
    user.is_banned = False
    db.session.commit()
    sign_in_with_provider(client)
    client.post_form("/logout")
    user = db.session.get(User, user.id)
    user.is_banned = True
    db.session.commit()
    response = sign_in_with_provider(client)
    assert response.status_code == 403 and not is_signed_in(client)
    assert len(sign_ins) == 1


def test_a_deleted_account_is_never_signed_in_again(client, make_user):
    sign_in_with_provider(client)
    client.post_form("/logout")
    user = member_by_email("ada@example.com")
    user.deleted_at = user.created_at
    db.session.commit()
    response = sign_in_with_provider(client)
    assert response.status_code == 403 and "This account was deleted." in response.get_data(as_text=True)
    assert not is_signed_in(client)


@pytest.mark.parametrize("provider_settings", [{"allow_signup": False}])
def test_sign_ups_can_be_closed_for_a_provider(client, make_user, oidc_provider):
    response = sign_in_with_provider(client)
    assert response.status_code == 403 and "new accounts cannot be made" in response.get_data(as_text=True)
    assert user_count() == 0
    make_user(email="ada@example.com")
    assert sign_in_with_provider(client).status_code == 302  # an existing account still links


@pytest.mark.parametrize("provider_settings", [{"email_domains": ["example.com"]}])
def test_a_provider_restricted_to_domains_lets_in_only_those(client, oidc_provider):
    oidc_provider.user.update(sub="eve-1", email="eve@other.example")
    response = sign_in_with_provider(client)
    assert response.status_code == 403
    assert "Only example.com addresses confirmed by Test ID" in response.get_data(as_text=True)
    assert user_count() == 0
    oidc_provider.user.update(sub="ada-1", email="ada@example.com")
    assert sign_in_with_provider(client).status_code == 302


# The staff rule ------------------------------------------------------------------------------


@pytest.mark.parametrize("provider_settings", [{"staff_email_domains": ["example.com"]}])
def test_a_verified_address_in_a_staff_domain_makes_staff(client, make_user, oidc_provider):
    response = sign_in_with_provider(client)
    assert "makes you a member of staff" in page(client, response)
    user = member_by_email("ada@example.com")
    assert user.role == "staff"
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "user.role"))
    assert (entry.actor_id, entry.target_id) == (None, user.id)
    assert entry.before == {"role": "member"} and entry.after == {"role": "staff", "by": "sso:test"}

    make_user("admin", email="root@example.com")  # an administrator is never lowered
    oidc_provider.user.update(sub="root-1", email="root@example.com")
    client.post_form("/logout")
    sign_in_with_provider(client)
    assert member_by_email("root@example.com").role == "admin"


@pytest.mark.parametrize("provider_settings", [{"staff_groups": ["rnd"]}])
def test_a_staff_group_makes_staff_and_leaving_it_does_not_demote(client, oidc_provider):
    oidc_provider.user["groups"] = ["/customers"]
    sign_in_with_provider(client)
    assert member_by_email("ada@example.com").role == "member"
    client.post_form("/logout")
    oidc_provider.user["groups"] = ["/customers", "/rnd"]  # Keycloak's full group paths
    sign_in_with_provider(client)
    assert member_by_email("ada@example.com").role == "staff"
    client.post_form("/logout")
    oidc_provider.user["groups"] = []
    sign_in_with_provider(client)
    assert member_by_email("ada@example.com").role == "staff"  # promote only: an admin takes it away


@pytest.mark.parametrize("provider_settings", [{"staff_groups": ["rnd"]}])
def test_groups_only_the_userinfo_endpoint_tells_count_too(client, oidc_provider):
    oidc_provider.userinfo_only = {"groups": ["rnd"]}
    sign_in_with_provider(client)
    assert member_by_email("ada@example.com").role == "staff"


# Spoilt, refused and forged callbacks ---------------------------------------------------------


def test_a_forged_state_is_refused_before_anything_is_asked_of_the_provider(client, oidc_provider):
    callback = at_provider(start(client))
    forged = callback.replace("state=", "state=x")
    response = client.get(forged)
    assert response.status_code == 400 and "Please start again" in response.get_data(as_text=True)
    assert oidc_provider.token_requests == 0
    assert client.get("/login/sso/test/callback?code=abc").status_code == 400  # no state at all
    assert not is_signed_in(client)


def test_a_callback_works_once(client, app):
    callback = at_provider(start(client))
    assert client.get(callback).status_code == 302
    client.post_form("/logout")
    assert client.get(callback).status_code == 400
    other = app.test_client()  # another browser, without the state
    assert other.get(callback).status_code == 400


def test_only_the_latest_sign_in_started_can_come_back(client):
    first = at_provider(start(client))
    for _ in range(20):  # abandoned attempts do not pile up in the session cookie
        start(client)
    latest = at_provider(start(client))
    assert client.get(first).status_code == 400
    assert client.get(latest).status_code == 302 and is_signed_in(client)
    cookie = client.get_cookie("session")
    assert cookie is not None and len(cookie.value) < 1500


def test_a_missing_code_is_refused(client):
    callback = urlsplit(at_provider(start(client)))
    state = parse_qs(callback.query)["state"][0]
    response = client.get(f"{callback.path}?{urlencode({'state': state})}")
    assert response.status_code == 400 and "sent no authorization code" in response.get_data(as_text=True)


def test_access_denied_at_the_provider_is_a_clear_page(client, oidc_provider):
    oidc_provider.deny = True
    response = sign_in_with_provider(client)
    assert response.status_code == 400
    assert "Signing in with Test ID was cancelled or refused" in response.get_data(as_text=True)
    response = client.get("/login/sso/test/callback?error=%3Cscript%3E&error_description=Call+us")
    assert response.status_code == 400 and "Call us" not in response.get_data(as_text=True)
    assert "<script>" not in response.get_data(as_text=True)


def test_an_unknown_provider_is_404(client):
    assert client.get("/login/sso/nope").status_code == 404
    assert client.get("/login/sso/nope/callback?code=a&state=b").status_code == 404


def test_an_id_token_that_does_not_check_out_is_refused(client, oidc_provider):
    for changes in ({"aud": "someone-else"}, {"iss": "http://127.0.0.1:1"}, {"exp": int(time.time()) - 3600},
                    {"nonce": "replayed-nonce"}, {"sub": None}):
        oidc_provider.id_token_changes = changes
        response = sign_in_with_provider(client)
        assert response.status_code == 400, changes
        assert "The answer from Test ID could not be verified" in response.get_data(as_text=True)
    assert user_count() == 0 and not is_signed_in(client)


def test_a_multi_tenant_issuer_is_checked_against_the_members_tenant(client, oidc_provider):
    # Microsoft's "common" discovery names its issuer ".../{tenantid}/v2.0"; each token has its own.
    oidc_provider.metadata_issuer = oidc_provider.issuer + "/{tenantid}/v2.0"
    oidc_provider.id_token_changes = {"iss": oidc_provider.issuer + "/tenant-1/v2.0", "tid": "tenant-2"}
    assert sign_in_with_provider(client).status_code == 400
    oidc_provider.id_token_changes["tid"] = "tenant-1"
    assert sign_in_with_provider(client).status_code == 302


def test_a_provider_that_cannot_be_reached_is_503(client, oidc_provider):
    oidc_provider.stop()  # before discovery
    response = client.get("/login/sso/test")
    assert response.status_code == 503 and response.headers["Retry-After"] == "60"
    assert "IdeaStorm cannot reach Test ID at the moment" in response.get_data(as_text=True)


def test_a_provider_gone_before_the_token_exchange_is_503(client, oidc_provider):
    callback = at_provider(start(client))
    oidc_provider.stop()
    response = client.get(callback)
    assert response.status_code == 503 and not is_signed_in(client)


# Where the member lands, and the buttons ---------------------------------------------------------


def test_next_is_followed_only_within_the_site(client):
    for target, landing in [("/leaderboard?period=week", "/leaderboard?period=week"), ("https://evil.example/", "/"),
                            ("//evil.example/x", "/"), ("/\\evil.example", "/")]:
        assert sign_in_with_provider(client, target).headers["Location"] == landing, target
        client.post_form("/logout")


def test_the_buttons_show_each_configured_provider(client):
    for path in ("/login?next=%2Fleaderboard", "/register?next=%2Fleaderboard"):
        html = client.get(path).get_data(as_text=True)
        assert 'href="/login/sso/test?next=/leaderboard"' in html and "Sign in with Test ID" in html


@pytest.mark.parametrize("provider_settings", [None])
def test_no_buttons_and_no_routes_without_providers(client):
    for path in ("/login", "/register"):
        assert "Sign in with" not in client.get(path).get_data(as_text=True)
    assert client.get("/login/sso/test").status_code == 404


# Configuration -------------------------------------------------------------------------------


@pytest.mark.parametrize("entry, message", [
    ({"name": "kc", "issuer": "https://id.example.com/realms/acme", "client_secret": "s"}, "client_id is missing"),
    ({"name": "Key Cloak", "issuer": "https://id.example.com", "client_id": "c", "client_secret": "s"},
     "must be 1 to 32 lower-case letters"),
    ({"name": "kc", "client_id": "c", "client_secret": "s"}, "give the provider's issuer"),
    ({"name": "kc", "issuer": "http://id.example.com", "client_id": "c", "client_secret": "s"}, "must use https"),
    ({"name": "kc", "issuer": "https://id.example.com", "client_id": "c", "client_secret": "s", "clientid": "c"},
     "unknown key 'clientid'"),
    ({"name": "google", "client_id": "c", "client_secret": "s", "staff_groups": "rnd,qa", "scope": "email"},
     "must include openid"),
    ("google", "must be an object"),
])
def test_a_bad_provider_entry_stops_the_app_with_a_clear_message(tmp_path, entry, message):
    config = {**_base_config("sqlite://", tmp_path), "OIDC_PROVIDERS": [entry]}
    with pytest.raises(ProviderConfigError, match=message):
        create_app(config)


def test_presets_need_only_the_client(tmp_path):
    config = {**_base_config("sqlite://", tmp_path), "OIDC_PROVIDERS": [
        {"name": "google", "client_id": "g", "client_secret": "s"},
        {"name": "microsoft", "client_id": "m", "client_secret": "s", "tenant": "contoso.onmicrosoft.com"},
    ]}
    app = create_app(config)
    with app.app_context():
        from ideastorm import sso

        google, microsoft = sso.configured_providers()
    assert google.server_metadata_url == "https://accounts.google.com/.well-known/openid-configuration"
    assert microsoft.label == "Microsoft" and microsoft.server_metadata_url == (
        "https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0/.well-known/openid-configuration")
    assert not microsoft.email_verified({"email": "a@contoso.com"})
    assert microsoft.email_verified({"email": "a@contoso.com", "xms_edov": True})
