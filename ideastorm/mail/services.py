"""Queueing email: one ``outgoing_emails`` row per message, sent later by the worker (flush only).

A row is written in the transaction of what it tells (a notification, a sign-up, a reset
request), with its Message-ID fixed there and then, and one ``email.queued`` outbox event names
the new rows; the mailer (``mail.sender``) sends them after the commit. The unique constraints
make queueing idempotent: a notification is emailed at most once, a member gets one digest a
day, so a fan-out that runs twice (its worker killed before it recorded the delivery) queues
nothing new the second time.
"""

from __future__ import annotations

import secrets
from datetime import date
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import select

from .. import outbox
from ..database import insert_ignoring_conflicts
from ..extensions import db
from ..timeutil import utcnow
from .models import EMAIL_KINDS, OutgoingEmail

TOPIC = "email.queued"
# Rows per INSERT: 8 parameters each stays far below SQLite's (32,766) and PostgreSQL's (65,535) limits.
INSERT_CHUNK = 500
_T = OutgoingEmail.__table__


def new_message_id() -> str:
    """A Message-ID of our own domain (the host of BASE_URL), random so it is never reused."""
    host = urlsplit(current_app.config["BASE_URL"]).hostname or "localhost"
    return f"<{secrets.token_hex(16)}@{host}>"


def queue_email(kind: str, user_id: int, *, notification_id: int | None = None,
                digest_day: date | None = None) -> int | None:
    """Queue one email to ``user_id``; its id, or None when that notification or digest is queued already."""
    ids = queue_emails([{"kind": kind, "user_id": user_id, "notification_id": notification_id,
                         "digest_day": digest_day}])
    return ids[0] if ids else None


def queue_emails(rows: list[dict]) -> list[int]:
    """Queue many emails at once (a fan-out to 1,000 followers); the ids of the rows this call added.

    Each row is ``{"kind", "user_id", "notification_id"?, "digest_day"?}``. One multi-row INSERT
    per 500 rows skips those a unique constraint already holds (that notification, that member's
    digest of that day); the new rows are read back by their Message-IDs and named in one
    ``email.queued`` event, in the caller's transaction.
    """
    if not rows:
        return []
    now = utcnow()
    values = []
    for row in rows:
        kind = row["kind"]
        if kind not in EMAIL_KINDS:
            raise ValueError(f"Unknown email kind {kind!r}; the kinds are: {', '.join(EMAIL_KINDS)}")
        values.append({
            "user_id": row["user_id"], "kind": kind, "notification_id": row.get("notification_id"),
            "digest_day": row.get("digest_day"), "message_id": new_message_id(), "created_at": now, "attempts": 0,
        })
    # No conflict target: a row may clash on either unique key (that notification, or that
    # member's digest of that day), and both mean "queued already".
    for start in range(0, len(values), INSERT_CHUNK):
        insert_ignoring_conflicts(_T, values[start:start + INSERT_CHUNK])
    ids = _ids_of([value["message_id"] for value in values])
    if ids:
        outbox.emit(TOPIC, email_ids=ids)
    return ids


def _ids_of(message_ids: list[str]) -> list[int]:
    ids: list[int] = []
    for start in range(0, len(message_ids), INSERT_CHUNK):
        chunk = message_ids[start:start + INSERT_CHUNK]
        ids += db.session.scalars(select(_T.c.id).where(_T.c.message_id.in_(chunk))).all()
    return sorted(ids)


def resend(email_id: int) -> OutgoingEmail:
    """Make an email that was not sent (interrupted, refused, failed) due again, with the same Message-ID.

    The same Message-ID on purpose: an interrupted email may have reached the server, and a
    receiver that got it already can tell the copy. Raises ``LookupError`` for an unknown id and
    ``ValueError`` for an email already sent.
    """
    email = db.session.get(OutgoingEmail, email_id)
    if email is None:
        raise LookupError(email_id)
    if email.sent_at is not None:
        raise ValueError(f"email {email_id} was sent at {email.sent_at:%Y-%m-%d %H:%M:%S} UTC")
    email.sending_at = email.interrupted_at = email.skipped_reason = None
    email.last_error = None
    db.session.flush()
    outbox.emit(TOPIC, email_ids=[email.id])
    return email


def listing(*, interrupted: bool = False, failed: bool = False, limit: int = 100) -> list[OutgoingEmail]:
    """Emails not sent yet, newest first: all of them, or only the interrupted, or only those that failed."""
    query = select(OutgoingEmail).where(OutgoingEmail.sent_at.is_(None))
    if interrupted:
        query = query.where(OutgoingEmail.interrupted_at.is_not(None))
    if failed:
        query = query.where(OutgoingEmail.last_error.is_not(None))
    return list(db.session.scalars(query.order_by(OutgoingEmail.id.desc()).limit(limit)))
