"""Response headers: a strict nonce CSP and the rest on every response, HTTPS-only settings, the
public address for every absolute link (never the Host header), ProxyFix, CSP violation reports
and remote Markdown images."""

from __future__ import annotations

import json
import logging
import re
from html.parser import HTMLParser

import pytest

from ideastorm import create_app, search
from ideastorm.comments.services import add_comment
from ideastorm.extensions import db
from tests.conftest import Auth, Client, _base_config
from tests.helpers import signed_in_client

BASE_URL = "http://ideastorm.test"  # tests/conftest.py's
_NONCE = re.compile(r"'nonce-([A-Za-z0-9_-]+)'")


class PageMarkup(HTMLParser):
    """What a page holds that a strict CSP cares about: its scripts, and anything inline."""

    def __init__(self, body: str):
        super().__init__()
        self.scripts: list[dict] = []
        self.inline: list[str] = []  # event handlers, hx-on, style attributes and <style> elements
        self.feed(body)

    def handle_starttag(self, tag, attrs):
        names = dict(attrs)
        if tag == "script":
            self.scripts.append(names)
        if tag == "style":
            self.inline.append("<style>")
        self.inline += [f"<{tag} {name}>" for name in names
                        if name.startswith(("on", "hx-on", "data-hx-on")) or name == "style"]


def policy(response) -> dict[str, list[str]]:
    """The Content-Security-Policy as {directive: [sources]}."""
    directives = {}
    for part in response.headers["Content-Security-Policy"].split(";"):
        name, *sources = part.split()
        directives[name] = sources
    return directives


def assert_protected(response) -> None:
    csp = policy(response)
    assert csp["default-src"] == ["'self'"]
    scripts = csp["script-src"]
    assert scripts[0] == "'self'" and all(source.startswith("'nonce-") for source in scripts[1:])
    assert csp["style-src"] == ["'self'"]
    assert csp["img-src"][:2] == ["'self'", "data:"]
    assert csp["object-src"] == ["'none'"] and csp["base-uri"] == ["'none'"]
    assert csp["form-action"] == ["'self'"] and csp["frame-ancestors"] == ["'none'"]
    assert csp["connect-src"] == ["'self'"]
    assert csp["report-uri"] == ["/csp-report"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Cross-Origin-Opener-Policy"] == "same-origin"
    assert "camera=()" in response.headers["Permissions-Policy"]
    assert "Strict-Transport-Security" not in response.headers  # served over plain HTTP


@pytest.fixture
def other_app(database_url, tmp_path):
    """``other_app(**settings)``: an app with settings read at start-up (cookies, ProxyFix), on the test's database."""
    apps = []

    def make(**overrides):
        app = create_app({**_base_config(database_url, tmp_path), **overrides})
        app.test_client_class = Client
        apps.append(app)
        return app

    yield make
    for app in apps:  # no connection outlives the test
        with app.app_context():
            db.engine.dispose()


EVERY_KIND = [
    ("/", 200), ("/ideas", 200), ("/login", 200), ("/no-such-page", 404), ("/ideas?page=zero", 400),
    ("/static/app.css", 200), ("/vendor/htmx.min.js", 200), ("/feeds/ideas.atom", 200), ("/healthz", 200),
]


def test_every_kind_of_response_carries_the_headers(client):
    for url, status in EVERY_KIND:
        response = client.get(url)
        response.close()  # static files are streamed from an open file
        assert response.status_code == status, url
        assert_protected(response)


def test_htmx_fragments_and_form_errors_carry_them_too(client, member, make_idea):
    idea = make_idea()
    fragment = client.get("/ideas?sort=new", headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "<html" not in fragment.get_data(as_text=True)
    assert_protected(fragment)
    vote = client.htmx_post(f"/ideas/{idea.id}/vote", {"value": "1"})
    assert vote.status_code == 200
    assert_protected(vote)
    refused = client.post_form("/ideas/new", {"title": ""})
    assert refused.status_code == 422
    assert_protected(refused)


def test_a_view_with_a_stricter_policy_keeps_it(app):
    # As the uploaded logo's view does ("default-src 'none'"); the other headers are added around it.
    with app.test_request_context():
        response = app.make_response(("logo", 200, {"Content-Security-Policy": "default-src 'none'"}))
        response = app.process_response(response)
    assert response.headers["Content-Security-Policy"] == "default-src 'none'"
    assert response.headers["X-Frame-Options"] == "DENY" and response.headers["X-Content-Type-Options"] == "nosniff"


def test_every_script_carries_this_responses_nonce_on_every_sample_page(app, client, make_user, make_idea):
    author = make_user(name="Ada Author")
    idea = make_idea(author, description="See ![a chart](/static/chart.png) and <b onclick=alert(1)>this</b>")
    add_comment(author, idea, "A comment with `code`")
    db.session.commit()
    search.sync()
    visitor, member = client, signed_in_client(app, author)
    staff, admin = signed_in_client(app, make_user("staff")), signed_in_client(app, make_user("admin"))
    pages = [
        (visitor, "/"), (visitor, f"/ideas/{idea.id}"), (visitor, "/ideas"), (visitor, "/search?q=dark"),
        (visitor, "/login"), (visitor, "/register"), (visitor, "/stats"), (visitor, "/no-such-page"),
        (member, "/"), (member, "/account"), (member, f"/ideas/{idea.id}"), (member, "/ideas/new"),
        (staff, "/triage"), (staff, f"/ideas/{idea.id}"), (admin, "/admin"), (admin, "/admin/users"),
        (admin, "/admin/settings"),
    ]
    seen = set()
    for who, url in pages:
        response = who.get(url)
        assert response.status_code in (200, 404), url
        body = response.get_data(as_text=True)
        nonces = _NONCE.findall(response.headers["Content-Security-Policy"])
        assert len(nonces) == 1, url
        markup = PageMarkup(body)
        assert len(markup.scripts) >= 6, url  # htmx and the app's five
        for script in markup.scripts:
            assert (script.get("src") or "").startswith("/"), f"{url}: an inline or foreign script {script}"
            assert script.get("nonce") == nonces[0], f"{url}: {script}"
        assert markup.inline == [], url  # no inline handler, and style-src 'self' holds
        assert nonces[0] not in seen, "a nonce was used twice"
        seen.add(nonces[0])
    assert '"allowEval": false' in body and '"includeIndicatorStyles": false' in body


def test_a_response_without_scripts_has_no_nonce(client):
    assert "'nonce-" not in client.get("/healthz").headers["Content-Security-Policy"]
    assert "'nonce-" not in client.get("/feeds/ideas.atom").headers["Content-Security-Policy"]


def test_hsts_and_secure_cookies_only_over_https(other_app, make_user):
    user = make_user()
    for scheme, secure in (("http", False), ("https", True)):
        app = other_app(PREFERRED_URL_SCHEME=scheme)
        client = app.test_client()
        assert Auth(client).login(user, remember=True).status_code == 302
        cookies = {cookie.key: cookie for cookie in client._cookies.values()}
        assert cookies["session"].secure is secure and cookies["remember_token"].secure is secure
        response = client.get("/")
        assert ("Strict-Transport-Security" in response.headers) is secure
        if secure:
            assert response.headers["Strict-Transport-Security"] == "max-age=31536000"
            assert app.config["SESSION_COOKIE_SECURE"] and app.config["REMEMBER_COOKIE_SECURE"]


def test_hsts_age_and_subdomains_are_configurable(other_app):
    app = other_app(PREFERRED_URL_SCHEME="https", HSTS_MAX_AGE=600,
                    HSTS_INCLUDE_SUBDOMAINS=True)
    assert app.test_client().get("/").headers["Strict-Transport-Security"] == "max-age=600; includeSubDomains"


# --- the public address -------------------------------------------------------------------

def test_a_forged_host_never_reaches_a_link(client, make_idea):
    idea = make_idea(status="implemented")
    forged = {"Host": "evil.example"}
    page = client.get(f"/ideas/{idea.id}", headers=forged).get_data(as_text=True)
    url = f"{BASE_URL}/ideas/{idea.id}"
    assert f'<link rel="canonical" href="{url}">' in page
    assert f'<meta property="og:url" content="{url}">' in page
    assert f'id="share-url" value="{url}"' in page
    assert "evil.example" not in page
    for feed in ("/feeds/ideas.atom", "/feeds/implemented.atom"):
        body = client.get(feed, headers=forged).get_data(as_text=True)
        assert "evil.example" not in body, feed
        assert f'<link rel="self" type="application/atom+xml" href="{BASE_URL}{feed}"/>' in body
        assert f'href="{url}"' in body and "<id>tag:ideastorm.test,2025:" in body


def test_base_url_with_a_path(other_app, make_idea):
    idea = make_idea()
    app = other_app(BASE_URL="https://example.com/ideas-board/")
    page = app.test_client().get(f"/ideas/{idea.id}").get_data(as_text=True)
    assert f'<link rel="canonical" href="https://example.com/ideas-board/ideas/{idea.id}">' in page


def test_trusted_hosts_refuse_any_other_host(app, client):
    app.config["TRUSTED_HOSTS"] = ["ideastorm.test", ".ideastorm.test"]
    refused = client.get("/", headers={"Host": "evil.example"})
    assert refused.status_code == 400 and "does not answer to that host name" in refused.get_data(as_text=True)
    assert_protected(refused)
    assert client.get("/ideas", headers={"Host": "ideastorm.test"}).status_code == 200
    assert client.get("/ideas", headers={"Host": "www.ideastorm.test"}).status_code == 200
    assert client.post("/login", headers={"Host": "evil.example"}).status_code == 400


def test_trusted_hosts_from_the_environment(other_app, monkeypatch):
    monkeypatch.setenv("IDEASTORM_TRUSTED_HOSTS", '["ideas.example.com"]')
    app = other_app()
    assert app.config["TRUSTED_HOSTS"] == ["ideas.example.com"]
    assert app.test_client().get("/healthz").status_code == 400  # the test client's Host is localhost


def _header_warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "ideastorm.security.headers"]


def test_a_warning_while_base_url_is_the_default(other_app, caplog):
    with caplog.at_level(logging.WARNING, logger="ideastorm.security.headers"):
        default = other_app(TESTING=False, BASE_URL="http://127.0.0.1:5000")
        assert _header_warnings(caplog) == []  # right for `make run` and the commands
        default.test_client().get("/healthz", base_url="http://127.0.0.1:5000")
        assert _header_warnings(caplog) == []
        for _ in range(2):
            default.test_client().get("/healthz", base_url="https://ideas.example.com")
        [warning] = _header_warnings(caplog)  # once per process
        assert "set IDEASTORM_BASE_URL" in warning and "ideas.example.com" in warning
        caplog.clear()
        other_app(TESTING=True, BASE_URL="http://127.0.0.1:5000")
        other_app(TESTING=False, BASE_URL="https://ideas.example.com")
        assert _header_warnings(caplog) == []
        other_app(TESTING=False, PREFERRED_URL_SCHEME="https")
        assert "links will not be https" in " ".join(_header_warnings(caplog))


# --- ProxyFix -------------------------------------------------------------------------------

def _seen_by_the_app(app, headers):
    """What a view reads of the client's address, scheme and host (a route added for this test)."""
    seen = {}

    @app.get("/_test/seen")
    def seen_view():
        from flask import request

        seen.update(addr=request.remote_addr, scheme=request.scheme, host=request.host)
        return "ok"

    assert app.test_client().get("/_test/seen", headers=headers,
                                 environ_base={"REMOTE_ADDR": "10.0.0.2"}).status_code == 200
    return seen


FORWARDED = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https", "X-Forwarded-Host": "ideas.example.com"}


def test_proxy_headers_are_ignored_without_proxy_fix(other_app, caplog):
    app = other_app()
    with caplog.at_level(logging.WARNING, logger="ideastorm.security.headers"):
        assert _seen_by_the_app(app, FORWARDED) == {"addr": "10.0.0.2", "scheme": "http", "host": "localhost"}
        app.test_client().get("/healthz", headers=FORWARDED)
    # Said once: behind a proxy, every client would share the proxy's address.
    assert [w for w in _header_warnings(caplog) if "PROXY_FIX_X_FOR is 0" in w] != []
    assert len(_header_warnings(caplog)) == 1


def test_proxy_fix_trusts_the_configured_number_of_proxies(other_app):
    app = other_app(PROXY_FIX_X_FOR=1, PROXY_FIX_X_PROTO=1, PROXY_FIX_X_HOST=1)
    assert _seen_by_the_app(app, FORWARDED) == {"addr": "203.0.113.9", "scheme": "https", "host": "ideas.example.com"}
    only_for = other_app(PROXY_FIX_X_FOR=1)
    # The client's own X-Forwarded-For entry is not trusted: only the last one, set by the proxy.
    headers = {**FORWARDED, "X-Forwarded-For": "198.51.100.1, 203.0.113.9"}
    assert _seen_by_the_app(only_for, headers) == {"addr": "203.0.113.9", "scheme": "http", "host": "localhost"}


# --- CSP violation reports ------------------------------------------------------------------

REPORT = {"csp-report": {
    "document-uri": "http://ideastorm.test/ideas/1", "violated-directive": "script-src-elem",
    "effective-directive": "script-src-elem", "blocked-uri": "inline", "line-number": 12,
    "source-file": "http://ideastorm.test/ideas/1", "script-sample": "alert(1)\nforged log line",
}}


def test_a_violation_report_is_logged_without_a_csrf_token(client, caplog):
    with caplog.at_level(logging.WARNING, logger="ideastorm.security.headers"):
        response = client.post("/csp-report", data=json.dumps(REPORT), content_type="application/csp-report")
    assert response.status_code == 204 and response.get_data() == b""
    assert_protected(response)
    [record] = [r for r in caplog.records if r.name == "ideastorm.security.headers"]
    assert record.levelno == logging.WARNING
    message = record.getMessage()
    assert "script-src-elem" in message and "'inline'" in message and "/ideas/1" in message
    assert "\n" not in message  # the sample's newline cannot forge a log line


def test_reporting_api_reports_are_logged_too(client, caplog):
    body = [{"type": "csp-violation", "age": 3, "url": "http://ideastorm.test/",
             "body": {"documentURL": "http://ideastorm.test/", "effectiveDirective": "img-src",
                      "blockedURL": "https://tracker.example/pixel.gif", "lineNumber": None}},
            {"type": "deprecation", "body": {"id": "something"}}]
    with caplog.at_level(logging.WARNING, logger="ideastorm.security.headers"):
        response = client.post("/csp-report", data=json.dumps(body), content_type="application/reports+json")
    assert response.status_code == 204
    assert "tracker.example/pixel.gif" in caplog.text and "img-src" in caplog.text
    assert "something" not in caplog.text


REFUSED_REPORTS = [
    (b"not json", 400), (b'{"something": "else"}', 400), (b"[]", 400),
    (json.dumps({"csp-report": {"blocked-uri": "x" * 20_000}}).encode(), 413),
]


def test_bad_or_oversized_reports_are_refused(client, caplog):
    with caplog.at_level(logging.WARNING, logger="ideastorm.security.headers"):
        for body, status in REFUSED_REPORTS:
            response = client.post("/csp-report", data=body, content_type="application/csp-report")
            assert response.status_code == status, body[:40]
    assert "CSP violation" not in caplog.text
    assert client.get("/csp-report").status_code == 405


def test_logged_fields_are_cut_short(client, caplog):
    report = {"csp-report": {**REPORT["csp-report"], "blocked-uri": "https://x.example/" + "a" * 5000}}
    with caplog.at_level(logging.WARNING, logger="ideastorm.security.headers"):
        assert client.post("/csp-report", json=report).status_code == 204
    assert "a" * 300 not in caplog.text and "a" * 250 in caplog.text


# --- remote Markdown images -----------------------------------------------------------------

TRACKER = "![pixel](https://tracker.example/p.gif) and ![ours](/static/ok.png)"


def test_images_from_unknown_hosts_are_links_on_pages(client, member, make_idea):
    idea = make_idea(description=TRACKER)
    page = client.get(f"/ideas/{idea.id}")
    body = page.get_data(as_text=True)
    assert '<a href="https://tracker.example/p.gif" rel="nofollow noopener noreferrer ugc">pixel</a>' in body
    assert '<img src="/static/ok.png" alt="ours">' in body
    assert not re.search(r'<img[^>]+tracker\.example', body)
    assert "tracker.example" not in page.headers["Content-Security-Policy"]
    preview = client.post_form("/markdown/preview", {"text": TRACKER}).get_data(as_text=True)
    assert '<a href="https://tracker.example/p.gif"' in preview and "<img src=\"https://tracker" not in preview


def test_allowed_image_hosts_load_and_join_img_src(app, client, make_idea):
    app.config["MARKDOWN_IMAGE_HOSTS"] = ["images.example.com", "*.cdn.example.net"]
    idea = make_idea(description="![a](https://images.example.com/a.png) ![b](https://eu.cdn.example.net/b.png) "
                                 "![c](https://tracker.example/p.gif)")
    page = client.get(f"/ideas/{idea.id}")
    body = page.get_data(as_text=True)
    assert '<img src="https://images.example.com/a.png" alt="a">' in body
    assert '<img src="https://eu.cdn.example.net/b.png" alt="b">' in body
    assert '<a href="https://tracker.example/p.gif"' in body
    assert policy(page)["img-src"] == ["'self'", "data:", "ideastorm.test", "images.example.com", "*.cdn.example.net"]


def test_a_malformed_image_host_stops_the_start(other_app):
    # Each entry goes into the header as it is (tests/test_markdown.py tries more of them).
    with pytest.raises(ValueError, match="MARKDOWN_IMAGE_HOSTS"):
        other_app(MARKDOWN_IMAGE_HOSTS=["images.example.com; script-src *"])


def test_no_template_builds_a_link_from_the_request_host():
    # url_for(..., _external=True) follows the Host header; absolute_url() is the one way (BASE_URL).
    from ideastorm.config import PROJECT_ROOT

    offenders = [str(path.relative_to(PROJECT_ROOT)) for path in (PROJECT_ROOT / "templates").rglob("*")
                 if path.is_file() and "_external" in path.read_text(encoding="utf-8")]
    assert offenders == []


def test_no_page_template_holds_what_the_policy_refuses():
    # Pages beyond the sample above: no inline style or handler anywhere, and every <script> has the nonce.
    # The emails' inline styles are for mail clients, which no CSP governs.
    from ideastorm.config import PROJECT_ROOT

    templates = PROJECT_ROOT / "templates"
    refused = re.compile(r"\sstyle\s*=|<style\b|\son[a-z]+\s*=|\shx-on|\sdata-hx-on|javascript:", re.I)
    found = []
    for path in templates.rglob("*.html"):
        if path.is_relative_to(templates / "email"):
            continue
        source = re.sub(r"\{#.*?#\}", "", path.read_text(encoding="utf-8"), flags=re.S)
        found += [f"{path.relative_to(templates)}: {m.group(0)}" for m in refused.finditer(source)]
        found += [f"{path.relative_to(templates)}: {tag}" for tag in re.findall(r"<script\b[^>]*>", source)
                  if 'nonce="{{ csp_nonce() }}"' not in tag]
    assert found == []
