"""Signed unsubscribe links: the token names a member and the email setting it turns off.

No expiry: an unsubscribe link must keep working in an email read a year later, and all it can
do is stop emails. A purpose of its own (the salt) keeps it from being any other token.
``DIGEST`` stands for the daily digest: following it turns every setting that is "daily" to
"never" (``notifications.services.stop_emails``).
"""

from __future__ import annotations

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer

from ..notifications.services import DIGEST, EMAIL_SETTINGS

SALT = "ideastorm.unsubscribe"
SETTINGS = (*EMAIL_SETTINGS, DIGEST)


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def make_unsubscribe_token(user_id: int, setting: str) -> str:
    if setting not in SETTINGS:
        raise ValueError(f"Unknown email setting {setting!r}")
    return _serializer().dumps([int(user_id), setting])


def read_unsubscribe_token(token: str) -> tuple[int, str] | None:
    """(member id, setting) named by a genuine token; None for a forged or malformed one."""
    try:
        user_id, setting = _serializer().loads(str(token or ""))
    except (BadSignature, TypeError, ValueError):
        return None
    if not isinstance(user_id, int) or setting not in SETTINGS:
        return None
    return user_id, setting
