"""Who follows which idea, and what each member was told."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..timeutil import utcnow

# Why a member follows an idea.
FOLLOW_REASONS = ("manual", "submitted", "voted", "commented", "merged")
# What a notification tells: a status change (with the official response), a new comment, the
# idea merged into another, a mention in a comment, a new idea in a category a staff member watches.
KINDS = ("status", "comment", "merge", "mention", "new_idea")

UNREAD_SQL = "read_at IS NULL"


class Follow(db.Model):
    __tablename__ = "follows"
    __table_args__ = (
        UniqueConstraint("user_id", "idea_id"),
        Index("ix_follows_idea_id", "idea_id"),  # the fan-out reads every follower of one idea
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    idea_id: Mapped[int] = mapped_column(ForeignKey("ideas.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(String(12), default="manual")
    # Set when the follow came with a merged duplicate: undoing that merge takes it away again.
    merge_id: Mapped[int | None] = mapped_column(ForeignKey("duplicate_merges.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<Follow user {self.user_id} idea {self.idea_id} ({self.reason})>"


class CategoryWatch(db.Model):
    """A staff member told of every new idea in this category."""

    __tablename__ = "category_watches"
    __table_args__ = (UniqueConstraint("user_id", "category_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id", ondelete="CASCADE"), index=True)


class Notification(db.Model):
    __tablename__ = "notifications"
    __table_args__ = (
        # One per recipient and event: the fan-out may run twice (a worker killed mid-batch).
        UniqueConstraint("event_id", "user_id", "kind"),
        Index("ix_notifications_user_id_id", "user_id", "id"),  # /notifications, newest first
        Index("ix_notifications_unread", "user_id",
              sqlite_where=text(UNREAD_SQL), postgresql_where=text(UNREAD_SQL)),  # the header's count
        Index("ix_notifications_digest", "digest_day", "user_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(12))
    idea_id: Mapped[int] = mapped_column(ForeignKey("ideas.id", ondelete="CASCADE"))
    comment_id: Mapped[int | None] = mapped_column(ForeignKey("comments.id", ondelete="CASCADE"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    event_id: Mapped[int] = mapped_column(Integer)  # the outbox event it came from
    # What the message says beyond the ids: {"status": ..., "response": ...}, {"original_id": ...}.
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(DateTime)
    # The (UTC) day whose digest email carries it; None when it is emailed at once or not at all.
    digest_day: Mapped[date | None] = mapped_column(Date)

    def __repr__(self) -> str:
        return f"<Notification {self.id} {self.kind} to {self.user_id}>"
