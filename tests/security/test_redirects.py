"""Open redirects: no ``next`` parameter can send a browser off the site.

Every route that follows a ``next`` (the login page and form, the language switch, votes,
following, notifications, resending the confirmation link, the admin's and staff's actions) is
given the usual tricks, as a query string (decoded by the server) and as a form field (taken
literally), and the Location it answers must resolve, the way a browser reads it (backslashes as
slashes, tabs and line breaks dropped), to a page of this site. Every view that reads ``next`` must
have a case here: a new one fails ``test_every_view_reading_next_is_covered``.
"""

from __future__ import annotations

import inspect
import re
from urllib.parse import quote, unquote, urljoin, urlsplit

import pytest

from ideastorm.extensions import db
from tests.conftest import PASSWORD
from tests.helpers import signed_in_client

# A page of the site as deployed (behind HTTPS), on which a browser resolves the Location.
SITE = "https://localhost"
ATTACKS = [
    "//evil.example", "https://evil.example", "/\\evil.example", "\\/evil.example", "\\\\evil.example",
    "%2F%2Fevil.example", "%5C%5Cevil.example", "javascript:alert(1)", "JaVaScRiPt:alert(1)", "/%09/evil.example",
    "http:evil.example", "https:/evil.example", "\t//evil.example", "\n//evil.example", " //evil.example",
    "/\n/evil.example", "\uff0f\uff0fevil.example", "/\u2215evil.example", "//evil\u3002example",
    "data:text/html,<script>alert(1)</script>", "///evil.example",
]
# Views that read ``next`` (directly or through a helper of their module) and are asked below.
COVERED = {
    "accounts.login", "main.set_locale", "votes.vote", "notifications.follow", "notifications.unfollow",
    "notifications.read", "notifications.read_all", "accounts.resend_confirmation", "admin.change_role",
    "admin.ban", "admin.unban", "triage.approve_idea", "triage.reject_idea", "triage.bulk", "triage.undo_bulk",
    # Both go through web.is_safe_next (test_the_safe_next_rule): the start keeps a safe next in the session and
    # the callback checks it again; they need a configured provider, which the SSO tests have.
    "sso.start", "sso.callback",
}
_NEXT = re.compile(r"\b(next_url|redirect_next|is_safe_next)\(|[\"']next[\"']")


@pytest.fixture(params=["sqlite"])
def backend(request) -> str:
    """Redirects do not depend on the database: one keeps these loops quick."""
    return request.param


def browser_target(location: str) -> tuple[str, str]:
    """(scheme, host) a browser goes to for ``location`` read on a page of the site."""
    cleaned = re.sub(r"[\t\n\r]", "", location).lstrip(" \x00\x01\x02\x03\x04\x05\x06\x07\x08\x0b\x0c\x0e\x0f")
    cleaned = cleaned.replace("\\", "/")
    parts = urlsplit(urljoin(SITE + "/ideas/1", cleaned))
    return parts.scheme.lower(), parts.netloc.lower()


def assert_on_site(response, attack: str, where: str) -> None:
    assert response.status_code in (301, 302, 303), (where, attack, response.status_code)
    location = response.headers["Location"]
    assert browser_target(location) == ("https", "localhost"), (where, attack, location)
    assert "evil" not in unquote(urlsplit(urljoin(SITE, location)).netloc), (where, attack, location)


def _forms(attack: str) -> list[str]:
    """The attack as typed, and decoded once (a form field is taken literally)."""
    return sorted({attack, unquote(attack)})


def test_the_browser_model_catches_the_attacks():
    """The check above would see each attack leave the site, were it followed."""
    leaving = [a for a in ATTACKS if browser_target(unquote(a)) != ("https", "localhost")]
    assert {"//evil.example", "https://evil.example", "/\\evil.example", "\\/evil.example", "%2F%2Fevil.example",
            "javascript:alert(1)", "/%09/evil.example", "http:evil.example", "\t//evil.example"} <= set(leaving)


def test_login_page_and_form(app, client, make_user, auth):
    member = make_user()
    for attack in ATTACKS:
        # Signed out: the page keeps next for its form, the form follows it after signing in.
        page = client.get("/login?next=" + quote(attack, safe=""))
        assert page.status_code == 200
        for value in _forms(attack):
            response = client.post_form("/login", {"email": member.email, "password": PASSWORD, "next": value})
            assert_on_site(response, value, "POST /login")
            # Signed in: the login page sends the member on at once.
            assert_on_site(client.get("/login?next=" + quote(value, safe="")), value, "GET /login signed in")
            assert_on_site(client.get("/login", query_string={"next": value}), value, "GET /login signed in")
            auth.logout()


def test_language_switch_votes_follows_and_notifications(app, client, make_user, make_idea, auth):
    idea = make_idea()
    auth.login(make_user())
    token = client.csrf_token()
    cases = {
        "/locale": {"locale": "en"},
        f"/ideas/{idea.id}/vote": {"value": "1"},
        f"/ideas/{idea.id}/follow": {},
        f"/ideas/{idea.id}/unfollow": {},
        "/notifications/read-all": {},
        "/account/confirm-email": {},
    }
    for attack in ATTACKS:
        # In the query string (next_url reads the form and the query alike).
        url = "/locale?next=" + quote(attack, safe="")
        assert_on_site(client.post(url, data={"locale": "en", "csrf_token": token}), attack, url)
        for value in _forms(attack):
            for url, data in cases.items():
                assert_on_site(client.post(url, data={**data, "next": value, "csrf_token": token}), value, url)


def test_a_notification_marked_read(app, client, make_user, make_idea, auth):
    from ideastorm.comments.services import add_comment
    from ideastorm.notifications.models import Notification

    member = make_user()
    idea = make_idea()
    comment = add_comment(make_user(), idea, "A comment to be told about")
    notification = Notification(user_id=member.id, kind="comment", idea_id=idea.id, comment_id=comment.id, event_id=0)
    db.session.add(notification)
    db.session.commit()
    auth.login(member)
    token = client.csrf_token()
    for attack in ATTACKS:
        for value in _forms(attack):
            response = client.post(f"/notifications/{notification.id}/read", data={"next": value, "csrf_token": token})
            assert_on_site(response, value, "POST /notifications/<id>/read")


def test_admin_and_staff_actions(app, client, make_user, make_idea, auth):
    admin = make_user("admin")
    target = make_user()
    staff_client = signed_in_client(app, make_user("staff"))
    auth.login(admin)
    token, staff_token = client.csrf_token(), staff_client.csrf_token()
    author = make_user()
    held = [make_idea(author, title=f"An idea held for approval, number {n}") for n in range(2 * len(ATTACKS))]
    for idea in held:
        idea.awaiting_approval, idea.is_hidden = True, True
    db.session.commit()
    held = iter(held)
    to_triage = iter([make_idea(author, title=f"An idea to triage, number {n}") for n in range(len(ATTACKS))])
    for attack in ATTACKS:
        value = unquote(attack)
        for url, data in ((f"/admin/users/{target.id}/role", {"role": "member"}),
                          (f"/admin/users/{target.id}/ban", {}), (f"/admin/users/{target.id}/unban", {})):
            assert_on_site(client.post(url, data={**data, "next": value, "csrf_token": token}), value, url)
        for url, data in ((f"/ideas/{next(held).id}/approve", {}), (f"/ideas/{next(held).id}/reject", {}),
                          ("/triage/bulk", {"ids": str(next(to_triage).id), "status": "planned"})):
            response = staff_client.post(url, data={**data, "next": value, "csrf_token": staff_token})
            assert_on_site(response, value, url)


def _reads_next(function, seen=None) -> bool:
    """Whether a view (or a helper of its own module that it calls) reads ``next``."""
    seen = seen if seen is not None else set()
    if function in seen:
        return False
    seen.add(function)
    try:
        source = inspect.getsource(function)
    except (OSError, TypeError):
        return False
    if _NEXT.search(source):
        return True
    module = inspect.getmodule(function)
    for name in set(re.findall(r"\b([a-z_][a-z0-9_]*)\(", source)):
        helper = getattr(module, name, None)
        if inspect.isfunction(helper) and helper.__module__ == function.__module__ and _reads_next(helper, seen):
            return True
    return False


def test_every_view_reading_next_is_covered(app):
    reading = {endpoint for endpoint, view in app.view_functions.items()
               if endpoint != "static" and _reads_next(inspect.unwrap(view))}
    missing = sorted(reading - COVERED)
    assert not missing, f"views that follow a `next` without a case in tests/security/test_redirects.py: {missing}"


def test_the_safe_next_rule():
    """What ``web.is_safe_next`` lets through stays on the site, however a browser reads it."""
    from ideastorm.web import is_safe_next

    for attack in ATTACKS:
        for value in _forms(attack):
            if is_safe_next(value):
                assert browser_target(value) == ("https", "localhost"), value
