from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..timeutil import utcnow


class Status(str, enum.Enum):
    NEW = "new"
    UNDER_REVIEW = "under_review"
    PLANNED = "planned"
    IN_PROGRESS = "in_progress"
    IMPLEMENTED = "implemented"
    DECLINED = "declined"
    DUPLICATE = "duplicate"

    @property
    def open_for_votes(self) -> bool:
        return self not in CLOSED_STATUSES


CLOSED_STATUSES = frozenset({Status.IMPLEMENTED, Status.DECLINED, Status.DUPLICATE})
_STATUS_SQL = ", ".join(f"'{s.value}'" for s in Status)


class Category(db.Model):
    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(80))
    description: Mapped[str] = mapped_column(String(300), default="")
    # The French name and description; None falls back to the English ones.
    name_fr: Mapped[str | None] = mapped_column(String(80))
    description_fr: Mapped[str | None] = mapped_column(String(300))
    position: Mapped[int] = mapped_column(Integer, default=0)
    is_archived: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    def display_name(self, locale: str | None = None) -> str:
        """The name in ``locale`` ("fr", "fr_FR"...), the English one when there is none."""
        if locale and str(locale).startswith("fr") and self.name_fr:
            return self.name_fr
        return self.name

    def display_description(self, locale: str | None = None) -> str:
        if locale and str(locale).startswith("fr") and self.description_fr:
            return self.description_fr
        return self.description or ""

    @property
    def label(self) -> str:
        """The name in the language of the current request (``categories|choices("slug", "label")``)."""
        from flask_babel import get_locale

        return self.display_name(str(get_locale() or ""))

    def __repr__(self) -> str:
        return f"<Category {self.slug}>"


idea_tags = Table(
    "idea_tags",
    db.metadata,
    Column("idea_id", ForeignKey("ideas.id", ondelete="CASCADE"), primary_key=True),
    Column("tag_id", ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Tag(db.Model):
    __tablename__ = "tags"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Tags are normalised to lower case words joined by hyphens.
    name: Mapped[str] = mapped_column(String(40), unique=True)

    def __repr__(self) -> str:
        return f"<Tag {self.name}>"


class Idea(db.Model):
    __tablename__ = "ideas"
    __table_args__ = (
        CheckConstraint(f"status IN ({_STATUS_SQL})", name="status_known"),
        CheckConstraint("promote_count >= 0 AND demote_count >= 0", name="counts_positive"),
        CheckConstraint("score = promote_count - demote_count", name="score_consistent"),
        # Every list sort is served by an index (see ideas/queries.py). Each ends with the id,
        # the sorts' tie-breaker: SQLite appends the rowid to every index by itself, PostgreSQL
        # does not, and without it ties (many ideas with 3 comments) are sorted per request.
        Index("ix_ideas_trending", "trending", "id"),
        Index("ix_ideas_score", "score", "id"),
        Index("ix_ideas_created_at", "created_at", "id"),
        Index("ix_ideas_comment_count", "comment_count", "id"),
        Index("ix_ideas_status_created_at", "status", "created_at", "id"),
        # Roadmap columns (top of a status) and Ideas in Action (newest decisions first).
        Index("ix_ideas_status_score", "status", "score", "id"),
        Index("ix_ideas_status_status_changed_at", "status", "status_changed_at", "id"),
        # The approval queue and its count on every triage page: only the few held ideas.
        Index("ix_ideas_awaiting_approval", "created_at",
              sqlite_where=text("awaiting_approval"), postgresql_where=text("awaiting_approval")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(140))
    description: Mapped[str] = mapped_column(Text)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default=Status.NEW.value)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    status_changed_at: Mapped[datetime | None] = mapped_column(DateTime)

    # Counters kept in the row, changed only by atomic UPDATEs in votes/services.py
    # and comments/services.py, in the transaction that changes what they count.
    promote_count: Mapped[int] = mapped_column(Integer, default=0)
    demote_count: Mapped[int] = mapped_column(Integer, default=0)
    score: Mapped[int] = mapped_column(Integer, default=0)
    comment_count: Mapped[int] = mapped_column(Integer, default=0)
    # Exponentially time-weighted sum of votes; see ideas/ranking.py.
    trending: Mapped[float] = mapped_column(Float, default=0.0)

    is_hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    # Pre-approval: a new member's first idea, held hidden until staff approve it (only its author
    # and staff see it meanwhile); cleared by the approval.
    awaiting_approval: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    comments_locked: Mapped[bool] = mapped_column(Boolean, default=False)
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("ideas.id"), index=True)

    author = relationship("User", lazy="joined", innerjoin=True)
    category = relationship("Category", lazy="joined")
    tags = relationship("Tag", secondary=idea_tags, lazy="selectin", order_by="Tag.name")
    duplicate_of = relationship("Idea", remote_side=[id])
    status_changes = relationship(
        "StatusChange", order_by="StatusChange.created_at, StatusChange.id",
        back_populates="idea", lazy="select", cascade="all, delete-orphan",
    )

    @property
    def status_enum(self) -> Status:
        return Status(self.status)

    @property
    def open_for_votes(self) -> bool:
        return self.status_enum.open_for_votes

    def __repr__(self) -> str:
        return f"<Idea {self.id} {self.title!r}>"


class StatusChange(db.Model):
    """One step of an idea's public timeline: who moved it, from what, to what, and why."""

    __tablename__ = "status_changes"
    __table_args__ = (
        CheckConstraint(f"to_status IN ({_STATUS_SQL})", name="to_status_known"),
        Index("ix_status_changes_idea_id_created_at", "idea_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    idea_id: Mapped[int] = mapped_column(ForeignKey("ideas.id", ondelete="CASCADE"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    response: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    idea = relationship("Idea", back_populates="status_changes")
    actor = relationship("User", lazy="joined")


class SiteCounter(db.Model):
    """A figure visitors read as a fact ("N ideas implemented out of M submitted"), kept exact
    by the services in the transaction of each change (see ``ideas/counters.py``)."""

    __tablename__ = "site_counters"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)
