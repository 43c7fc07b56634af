"""Account rules, shared by the web views and the CLI."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..timeutil import utcnow
from .auth import hash_password, needs_rehash, verify_password
from .models import Role, User

MIN_PASSWORD_LENGTH = 10


class AccountError(ValueError):
    """A rule was broken; the message is meant for the user. ``field`` names the culprit."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


def normalize_email(email: str) -> str:
    return email.strip().lower()


def email_taken(email: str) -> bool:
    return db.session.scalar(select(func.count()).where(User.email == normalize_email(email))) > 0


def create_user(email: str, display_name: str, password: str | None, role: Role = Role.MEMBER) -> User:
    """Create an account; emails are unique whatever their case. Commits."""
    from flask_babel import gettext as _

    user = User(
        email=normalize_email(email),
        display_name=display_name.strip(),
        password_hash=hash_password(password) if password else None,
        role=Role(role).value,
    )
    db.session.add(user)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise AccountError(_("An account with this email already exists."), field="email") from None
    return user


@dataclass
class LoginResult:
    user: User | None
    banned: bool = False


def authenticate(email: str, password: str) -> LoginResult:
    """Check credentials; a banned member is refused even with the right password."""
    user = db.session.scalar(select(User).where(User.email == normalize_email(email)))
    if not verify_password(user.password_hash if user else None, password):
        return LoginResult(None)
    if user.is_banned:
        return LoginResult(None, banned=True)
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    db.session.commit()
    return LoginResult(user)


def update_profile(user: User, display_name: str, locale: str | None) -> None:
    from .. import outbox

    if user.display_name != display_name.strip():
        outbox.emit("user.updated", user_id=user.id)  # their ideas show the author's name
    user.display_name = display_name.strip()
    user.locale = locale or None
    db.session.commit()


def change_password(user: User, current: str, new: str) -> None:
    from flask_babel import gettext as _

    if not verify_password(user.password_hash, current):
        raise AccountError(_("Your current password is not correct."), field="current_password")
    user.password_hash = hash_password(new)
    db.session.commit()
