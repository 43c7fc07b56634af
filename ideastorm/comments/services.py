"""Rules for comments (flush and raise ``DomainError``; the caller commits)."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select

from .. import outbox
from ..domain import Checks
from ..extensions import db
from ..ideas.models import Idea
from .models import Comment

BODY_MAX = 5_000


def add_comment(author, idea: Idea, body: str) -> Comment:
    """Append a comment and count it on the idea, in the caller's transaction."""
    checks = Checks()
    body = checks.text("body", body, maximum=BODY_MAX, required=_("A comment cannot be empty."),
                       too_long=_("A comment has at most %(n)d characters.", n=BODY_MAX))
    checks.done()
    comment = Comment(idea_id=idea.id, author_id=author.id, body=body)
    db.session.add(comment)
    idea.comment_count = Idea.comment_count + 1  # an atomic UPDATE; the attribute reloads after the flush
    db.session.flush()
    outbox.emit("idea.commented", idea_id=idea.id, comment_id=comment.id)
    return comment


def visible_comments(idea: Idea, *, include_hidden: bool = False) -> list[Comment]:
    """The idea's comments, oldest first (newest last)."""
    query = select(Comment).where(Comment.idea_id == idea.id)
    if not include_hidden:
        query = query.where(Comment.is_hidden.is_(False))
    return list(db.session.scalars(query.order_by(Comment.created_at, Comment.id)))
