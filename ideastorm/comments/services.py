"""Rules for comments."""

from __future__ import annotations

from sqlalchemy import select, update

from .. import outbox
from ..extensions import db
from ..ideas.models import Idea
from .models import Comment

BODY_MAX = 5_000


def add_comment(author, idea: Idea, body: str) -> Comment:
    """Append a comment and count it on the idea, in one transaction. Commits."""
    comment = Comment(idea_id=idea.id, author_id=author.id, body=body.strip())
    db.session.add(comment)
    db.session.execute(
        update(Idea).where(Idea.id == idea.id).values(comment_count=Idea.comment_count + 1)
        .execution_options(synchronize_session=False)
    )
    db.session.flush()
    outbox.emit("idea.commented", idea_id=idea.id, comment_id=comment.id)
    db.session.commit()
    return comment


def visible_comments(idea: Idea, *, include_hidden: bool = False) -> list[Comment]:
    """The idea's comments, oldest first (newest last)."""
    query = select(Comment).where(Comment.idea_id == idea.id)
    if not include_hidden:
        query = query.where(Comment.is_hidden.is_(False))
    return list(db.session.scalars(query.order_by(Comment.created_at, Comment.id)))
