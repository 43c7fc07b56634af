"""Account rules, shared by the web views and the CLI (they flush and raise ``DomainError``; callers commit)."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import gettext as _
from slugify import slugify
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from zxcvbn import zxcvbn

from .. import outbox
from ..domain import Checks, DomainError
from ..extensions import db
from ..roles import Role
from ..text import checked, imitates_staff
from ..timeutil import utcnow
from .auth import hash_password, needs_rehash, verify_password
from .models import LoginSession, User

EMAIL_MAX = 254
NAME_MIN, NAME_MAX = 2, 60
MIN_PASSWORD_LENGTH = 10
PASSWORD_MAX = 200
HANDLE_MAX = 30  # the stem; a suffix ("-2") may follow
# zxcvbn's score (0-4, from its estimate of the guesses needed) below which a password is refused:
# 0 and 1 are the common passwords, keyboard walks, repeats and names with a few digits.
PASSWORD_MIN_SCORE = 2
# zxcvbn judges this many characters at most (its own limit: its cost grows quickly with length).
PASSWORD_JUDGED_LENGTH = 72


def normalize_email(email: str) -> str:
    return (email or "").strip().lower()


def email_taken(email: str) -> bool:
    return db.session.scalar(select(func.count()).where(User.email == normalize_email(email))) > 0


def _check_email(checks: Checks, email: str) -> str:
    email = normalize_email(email)
    if not email:
        checks.fail("email", "email_required", _("An email address is required."))
    elif len(email) > EMAIL_MAX:
        checks.fail("email", "email_too_long", _("An email address has at most %(n)d characters.", n=EMAIL_MAX))
    else:
        try:
            validate_email(email, check_deliverability=False)
        except EmailNotValidError:
            checks.fail("email", "email_invalid", _("This is not a valid email address."))
    return email


def _check_name(checks: Checks, display_name: str, *, member: bool = True, current: str | None = None) -> str:
    """A display name: 2-60 characters, 2 of them visible, invisible characters removed.

    A member's new name may not read as the site's team (``text.imitates_staff``: "Admin",
    "St4ff", the site's name); staff and administrators, who are the team, may take one, and
    a name kept as it is (``current``) is never refused.
    """
    from ..settings.services import site_settings

    name = " ".join(checked(
        checks, "display_name", display_name, min_visible=NAME_MIN, minimum=NAME_MIN, maximum=NAME_MAX,
        required=_("A display name is required."),
        not_visible=_("A display name needs at least %(n)d visible characters.", n=NAME_MIN),
        too_short=_("A display name has at least %(n)d characters.", n=NAME_MIN),
        too_long=_("A display name has at most %(n)d characters.", n=NAME_MAX),
    ).split())
    if member and name and name != current and imitates_staff(name, site_name=site_settings().name):
        checks.fail("display_name", "display_name_reserved",
                    _("This name could be taken for the site's team (admin, staff, support…): choose another."))
    return name


def _check_password(checks: Checks, field: str, password: str | None, email: str, display_name: str = "") -> None:
    """The one password rule (registration, change, reset, the command line): long enough, not the
    address, and not common or guessable from what the site knows of the member."""
    password = password or ""
    if len(password) < MIN_PASSWORD_LENGTH:
        checks.fail(field, "password_too_short",
                    _("A password has at least %(n)d characters.", n=MIN_PASSWORD_LENGTH))
    elif len(password) > PASSWORD_MAX:
        checks.fail(field, "password_too_long", _("A password has at most %(n)d characters.", n=PASSWORD_MAX))
    elif email and password.strip().lower() == email:
        checks.fail(field, "password_is_email", _("Your password cannot be your email address."))
    elif _guessable(password, email, display_name):
        checks.fail(field, "password_guessable",
                    _("This password is too common or too easy to guess. Try a few words that have nothing "
                      "to do with each other, or a longer mix of letters, digits and signs."))


def _guessable(password: str, email: str, display_name: str) -> bool:
    """zxcvbn's verdict, told the member's address and name and the site's name (guessed first by an attacker)."""
    from ..settings.services import site_settings

    words = {email, display_name, "ideastorm", site_settings().name, *re.split(r"[\W_]+", f"{email} {display_name}")}
    hints = [word for word in words if word and len(word) >= 3]
    return zxcvbn(password[:PASSWORD_JUDGED_LENGTH], user_inputs=hints)["score"] < PASSWORD_MIN_SCORE


def create_user(email: str, display_name: str, password: str | None, role: Role | str = Role.MEMBER, *,
                confirmed: bool = False) -> User:
    """Create an account; emails are unique whatever their case. ``password=None``: cannot sign in (demo).

    ``confirmed``: the address counts as confirmed from the start (an operator vouches for it).
    """
    checks = Checks()
    email = _check_email(checks, email)
    display_name = _check_name(checks, display_name, member=str(getattr(role, "value", role)) == Role.MEMBER.value)
    if password is not None:
        _check_password(checks, "password", password, email, display_name)
    try:
        role = Role(role)
    except ValueError:
        checks.fail("role", "role_unknown", _("Unknown role: %(role)s", role=str(role)[:40]))
    checks.done()
    return _insert_user(email, display_name, password, role, confirmed=confirmed)


def _insert_user(email: str, display_name: str, password: str | None, role: Role, *, confirmed: bool) -> User:
    """The new account, its fields checked already; ``DomainError("email_taken")`` when the address has one."""
    taken = DomainError("email_taken", _("An account with this email already exists."), "email")
    if email_taken(email):
        raise taken
    user = User(email=email, display_name=display_name, handle=unique_handle(display_name),
                password_hash=hash_password(password) if password is not None else None, role=role.value,
                email_verified_at=utcnow() if confirmed else None)
    try:
        with db.session.begin_nested():  # a concurrent identical sign-up loses here, not at commit
            db.session.add(user)
    except IntegrityError:
        raise taken from None
    return user


# An owner is told of a sign-up attempt with their address at most this often (the form could be
# used to flood their mailbox).
ACCOUNT_EXISTS_NOTICE_INTERVAL = timedelta(hours=1)


def register(email: str, display_name: str, password: str, *, ip_prefix: str | None = None) -> str:
    """Sign-up from the web; the same outcome, seen from outside, whether the address is new or taken.

    New: the account (unconfirmed and not signed in: the emailed link does that) and the email that
    asks to confirm its address, in one transaction. Taken: the account is left alone and its owner
    is emailed that someone tried, with links to sign in and to reset the password. The fields are
    checked alike and the password is hashed in both cases, so neither the page nor the time it
    takes tells whether the address has an account. Returns the address, normalised.

    ``ip_prefix`` is the network the sign-up came from (``security.network.network_prefix``), kept for the
    vote-integrity report (many accounts made from one network).
    """
    from ..mail.services import queue_email

    checks = Checks()
    email = _check_email(checks, email)
    display_name = _check_name(checks, display_name)
    _check_password(checks, "password", password, email, display_name)
    checks.done()
    try:
        user = _insert_user(email, display_name, password, Role.MEMBER, confirmed=False)
    except DomainError as error:
        if error.code != "email_taken":
            raise
        hash_password(password)  # the time a new account takes
        _tell_owner_of_sign_up(email)
        return email
    user.signup_ip_prefix = ip_prefix
    queue_email("verify_email", user.id)
    return email


def _tell_owner_of_sign_up(email: str) -> None:
    """Email the owner of ``email`` that someone tried to register with it (not a banned or deleted one)."""
    from ..mail.models import OutgoingEmail
    from ..mail.services import queue_email

    owner = db.session.scalar(select(User).where(User.email == email))
    if owner is None or owner.is_banned or owner.deleted_at is not None:
        return
    if not owner.is_verified:
        # Signing up again is how people ask for the confirmation link once more.
        queue_email("verify_email", owner.id)
        return
    recent = db.session.scalar(select(OutgoingEmail.id).where(
        OutgoingEmail.user_id == owner.id, OutgoingEmail.kind == "account_exists",
        OutgoingEmail.created_at > utcnow() - ACCOUNT_EXISTS_NOTICE_INTERVAL).limit(1))
    if recent is None:
        queue_email("account_exists", owner.id)


def unique_handle(display_name: str) -> str:
    """The "@handle" others mention this member by: the name transliterated and slugified, made unique.

    "Élodie Martin" is ``elodie-martin``; a second one is ``elodie-martin-2``. Made once: it
    stays when the name changes, so earlier mentions keep pointing at the same member.
    """
    base = handle_stem(display_name)
    # slugify leaves only [a-z0-9-]: nothing in ``base`` is a LIKE wildcard.
    taken = set(db.session.scalars(select(User.handle).where((User.handle == base) | User.handle.like(base + "-%"))))
    return free_handle(base, taken)


def handle_stem(display_name: str) -> str:
    return slugify(display_name or "", max_length=HANDLE_MAX, word_boundary=True) or "member"


def free_handle(base: str, taken: set[str]) -> str:
    """``base``, or ``base-2``, ``base-3``… : the first not in ``taken``."""
    handle, n = base, 1
    while handle in taken:
        n += 1
        handle = f"{base}-{n}"
    return handle


def require_confirmed_email(user) -> None:
    """Refuse a contribution (idea, comment, vote) while the site asks for a confirmed address and it is not."""
    from ..settings.services import site_settings

    if not user.is_verified and site_settings().require_verified_email:
        raise DomainError("email_unconfirmed",
                          _("Confirm your email address first: open the link we emailed you, "
                            "or ask for a new one on your account page."), status=403)


@dataclass
class LoginResult:
    user: User | None
    banned: bool = False


def authenticate(email: str, password: str) -> LoginResult:
    """Check credentials; a banned member is refused even with the right password."""
    user = db.session.scalar(select(User).where(User.email == normalize_email(email)))
    if not verify_password(user.password_hash if user else None, password or ""):
        return LoginResult(None)
    if user.is_banned:
        return LoginResult(None, banned=True)
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    db.session.flush()
    return LoginResult(user)


def update_profile(user: User, display_name: str, locale: str | None) -> None:
    """Change the name shown beside a member's ideas and comments, and their language."""
    checks = Checks()
    display_name = _check_name(checks, display_name, member=user.role == Role.MEMBER.value, current=user.display_name)
    if locale and locale not in current_app.config["LANGUAGES"]:
        checks.fail("locale", "locale_unknown", _("Choose one of the languages."))
    checks.done()
    if user.display_name != display_name:
        outbox.emit("user.updated", user_id=user.id)  # their ideas show the author's name
    user.display_name = display_name
    user.locale = locale or None
    db.session.flush()


def _set_password(user: User, password: str) -> None:
    user.password_hash = hash_password(password)
    # Part of the reset links' fingerprint (accounts.tokens): every link asked for before dies.
    user.session_version += 1


def change_password(user: User, current: str, new: str, *, keep_session_id: int | None = None) -> None:
    """Set a new password after checking the current one; every login session but ``keep_session_id`` ends.

    The web page ends them all and signs the browser that made the change in again on a new one,
    so a copy of its cookies is signed out too.
    """
    checks = Checks()
    if not verify_password(user.password_hash, current or ""):
        checks.fail("current_password", "password_wrong", _("Your current password is not correct."))
    _check_password(checks, "new_password", new, user.email, user.display_name)
    checks.done()
    _set_password(user, new)
    revoke_login_sessions(user, keep_id=keep_session_id)
    db.session.flush()


# Password reset and email confirmation -------------------------------------------------------
# The signed links themselves are made and checked by accounts.tokens; the emails carrying them
# are queued here, in the caller's transaction, and sent by the worker.


def request_password_reset(email: str) -> None:
    """Email a reset link to the account with this address, if there is one that may sign in.

    Says nothing either way: the page answers the same for a known, an unknown and a banned
    address, so nobody learns from it who has an account.
    """
    from ..mail.services import queue_email

    checks = Checks()
    email = _check_email(checks, email)
    checks.done()
    user = db.session.scalar(select(User).where(User.email == email))
    # An account without a password (made by single sign-on) may choose one this way: the link
    # goes to its address, which is the proof. Demo and deleted accounts have addresses under
    # ".invalid", which no mail reaches.
    if user is None or user.is_banned or user.deleted_at is not None:
        return
    queue_email("password_reset", user.id)


def reset_password(user: User, password: str) -> None:
    """Set the password chosen through a reset link (the registration rules apply).

    Every login session ends, and the address counts as confirmed: the link reached it.
    The reset token names the old password hash, so this also spends the link.
    """
    checks = Checks()
    _check_password(checks, "password", password, user.email, user.display_name)
    checks.done()
    _set_password(user, password)
    revoke_login_sessions(user)  # the caller signs this browser in afresh
    if not user.is_verified:
        user.email_verified_at = utcnow()
    db.session.flush()


def confirm_email(user: User) -> bool:
    """Mark the member's address as confirmed; False when it already was (a second click)."""
    if user.is_verified:
        return False
    user.email_verified_at = utcnow()
    db.session.flush()
    return True


def resend_confirmation(user: User) -> None:
    """Queue a new confirmation email; refused once the address is confirmed."""
    from ..mail.services import queue_email

    if user.is_verified:
        raise DomainError("email_already_confirmed", _("Your email address is already confirmed."), status=409)
    queue_email("verify_email", user.id)


# Login sessions ------------------------------------------------------------------------------
# One row per signed-in browser (models.LoginSession). accounts.sessions ties them to the request
# (the Flask session, the remember-me cookie); these functions are the rules, usable anywhere.
# Only a SHA-256 of each secret is stored: the database alone opens no session.

LOGIN_SESSIONS_LISTED = 50  # /account lists at most this many (the latest used first)


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def login_session_lifetime(remember: bool) -> timedelta:
    """How long a login session lives after its last use: the remember-me cookie's duration, or the idle timeout."""
    config = current_app.config
    value = config["REMEMBER_COOKIE_DURATION"] if remember else config["LOGIN_SESSION_IDLE_SECONDS"]
    return value if isinstance(value, timedelta) else timedelta(seconds=int(value))


def open_login_session(user: User, *, remember: bool = False, method: str = "password",
                       user_agent: str | None = None, ip_prefix: str | None = None,
                       now: datetime | None = None) -> tuple[LoginSession, str]:
    """A new login session for ``user`` and its secret (to give the browser once; only its hash is kept)."""
    now = now or utcnow()
    secret = secrets.token_urlsafe(32)
    row = LoginSession(
        user_id=user.id, secret_hash=secret_hash(secret), remember=bool(remember), method=(method or "password")[:60],
        user_agent=(user_agent or "")[:200] or None, ip_prefix=ip_prefix, created_at=now, last_seen_at=now,
        expires_at=now + login_session_lifetime(remember),
    )
    db.session.add(row)
    db.session.flush()
    return row, secret


def active_login_sessions(user: User, now: datetime | None = None) -> list[LoginSession]:
    """The member's login sessions still open, the latest used first."""
    now = now or utcnow()
    return list(db.session.scalars(
        select(LoginSession)
        .where(LoginSession.user_id == user.id, LoginSession.revoked_at.is_(None), LoginSession.expires_at > now)
        .order_by(LoginSession.last_seen_at.desc(), LoginSession.id.desc()).limit(LOGIN_SESSIONS_LISTED)
    ))


def revoke_login_sessions(user: User, *, keep_id: int | None = None, now: datetime | None = None) -> int:
    """End every open login session of ``user`` but ``keep_id``; how many ended."""
    query = update(LoginSession).where(LoginSession.user_id == user.id, LoginSession.revoked_at.is_(None))
    if keep_id is not None:
        query = query.where(LoginSession.id != keep_id)
    result = db.session.execute(query.values(revoked_at=now or utcnow()).execution_options(synchronize_session=False))
    return result.rowcount


def revoke_login_session(user: User, session_id: int, now: datetime | None = None) -> LoginSession:
    """End one of the member's own login sessions; another member's (or none) is a 404, as if it did not exist."""
    row = db.session.get(LoginSession, session_id)
    if row is None or row.user_id != user.id:
        raise DomainError("login_session_unknown", _("There is no such session."), status=404)
    if row.revoked_at is None:
        row.revoked_at = now or utcnow()
        db.session.flush()
    return row


def prune_login_sessions(now: datetime | None = None) -> int:
    """Delete the login sessions that ended (expired or revoked) over LOGIN_SESSION_RETENTION_DAYS ago; how many."""
    cutoff = (now or utcnow()) - timedelta(days=int(current_app.config["LOGIN_SESSION_RETENTION_DAYS"]))
    result = db.session.execute(
        delete(LoginSession).where(or_(LoginSession.expires_at < cutoff, LoginSession.revoked_at < cutoff))
        .execution_options(synchronize_session=False))
    return result.rowcount
