from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, SmallInteger, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..timeutil import utcnow


class Vote(db.Model):
    __tablename__ = "votes"
    __table_args__ = (
        # One vote per member per idea, enforced by the database.
        UniqueConstraint("idea_id", "user_id"),
        CheckConstraint("value IN (-1, 1)", name="value_is_promote_or_demote"),
        Index("ix_votes_user_id", "user_id"),
        # Covering: period leaderboards and monthly stats never visit the table.
        Index("ix_votes_voted_at", "voted_at", "idea_id", "value"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    idea_id: Mapped[int] = mapped_column(ForeignKey("ideas.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    value: Mapped[int] = mapped_column(SmallInteger)
    # When the current value was cast (reset when the member changes it).
    voted_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # The voter's network, truncated (/24 IPv4, /48 IPv6), for the vote-integrity report;
    # erased after the retention period. None for votes cast outside a web request.
    ip_prefix: Mapped[str | None] = mapped_column(String(45))
