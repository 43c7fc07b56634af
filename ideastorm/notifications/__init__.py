"""Following ideas and notifications: who hears of what, in the app and by email."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the fan-out (an outbox subscriber): events become notifications and queued emails."""
    from .. import outbox
    from . import digest, fanout

    outbox.subscribe(app, fanout.SUBSCRIBER, fanout.TOPICS, fanout.handle)
    hour = int(app.config["DIGEST_HOUR_UTC"])
    outbox.every_hour(app, "digests", lambda now: digest.run_daily(now, hour))
