"""CSRF: every route that changes something refuses a request without the form's token.

Generated from ``app.url_map``: each rule accepting POST, PUT, PATCH or DELETE is sent, as a
signed-in administrator (so authorization lets it through) and with real ids in its URL, a form
without a token, a form with a forged one, and an htmx request without the ``X-CSRFToken``
header. Each must answer 400 and change nothing in the database. The deliberate
exemptions are listed below with their reason; any other route that lets such a request through
fails here, so a new exemption is a decision written down, never an accident.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from ideastorm.extensions import db
from tests.helpers import is_signed_in, signed_in_client
from tests.security.test_authorization import build_world, client_for, rule_url

UNSAFE = ("POST", "PUT", "PATCH", "DELETE")
EXEMPT = {
    "mail.unsubscribe": "RFC 8058 one-click unsubscribe: a mail client POSTs with no cookie, and the signed "
                        "token in the link is the proof",
}
# Found by name at run time: browsers send Content-Security-Policy reports with no cookie and no token,
# and the endpoint only logs them.
EXEMPT_NAMES = {"csp_report": "CSP violation reports: sent by browsers without cookies or token; only logged"}
# These send a signed-in member away before reading any form: they are asked as a visitor.
SIGNED_OUT_ONLY = ("accounts.login", "accounts.register")
# The author's own: asked as the author of the world's comment and ideas.
AUTHOR_ONLY = ("comments.edit", "comments.delete")
# Columns that any request may move (the login session's last use), left out of "nothing changed".
VOLATILE = {"login_sessions": {"last_seen_at"}}
ATTEMPTS = {
    "no token": ({}, {}),
    "forged token": ({"csrf_token": "forged-token"}, {}),
    "htmx without X-CSRFToken": ({}, {"HX-Request": "true"}),
}


@pytest.fixture(params=["sqlite"])
def backend(request) -> str:
    """The token check runs before any query: one database keeps this long loop quick."""
    return request.param


def _exemption(endpoint: str) -> str | None:
    if endpoint in EXEMPT:
        return EXEMPT[endpoint]
    return next((reason for name, reason in EXEMPT_NAMES.items() if endpoint.rsplit(".", 1)[-1] == name), None)


def _database() -> dict[str, list]:
    """Every row of every table (without the volatile columns), to tell that nothing changed."""
    db.session.rollback()
    state = {}
    with db.engine.connect() as connection:
        for table in db.metadata.sorted_tables:
            columns = [c for c in table.columns if c.name not in VOLATILE.get(table.name, ())]
            rows = connection.execute(select(*columns)).all()
            state[table.name] = sorted(tuple(str(v) for v in row) for row in rows)
    return state


def _changed(before: dict, after: dict) -> list[str]:
    return [name for name in before if before[name] != after.get(name)]


def test_every_unsafe_route_refuses_a_request_without_its_token(app, client, make_user, make_idea):
    world = build_world(app, "admin", make_user, make_idea)
    admin_client, _ = client_for(app, "admin", world)
    owner = signed_in_client(app, world.owner)
    senders = {endpoint: app.test_client() for endpoint in SIGNED_OUT_ONLY} | {
        endpoint: owner for endpoint in AUTHOR_ONLY}
    failures, exempt_seen, checked = [], [], 0
    state = _database()
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.endpoint):
        http = sorted(m for m in rule.methods if m in UNSAFE)
        if not http:
            continue
        if _exemption(rule.endpoint):
            exempt_seen.append(rule.endpoint)
            continue
        url = rule_url(app, rule, world)
        sender = senders.get(rule.endpoint, admin_client)
        for verb in http:
            for attempt, (data, headers) in ATTEMPTS.items():
                response = sender.open(url, method=verb, data=data, headers=headers)
                checked += 1
                if response.status_code != 400:
                    failures.append(f"{verb} {url} ({rule.endpoint}), {attempt}: {response.status_code}")
        after = _database()  # nothing may have changed: one look per route keeps the loop quick
        if _changed(state, after):
            failures.append(f"{rule.endpoint} changed {', '.join(_changed(state, after))}")
            state = after
    assert checked > 100  # the whole route table was walked
    assert not failures, ("Accepted without a valid CSRF token (fix the route, or, if deliberate, add it to "
                          "EXEMPT with the reason):\n" + "\n".join(failures))
    assert is_signed_in(admin_client)  # not even the sign-out went through
    assert "mail.unsubscribe" in exempt_seen


def test_the_exemptions_are_the_ones_listed(app):
    """Each exemption names a route that exists, and is exempt from the global check for its reason."""
    from ideastorm.extensions import csrf

    exempt_views = csrf._exempt_views
    for rule in app.url_map.iter_rules():
        if _exemption(rule.endpoint):
            view = app.view_functions[rule.endpoint]
            assert f"{view.__module__}.{view.__name__}" in exempt_views, rule.endpoint
    assert all(endpoint in app.view_functions for endpoint in EXEMPT)


def test_a_valid_token_goes_through(app, client, make_user, make_idea, auth):
    """The same kind of request with its token is accepted: the 400s above are the token's doing."""
    idea = make_idea()
    auth.login(make_user())
    assert client.post_form(f"/ideas/{idea.id}/vote", {"value": "1"}).status_code == 302
    assert client.htmx_post(f"/ideas/{idea.id}/vote", {"value": "0"}).status_code == 200
    assert client.post(f"/ideas/{idea.id}/vote", data={"value": "1"}, headers={"HX-Request": "true"}).status_code == 400
