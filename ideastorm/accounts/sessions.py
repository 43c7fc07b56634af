"""Signing in and out: the one place that starts and ends a member's session.

Every way in (password, reset link, email confirmation, single sign-on) calls ``sign_in``;
logout calls ``sign_out``.
"""

from __future__ import annotations

from flask_login import login_user, logout_user


def sign_in(user, *, remember: bool = False, method: str = "password"):
    """Start a new session for ``user`` in this browser."""
    login_user(user, remember=remember)


def sign_out() -> None:
    """End this browser's session."""
    logout_user()
