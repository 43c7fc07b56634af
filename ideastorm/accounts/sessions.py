"""Signing in and out: the one place that starts and ends a member's session.

Every way in (password, reset link, email confirmation, single sign-on) calls ``sign_in``;
logout calls ``sign_out``. Each signed-in browser is a row of ``login_sessions`` (the rules are in
``accounts.services``), and the id Flask-Login keeps in the session and in the remember-me cookie is
``"<user id>.<login session id>.<secret>"`` (``User.get_id``). So the server decides:

- ``load_user`` (the user loader) reads the row and its member in one query and refuses a revoked
  or expired row, a wrong secret, a banned or deleted member. Logging out, a password change,
  "sign out everywhere" revoke rows: a copy of the cookie taken before opens nothing.
- ``sign_in`` regenerates the session (the Flask session is emptied, which renews the CSRF secret),
  so nothing a visitor's session held carries over into the member's.
- A remember-me cookie is rotated each time it restores a session: the new secret is written to the
  browser, the old one kept as ``previous_secret_hash``. The old one presented again later is a
  stolen copy used after its owner's browser moved on: that login session is revoked.
- Last use is written at most every LOGIN_SESSION_TOUCH_SECONDS, in a short transaction of its own,
  and slides the expiry (the idle timeout, or the remember-me duration with the cookie renewed).
"""

from __future__ import annotations

import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app, g, request, session
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from flask_login.config import COOKIE_NAME
from flask_login.utils import decode_cookie
from sqlalchemy import select, update
from sqlalchemy.orm.attributes import set_committed_value

from ..extensions import db
from ..security.network import network_prefix
from ..timeutil import utcnow
from . import services
from .models import LoginSession, User

log = logging.getLogger(__name__)

# Where the request keeps the login session its member was loaded with.
_CURRENT = "_login_session"
# Kept across the regeneration at sign-in: the messages flashed for the next page.
_KEPT_KEYS = ("_flashes",)


def make_token(user_id: int, session_id: int, secret: str) -> str:
    return f"{user_id}.{session_id}.{secret}"


def parse_token(token: str | None) -> tuple[int, int, str] | None:
    """``(user id, login session id, secret)`` from a stored id, or None when it is not one."""
    parts = str(token or "").split(".")
    if len(parts) != 3 or not all(parts):
        return None
    user_id, session_id, secret = parts
    if not (user_id.isascii() and user_id.isdigit() and session_id.isascii() and session_id.isdigit()):
        return None
    if len(user_id) > 10 or len(session_id) > 10 or len(secret) > 100:
        return None
    return int(user_id), int(session_id), secret


def _seconds(name: str) -> float:
    value = current_app.config[name]
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def _write(row: LoginSession, **values) -> None:
    """Update one login session in a short transaction of its own, whatever the request does with its own.

    The loaded row is given the same values as already saved, so the request's session has nothing
    to flush (on SQLite that would hold the write lock until the request ends).
    """
    with db.engine.begin() as connection:
        connection.execute(update(LoginSession.__table__).where(LoginSession.__table__.c.id == row.id).values(**values))
    _saved(row, **values)


def _saved(row: LoginSession, **values) -> None:
    for name, value in values.items():
        set_committed_value(row, name, value)


def _forget(token: str) -> None:
    # A refused id is not kept: the remember-me cookie (if any) gets its turn on the next request.
    if session.get("_user_id") == token:
        session.pop("_user_id", None)
    cookie = request.cookies.get(current_app.config.get("REMEMBER_COOKIE_NAME", COOKIE_NAME))
    if cookie and decode_cookie(cookie) == token:
        # A dead remember-me cookie: Flask-Login deletes it with this response, rather than the
        # browser sending it, and the server checking it, on every request for a month.
        session["_remember"] = "clear"


def load_user(token: str) -> User | None:
    """Flask-Login's user loader: the member of a valid, open login session, or None. One query."""
    parsed = parse_token(token)
    if parsed is None:
        _forget(token)
        return None
    user_id, session_id, secret = parsed
    found = db.session.execute(
        select(LoginSession, User).join(User, User.id == LoginSession.user_id)
        .where(LoginSession.id == session_id, LoginSession.user_id == user_id)
    ).first()
    now = utcnow()
    if found is None:
        _forget(token)
        return None
    row, user = found
    if (row.revoked_at is not None or row.expires_at <= now or user.is_banned or user.deleted_at is not None
            or not _secret_matches(row, secret, now)):
        _forget(token)
        return None
    user.login_token = token
    setattr(g, _CURRENT, row)
    if now - row.last_seen_at >= timedelta(seconds=_seconds("LOGIN_SESSION_TOUCH_SECONDS")):
        _touch(row, now)
    return user


def _secret_matches(row: LoginSession, secret: str, now: datetime) -> bool:
    presented = services.secret_hash(secret)
    if hmac.compare_digest(presented, row.secret_hash):
        return True
    if row.previous_secret_hash and hmac.compare_digest(presented, row.previous_secret_hash):
        grace = timedelta(seconds=_seconds("LOGIN_SESSION_ROTATION_GRACE_SECONDS"))
        if row.rotated_at is not None and now - row.rotated_at < grace:
            return False  # the same browser's request sent alongside the one that rotated: refused, no alarm
        # The secret this row had before its last rotation: a copy of the cookie, used after the
        # browser it was taken from moved on. Both are signed out; the member signs in again.
        _write(row, revoked_at=now)
        log.warning("login session %s of user %s: a rotated remember-me secret was used again; revoked",
                    row.id, row.user_id)
    return False


def _touch(row: LoginSession, now: datetime) -> None:
    """Record the use and slide the expiry; a remembered browser's cookie is written again with it."""
    expires = now + services.login_session_lifetime(row.remember)
    _write(row, last_seen_at=now, expires_at=expires)
    if row.remember:
        session["_remember"] = "set"


def rotate_remember_token(sender, user: User, **_extra) -> None:
    """``user_loaded_from_cookie``: the remember-me cookie restored a session; give it a new secret.

    The guarded update (``WHERE secret_hash = <the one presented>``) makes one of two requests racing
    with the same cookie the winner; the other keeps its answer but gives the browser no cookie.
    """
    row = getattr(g, _CURRENT, None)  # set by load_user just before (current_user is not settled yet)
    if row is None or row.user_id != user.id:
        return
    now = utcnow()
    secret = secrets.token_urlsafe(32)
    fresh = services.secret_hash(secret)
    expires = now + services.login_session_lifetime(True)
    table = LoginSession.__table__
    with db.engine.begin() as connection:
        won = connection.execute(
            update(table)
            .where(table.c.id == row.id, table.c.secret_hash == row.secret_hash, table.c.revoked_at.is_(None))
            .values(secret_hash=fresh, previous_secret_hash=row.secret_hash, rotated_at=now, last_seen_at=now,
                    expires_at=expires)
        ).rowcount
    if not won:
        session.pop("_user_id", None)
        session.pop("_remember", None)
        return
    _saved(row, previous_secret_hash=row.secret_hash, secret_hash=fresh, rotated_at=now, last_seen_at=now,
           expires_at=expires)
    user.login_token = make_token(user.id, row.id, secret)
    session["_user_id"] = user.login_token
    session["_remember"] = "set"  # Flask-Login writes the cookie anew from session["_user_id"]


def current_login_session() -> LoginSession | None:
    """The login session the request's member was loaded with (None for a visitor)."""
    if not current_user.is_authenticated:
        return None
    return getattr(g, _CURRENT, None)


def _regenerate() -> None:
    """Empty the Flask session (its CSRF secret with it), keeping only what the next page must show."""
    kept = {key: session[key] for key in _KEPT_KEYS if key in session}
    session.clear()
    session.update(kept)
    g.pop(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"), None)  # Flask-WTF's per-request copy


def sign_in(user, *, remember: bool = False, method: str = "password"):
    """Start a new session for ``user`` in this browser; commits (the row must exist before its id is sent).

    Call it once the request's own work is committed. The session is regenerated, the browser's former
    login session (if any) ends, and a new one is opened with this browser's user agent and network.
    """
    if not user.is_active:  # banned: Flask-Login would refuse it; no login session is opened
        return None
    former = current_login_session() if "_login_user" in g else _former_session()
    now = utcnow()
    if former is not None and former.revoked_at is None:
        former.revoked_at = now
    _regenerate()
    row, secret = services.open_login_session(
        user, remember=remember, method=method, user_agent=request.user_agent.string,
        ip_prefix=network_prefix(request.remote_addr), now=now,
    )
    db.session.commit()
    user.login_token = make_token(user.id, row.id, secret)
    login_user(user, remember=remember)
    setattr(g, _CURRENT, row)
    return row


def _former_session() -> LoginSession | None:
    """This browser's login session from the session's id, without loading (or rotating) anything."""
    parsed = parse_token(session.get("_user_id"))
    if parsed is None:
        return None
    row = db.session.get(LoginSession, parsed[1])
    if row is None or row.user_id != parsed[0] or not hmac.compare_digest(services.secret_hash(parsed[2]),
                                                                          row.secret_hash):
        return None
    return row


def sign_out() -> None:
    """End this browser's session: its login session is revoked (a copy of its cookies opens nothing)."""
    row = current_login_session()  # loads the member first, so nothing is loaded once the session is empty
    if row is not None and row.revoked_at is None:
        row.revoked_at = utcnow()
        db.session.commit()
    _regenerate()
    logout_user()  # after the regeneration: it marks the remember-me cookie for deletion
    g.pop(_CURRENT, None)


def prune(now: datetime) -> int:
    """The worker's hourly job: delete the login sessions ended over LOGIN_SESSION_RETENTION_DAYS ago; committed."""
    removed = services.prune_login_sessions(now)
    db.session.commit()
    return removed


# How /account shows a login session ------------------------------------------------------------

# (what the user agent holds, the name shown): the first match wins, so Edge and Opera, which
# also say "Chrome", and Chrome, which also says "Safari", come before them.
_BROWSERS = (("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"), ("FxiOS/", "Firefox"),
             ("CriOS/", "Chrome"), ("Chromium/", "Chromium"), ("Chrome/", "Chrome"), ("Safari/", "Safari"))
_SYSTEMS = (("Windows", "Windows"), ("Android", "Android"), ("iPhone", "iOS"), ("iPad", "iPadOS"),
            ("CrOS", "ChromeOS"), ("Mac OS X", "macOS"), ("Macintosh", "macOS"), ("Linux", "Linux"))


@dataclass
class SessionView:
    row: LoginSession
    browser: str  # "Chrome on Linux", or the user agent itself when it names nothing known
    how: str  # how the member signed in
    current: bool  # this browser


def browser_label(user_agent: str | None) -> str:
    """A short, readable name for a user agent: "Firefox on Windows"; the raw text (cut) when unknown."""
    text = user_agent or ""
    browser = next((name for marker, name in _BROWSERS if marker in text), None)
    system = next((name for marker, name in _SYSTEMS if marker in text), None)
    if browser and system:
        return _("%(browser)s on %(system)s", browser=browser, system=system)
    if browser or system:
        return browser or system
    return text[:60] or _("Unknown browser")


def method_label(method: str) -> str:
    if method.startswith("sso:"):
        return _("with %(provider)s", provider=method[4:].replace("-", " ").title() or "SSO")
    labels = {
        "password": _("with a password"),
        "reset": _("with a password reset link"),
        "confirm": _("with the email confirmation link"),
    }
    return labels.get(method, method)


def describe(row: LoginSession, *, current: bool = False) -> SessionView:
    return SessionView(row=row, browser=browser_label(row.user_agent), how=method_label(row.method or "password"),
                       current=current)
