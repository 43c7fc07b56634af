"""Accounts: registration, signing in and out, login sessions, passwords, email confirmation."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """The worker's hourly job that deletes the login sessions ended over a week ago (after outbox.init_app)."""
    from .. import outbox
    from .sessions import prune

    outbox.every_hour(app, "login-sessions", prune)
