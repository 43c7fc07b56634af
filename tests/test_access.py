"""Who may reach what, generated from the app's own route table.

Every endpoint either declares the action it requires (``login_required_for``) or is listed
below with the reason it needs none; a new route with neither fails here. Every route that
declares an action is then requested by a visitor, a member, staff and an administrator: the
roles the action excludes are sent to the login page (visitors) or refused with 403, and the
roles it allows get the route's real answer, stated per route in ``OUTCOMES`` (a new route
without an entry fails here too).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from ideastorm.comments.services import add_comment
from ideastorm.extensions import db
from ideastorm.ideas.models import Category
from tests.conftest import PASSWORD

# Endpoints open to visitors, or whose check depends on the object (tested in their feature's tests).
PUBLIC = {
    "static", "main.home", "main.healthz", "main.set_locale", "main.vendor",
    "accounts.register", "accounts.login", "accounts.logout",
    # the signed link is the proof (accounts.tokens); asking for a reset link says nothing of who has an account
    "accounts.forgot_password", "accounts.reset_password", "accounts.confirm_email",
    "mail.unsubscribe",  # the signed link is the proof (mail.tokens), for a mail client with no cookie
    "ideas.list_ideas", "ideas.show", "ideas.show_with_slug",
    "public.leaderboard", "public.roadmap", "public.implemented", "public.profile",
    "stats.index", "feeds.ideas", "feeds.implemented", "search.search", "search.similar",
    "main.brand_css", "main.logo",  # the site's brand: every page links them, visitors too
    "notifications.count",  # the header's polled count: a visitor (a session that ended) gets an empty answer
    "main.csp_report",  # browsers report CSP violations without cookies; it only logs them
    "sso.start", "sso.callback",  # signing in with an OpenID Connect provider, what a visitor does (tests/test_sso.py)
}
OBJECT_CHECKED = {
    "accounts.account": "any signed-in member",
    "accounts.resend_confirmation": "any signed-in member",
    # login sessions: the member's own only (another's id answers 404, tests/security/test_sessions.py)
    "accounts.sign_out_session": "any signed-in member, for one of their own login sessions",
    "accounts.sign_out_other_sessions": "any signed-in member",
    "accounts.sign_out_all_sessions": "any signed-in member",
    "privacy.export": "any signed-in member, their own data (tests/test_privacy.py)",
    "privacy.delete": "any signed-in member, their own account (tests/test_privacy.py)",
    "ideas.edit": "edit_idea: the author while new, or staff",
    "votes.vote": "vote",
    "comments.create": "comment",
    "comments.edit": "the comment's author (comments.services.check_own_comment)",
    "comments.delete": "the comment's author (comments.services.check_own_comment)",
    "notifications.open": "the notification's recipient (notifications.services.notification_of)",
    "notifications.read": "the notification's recipient (notifications.services.notification_of)",
    "notifications.suggest_members": "any signed-in member; a fragment without a <title> (test_notifications_pages.py)",
}
ROLES = ("visitor", "member", "staff", "admin")
# The roles each action of ideastorm/security/permissions.py allows (none of them banned).
ALLOWED = {
    "submit_idea": {"member", "staff", "admin"},
    "triage": {"staff", "admin"},
    "moderate": {"staff", "admin"},
    "admin": {"admin"},
}
_CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
_TITLE = re.compile(r"<title>(.*?)</title>", re.S)


@dataclass(frozen=True)
class Page:
    """A page answered with ``status``, whose <title> starts with ``title`` and which shows each of ``shows``."""

    status: int
    title: str
    shows: tuple[str, ...] = ()
    send: tuple[tuple[str, str], ...] = ()  # form fields sent besides csrf_token (POST)


@dataclass(frozen=True)
class Redirect:
    """A redirect to exactly ``to``."""

    to: str
    status: int = 302
    send: tuple[tuple[str, str], ...] = ()


FIX_FIELDS = "Please correct the highlighted fields."


def error_of(field_id: str) -> str:
    """The message element the form macro puts under a refused field."""
    return f'<small id="{field_id}-error" class="field-error" role="alert">'


# What an allowed role gets for the request this test sends: a GET as is; a POST with a valid
# CSRF token (field and header) and only the fields in ``send``, so that forms arrive empty.
# Placeholders: {idea_id} (a new idea, visible, comments open, not a duplicate), {idea_title},
# {comment_id} (a visible comment on it), {user_id} (its author, a member), {category_id}
# (the "other" category), {csrf}.
OUTCOMES: dict[tuple[str, str], Page | Redirect] = {
    ("ideas.new_idea", "GET"): Page(200, "Submit an idea", ('name="title"', 'name="description"')),
    ("ideas.new_idea", "POST"): Page(422, "Submit an idea", (FIX_FIELDS, error_of("title"))),
    # triage
    ("triage.queue", "GET"): Page(200, "Triage queue", ("{idea_title}",)),  # a new idea awaits a decision
    ("triage.bulk", "POST"): Page(422, "Triage queue", ("Select at least one idea.",)),
    ("triage.change_status", "POST"): Page(422, "{idea_title}", (FIX_FIELDS, error_of("status"))),
    ("triage.mark_duplicate", "POST"): Page(422, "{idea_title}", (FIX_FIELDS, error_of("original_id"))),
    ("triage.undo_duplicate", "POST"): Page(409, "Conflict", ("This idea is not a duplicate.",)),
    ("triage.add_note", "POST"): Page(422, "{idea_title}", (FIX_FIELDS, error_of("body"))),
    ("triage.undo_bulk", "POST"): Page(400, "Bad request", ("No bulk action to undo.",)),
    ("triage.merge_search", "GET"): Page(200, "Merge into another idea", ('name="q"',)),
    ("triage.confirm_merge", "GET"): Page(400, "Bad request", ("Choose the idea to merge into.",)),
    ("triage.confirm_moderation", "GET"): Page(200, "Hide this idea?", ('name="confirm" value="1"',)),
    # pre-approval: nothing is held; the test's idea is public, so approving or declining it is refused
    ("triage.approval_queue", "GET"): Page(200, "Waiting for approval", ("Nothing is waiting for approval.",)),
    ("triage.approve_idea", "POST"): Page(409, "Conflict", ("This idea is not waiting for approval.",)),
    ("triage.reject_idea", "POST"): Page(409, "Conflict", ("This idea is not waiting for approval.",)),
    # moderation: without hidden=1 / locked=1 the idea or comment is made visible / open (it already is)
    ("triage.idea_visibility", "POST"): Redirect("/ideas/{idea_id}"),
    ("triage.lock_comments", "POST"): Redirect("/ideas/{idea_id}"),
    ("triage.comment_visibility", "POST"): Redirect("/ideas/{idea_id}#comment-{comment_id}"),
    ("comments.confirm_hide", "GET"): Page(200, "Hide this comment?", ("/comments/{comment_id}/visibility",)),
    # writing: the Markdown preview of an empty text
    ("comments.preview_markdown", "POST"): Page(200, "Preview", ("Nothing to preview.",)),
    # administration
    ("admin.index", "GET"): Page(200, "Administration"),
    ("admin.users", "GET"): Page(200, "Users", ("Target Member",)),
    ("admin.change_role", "POST"): Page(422, "Invalid input", ("Unknown role",)),
    ("admin.ban", "POST"): Redirect("/admin/users"),  # the target is banned (unban below lifts it)
    ("admin.unban", "POST"): Redirect("/admin/users"),
    ("admin.categories", "GET"): Page(200, "Categories", ("/admin/categories/{category_id}/archive",)),
    ("admin.categories", "POST"): Page(422, "Categories", (FIX_FIELDS, error_of("name"))),
    # the edit forms are prefixed with the category, their CSRF field too
    ("admin.edit_category", "POST"): Page(422, "Categories", (FIX_FIELDS, error_of("category-{category_id}-name")),
                                          send=(("category-{category_id}-csrf_token", "{csrf}"),)),
    ("admin.archive_category", "POST"): Redirect("/admin/categories"),
    ("admin.unarchive_category", "POST"): Redirect("/admin/categories"),
    ("admin.audit", "GET"): Page(200, "Audit log"),
    ("admin.settings", "GET"): Page(200, "Site settings", ('name="name"', 'name="accent"', 'name="logo"')),
    ("admin.settings", "POST"): Page(422, "Site settings", (FIX_FIELDS, error_of("name"))),
    # vote integrity: without confirm=1 the voiding asks first
    ("integrity.report", "GET"): Page(200, "Vote integrity", ("Bursts of votes from new accounts",)),
    ("integrity.confirm_void", "GET"): Page(200, "Void the votes of banned accounts?"),
    ("integrity.void_banned", "POST"): Redirect("/admin/integrity/void-banned"),
    # following and the inbox (any member): without JavaScript, back to the idea; nobody has a notification yet
    ("notifications.follow", "POST"): Redirect("/ideas/{idea_id}"),
    ("notifications.unfollow", "POST"): Redirect("/ideas/{idea_id}"),
    ("notifications.index", "GET"): Page(200, "Notifications", ("Nothing yet. Follow an idea to hear about it.",)),
    ("notifications.read_all", "POST"): Redirect("/notifications"),
}


def _protected_routes(app):
    routes = []
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        action = getattr(view, "required_action", None)
        if action is None:
            assert rule.endpoint in PUBLIC or rule.endpoint in OBJECT_CHECKED, (
                f"{rule.endpoint} ({rule.rule}) declares no access rule: decorate it with "
                "login_required_for(...) or list it in tests/test_access.py with the reason"
            )
            continue
        assert action in ALLOWED, f"{rule.endpoint} requires {action!r}: say in ALLOWED which roles may"
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            assert (rule.endpoint, method) in OUTCOMES, (
                f"{method} {rule.rule} ({rule.endpoint}, {action!r}) has no entry in OUTCOMES: "
                "add what an allowed role gets for the request this test sends"
            )
            routes.append((rule, method, action))
    return routes


def test_every_route_declares_its_access(app):
    routes = _protected_routes(app)
    assert {action for _, _, action in routes} >= {"submit_idea", "triage", "moderate", "admin"}
    stale = set(OUTCOMES) - {(rule.endpoint, method) for rule, method, _ in routes}
    assert not stale, f"OUTCOMES names routes that no longer require an action: {sorted(stale)}"


def _url(rule, ids):
    return rule.build({name: ids[name] for name in rule.arguments})[1]


def _client_for(app, user):
    client = app.test_client()
    if user is not None:
        token = _CSRF.search(client.get("/login").get_data(as_text=True)).group(1)
        assert client.post("/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token}).status_code == 302
    return client


def _title(body: str) -> str:
    found = _TITLE.search(body)
    return html.unescape(found.group(1).strip()) if found else ""


def _check_outcome(response, expected: Page | Redirect, values: dict, where: str) -> None:
    body = response.get_data(as_text=True)
    if isinstance(expected, Redirect):
        assert response.status_code == expected.status, f"{where}: {response.status_code}, {_title(body)!r}"
        assert response.headers["Location"] == expected.to.format(**values), where
        return
    assert response.status_code == expected.status, (
        f"{where}: {response.status_code} {response.headers.get('Location', '')} {_title(body)!r}"
    )
    title = expected.title.format(**values)
    assert _title(body).startswith(f"{title} · "), f"{where}: <title> is {_title(body)!r}, not {title!r}"
    for text in expected.shows:
        assert text.format(**values) in body, f"{where}: the page does not show {text.format(**values)!r}"


def test_access_matrix(app, make_user, make_idea):
    from tests.conftest import Client

    app.test_client_class = Client
    target = make_user(name="Target Member")
    idea = make_idea(target)
    comment = add_comment(target, idea, "A comment")
    db.session.commit()
    values = {
        "idea_id": idea.id,
        "idea_title": idea.title,
        "comment_id": comment.id,
        "user_id": target.id,
        "category_id": db.session.scalar(select(Category.id).where(Category.slug == "other")),
    }
    clients, tokens = {}, {}
    for role in ROLES:
        clients[role] = _client_for(app, make_user(role) if role != "visitor" else None)
        tokens[role] = _CSRF.search(clients[role].get("/").get_data(as_text=True)).group(1)

    for rule, method, action in _protected_routes(app):
        url = _url(rule, values)
        expected = OUTCOMES[rule.endpoint, method]
        for role in ROLES:
            client, token = clients[role], tokens[role]
            where = f"{role} {method} {url}"
            if method == "GET":
                response = client.get(url)
            else:
                data = {"csrf_token": token}
                data.update({name.format(**values): value.format(csrf=token, **values)
                             for name, value in expected.send})
                response = client.open(url, method=method, data=data, headers={"X-CSRFToken": token})
            if role in ALLOWED[action]:
                _check_outcome(response, expected, values, where)
            elif role == "visitor":
                assert response.status_code == 302, where
                location = urlsplit(response.headers["Location"])
                assert location.path == "/login" and parse_qs(location.query)["next"] == [url], where
            else:
                assert response.status_code == 403, where
                assert _title(response.get_data(as_text=True)).startswith("Forbidden · "), where


@pytest.mark.parametrize("role", ["member", "staff"])
def test_banned_users_lose_every_right(client, make_user, make_idea, auth, role):
    user = make_user(role)
    auth.login(user)
    user.is_banned = True
    db.session.commit()
    assert client.get("/ideas/new").status_code == 302
    assert client.get("/triage").status_code == 302
