"""The triage queue: ideas awaiting a decision, with staff filters."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Select, func, select

from ..extensions import db
from ..ideas.models import Category, Idea, Status, Tag
from ..ideas.queries import ideas_query
from ..timeutil import utcnow

AWAITING = (Status.NEW.value, Status.UNDER_REVIEW.value)
QUEUE_SORTS = {
    "oldest": (Idea.created_at.asc(), Idea.id.asc()),
    "newest": (Idea.created_at.desc(), Idea.id.desc()),
    "score": (Idea.score.desc(), Idea.id.asc()),
    "comments": (Idea.comment_count.desc(), Idea.id.asc()),
}


def queue_query(*, sort: str = "oldest", status: str | None = None, category: Category | None = None,
                tag: Tag | None = None, min_age_days: int | None = None, min_score: int | None = None) -> Select:
    query = ideas_query("new", category=category, tag=tag, include_hidden=True).order_by(None)
    query = query.where(Idea.awaiting_approval.is_(False))  # held ideas have their own queue (approval_query)
    query = query.where(Idea.status == status) if status else query.where(Idea.status.in_(AWAITING))
    if min_age_days:
        query = query.where(Idea.created_at <= utcnow() - timedelta(days=min_age_days))
    if min_score is not None:
        query = query.where(Idea.score >= min_score)
    return query.order_by(*QUEUE_SORTS[sort])


def queue_total(query: Select) -> int:
    """How many ideas the queue's filters match (the awaiting ideas are few enough to count)."""
    return db.session.scalar(query.with_only_columns(func.count(Idea.id)).order_by(None)) or 0


def approval_query() -> Select:
    """Ideas held for approval (new members' first ideas), oldest first: the order they came in."""
    query = ideas_query("new", include_hidden=True).order_by(None).where(Idea.awaiting_approval.is_(True))
    return query.order_by(Idea.created_at.asc(), Idea.id.asc())


def approval_total() -> int:
    """How many ideas wait for approval (few: the queue is emptied by staff)."""
    return db.session.scalar(
        select(func.count(Idea.id)).where(Idea.awaiting_approval.is_(True))
    ) or 0
