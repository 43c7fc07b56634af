"""The daily digest: a member's notifications of one (UTC) day, gathered into one email.

A notification meant for a digest carries its day (``digest_day``, set by the fan-out for members
who chose "daily" for its kind). ``queue_digests(day)`` queues one digest email per member with
notifications that day and no digest for it yet: the unique (member, day) of the email queue makes
it idempotent, however often the worker's schedule or cron runs it. The worker runs it every day
after DIGEST_HOUR_UTC for the day before, catching up the week before should it have been down.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import and_, exists, select

from ..extensions import db
from ..mail.models import OutgoingEmail
from ..mail.services import queue_emails
from .models import Notification

CATCH_UP_DAYS = 7


def queue_digests(day: date, *, catch_up: int = 1) -> int:
    """Queue the digests of ``day`` (and of the ``catch_up - 1`` days before) not queued yet; how many."""
    first = day - timedelta(days=max(catch_up, 1) - 1)
    already = exists().where(and_(OutgoingEmail.user_id == Notification.user_id,
                                  OutgoingEmail.digest_day == Notification.digest_day))
    due = db.session.execute(
        select(Notification.user_id, Notification.digest_day)
        .where(Notification.digest_day >= first, Notification.digest_day <= day, ~already)
        .distinct().order_by(Notification.digest_day, Notification.user_id)
    ).all()
    queue_emails([{"kind": "digest", "user_id": user_id, "digest_day": digest_day} for user_id, digest_day in due])
    return len(due)


def digest_day_due(now: datetime, hour: int) -> date | None:
    """The day whose digests are due at ``now`` (UTC): yesterday once ``hour`` has passed, else the day before."""
    today = now.date()
    return today - timedelta(days=1) if now.hour >= hour else today - timedelta(days=2)


def run_daily(now: datetime, hour: int) -> int:
    """The worker's daily job: the digests due now, with the week before caught up; committed."""
    day = digest_day_due(now, hour)
    queued = queue_digests(day, catch_up=CATCH_UP_DAYS)
    db.session.commit()
    return queued
