from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Integer, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..timeutil import utcnow


class StaffNote(db.Model):
    """An internal note on an idea: staff only, never shown to members nor in the API."""

    __tablename__ = "staff_notes"
    __table_args__ = (Index("ix_staff_notes_idea_id_created_at", "idea_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    idea_id: Mapped[int] = mapped_column(ForeignKey("ideas.id", ondelete="CASCADE"))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    author = relationship("User", lazy="joined")


class DuplicateMerge(db.Model):
    """Marking ``idea`` a duplicate of ``original``: what it was, so that undo restores it exactly."""

    __tablename__ = "duplicate_merges"
    __table_args__ = (
        Index("ix_duplicate_merges_idea_id", "idea_id"),
        Index("ix_duplicate_merges_original_id", "original_id"),  # the original's timeline
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    idea_id: Mapped[int] = mapped_column(ForeignKey("ideas.id", ondelete="CASCADE"))
    original_id: Mapped[int] = mapped_column(ForeignKey("ideas.id", ondelete="CASCADE"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    previous_status: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    undone_at: Mapped[datetime | None] = mapped_column(DateTime)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)

    votes = relationship("MergedVote", cascade="all, delete-orphan", lazy="selectin")


class MergedVote(db.Model):
    """A vote the duplicate had when it was merged, and whether it moved to the original."""

    __tablename__ = "merged_votes"

    id: Mapped[int] = mapped_column(primary_key=True)
    merge_id: Mapped[int] = mapped_column(ForeignKey("duplicate_merges.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    value: Mapped[int] = mapped_column(SmallInteger)
    voted_at: Mapped[datetime] = mapped_column(DateTime)
    # False: the member had voted on the original too; that vote was kept and this one set aside.
    moved: Mapped[bool] = mapped_column(Boolean)


class TriageBatch(db.Model):
    """One bulk action from the triage queue, kept so that it can be undone as a whole, once."""

    __tablename__ = "triage_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    status: Mapped[str | None] = mapped_column(String(20))  # the status applied, if any
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    undone_at: Mapped[datetime | None] = mapped_column(DateTime)
    undone_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    items = relationship("TriageBatchItem", cascade="all, delete-orphan", lazy="selectin",
                         order_by="TriageBatchItem.id")


class TriageBatchItem(db.Model):
    """One idea of a batch: what it was before, and what the batch made of it (to tell a later change)."""

    __tablename__ = "triage_batch_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("triage_batches.id", ondelete="CASCADE"), index=True)
    idea_id: Mapped[int] = mapped_column(ForeignKey("ideas.id", ondelete="CASCADE"), index=True)
    previous_status: Mapped[str] = mapped_column(String(20))
    previous_status_changed_at: Mapped[datetime | None] = mapped_column(DateTime)
    previous_category_id: Mapped[int | None] = mapped_column(Integer)
    # The status change the batch added (its official response with it), and the tag it added.
    status_change_id: Mapped[int | None] = mapped_column(Integer)
    added_tag_id: Mapped[int | None] = mapped_column(Integer)
    # The idea right after the batch: a different status, category or newer status change means it changed since.
    after_status: Mapped[str] = mapped_column(String(20))
    after_category_id: Mapped[int | None] = mapped_column(Integer)
    last_change_id: Mapped[int | None] = mapped_column(Integer)

    idea = relationship("Idea", lazy="joined")
