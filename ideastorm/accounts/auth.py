"""Flask-Login wiring and password hashing (Argon2id)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import Flask, current_app
from flask_babel import lazy_gettext as _l

from ..extensions import login_manager

HASHER = "ideastorm.password_hasher"


def _hasher() -> PasswordHasher:
    return current_app.extensions[HASHER]


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    if not stored_hash:
        # Spend comparable time so a missing account is not revealed by timing.
        _hasher().hash(password)
        return False
    try:
        return _hasher().verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    """True when the hash was made with other costs than today's (it is redone at the next sign-in)."""
    return _hasher().check_needs_rehash(stored_hash)


def init_app(app: Flask) -> None:
    # Argon2id; the defaults are the library's recommended cost (about 50 ms and 64 MiB per
    # hash). Tests lower them, which makes a sign-in take a millisecond instead of most of a second.
    app.extensions[HASHER] = PasswordHasher(
        time_cost=app.config["ARGON2_TIME_COST"],
        memory_cost=app.config["ARGON2_MEMORY_COST"],
        parallelism=app.config["ARGON2_PARALLELISM"],
    )
    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = _l("Please sign in to continue.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"

    # The id Flask-Login stores names a login session (accounts.sessions): one query loads it
    # with its member, and a remember-me cookie that restores a session gets a new secret.
    from flask_login import user_loaded_from_cookie

    from .sessions import load_user, rotate_remember_token

    login_manager.user_loader(load_user)
    user_loaded_from_cookie.connect(rotate_remember_token, app)
