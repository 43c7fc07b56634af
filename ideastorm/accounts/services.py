"""Account rules, shared by the web views and the CLI (they flush and raise ``DomainError``; callers commit)."""

from __future__ import annotations

from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import gettext as _
from slugify import slugify
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from .. import outbox
from ..domain import Checks, DomainError
from ..extensions import db
from ..roles import Role
from ..timeutil import utcnow
from .auth import hash_password, needs_rehash, verify_password
from .models import User

EMAIL_MAX = 254
NAME_MIN, NAME_MAX = 2, 60
MIN_PASSWORD_LENGTH = 10
PASSWORD_MAX = 200
HANDLE_MAX = 30  # the stem; a suffix ("-2") may follow


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


def _check_name(checks: Checks, display_name: str) -> str:
    return " ".join(checks.text(
        "display_name", display_name, minimum=NAME_MIN, maximum=NAME_MAX,
        required=_("A display name is required."),
        too_short=_("A display name has at least %(n)d characters.", n=NAME_MIN),
        too_long=_("A display name has at most %(n)d characters.", n=NAME_MAX),
    ).split())


def _check_password(checks: Checks, field: str, password: str | None, email: str) -> None:
    password = password or ""
    if len(password) < MIN_PASSWORD_LENGTH:
        checks.fail(field, "password_too_short",
                    _("A password has at least %(n)d characters.", n=MIN_PASSWORD_LENGTH))
    elif len(password) > PASSWORD_MAX:
        checks.fail(field, "password_too_long", _("A password has at most %(n)d characters.", n=PASSWORD_MAX))
    elif email and password.strip().lower() == email:
        checks.fail(field, "password_is_email", _("Your password cannot be your email address."))


def create_user(email: str, display_name: str, password: str | None, role: Role | str = Role.MEMBER, *,
                confirmed: bool = False) -> User:
    """Create an account; emails are unique whatever their case. ``password=None``: cannot sign in (demo).

    ``confirmed``: the address counts as confirmed from the start (an operator vouches for it).
    """
    checks = Checks()
    email = _check_email(checks, email)
    display_name = _check_name(checks, display_name)
    if password is not None:
        _check_password(checks, "password", password, email)
    try:
        role = Role(role)
    except ValueError:
        checks.fail("role", "role_unknown", _("Unknown role: %(role)s", role=str(role)[:40]))
    checks.done()
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


def register(email: str, display_name: str, password: str) -> User:
    """Sign-up from the web: the account, and the email that asks to confirm its address, in one transaction."""
    from ..mail.services import queue_email

    user = create_user(email, display_name, password)
    queue_email("verify_email", user.id)
    return user


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
    display_name = _check_name(checks, display_name)
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
    # Every session and remember-me cookie made before names the old version: all signed out.
    # The caller signs the member in again on the browser that made the change.
    user.session_version += 1


def change_password(user: User, current: str, new: str) -> None:
    """Set a new password after checking the current one; every other session is signed out."""
    checks = Checks()
    if not verify_password(user.password_hash, current or ""):
        checks.fail("current_password", "password_wrong", _("Your current password is not correct."))
    _check_password(checks, "new_password", new, user.email)
    checks.done()
    _set_password(user, new)
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
    # Accounts without a password (the demo's) never could sign in; a reset would open them.
    if user is None or user.is_banned or user.password_hash is None:
        return
    queue_email("password_reset", user.id)


def reset_password(user: User, password: str) -> None:
    """Set the password chosen through a reset link (the registration rules apply).

    Every other session is signed out, and the address counts as confirmed: the link reached it.
    The reset token names the old password hash, so this also spends the link.
    """
    checks = Checks()
    _check_password(checks, "password", password, user.email)
    checks.done()
    _set_password(user, password)
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
