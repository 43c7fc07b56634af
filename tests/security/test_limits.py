"""Abuse limits: every named limit answers 429 with Retry-After through its real route.

Each test sets the rule it exercises to a small number through ``RATELIMITS`` (read per request),
so exceeding it takes three requests rather than hundreds.
"""

from __future__ import annotations

import logging
import re
import shutil
import uuid

import pytest

from ideastorm import create_app
from ideastorm.extensions import db
from ideastorm.security.limits import LIMITS
from tests.conftest import PASSWORD, Auth, Client, _base_config

RETRY_MESSAGE = re.compile(r"try again in \d+ (second|minute)s?")
ALERT = re.compile(r'<article class="error-page">.*?<p role="alert">([^<]+)</p>', re.S)
HTML_MESSAGES = {"login": "Too many sign-in attempts."}
REDIS_URL = "redis://127.0.0.1:6379/15"


@pytest.fixture
def app_config() -> dict:
    """The limits on, in this process's memory (a fresh store for each app, so for each test)."""
    return {"RATELIMIT_ENABLED": True, "RATELIMIT_STORAGE_URI": "memory://", "RATELIMITS": {}}


def set_limits(app, **rules: str) -> None:
    """``set_limits(app, login_account="2 per minute")``: one rule small, the rest of its sets out of the way."""
    overrides = {}
    for name, value in rules.items():
        set_name, key = name.rsplit("_", 1)
        for rule in LIMITS[set_name]:
            overrides.setdefault(f"{set_name}.{rule.key}", "1000 per minute")
        overrides[f"{set_name}.{key}"] = value
    app.config["RATELIMITS"].update(overrides)


def ip(n: int) -> dict:
    return {"environ_base": {"REMOTE_ADDR": f"203.0.113.{n + 1}"}}


SAME_IP = ip(100)
JSON = {"Accept": "application/json"}


def assert_rate_limited_page(response, set_name: str) -> str:
    assert response.status_code == 429, response.status_code
    seconds = response.headers["Retry-After"]
    assert seconds.isdigit() and 0 < int(seconds) <= 24 * 3600
    match = ALERT.search(response.get_data(as_text=True))
    assert match, "the error page with its message"
    message = match.group(1)
    assert RETRY_MESSAGE.search(message), message
    if set_name in HTML_MESSAGES:
        assert HTML_MESSAGES[set_name] in message
    return message


def assert_rate_limited_json(response) -> None:
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    error = response.get_json()["error"]
    assert error["code"] == "rate_limited"
    assert RETRY_MESSAGE.search(error["message"])


class World:
    """Members, browsers and an idea, made on demand for the cases below."""

    def __init__(self, app, client, make_user, make_idea):
        self.app, self.client, self.make_user, self.make_idea = app, client, make_user, make_idea
        self._browsers: dict[int, object] = {}
        self._tokens: dict[int, str] = {}
        self._idea = None

    def post(self, browser, url: str, data: dict | None = None, **kwargs):
        """A form post with the browser's CSRF token (read once: signing in or out would change it)."""
        if id(browser) not in self._tokens:
            self._tokens[id(browser)] = browser.csrf_token()
        return browser.post(url, data={"csrf_token": self._tokens[id(browser)], **(data or {})}, **kwargs)

    def browser(self, n: int = 0):
        """The n-th member's signed-in browser (n = 0 is ``client``); confirmed unless n is odd."""
        if n not in self._browsers:
            from ideastorm.timeutil import utcnow

            user = self.make_user(email=f"member-{n}@example.com")
            if n % 2 == 0:
                user.email_verified_at = utcnow()
                db.session.commit()
            browser = self.client if n == 0 else self.app.test_client()
            assert Auth(browser).login(user).status_code == 302
            self._browsers[n] = browser
        return self._browsers[n]

    @property
    def idea(self):
        if self._idea is None:
            self._idea = self.make_idea(title="A public idea to act on")
        return self._idea


def _idea_form(n: int) -> dict:
    return {"title": f"Idea number {n} for the board", "description": "Why it matters.", "category": "", "tags": ""}


# Each case sends its n-th request: the rule's key stays the same (the address for "ip", the
# member or the email for the others) while everything else changes, proving what it counts by.
CASES = {
    "register_ip": lambda w, n, **kw: w.post(w.client, "/register", {
        "email": f"new-{n}@example.com", "display_name": f"Newcomer {n}", "password": PASSWORD,
        "confirm": PASSWORD}, **SAME_IP, **kw),
    "register_account": lambda w, n, **kw: w.post(w.client, "/register", {
        "email": "Taken@Example.com", "display_name": f"Newcomer {n}", "password": PASSWORD,
        "confirm": PASSWORD}, **ip(n), **kw),
    "login_ip": lambda w, n, **kw: w.post(
        w.client, "/login", {"email": f"someone-{n}@example.com", "password": "wrong password"}, **SAME_IP, **kw),
    "login_account": lambda w, n, **kw: w.post(
        w.client, "/login", {"email": "Target@Example.com ", "password": f"wrong password {n}"}, **ip(n), **kw),
    "password_reset_ip": lambda w, n, **kw: w.post(
        w.client, "/reset-password", {"email": f"someone-{n}@example.com"}, **SAME_IP, **kw),
    "password_reset_account": lambda w, n, **kw: w.post(
        w.client, "/reset-password", {"email": "target@example.com"}, **ip(n), **kw),
    "resend_confirmation_ip": lambda w, n, **kw: w.post(
        w.browser(2 * n + 1), "/account/confirm-email", **SAME_IP, **kw),
    "resend_confirmation_member": lambda w, n, **kw: w.post(w.browser(1), "/account/confirm-email", **ip(n), **kw),
    "submit_ip": lambda w, n, **kw: w.post(w.browser(2 * n), "/ideas/new", _idea_form(n), **SAME_IP, **kw),
    "submit_member": lambda w, n, **kw: w.post(w.browser(), "/ideas/new", _idea_form(n), **ip(n), **kw),
    "comment_ip": lambda w, n, **kw: w.post(
        w.browser(2 * n), f"/ideas/{w.idea.id}/comments", {"body": f"Comment {n}"}, **SAME_IP, **kw),
    "comment_member": lambda w, n, **kw: w.post(
        w.browser(), f"/ideas/{w.idea.id}/comments", {"body": f"Comment {n}"}, **ip(n), **kw),
    "vote_ip": lambda w, n, **kw: w.post(w.browser(2 * n), f"/ideas/{w.idea.id}/vote", {"value": "1"}, **SAME_IP, **kw),
    "vote_member": lambda w, n, **kw: w.post(
        w.browser(), f"/ideas/{w.idea.id}/vote", {"value": "1" if n % 2 == 0 else "0"}, **ip(n), **kw),
    "confirm_password_member": lambda w, n, **kw: w.post(
        w.browser(), "/account/delete", {"confirmation": f"wrong password {n}"}, **ip(n), **kw),
    "write_ip": lambda w, n, **kw: w.post(w.browser(2 * n), f"/ideas/{w.idea.id}/edit", _idea_form(n), **SAME_IP, **kw),
    "write_member": lambda w, n, **kw: w.post(w.browser(), f"/ideas/{w.idea.id}/edit", _idea_form(n), **ip(n), **kw),
}


def test_every_rule_has_a_case():
    rules = {f"{name}_{rule.key}" for name, set_rules in LIMITS.items() for rule in set_rules}
    assert rules == set(CASES)


LIMITED_ROUTES = {
    "accounts.register": "register", "accounts.login": "login", "accounts.forgot_password": "password_reset",
    "accounts.resend_confirmation": "resend_confirmation", "ideas.new_idea": "submit", "comments.create": "comment",
    "votes.vote": "vote", "ideas.edit": "write", "comments.edit": "write", "comments.delete": "write",
    "notifications.follow": "write", "notifications.unfollow": "write", "privacy.delete": "confirm_password",
    "main.csp_report": "write",
}


def test_the_routes_carry_their_limits(app):
    found = {endpoint: view.limit_set for endpoint, view in app.view_functions.items() if hasattr(view, "limit_set")}
    assert {endpoint: found.get(endpoint) for endpoint in LIMITED_ROUTES} == LIMITED_ROUTES


@pytest.fixture
def world(app, client, make_user, make_idea) -> World:
    return World(app, client, make_user, make_idea)


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_limit_answers_429_with_retry_after(world, case):
    set_limits(world.app, **{case: "2 per minute"})
    send = CASES[case]
    for n in range(2):
        response = send(world, n)
        assert response.status_code not in (429, 500), (n, response.status_code)
    assert_rate_limited_page(send(world, 2), case.rsplit("_", 1)[0])
    assert_rate_limited_json(send(world, 3, headers=JSON))


def test_wrong_passwords_lock_that_account_only(app, client, make_user):
    target, other = make_user(email="target@example.com"), make_user(email="other@example.com")
    set_limits(app, login_account="3 per minute")
    for n in range(3):  # three addresses, one account
        wrong = {"email": target.email, "password": "wrong password"}
        assert client.post_form("/login", wrong, **ip(n)).status_code == 422
    refused = client.post_form("/login", {"email": target.email, "password": PASSWORD}, **ip(50))
    assert_rate_limited_page(refused, "login")  # even the right password, from yet another address
    signed_in = client.post_form("/login", {"email": other.email, "password": PASSWORD}, **ip(50))
    assert signed_in.status_code == 302


def test_successful_sign_ins_do_not_count(app, client, make_user):
    user = make_user()
    set_limits(app, login_account="2 per minute")
    auth = Auth(client)
    for _ in range(4):
        assert auth.login(user).status_code == 302
        auth.logout()
    assert auth.login(user, password="wrong password").status_code == 422  # failures still count
    assert auth.login(user, password="wrong password").status_code == 422
    assert auth.login(user).status_code == 429


def test_a_per_address_limit_holds_across_members(world):
    set_limits(world.app, vote_ip="3 per minute")
    url = f"/ideas/{world.idea.id}/vote"
    for n in range(3):
        assert world.browser(2 * n).post_form(url, {"value": "1"}, **SAME_IP).status_code == 302
    assert world.browser(6).post_form(url, {"value": "1"}, **SAME_IP).status_code == 429
    assert world.browser(6).post_form(url, {"value": "1"}, **ip(7)).status_code == 302  # another address


def test_an_ipv6_client_counts_by_its_block(app, client):
    set_limits(app, login_ip="2 per minute")
    for host in ("1", "2"):
        response = client.post_form("/login", {"email": "a@example.com", "password": "wrong"},
                                    environ_base={"REMOTE_ADDR": f"2001:db8:0:1::{host}"})
        assert response.status_code == 422
    same_block = {"REMOTE_ADDR": "2001:db8:0:1:ffff::9"}
    assert client.post_form("/login", {"email": "a@example.com", "password": "x"},
                            environ_base=same_block).status_code == 429
    other_block = {"REMOTE_ADDR": "2001:db8:0:2::1"}
    assert client.post_form("/login", {"email": "a@example.com", "password": "x"},
                            environ_base=other_block).status_code == 422


def test_showing_the_forms_is_never_limited(app, client):
    set_limits(app, register_ip="1 per minute", login_ip="1 per minute", password_reset_ip="1 per minute")
    for _ in range(5):
        for url in ("/register", "/login", "/reset-password"):
            assert client.get(url, **SAME_IP).status_code == 200


def test_htmx_gets_the_message_to_show(world):
    # app.js shows the text of ".error-page [role=alert]" from a 429 answer in place of the generic one.
    set_limits(world.app, vote_member="1 per minute")
    member = world.browser()
    assert member.htmx_post(f"/ideas/{world.idea.id}/vote", {"value": "1"}).status_code == 200
    response = member.htmx_post(f"/ideas/{world.idea.id}/vote", {"value": "0"})
    assert_rate_limited_page(response, "vote")


@pytest.mark.browser
@pytest.mark.parametrize("backend", ["sqlite"])  # about the page's script, not the database
def test_a_refused_htmx_vote_says_when_to_try_again(app, make_user, make_idea, page, log_in):
    from playwright.sync_api import expect

    from ideastorm.timeutil import utcnow

    member = make_user(email_verified_at=utcnow())
    idea = make_idea(title="Vote on me twice quickly")
    set_limits(app, vote_member="1 per minute")
    log_in(page, member)
    page.goto(f"/ideas/{idea.id}")
    page.locator(f"#vote-{idea.id} .vote-button.promote").click()
    expect(page.locator(f"#vote-{idea.id}.voted-up")).to_be_visible()
    page.locator(f"#vote-{idea.id} .vote-button.promote").click()  # withdrawing it: refused
    expect(page.locator("#htmx-error")).to_contain_text(RETRY_MESSAGE)
    expect(page.locator(f"#vote-{idea.id}.voted-up")).to_be_visible()  # nothing swapped


@pytest.mark.parametrize("run", [1, 2])
def test_limits_start_afresh_in_each_test(app, client, run):
    # Both runs get their full budget: nothing is carried over from the run before.
    set_limits(app, password_reset_account="2 per minute")
    data = {"email": "target@example.com"}
    assert [client.post_form("/reset-password", data).status_code for _ in range(3)] == [302, 302, 429]


def test_the_french_page_says_it_in_french(app, client):
    set_limits(app, password_reset_ip="1 per minute")
    client.post_form("/reset-password", {"email": "a@example.com"})
    response = client.post_form("/reset-password", {"email": "a@example.com"}, headers={"Accept-Language": "fr"})
    assert response.status_code == 429
    assert "dans 1 minute" in response.get_data(as_text=True)


# The tests below are about the store and the settings, not the database: SQLite only.


@pytest.fixture
def sqlite_url(sqlite_template, tmp_path) -> str:
    path = tmp_path / "limits.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


def _another_app(database_url, tmp_path, **config):
    return create_app({**_base_config(database_url, tmp_path), "RATELIMITS": {}, **config})


def _exhaust_password_reset(app) -> list[int]:
    """Three password-reset requests for one address, with that rule at 2 a minute: their statuses."""
    app.test_client_class = Client
    set_limits(app, password_reset_account="2 per minute")
    browser = app.test_client()
    return [browser.post_form("/reset-password", {"email": "shared@example.com"}).status_code for _ in range(3)]


@pytest.mark.parametrize("enabled", [False, "false"])
def test_ratelimit_enabled_false_turns_every_limit_off(sqlite_url, tmp_path, enabled):
    app = _another_app(sqlite_url, tmp_path, RATELIMIT_ENABLED=enabled, RATELIMIT_STORAGE_URI="memory://")
    with app.app_context():
        assert _exhaust_password_reset(app) == [302, 302, 302]
        db.engine.dispose()


def test_a_misspelt_limit_stops_the_start(sqlite_url, tmp_path):
    with pytest.raises(ValueError, match="unknown limit 'login.email'"):
        _another_app(sqlite_url, tmp_path, RATELIMIT_ENABLED=True, RATELIMITS={"login.email": "5 per minute"})
    with pytest.raises(ValueError, match="not a limit"):
        _another_app(sqlite_url, tmp_path, RATELIMIT_ENABLED=True, RATELIMITS={"login.ip": "often"})


@pytest.fixture
def redis_prefix():
    """A key prefix of this test's own on a Redis server that answers; its keys are removed after."""
    redis = pytest.importorskip("redis")
    server = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        server.ping()
    except redis.RedisError:
        pytest.skip(f"Redis does not answer at {REDIS_URL}")
    prefix = f"ideastorm-test-{uuid.uuid4().hex}"
    yield prefix
    for key in server.scan_iter(match=f"*{prefix}*"):
        server.delete(key)
    server.close()


def test_redis_shares_the_counts_between_app_instances(sqlite_url, tmp_path, redis_prefix):
    config = {"RATELIMIT_ENABLED": True, "RATELIMIT_STORAGE_URI": REDIS_URL, "RATELIMIT_KEY_PREFIX": redis_prefix}
    first = _another_app(sqlite_url, tmp_path, **config)
    with first.app_context():
        assert _exhaust_password_reset(first) == [302, 302, 429]
    # A second instance (its own connection to the store, as another worker or machine has): still
    # refused, while with memory counting a new instance starts from nothing.
    second = _another_app(sqlite_url, tmp_path, **config)
    with second.app_context():
        assert _exhaust_password_reset(second) == [429, 429, 429]
    separate = _another_app(sqlite_url, tmp_path, RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="memory://")
    with separate.app_context():
        assert _exhaust_password_reset(separate) == [302, 302, 429]
    import redis

    assert list(redis.Redis.from_url(REDIS_URL).scan_iter(match=f"*{redis_prefix}*"))  # the counts live there
    for app in (first, second, separate):
        with app.app_context():
            db.engine.dispose()


def test_redis_via_redis_url(sqlite_url, tmp_path, redis_prefix):
    app = _another_app(sqlite_url, tmp_path, RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI=None,
                       REDIS_URL=REDIS_URL, RATELIMIT_KEY_PREFIX=redis_prefix)
    assert app.config["RATELIMIT_STORAGE_URI"] == REDIS_URL
    with app.app_context():
        assert _exhaust_password_reset(app) == [302, 302, 429]
        db.engine.dispose()


def test_a_store_that_does_not_answer_never_gives_a_500(sqlite_url, tmp_path, caplog):
    app = _another_app(sqlite_url, tmp_path, RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="redis://127.0.0.1:1/0")
    with app.app_context(), caplog.at_level(logging.WARNING):
        # Served, and still limited: each process counts in memory until the store is back.
        assert _exhaust_password_reset(app) == [302, 302, 429]
        db.engine.dispose()
    assert any("storage unreachable" in record.getMessage() for record in caplog.records)
