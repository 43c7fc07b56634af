"""Who may reach what, generated from the app's own route table.

Every endpoint either declares the action it requires (``login_required_for``) or is listed
below with the reason it needs none; a new route with neither fails here.
"""

import re

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
    "ideas.list_ideas", "ideas.show", "ideas.show_with_slug",
    "public.leaderboard", "public.roadmap", "public.implemented", "public.profile",
    "stats.index", "feeds.ideas", "feeds.implemented", "search.search", "search.similar",
}
OBJECT_CHECKED = {
    "accounts.account": "any signed-in member",
    "ideas.edit": "edit_idea: the author while new, or staff",
    "votes.vote": "vote",
    "comments.create": "comment",
}
STAFF_ACTIONS = {"triage", "moderate"}
_CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


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
        if action not in STAFF_ACTIONS | {"admin"}:
            continue  # member-level actions: covered by their feature's tests
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            routes.append((rule, method, action))
    return routes


def test_every_route_declares_its_access(app):
    routes = _protected_routes(app)
    assert {action for _, _, action in routes} >= {"triage", "moderate", "admin"}


def _url(rule, ids):
    return rule.build({name: ids[name] for name in rule.arguments})[1]


def _client_for(app, user):
    client = app.test_client()
    if user is not None:
        token = _CSRF.search(client.get("/login").get_data(as_text=True)).group(1)
        assert client.post("/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token}).status_code == 302
    return client


def test_access_matrix(app, make_user, make_idea):
    from tests.conftest import Client

    app.test_client_class = Client
    target = make_user(name="Target Member")
    idea = make_idea(target)
    ids = {
        "idea_id": idea.id,
        "comment_id": add_comment(target, idea, "A comment").id,
        "user_id": target.id,
        "category_id": db.session.scalar(select(Category.id).where(Category.slug == "other")),
    }
    roles = {role: (make_user(role) if role != "visitor" else None) for role in ("visitor", "member", "staff", "admin")}
    clients = {role: _client_for(app, user) for role, user in roles.items()}

    for rule, method, action in _protected_routes(app):
        url = _url(rule, ids)
        for role, client in clients.items():
            token = _CSRF.search(client.get("/").get_data(as_text=True)).group(1)
            if method == "GET":
                response = client.get(url)
            else:
                response = client.open(url, method=method, data={"csrf_token": token},
                                       headers={"X-CSRFToken": token})
            where = f"{role} {method} {url}"
            if role == "visitor":
                assert response.status_code == 302, where
                assert response.headers["Location"].startswith("/login?next="), where
            elif role == "member" or (role == "staff" and action not in STAFF_ACTIONS):
                assert response.status_code == 403, where
            else:
                assert response.status_code not in (401, 403, 500), where
                assert not response.headers.get("Location", "").startswith("/login"), where


@pytest.mark.parametrize("role", ["member", "staff"])
def test_banned_users_lose_every_right(client, make_user, make_idea, auth, role):
    user = make_user(role)
    auth.login(user)
    user.is_banned = True
    db.session.commit()
    assert client.get("/ideas/new").status_code == 302
    assert client.get("/triage").status_code == 302
