"""IdeaDocuments from the database, in batches: a fixed number of queries per batch, whatever its size.

Used by the indexer (the ideas named by outbox events), ``search rebuild`` (every idea) and
``search verify`` (every idea, compared with the index). Hidden ideas are never documents.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterator

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..accounts.models import User
from ..comments.models import Comment
from ..ideas.models import Category, Idea, Tag, idea_tags
from .interface import IdeaDocument

BATCH = 2000


def _columns():
    return select(
        Idea.id, Idea.title, Idea.description, Idea.status, Idea.author_id, User.display_name,
        Category.slug, Category.name, Idea.score, Idea.promote_count, Idea.demote_count,
        Idea.comment_count, Idea.created_at, Idea.updated_at,
    ).join(User, User.id == Idea.author_id).outerjoin(Category, Category.id == Idea.category_id)


def _build(session: Session, rows) -> list[IdeaDocument]:
    ids = [row.id for row in rows]
    if not ids:
        return []
    tags: dict[int, list[str]] = defaultdict(list)
    for idea_id, name in session.execute(
        select(idea_tags.c.idea_id, Tag.name).join(Tag, Tag.id == idea_tags.c.tag_id)
        .where(idea_tags.c.idea_id.in_(ids)).order_by(idea_tags.c.idea_id, Tag.name)
    ):
        tags[idea_id].append(name)
    comments: dict[int, list[str]] = defaultdict(list)
    for idea_id, body in session.execute(
        select(Comment.idea_id, Comment.body).where(Comment.idea_id.in_(ids), Comment.is_hidden.is_(False))
        .order_by(Comment.idea_id, Comment.created_at, Comment.id)
    ):
        comments[idea_id].append(body)
    return [
        IdeaDocument(
            id=row.id, title=row.title, description=row.description, tags=tuple(tags[row.id]),
            category_slug=row.slug or "", category_name=row.name or "", status=row.status,
            author_id=row.author_id, author_name=row.display_name, comments="\n\n".join(comments[row.id]),
            score=row.score, promote_count=row.promote_count, demote_count=row.demote_count,
            comment_count=row.comment_count, created_at=row.created_at, updated_at=row.updated_at,
        )
        for row in rows
    ]


def documents_for(session: Session, idea_ids: Collection[int]) -> Iterator[IdeaDocument]:
    """The documents of these ideas that belong in the index (missing and hidden ones are left out)."""
    ordered = sorted(set(idea_ids))
    for start in range(0, len(ordered), BATCH):
        chunk = ordered[start:start + BATCH]
        rows = session.execute(
            _columns().where(Idea.id.in_(chunk), Idea.is_hidden.is_(False)).order_by(Idea.id)
        ).all()
        yield from _build(session, rows)


def all_documents(session: Session, batch: int = BATCH) -> Iterator[IdeaDocument]:
    """Every indexable idea, in id order, ``batch`` at a time (keyset pagination)."""
    last = 0
    while True:
        rows = session.execute(
            _columns().where(Idea.id > last, Idea.is_hidden.is_(False)).order_by(Idea.id).limit(batch)
        ).all()
        if not rows:
            return
        yield from _build(session, rows)
        last = rows[-1].id


def count_indexable(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Idea).where(Idea.is_hidden.is_(False))) or 0


def ideas_in_category(session: Session, category_id: int) -> list[int]:
    return list(session.scalars(select(Idea.id).where(Idea.category_id == category_id)))


def ideas_by_author(session: Session, user_id: int) -> list[int]:
    return list(session.scalars(select(Idea.id).where(Idea.author_id == user_id)))
