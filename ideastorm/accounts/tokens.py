"""Signed links in account emails: a password reset (an hour, single use) and an email confirmation.

Each token is signed with the app's secret key and a purpose of its own (a reset token is no
confirmation token), and carries a fingerprint of what it may change: a reset token names the
password hash it was made for, so it stops working the moment a password is set (single use,
and every older reset link dies with it); a confirmation token names the address, so it does
not confirm an email the member has changed since.
"""

from __future__ import annotations

import hashlib
import hmac

from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer

from ..extensions import db
from .models import User

RESET = "ideastorm.password-reset"
CONFIRM = "ideastorm.email-confirm"


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=purpose)


def _fingerprint(*parts: object) -> str:
    key = str(current_app.config["SECRET_KEY"]).encode()
    message = "\x1f".join(str(part) for part in parts).encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:24]


def _reset_fingerprint(user: User) -> str:
    return _fingerprint("reset", user.id, user.password_hash or "", user.session_version)


def _confirm_fingerprint(user: User) -> str:
    return _fingerprint("confirm", user.id, user.email)


def make_reset_token(user: User) -> str:
    return _serializer(RESET).dumps({"u": user.id, "f": _reset_fingerprint(user)})


def make_confirm_token(user: User) -> str:
    return _serializer(CONFIRM).dumps({"u": user.id, "f": _confirm_fingerprint(user)})


def _user_for(token: str, purpose: str, max_age: int, fingerprint) -> User | None:
    try:
        data = _serializer(purpose).loads(str(token or ""), max_age=max_age)
        user = db.session.get(User, int(data["u"]))
    except (BadSignature, KeyError, TypeError, ValueError):  # expired, forged, malformed
        return None
    if user is None or user.is_banned or not hmac.compare_digest(str(data.get("f", "")), fingerprint(user)):
        return None
    return user


def user_for_reset_token(token: str) -> User | None:
    """The member a reset link is for, or None: expired (an hour), used, forged or for a banned member."""
    return _user_for(token, RESET, int(current_app.config["PASSWORD_RESET_MAX_AGE"]), _reset_fingerprint)


def user_for_confirm_token(token: str) -> User | None:
    """The member a confirmation link is for, or None when it is expired, forged or for another address."""
    return _user_for(token, CONFIRM, int(current_app.config["EMAIL_CONFIRM_MAX_AGE"]), _confirm_fingerprint)
