"""Privacy: a member's export and erasure of their data (``/account/export``, ``/account/delete``), and retention."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Have the worker erase network prefixes older than ``VOTE_NETWORK_RETENTION_DAYS``, every hour."""
    from .. import outbox
    from .services import run_retention

    outbox.every_hour(app, "retention", run_retention)
