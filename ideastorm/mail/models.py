"""Every email the site sends, one row each: what makes sending exactly once possible."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Date,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..timeutil import utcnow

# notification: one notification emailed at once; digest: a member's day of notifications;
# password_reset and verify_email: the account emails (their link is made when sent); account_exists:
# someone tried to register with the address of an existing account (registration answers the same).
EMAIL_KINDS = ("notification", "digest", "password_reset", "verify_email", "account_exists")


class OutgoingEmail(db.Model):
    __tablename__ = "outgoing_emails"
    __table_args__ = (
        UniqueConstraint("notification_id"),  # a notification is emailed at most once
        UniqueConstraint("user_id", "digest_day"),  # one digest per member and day
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    notification_id: Mapped[int | None] = mapped_column(ForeignKey("notifications.id", ondelete="CASCADE"))
    digest_day: Mapped[date | None] = mapped_column(Date)
    # Fixed when queued, so every attempt sends the same message and a receiver can tell a copy.
    message_id: Mapped[str] = mapped_column(String(255), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Set (and committed) just before the SMTP conversation, cleared when it fails cleanly. A row
    # still "sending" when a worker takes it up again was cut off by a crash: it is not sent
    # again (it may have reached the server) but kept as interrupted, listed and resendable.
    sending_at: Mapped[datetime | None] = mapped_column(DateTime)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)
    interrupted_at: Mapped[datetime | None] = mapped_column(DateTime)
    # Not sent on purpose: the member unsubscribed, was deleted or banned meanwhile.
    skipped_reason: Mapped[str | None] = mapped_column(String(40))
    last_error: Mapped[str | None] = mapped_column(Text)

    def __repr__(self) -> str:
        return f"<OutgoingEmail {self.id} {self.kind} to user {self.user_id}>"
