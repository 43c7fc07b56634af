"""R&D's decisions: status changes with official responses, duplicates, moderation.

Every function here takes plain arguments, records an audit entry and an outbox event in
the same transaction as the change, and commits once: a view, the CLI, the API or a worker
all call the same rule.
"""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import delete, func, select, update

from .. import outbox
from ..audit.services import record
from ..comments.models import Comment
from ..extensions import db
from ..ideas.models import Idea, Status, StatusChange
from ..ideas.ranking import recount
from ..timeutil import utcnow
from ..votes.models import Vote
from .models import DuplicateMerge, MergedVote, StaffNote

RESPONSE_MAX = 10_000
NOTE_MAX = 5_000


class TriageError(ValueError):
    """A rule refused the action; the message is for the staff member. ``code`` is the HTTP status."""

    def __init__(self, message: str, code: int = 422):
        super().__init__(message)
        self.code = code


def _clean_response(response: str | None) -> str | None:
    response = (response or "").strip()
    if len(response) > RESPONSE_MAX:
        raise TriageError(_("An official response can have at most %(n)d characters.", n=RESPONSE_MAX))
    return response or None


def _record_status(actor, idea: Idea, to_status: str, response: str | None) -> None:
    db.session.add(StatusChange(
        idea_id=idea.id, actor_id=actor.id, from_status=idea.status, to_status=to_status, response=response,
    ))
    record(actor, "idea.status", idea, before={"status": idea.status},
           after={"status": to_status, "response": response})
    idea.status = to_status
    idea.status_changed_at = utcnow()
    outbox.emit("idea.status_changed", idea_id=idea.id, status=to_status)


def change_status(actor, idea: Idea, status: str, response: str | None = None, *, commit: bool = True) -> None:
    """Move ``idea`` to ``status`` with an optional official response (same status: a response only)."""
    try:
        target = Status(status)
    except ValueError:
        raise TriageError(_("Unknown status: %(status)s", status=str(status)[:40])) from None
    if target == Status.DUPLICATE:
        raise TriageError(_("To mark a duplicate, choose the original idea."))
    if idea.status == Status.DUPLICATE.value:
        raise TriageError(_("This idea is a duplicate: undo that first."), code=409)
    response = _clean_response(response)
    if idea.status == target.value and not response:
        return
    _record_status(actor, idea, target.value, response)
    if commit:
        db.session.commit()


def recount_idea(idea_id: int) -> None:
    """Set an idea's vote counters from its stored votes (used after votes move between ideas)."""
    votes = db.session.execute(select(Vote.value, Vote.voted_at).where(Vote.idea_id == idea_id)).all()
    created_at = db.session.scalar(select(Idea.created_at).where(Idea.id == idea_id))
    promotes = sum(1 for value, _ in votes if value == 1)
    demotes = len(votes) - promotes
    db.session.execute(
        update(Idea).where(Idea.id == idea_id).values(
            promote_count=promotes, demote_count=demotes, score=promotes - demotes,
            trending=recount(created_at, [(value, at) for value, at in votes]),
        ).execution_options(synchronize_session=False)
    )


def _lock(*ideas: Idea) -> None:
    """Serialise merges touching these ideas (row locks on PostgreSQL; SQLite has one writer)."""
    ids = sorted(i.id for i in ideas)
    db.session.execute(select(Idea.id).where(Idea.id.in_(ids)).order_by(Idea.id).with_for_update())


def mark_duplicate(actor, idea: Idea, original: Idea, response: str | None = None) -> DuplicateMerge:
    """Make ``idea`` a duplicate of ``original``; its votes move there, one per member at most."""
    if idea.id == original.id:
        raise TriageError(_("An idea cannot be a duplicate of itself."))
    _lock(idea, original)
    db.session.refresh(idea)
    db.session.refresh(original)
    if idea.status == Status.DUPLICATE.value:
        raise TriageError(_("This idea is already a duplicate."), code=409)
    if original.status == Status.DUPLICATE.value:
        raise TriageError(_("The original is itself a duplicate of idea %(id)d: choose that one.",
                            id=original.duplicate_of_id or 0))
    has_duplicates = db.session.scalar(select(func.count()).select_from(Idea).where(Idea.duplicate_of_id == idea.id))
    if has_duplicates:
        raise TriageError(_("Other ideas are duplicates of this one: it cannot become a duplicate itself."))
    response = _clean_response(response)

    merge = DuplicateMerge(idea_id=idea.id, original_id=original.id, actor_id=actor.id,
                           previous_status=idea.status)
    db.session.add(merge)
    voters_on_original = set(db.session.scalars(select(Vote.user_id).where(Vote.idea_id == original.id)))
    for vote in db.session.scalars(select(Vote).where(Vote.idea_id == idea.id)).all():
        moved = vote.user_id not in voters_on_original
        merge.votes.append(MergedVote(user_id=vote.user_id, value=vote.value, voted_at=vote.voted_at, moved=moved))
        if moved:
            vote.idea_id = original.id
        else:
            db.session.delete(vote)
    db.session.flush()
    recount_idea(idea.id)
    recount_idea(original.id)
    idea.duplicate_of_id = original.id
    _record_status(actor, idea, Status.DUPLICATE.value, response)
    record(actor, "idea.merge", idea, before={"status": merge.previous_status},
           after={"duplicate_of": original.id, "votes_moved": sum(v.moved for v in merge.votes)})
    outbox.emit("idea.voted", idea_id=original.id)
    db.session.commit()
    return merge


def undo_duplicate(actor, idea: Idea) -> None:
    """Restore a merged duplicate and its original exactly as they were before the merge."""
    merge = db.session.scalar(
        select(DuplicateMerge).where(DuplicateMerge.idea_id == idea.id, DuplicateMerge.is_active.is_(True))
        .order_by(DuplicateMerge.id.desc())
    )
    if merge is None or idea.status != Status.DUPLICATE.value:
        raise TriageError(_("This idea is not a duplicate."), code=409)
    original = db.session.get(Idea, merge.original_id)
    _lock(idea, original)
    moved_users = [v.user_id for v in merge.votes if v.moved]
    if moved_users:
        db.session.execute(delete(Vote).where(Vote.idea_id == original.id, Vote.user_id.in_(moved_users)))
    db.session.flush()
    for saved in merge.votes:
        db.session.add(Vote(idea_id=idea.id, user_id=saved.user_id, value=saved.value, voted_at=saved.voted_at))
    db.session.flush()
    recount_idea(idea.id)
    recount_idea(original.id)
    merge.is_active = False
    merge.undone_at = utcnow()
    idea.duplicate_of_id = None
    _record_status(actor, idea, merge.previous_status, None)
    record(actor, "idea.unmerge", idea, before={"duplicate_of": original.id}, after={"status": merge.previous_status})
    outbox.emit("idea.voted", idea_id=original.id)
    db.session.commit()


def set_idea_hidden(actor, idea: Idea, hidden: bool) -> None:
    if idea.is_hidden == hidden:
        return
    record(actor, "idea.hide" if hidden else "idea.unhide", idea, before={"hidden": idea.is_hidden},
           after={"hidden": hidden})
    idea.is_hidden = hidden
    outbox.emit("idea.visibility", idea_id=idea.id, hidden=hidden)
    db.session.commit()


def set_comment_hidden(actor, comment: Comment, hidden: bool) -> None:
    """Hide or show a comment; the idea's comment count counts visible comments only."""
    if comment.is_hidden == hidden:
        return
    record(actor, "comment.hide" if hidden else "comment.unhide", comment, before={"hidden": comment.is_hidden},
           after={"hidden": hidden})
    comment.is_hidden = hidden
    db.session.execute(
        update(Idea).where(Idea.id == comment.idea_id)
        .values(comment_count=Idea.comment_count + (-1 if hidden else 1))
        .execution_options(synchronize_session=False)
    )
    outbox.emit("idea.commented", idea_id=comment.idea_id)
    db.session.commit()


def set_comments_locked(actor, idea: Idea, locked: bool) -> None:
    if idea.comments_locked == locked:
        return
    record(actor, "idea.lock" if locked else "idea.unlock", idea, before={"locked": idea.comments_locked},
           after={"locked": locked})
    idea.comments_locked = locked
    db.session.commit()


def add_note(actor, idea: Idea, body: str) -> StaffNote:
    body = (body or "").strip()
    if not body or len(body) > NOTE_MAX:
        raise TriageError(_("A note has 1 to %(n)d characters.", n=NOTE_MAX))
    note = StaffNote(idea_id=idea.id, author_id=actor.id, body=body)
    db.session.add(note)
    db.session.flush()
    record(actor, "idea.note", idea, after={"note_id": note.id})
    db.session.commit()
    return note


def notes_of(idea: Idea) -> list[StaffNote]:
    return list(db.session.scalars(
        select(StaffNote).where(StaffNote.idea_id == idea.id).order_by(StaffNote.created_at, StaffNote.id)
    ))


def set_banned(actor, user, banned: bool) -> None:
    """Ban or unban a member; a ban signs them out on their next request. Only a higher role may."""
    if user.id == actor.id:
        raise TriageError(_("You cannot ban yourself."), code=409)
    if banned and user.role_enum.rank >= actor.role_enum.rank:
        raise TriageError(_("Only an administrator can ban staff, and nobody can ban an administrator."), code=403)
    if user.is_banned == banned:
        return
    record(actor, "user.ban" if banned else "user.unban", user, before={"banned": user.is_banned},
           after={"banned": banned})
    user.is_banned = banned
    db.session.commit()


MAX_BULK = 500


def bulk_apply(actor, idea_ids: list[int], *, status: str | None = None, response: str | None = None,
               category_id: int | None = None, tag: str | None = None) -> int:
    """Apply one status (with one shared response), a category and/or a tag to many ideas, all or nothing."""
    from ..ideas.models import Category
    from ..ideas.services import IdeaError, _tags_named, normalize_tags

    unique_ids = list(dict.fromkeys(idea_ids))
    if not unique_ids:
        raise TriageError(_("Select at least one idea."))
    if len(unique_ids) > MAX_BULK:
        raise TriageError(_("At most %(n)d ideas can be changed at once.", n=MAX_BULK))
    if not (status or category_id or tag):
        raise TriageError(_("Choose a status, a category or a tag to apply."))
    ideas = db.session.scalars(select(Idea).where(Idea.id.in_(unique_ids)).order_by(Idea.id)).unique().all()
    if len(ideas) != len(unique_ids):
        missing = sorted(set(unique_ids) - {i.id for i in ideas})[:10]
        raise TriageError(_("These ideas do not exist: %(ids)s", ids=", ".join(map(str, missing))), code=404)
    category = None
    if category_id:
        category = db.session.get(Category, category_id)
        if category is None or category.is_archived:
            raise TriageError(_("Choose one of the categories."))
    tags = []
    if tag:
        try:
            tags = _tags_named(normalize_tags(tag)[:1])
        except IdeaError as error:
            raise TriageError(str(error)) from None
    try:
        for idea in ideas:
            if status:
                change_status(actor, idea, status, response, commit=False)
            if category is not None and idea.category_id != category.id:
                record(actor, "idea.category", idea, before={"category_id": idea.category_id},
                       after={"category_id": category.id})
                idea.category = category
                outbox.emit("idea.updated", idea_id=idea.id)
            for new_tag in tags:
                if new_tag not in idea.tags:
                    if len(idea.tags) >= 5:
                        raise TriageError(_("Idea %(id)d already has 5 tags.", id=idea.id))
                    record(actor, "idea.tag", idea, after={"tag": new_tag.name})
                    idea.tags.append(new_tag)
                    outbox.emit("idea.updated", idea_id=idea.id)
    except TriageError:
        db.session.rollback()
        raise
    db.session.commit()
    return len(ideas)
