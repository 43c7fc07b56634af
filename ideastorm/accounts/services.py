"""Account rules, shared by the web views and the CLI (they flush and raise ``DomainError``; callers commit)."""

from __future__ import annotations

from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import gettext as _
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


def create_user(email: str, display_name: str, password: str | None, role: Role | str = Role.MEMBER) -> User:
    """Create an account; emails are unique whatever their case. ``password=None``: cannot sign in (demo)."""
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
    user = User(email=email, display_name=display_name,
                password_hash=hash_password(password) if password is not None else None, role=role.value)
    try:
        with db.session.begin_nested():  # a concurrent identical sign-up loses here, not at commit
            db.session.add(user)
    except IntegrityError:
        raise taken from None
    return user


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


def change_password(user: User, current: str, new: str) -> None:
    """Set a new password after checking the current one."""
    checks = Checks()
    if not verify_password(user.password_hash, current or ""):
        checks.fail("current_password", "password_wrong", _("Your current password is not correct."))
    _check_password(checks, "new_password", new, user.email)
    checks.done()
    user.password_hash = hash_password(new)
    db.session.flush()
