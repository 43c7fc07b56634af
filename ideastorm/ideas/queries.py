"""Statements that list ideas; each sort is served by an index on ideas."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from sqlalchemy import Select, select

from ..extensions import db
from .models import Category, Idea, Tag, idea_tags

SORTS = {
    "trending": (Idea.trending.desc(), Idea.id.desc()),
    "top": (Idea.score.desc(), Idea.id.desc()),
    "new": (Idea.created_at.desc(), Idea.id.desc()),
    "discussed": (Idea.comment_count.desc(), Idea.id.desc()),
}
DEFAULT_SORT = "trending"


def ideas_query(
    sort: str = DEFAULT_SORT,
    *,
    status: str | None = None,
    category: Category | None = None,
    tag: Tag | None = None,
    author_id: int | None = None,
    include_hidden: bool = False,
) -> Select:
    """Ideas filtered and sorted; callers add limit/offset or count it."""
    query = select(Idea)
    if not include_hidden:
        query = query.where(Idea.is_hidden.is_(False))
    if status:
        query = query.where(Idea.status == status)
    if category is not None:
        query = query.where(Idea.category_id == category.id)
    if tag is not None:
        query = query.where(Idea.id.in_(select(idea_tags.c.idea_id).where(idea_tags.c.tag_id == tag.id)))
    if author_id is not None:
        query = query.where(Idea.author_id == author_id)
    return query.order_by(*SORTS[sort])


@dataclass
class Page:
    items: Sequence[Idea]
    number: int
    per_page: int
    has_next: bool

    @property
    def has_prev(self) -> bool:
        return self.number > 1


def paginate(query: Select, page: int, per_page: int) -> Page:
    """One page, without a COUNT over the whole backlog: fetch one extra row to know if more exist."""
    rows = db.session.scalars(query.limit(per_page + 1).offset((page - 1) * per_page)).unique().all()
    return Page(items=rows[:per_page], number=page, per_page=per_page, has_next=len(rows) > per_page)


def active_categories() -> list[Category]:
    return list(
        db.session.scalars(
            select(Category).where(Category.is_archived.is_(False)).order_by(Category.position, Category.name)
        )
    )


def category_by_slug(slug: str) -> Category | None:
    return db.session.scalar(select(Category).where(Category.slug == slug))


def tag_by_name(name: str) -> Tag | None:
    return db.session.scalar(select(Tag).where(Tag.name == name))
