"""Rules for comments (flush and raise ``DomainError``; the caller commits)."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import delete, select

from .. import outbox
from ..accounts.services import require_confirmed_email
from ..notifications.services import follow_automatically
from ..domain import Checks, DomainError
from ..extensions import db
from ..ideas.models import Idea
from ..security.permissions import can
from ..text import checked
from ..timeutil import utcnow
from .models import Comment

BODY_MAX = 5_000


def _checked_body(body: str | None) -> str:
    """The comment text, stripped and normalised; a DomainError on the ``body`` field when refused."""
    checks = Checks()
    body = checked(checks, "body", body, multiline=True, maximum=BODY_MAX, required=_("A comment cannot be empty."),
                   too_long=_("A comment has at most %(n)d characters.", n=BODY_MAX))
    checks.done()
    return body


def add_comment(author, idea: Idea, body: str) -> Comment:
    """Append a comment and count it on the idea, in the caller's transaction; its author follows the idea."""
    require_confirmed_email(author)
    body = _checked_body(body)
    comment = Comment(idea_id=idea.id, author_id=author.id, body=body)
    db.session.add(comment)
    idea.comment_count = Idea.comment_count + 1  # an atomic UPDATE; the attribute reloads after the flush
    db.session.flush()
    follow_automatically(author, idea.id, "commented")
    outbox.emit("idea.commented", idea_id=idea.id, comment_id=comment.id, actor_id=author.id)
    return comment


def check_own_comment(user, comment: Comment) -> Idea:
    """Refuse unless ``user`` may still change ``comment``: theirs, shown, and on an idea they may comment on.

    Returns the comment's idea. Staff keep their moderation (hide) for other people's comments.
    """
    if not getattr(user, "is_authenticated", False) or comment.author_id != user.id:
        raise DomainError("not_comment_author", _("Only its author may change a comment."), status=403)
    if comment.is_hidden:
        raise DomainError("comment_hidden", _("A hidden comment cannot be changed."), status=409)
    idea = db.session.get(Idea, comment.idea_id)
    if not can(user, "comment", idea):
        if idea.comments_locked:
            raise DomainError("comments_locked",
                              _("Comments are closed on this idea: yours can no longer be changed."), status=409)
        raise DomainError("cannot_comment", _("You cannot change this comment."), status=403)
    return idea


def edit_comment(user, comment: Comment, body: str) -> Comment:
    """The author rewrites their comment; the idea's search text follows (same rules as posting)."""
    check_own_comment(user, comment)
    body = _checked_body(body)
    if body != comment.body:
        now = utcnow()
        comment.body, comment.edited_at, comment.updated_at = body, now, now
        db.session.flush()
        # No comment_id: that names a new comment; this only refreshes the idea's text (search).
        outbox.emit("idea.commented", idea_id=comment.idea_id, change="edited")
    return comment


def delete_comment(user, comment: Comment) -> None:
    """The author removes their comment for good; the idea counts one visible comment less."""
    idea = check_own_comment(user, comment)
    # One statement that says whether this request removed it: two deletes racing count it once.
    removed = db.session.execute(
        delete(Comment).where(Comment.id == comment.id, Comment.is_hidden.is_(False))
        .execution_options(synchronize_session=False)
    ).rowcount
    if comment in db.session:
        db.session.expunge(comment)  # gone from the database: the session forgets it too
    if not removed:
        raise DomainError("comment_gone", _("This comment is already deleted."), status=404)
    idea.comment_count = Idea.comment_count - 1  # atomic, as when posting; only visible comments are counted
    db.session.flush()
    outbox.emit("idea.commented", idea_id=idea.id, change="deleted")


def visible_comments(idea: Idea, *, include_hidden: bool = False) -> list[Comment]:
    """The idea's comments, oldest first (newest last)."""
    query = select(Comment).where(Comment.idea_id == idea.id)
    if not include_hidden:
        query = query.where(Comment.is_hidden.is_(False))
    return list(db.session.scalars(query.order_by(Comment.created_at, Comment.id)))
