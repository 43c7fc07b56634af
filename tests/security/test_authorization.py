"""The authorization matrix: every route of ``app.url_map``, by GET and POST, for every role.

``MATRIX`` states, per route and method, what a visitor, a member, staff, an administrator and a
banned member get, in that order: a status code, or ``login`` for a redirect to the login page.
A route without an entry fails the test with the line to add, once checked by hand that what it
observed is what the route must do; so does an entry whose route is gone. A few routes are also
asked about a hidden idea, an idea held for approval (``held``: by the member, so the member is
its author; ``held-other``: by someone else).

POSTs carry a valid CSRF token and no other field: this is about who gets through, not about what
a form accepts (422 is "allowed, and the empty form refused"). Each role has its own copy of the
data, so what one role's POST changes does not move another's answer. GETs run first, then POSTs,
and the requests that sign the client out run last.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from flask import Flask
from sqlalchemy import select, update

from ideastorm import search
from ideastorm.accounts.models import LoginSession, User
from ideastorm.comments.services import add_comment
from ideastorm.extensions import db
from ideastorm.ideas import counters
from ideastorm.ideas.models import Category, Idea
from ideastorm.ideas.services import slugify
from ideastorm.notifications.models import Notification
from tests.helpers import signed_in_client

@pytest.fixture(params=["sqlite"])
def backend(request) -> str:
    """Who may reach what does not depend on the database (the features' own tests run on both): one keeps
    this loop of some 500 requests quick."""
    return request.param


ROLES = ("visitor", "member", "staff", "admin", "banned")
# They may sign the client (or every client of its member) out: asked last, each from a browser signed in for it.
LAST = ("accounts.logout", "privacy.delete", "accounts.sign_out_other_sessions", "accounts.sign_out_all_sessions")
# Variants asked besides the plain route: which idea stands in for ``idea_id``.
VARIANTS = {
    "ideas.show": ("hidden", "held", "held-other"),
    "ideas.show_with_slug": ("hidden", "held"),
    "ideas.edit": ("hidden", "held"),
    "votes.vote": ("hidden", "held"),
    "comments.create": ("hidden",),
    "notifications.follow": ("hidden",),
}
# Values of one endpoint's URL variables, when the default one does not fit.
ENDPOINT_VALUES = {
    "static": {"filename": "app.css"},
    "main.vendor": {"name": "pico.min.css"},
    "main.logo": {"name": "logo-0123456789abcdef.png"},  # no logo uploaded: 404 for all
    "sso.start": {"name": "no-such-provider"},
    "sso.callback": {"name": "no-such-provider"},
    "triage.approve_idea": {"idea_id": "held-other"},
    "triage.reject_idea": {"idea_id": "held-spare"},
    "comments.delete": {"comment_id": "doomed_comment_id"},  # another comment than the one edited
}

# visitor member staff admin banned
MATRIX: dict[str, str] = {
    "GET static": "200 200 200 200 200",
    "GET accounts.account": "login 200 200 200 login",
    "GET accounts.confirm_email": "400 400 400 400 400",  # signed links: the token is the proof (an invalid one here)
    "GET accounts.forgot_password": "200 200 200 200 200",
    "GET accounts.login": "200 302 302 302 200",  # signed in: back; banned: signed out first
    "GET accounts.register": "200 302 302 302 200",
    "GET accounts.reset_password": "400 400 400 400 400",  # signed links: the token is the proof (an invalid one here)
    "GET admin.audit": "login 403 403 200 login",
    "GET admin.categories": "login 403 403 200 login",
    "GET admin.index": "login 403 403 200 login",
    "GET admin.settings": "login 403 403 200 login",
    "GET admin.users": "login 403 403 200 login",
    "GET comments.confirm_hide": "login 403 200 200 login",
    "GET comments.delete": "login 200 403 403 login",  # its author only (the member wrote it)
    "GET comments.edit": "login 200 403 403 login",
    "GET feeds.ideas": "200 200 200 200 200",
    "GET feeds.implemented": "200 200 200 200 200",
    "GET ideas.edit [held]": "404 200 200 200 404",
    "GET ideas.edit [hidden]": "404 404 200 200 404",
    "GET ideas.edit": "login 200 200 200 login",
    "GET ideas.list_ideas": "200 200 200 200 200",
    "GET ideas.new_idea": "login 200 200 200 login",
    "GET ideas.show [held-other]": "404 404 200 200 404",  # held for someone else: staff only
    "GET ideas.show [held]": "404 200 200 200 404",  # held for approval: its author (the member) and staff
    "GET ideas.show [hidden]": "404 404 200 200 404",
    "GET ideas.show": "200 200 200 200 200",
    "GET ideas.show_with_slug [held]": "404 301 301 301 404",
    "GET ideas.show_with_slug [hidden]": "404 404 301 301 404",
    "GET ideas.show_with_slug": "301 301 301 301 301",
    "GET integrity.confirm_void": "login 403 403 200 login",
    "GET integrity.report": "login 403 403 200 login",
    "GET mail.unsubscribe": "404 404 404 404 404",  # the signed token is the proof (an invalid one here)
    "GET main.brand_css": "200 200 200 200 200",
    "GET main.healthz": "200 200 200 200 200",
    "GET main.home": "200 200 200 200 200",
    "GET main.logo": "404 404 404 404 404",  # no logo uploaded
    "GET main.vendor": "200 200 200 200 200",
    "GET notifications.count": "200 200 200 200 200",
    "GET notifications.index": "login 200 200 200 login",
    "GET notifications.open": "login 302 302 302 login",
    "GET notifications.suggest_members": "login 200 200 200 login",
    "GET privacy.delete": "login 200 200 200 login",
    "GET privacy.export": "login 200 200 200 login",
    "GET public.implemented": "200 200 200 200 200",
    "GET public.leaderboard": "200 200 200 200 200",
    "GET public.profile": "200 200 200 200 200",
    "GET public.roadmap": "200 200 200 200 200",
    "GET search.search": "200 200 200 200 200",
    "GET search.similar": "200 200 200 200 200",
    "GET sso.callback": "404 404 404 404 404",
    "GET sso.start": "404 404 404 404 404",  # no such provider
    "GET stats.index": "200 200 200 200 200",
    "GET triage.approval_queue": "login 403 200 200 login",
    "GET triage.confirm_merge": "login 403 400 400 login",  # staff; no ?into= is a 400
    "GET triage.confirm_moderation": "login 403 200 200 login",
    "GET triage.merge_search": "login 403 200 200 login",
    "GET triage.queue": "login 403 200 200 login",
    "POST accounts.account": "login 400 400 400 login",  # prefixed forms: the bare token is refused
    "POST accounts.forgot_password": "422 422 422 422 422",
    "POST accounts.login": "422 302 302 302 422",
    "POST accounts.logout": "302 302 302 302 302",
    "POST accounts.register": "422 302 302 302 422",
    "POST accounts.resend_confirmation": "login 302 302 302 login",
    "POST accounts.reset_password": "400 400 400 400 400",
    "POST accounts.sign_out_all_sessions": "login 302 302 302 login",
    "POST accounts.sign_out_other_sessions": "login 302 302 302 login",
    "POST accounts.sign_out_session": "login 302 302 302 login",
    "POST admin.archive_category": "login 403 403 302 login",
    "POST admin.ban": "login 403 403 302 login",
    "POST admin.categories": "login 403 403 422 login",
    "POST admin.change_role": "login 403 403 422 login",
    "POST admin.edit_category": "login 403 403 400 login",  # a prefixed form: bare token refused
    "POST admin.settings": "login 403 403 422 login",
    "POST admin.unarchive_category": "login 403 403 302 login",
    "POST admin.unban": "login 403 403 302 login",
    "POST comments.create [hidden]": "404 404 422 422 404",
    "POST comments.create": "login 422 422 422 login",
    "POST comments.delete": "login 302 403 403 login",
    "POST comments.edit": "login 302 403 403 login",
    "POST comments.preview_markdown": "login 200 200 200 login",
    "POST ideas.edit [held]": "404 302 302 302 404",
    "POST ideas.edit [hidden]": "404 404 302 302 404",
    "POST ideas.edit": "login 302 302 302 login",
    "POST ideas.new_idea": "login 422 422 422 login",
    "POST integrity.void_banned": "login 403 403 302 login",
    "POST mail.unsubscribe": "404 404 404 404 404",
    "POST main.csp_report": "400 400 400 400 400",  # browsers, without cookies; an empty report: 400
    "POST main.set_locale": "400 400 400 400 400",  # anyone; no locale given: 400
    "POST notifications.follow [hidden]": "login 404 302 302 login",
    "POST notifications.follow": "login 302 302 302 login",
    "POST notifications.read": "login 302 302 302 login",
    "POST notifications.read_all": "login 302 302 302 login",
    "POST notifications.unfollow": "login 302 302 302 login",
    "POST privacy.delete": "login 422 422 422 login",  # allowed; the empty form (no password) is refused
    "POST triage.add_note": "login 403 422 422 login",
    "POST triage.approve_idea": "login 403 302 302 login",
    "POST triage.bulk": "login 403 422 422 login",
    "POST triage.change_status": "login 403 422 422 login",
    "POST triage.comment_visibility": "login 403 302 302 login",
    "POST triage.idea_visibility": "login 403 302 302 login",
    "POST triage.lock_comments": "login 403 302 302 login",
    "POST triage.mark_duplicate": "login 403 422 422 login",
    "POST triage.reject_idea": "login 403 302 302 login",
    "POST triage.undo_bulk": "login 403 400 400 login",
    "POST triage.undo_duplicate": "login 403 409 409 login",  # staff; the idea is no duplicate: 409
    "POST votes.vote [held]": "404 404 403 403 404",  # nobody votes on an idea waiting for approval
    "POST votes.vote [hidden]": "404 404 422 422 404",
    "POST votes.vote": "login 422 422 422 login",
}


@dataclass
class World:
    """The objects one role's requests name: ids to fill URL variables with."""

    actor: User | None
    owner: User | None = None  # the author of the world's ideas and comments (the actor in a member's world)
    values: dict[str, object] = field(default_factory=dict)
    ideas: dict[str, Idea] = field(default_factory=dict)


def build_world(app: Flask, role: str, make_user, make_idea) -> World:
    """A member's public idea, with a comment, a hidden idea, two ideas held for approval, another member."""
    actor = None if role == "visitor" else make_user("member" if role == "banned" else role)
    owner = actor if role == "member" else make_user()
    public = make_idea(owner, title=f"Public idea of the {role} world")
    hidden = make_idea(owner, title=f"Hidden idea of the {role} world", hidden=True)
    held = make_idea(owner, title=f"Held idea of the {role} world")
    held_other = make_idea(make_user(), title=f"Idea held for someone else, {role} world")
    held_spare = make_idea(owner, title=f"Another held idea of the {role} world")
    for idea in (held, held_other, held_spare):
        idea.awaiting_approval, idea.is_hidden = True, True
    counters.recount()
    comment = add_comment(owner, public, "A comment in this world")
    doomed = add_comment(owner, public, "A comment its author may delete")
    target = make_user()
    db.session.commit()
    search.sync()  # the index a running worker keeps (the staff panel searches it)
    values: dict[str, object] = {
        "idea_id": public.id, "comment_id": comment.id, "doomed_comment_id": doomed.id, "user_id": target.id,
        "category_id": db.session.scalar(select(Category.id).order_by(Category.id).limit(1)),
        "token": "not-a-valid-token", "slug": slugify(public.title), "name": "x", "filename": "app.css",
    }
    if actor is not None:
        notification = Notification(user_id=actor.id, kind="comment", idea_id=public.id, comment_id=comment.id,
                                    actor_id=target.id, event_id=0)
        db.session.add(notification)
        db.session.commit()
        values["notification_id"] = notification.id
        # Another browser of the actor's: signing it out leaves the client under test signed in.
        signed_in_client(app, actor)
        values["session_id"] = db.session.scalar(
            select(LoginSession.id).where(LoginSession.user_id == actor.id).order_by(LoginSession.id.desc()).limit(1))
    else:
        values["notification_id"] = values["session_id"] = 2**31 - 1
    ideas = {"public": public, "hidden": hidden, "held": held, "held-other": held_other, "held-spare": held_spare}
    return World(actor, owner=owner, values=values, ideas=ideas)


def rule_url(app: Flask, rule, world: World, variant: str = "") -> str:
    """The rule's URL with the world's ids (``variant`` names the idea standing in for ``idea_id``)."""
    values = {}
    overrides = ENDPOINT_VALUES.get(rule.endpoint, {})
    for name in rule.arguments:
        value = overrides.get(name, world.values.get(name))
        if name.endswith("_id") and isinstance(value, str) and value in world.values:
            value = world.values[value]
        if name == "idea_id" and (variant or isinstance(value, str)):
            value = world.ideas[variant or value].id
        if name == "slug" and variant:
            value = slugify(world.ideas[variant].title)
        assert value is not None, f"no value for <{name}> of {rule.rule}: add one to build_world or ENDPOINT_VALUES"
        values[name] = value
    with app.test_request_context():
        from flask import url_for

        return url_for(rule.endpoint, **values)


def routes(app: Flask) -> list[tuple[str, str, str, object]]:
    """(key, method, variant, rule) for every GET and POST of every rule, GETs first, sign-outs last."""
    found = []
    for rule in app.url_map.iter_rules():
        for method in ("GET", "POST"):
            if method not in rule.methods:
                continue
            for variant in ("", *VARIANTS.get(rule.endpoint, ())):
                key = f"{method} {rule.endpoint}" + (f" [{variant}]" if variant else "")
                found.append((key, method, variant, rule))
    def order(item):
        endpoint = item[3].endpoint
        return (LAST.index(endpoint) if endpoint in LAST else -1, item[1] == "POST", item[0])

    return sorted(found, key=order)


def outcome(response) -> str:
    if response.status_code in (301, 302, 303) and response.headers.get("Location", "").startswith("/login"):
        return "login"
    return str(response.status_code)


def _banned(user: User, banned: bool) -> None:
    db.session.execute(update(User).where(User.id == user.id).values(is_banned=banned))
    db.session.commit()


def client_for(app: Flask, role: str, world: World) -> tuple:
    """(client, CSRF token) signed in as the role (a banned member: signed in while allowed, then banned)."""
    if role == "visitor":
        client = app.test_client()
    else:
        if role == "banned":
            _banned(world.actor, False)
        client = signed_in_client(app, world.actor)
        if role == "banned":
            _banned(world.actor, True)
    return client, client.csrf_token()


def observe(app: Flask, role: str, world: World) -> dict[str, str]:
    clients = {"": client_for(app, role, world)}
    seen = {}
    for key, method, variant, rule in routes(app):
        url = rule_url(app, rule, world, variant)
        if rule.endpoint in LAST and rule.endpoint not in clients:
            clients[rule.endpoint] = client_for(app, role, world)
        client, token = clients[rule.endpoint if rule.endpoint in LAST else ""]
        if method == "GET":
            response = client.get(url)
        else:
            response = client.post(url, data={"csrf_token": token})
        seen[key] = outcome(response)
        response.close()  # a static file's handle
        db.session.rollback()  # the test's own session sees each request's commits
    return seen


def test_every_route_answers_every_role_as_the_matrix_says(app, client, make_user, make_idea):
    observed: dict[str, list[str]] = {}
    for role in ROLES:
        for key, value in observe(app, role, build_world(app, role, make_user, make_idea)).items():
            observed.setdefault(key, []).append(value)
    lines = {key: " ".join(values) for key, values in observed.items()}
    missing = [f'    "{key}": "{line}",' for key, line in sorted(lines.items()) if key not in MATRIX]
    wrong = [f"{key}: expected {MATRIX[key]!r}, got {line!r}" for key, line in sorted(lines.items())
             if key in MATRIX and MATRIX[key] != line]
    stale = sorted(set(MATRIX) - set(lines))
    message = []
    if missing:
        message.append("Routes missing from MATRIX (check each outcome, then add it to the matrix):\n"
                       + "\n".join(missing))
    if wrong:
        message.append("Outcomes that differ from MATRIX:\n" + "\n".join(wrong))
    if stale:
        message.append("Entries of MATRIX for routes that no longer exist: " + ", ".join(stale))
    assert not message, "\n\n".join(message)
