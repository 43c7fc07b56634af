"""R&D's decisions: status changes with official responses, duplicates, moderation.

Every function here takes plain arguments, records an audit entry and an outbox event in
the transaction of the change, flushes, and raises ``DomainError`` when a rule refuses; the
caller (a view, the CLI, the API or a worker) commits once, so several compose.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import delete, func, select, update

from .. import outbox
from ..notifications.services import forget_moved_followers, move_followers
from ..audit.services import record
from ..comments.models import Comment
from ..domain import DomainError
from ..extensions import db
from ..ideas import counters
from ..ideas.models import Category, Idea, Status, StatusChange
from ..ideas.ranking import recount
from ..ideas.services import MAX_TAGS, announce_new_idea, normalize_tags, tags_named
from ..text import clean_text
from ..timeutil import utcnow
from ..votes.models import Vote
from .models import DuplicateMerge, MergedVote, StaffNote, TriageBatch, TriageBatchItem

RESPONSE_MAX = 10_000
NOTE_MAX = 5_000


def _clean_response(response: str | None) -> str | None:
    response = clean_text(response, multiline=True).strip()
    if len(response) > RESPONSE_MAX:
        raise DomainError("response_too_long",
                          _("An official response can have at most %(n)d characters.", n=RESPONSE_MAX), "response")
    return response or None


def _adjust_implemented(idea: Idea, from_status: str, to_status: str) -> None:
    implemented = Status.IMPLEMENTED.value
    if not idea.is_hidden and (from_status == implemented) != (to_status == implemented):
        counters.adjust(counters.IMPLEMENTED, 1 if to_status == implemented else -1)


def _record_status(actor, idea: Idea, to_status: str, response: str | None) -> StatusChange:
    change = StatusChange(
        idea_id=idea.id, actor_id=actor.id, from_status=idea.status, to_status=to_status, response=response,
    )
    db.session.add(change)
    record(actor, "idea.status", idea, before={"status": idea.status},
           after={"status": to_status, "response": response})
    _adjust_implemented(idea, idea.status, to_status)
    idea.status = to_status
    idea.status_changed_at = utcnow()
    outbox.emit("idea.status_changed", idea_id=idea.id, status=to_status, from_status=change.from_status,
                actor_id=actor.id, response=response)
    return change


def change_status(actor, idea: Idea, status: str, response: str | None = None) -> StatusChange | None:
    """Move ``idea`` to ``status`` with an optional official response (same status: a response only).

    Returns the timeline entry added, or None when there was nothing new to record.
    """
    try:
        target = Status(status)
    except ValueError:
        raise DomainError("status_unknown", _("Unknown status: %(status)s", status=str(status)[:40]),
                          "status") from None
    if target == Status.DUPLICATE:
        raise DomainError("duplicate_needs_original", _("To mark a duplicate, choose the original idea."), "status")
    if idea.status == Status.DUPLICATE.value:
        raise DomainError("is_duplicate", _("This idea is a duplicate: undo that first."), "status", status=409)
    response = _clean_response(response)
    if idea.status == target.value and not response:
        return None
    change = _record_status(actor, idea, target.value, response)
    db.session.flush()
    return change


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


def _check_mergeable(idea: Idea, original: Idea) -> None:
    """The rules of a merge, as the ideas stand now (DomainError on field ``original_id``)."""
    if idea.id == original.id:
        raise DomainError("duplicate_of_itself", _("An idea cannot be a duplicate of itself."), "original_id")
    if idea.status == Status.DUPLICATE.value:
        raise DomainError("is_duplicate", _("This idea is already a duplicate."), "original_id", status=409)
    if original.awaiting_approval:
        raise DomainError("original_awaiting_approval",
                          _("The original is waiting for approval: approve it first."), "original_id", status=409)
    if original.status == Status.DUPLICATE.value:
        raise DomainError("original_is_duplicate",
                          _("The original is itself a duplicate of idea %(id)d: choose that one.",
                            id=original.duplicate_of_id or 0), "original_id")
    has_duplicates = db.session.scalar(select(func.count()).select_from(Idea).where(Idea.duplicate_of_id == idea.id))
    if has_duplicates:
        raise DomainError("has_duplicates",
                          _("Other ideas are duplicates of this one: it cannot become a duplicate itself."),
                          "original_id")


@dataclass(frozen=True)
class MergePreview:
    """What merging an idea into another would do, shown before it is confirmed."""

    votes_moving: int  # votes that move to the original
    votes_set_aside: int  # members who voted on both: their vote on the original is kept
    comments: int  # visible comments; they stay on the duplicate, which links to the original


def merge_preview(idea: Idea, original: Idea) -> MergePreview:
    """Check that ``idea`` may be merged into ``original`` (DomainError if not) and count what it moves."""
    _check_mergeable(idea, original)
    voters_on_original = select(Vote.user_id).where(Vote.idea_id == original.id)
    total = db.session.scalar(select(func.count()).select_from(Vote).where(Vote.idea_id == idea.id)) or 0
    shared = db.session.scalar(select(func.count()).select_from(Vote).where(
        Vote.idea_id == idea.id, Vote.user_id.in_(voters_on_original))) or 0
    return MergePreview(votes_moving=total - shared, votes_set_aside=shared, comments=idea.comment_count)


def mark_duplicate(actor, idea: Idea, original: Idea, response: str | None = None) -> DuplicateMerge:
    """Make ``idea`` a duplicate of ``original``; its votes move there, one per member at most."""
    if idea.id == original.id:
        raise DomainError("duplicate_of_itself", _("An idea cannot be a duplicate of itself."), "original_id")
    _lock(idea, original)
    db.session.refresh(idea)
    db.session.refresh(original)
    _check_mergeable(idea, original)
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
    move_followers(idea.id, original.id, merge.id)
    outbox.emit("idea.voted", idea_id=original.id)
    outbox.emit("idea.merged", idea_id=idea.id, original_id=original.id, actor_id=actor.id, merge_id=merge.id)
    db.session.flush()
    return merge


def undo_duplicate(actor, idea: Idea) -> None:
    """Restore a merged duplicate and its original exactly as they were before the merge."""
    merge = db.session.scalar(
        select(DuplicateMerge).where(DuplicateMerge.idea_id == idea.id, DuplicateMerge.is_active.is_(True))
        .order_by(DuplicateMerge.id.desc())
    )
    if merge is None or idea.status != Status.DUPLICATE.value:
        raise DomainError("not_duplicate", _("This idea is not a duplicate."), status=409)
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
    forget_moved_followers(merge.id)
    outbox.emit("idea.voted", idea_id=original.id)
    db.session.flush()


def set_idea_hidden(actor, idea: Idea, hidden: bool) -> None:
    """Hide an idea from everyone but staff (kept, with its votes and comments), or show it again.

    Showing an idea that waits for approval approves it (so it is announced like any new idea).
    """
    if not hidden and idea.awaiting_approval:
        approve_idea(actor, idea)
        return
    if idea.is_hidden == hidden:
        return
    implemented = idea.status == Status.IMPLEMENTED.value
    counters.idea_changed(was_public=not idea.is_hidden, was_implemented=implemented,
                          is_public=not hidden, is_implemented=implemented)
    record(actor, "idea.hide" if hidden else "idea.unhide", idea, before={"hidden": idea.is_hidden},
           after={"hidden": hidden})
    idea.is_hidden = hidden
    outbox.emit("idea.visibility", idea_id=idea.id, hidden=hidden)
    db.session.flush()


def _check_awaiting(idea: Idea) -> None:
    """Take the idea out of the queue, or refuse: one staff decision per held idea, even when two click at once.

    A guarded UPDATE (rather than the loaded value) decides, so a second approval or a decline racing
    an approval finds nothing left to do instead of counting and announcing the idea twice.
    """
    taken = db.session.execute(
        update(Idea).where(Idea.id == idea.id, Idea.awaiting_approval.is_(True))
        .values(awaiting_approval=False).execution_options(synchronize_session=False)
    ).rowcount
    if not taken:
        raise DomainError("not_awaiting_approval", _("This idea is not waiting for approval."), status=409)


def approve_idea(actor, idea: Idea) -> None:
    """Publish an idea held for approval: counted, indexed and announced as its submission would have been."""
    _check_awaiting(idea)
    record(actor, "idea.approve", idea, before={"hidden": idea.is_hidden, "awaiting_approval": True},
           after={"hidden": False, "awaiting_approval": False})
    idea.is_hidden = False
    idea.awaiting_approval = False
    db.session.flush()
    announce_new_idea(idea)


def reject_idea(actor, idea: Idea) -> None:
    """Decline an idea held for approval: it stays hidden (kept, like any hidden idea) and leaves the queue."""
    _check_awaiting(idea)
    record(actor, "idea.reject", idea, before={"awaiting_approval": True}, after={"awaiting_approval": False})
    idea.awaiting_approval = False
    idea.is_hidden = True
    db.session.flush()


def set_comment_hidden(actor, comment: Comment, hidden: bool) -> None:
    """Hide or show a comment; the idea's comment count counts visible comments only."""
    if comment.is_hidden == hidden:
        return
    record(actor, "comment.hide" if hidden else "comment.unhide", comment, before={"hidden": comment.is_hidden},
           after={"hidden": hidden})
    comment.is_hidden = hidden
    idea = db.session.get(Idea, comment.idea_id)
    idea.comment_count = Idea.comment_count + (-1 if hidden else 1)  # atomic; reloaded after the flush
    outbox.emit("idea.commented", idea_id=comment.idea_id)
    db.session.flush()


def set_comments_locked(actor, idea: Idea, locked: bool) -> None:
    """Close an idea's discussion to members (staff may still comment), or open it again."""
    if idea.comments_locked == locked:
        return
    record(actor, "idea.lock" if locked else "idea.unlock", idea, before={"locked": idea.comments_locked},
           after={"locked": locked})
    idea.comments_locked = locked
    db.session.flush()


def add_note(actor, idea: Idea, body: str) -> StaffNote:
    """A staff-only note on an idea."""
    body = clean_text(body, multiline=True).strip()
    if not body or len(body) > NOTE_MAX:
        raise DomainError("note_length", _("A note has 1 to %(n)d characters.", n=NOTE_MAX), "body")
    note = StaffNote(idea_id=idea.id, author_id=actor.id, body=body)
    db.session.add(note)
    db.session.flush()
    record(actor, "idea.note", idea, after={"note_id": note.id})
    db.session.flush()
    return note


def notes_of(idea: Idea) -> list[StaffNote]:
    return list(db.session.scalars(
        select(StaffNote).where(StaffNote.idea_id == idea.id).order_by(StaffNote.created_at, StaffNote.id)
    ))


def set_banned(actor, user, banned: bool) -> None:
    """Ban or unban a member; a ban signs them out on their next request. Only a higher role may."""
    if user.id == actor.id:
        raise DomainError("ban_self", _("You cannot ban yourself."), status=409)
    if banned and user.role_enum.rank >= actor.role_enum.rank:
        raise DomainError("ban_rank", _("Only an administrator can ban staff, and nobody can ban an administrator."),
                          status=403)
    if user.is_banned == banned:
        return
    record(actor, "user.ban" if banned else "user.unban", user, before={"banned": user.is_banned},
           after={"banned": banned})
    user.is_banned = banned
    db.session.flush()


MAX_BULK = 500


def bulk_apply(actor, idea_ids: list[int], *, status: str | None = None, response: str | None = None,
               category_id: int | None = None, tag: str | None = None) -> TriageBatch:
    """Apply one status (with one shared response), a category and/or a tag to many ideas, all or nothing.

    The batch keeps each idea's state before, so ``undo_batch`` can put them all back.
    """
    unique_ids = list(dict.fromkeys(idea_ids))
    if not unique_ids:
        raise DomainError("nothing_selected", _("Select at least one idea."), "ids")
    if len(unique_ids) > MAX_BULK:
        raise DomainError("too_many_selected", _("At most %(n)d ideas can be changed at once.", n=MAX_BULK), "ids")
    if not (status or category_id or tag):
        raise DomainError("nothing_to_apply", _("Choose a status, a category or a tag to apply."), "status")
    ideas = db.session.scalars(select(Idea).where(Idea.id.in_(unique_ids)).order_by(Idea.id)).unique().all()
    if len(ideas) != len(unique_ids):
        missing = sorted(set(unique_ids) - {i.id for i in ideas})[:10]
        raise DomainError("ideas_missing", _("These ideas do not exist: %(ids)s", ids=", ".join(map(str, missing))),
                          "ids", status=404)
    category = None
    if category_id:
        category = db.session.get(Category, category_id)
        if category is None or category.is_archived:
            raise DomainError("category_invalid", _("Choose one of the categories."), "category")
    tags = tags_named(normalize_tags(tag)[:1]) if tag else []
    batch = TriageBatch(actor_id=actor.id, status=status or None)
    db.session.add(batch)
    order = {idea_id: n for n, idea_id in enumerate(unique_ids)}
    for idea in sorted(ideas, key=lambda i: order[i.id]):  # in the order they were chosen (the queue's)
        item = TriageBatchItem(idea_id=idea.id, previous_status=idea.status,
                               previous_status_changed_at=idea.status_changed_at,
                               previous_category_id=idea.category_id)
        if status:
            change = change_status(actor, idea, status, response)
            item.status_change_id = change.id if change is not None else None
        if category is not None and idea.category_id != category.id:
            record(actor, "idea.category", idea, before={"category_id": idea.category_id},
                   after={"category_id": category.id})
            idea.category = category
            outbox.emit("idea.updated", idea_id=idea.id)
        for new_tag in tags:
            if new_tag not in idea.tags:
                if len(idea.tags) >= MAX_TAGS:
                    raise DomainError("too_many_tags", _("Idea %(id)d already has %(n)d tags.", id=idea.id, n=MAX_TAGS),
                                      "tag")
                record(actor, "idea.tag", idea, after={"tag": new_tag.name})
                idea.tags.append(new_tag)
                item.added_tag_id = new_tag.id
                outbox.emit("idea.updated", idea_id=idea.id)
        item.after_status = idea.status
        item.after_category_id = category.id if category is not None else idea.category_id
        batch.items.append(item)
    db.session.flush()
    last_changes = _last_changes([i.id for i in ideas])
    for item in batch.items:
        item.last_change_id = last_changes.get(item.idea_id)
    record(actor, "triage.bulk", ("batch", batch.id), after={
        "ideas": [item.idea_id for item in batch.items], "status": status or None,
        "response": _clean_response(response) if status else None,
        "category_id": category.id if category is not None else None, "tag": tags[0].name if tags else None,
    })
    db.session.flush()
    return batch


def _last_changes(idea_ids: list[int]) -> dict[int, int]:
    """Each idea's latest timeline entry (status change) id."""
    if not idea_ids:
        return {}
    return dict(db.session.execute(
        select(StatusChange.idea_id, func.max(StatusChange.id)).where(StatusChange.idea_id.in_(idea_ids))
        .group_by(StatusChange.idea_id)
    ).all())


def find_batch(batch_id: int) -> TriageBatch | None:
    """A batch of bulk changes, if it exists."""
    return db.session.get(TriageBatch, batch_id)


@dataclass(frozen=True)
class UndoResult:
    restored: list[Idea]
    skipped: list[Idea]  # changed since the batch: left as they are


def _changed_since(item: TriageBatchItem, idea: Idea, last_change_id: int | None) -> bool:
    return (idea.status != item.after_status or idea.category_id != item.after_category_id
            or last_change_id != item.last_change_id)


def undo_batch(actor, batch: TriageBatch) -> UndoResult:
    """Put every idea of ``batch`` back as it was before it: status, official response, category, tag.

    An idea changed since (another status, response or category) is left as it is and named
    in the result; an undone batch cannot be undone again; nothing to restore is refused.
    """
    db.session.execute(select(TriageBatch.id).where(TriageBatch.id == batch.id).with_for_update())
    db.session.refresh(batch)
    if batch.undone_at is not None:
        raise DomainError("batch_undone", _("This bulk action was already undone."), status=409)
    idea_ids = sorted(item.idea_id for item in batch.items)
    db.session.execute(select(Idea.id).where(Idea.id.in_(idea_ids)).order_by(Idea.id).with_for_update())
    ideas = {i.id: i for i in db.session.scalars(select(Idea).where(Idea.id.in_(idea_ids))).unique()}
    for idea in ideas.values():
        db.session.refresh(idea)
    last_changes = _last_changes(list(ideas))
    restored, skipped = [], []
    for item in batch.items:
        idea = ideas.get(item.idea_id)
        if idea is None:
            continue
        if _changed_since(item, idea, last_changes.get(idea.id)):
            skipped.append(idea)
            continue
        if item.status_change_id is not None:
            change = db.session.get(StatusChange, item.status_change_id)
            if change is not None:
                db.session.delete(change)
            if idea.status != item.previous_status:
                _adjust_implemented(idea, idea.status, item.previous_status)
            record(actor, "idea.status", idea, before={"status": idea.status},
                   after={"status": item.previous_status, "undo_of_batch": batch.id})
            idea.status = item.previous_status
            idea.status_changed_at = item.previous_status_changed_at
            # An undo: the change it takes back leaves the timeline too, so nobody is told of it again.
            outbox.emit("idea.status_changed", idea_id=idea.id, status=idea.status, actor_id=actor.id, undo=True)
        if item.previous_category_id != idea.category_id:
            record(actor, "idea.category", idea, before={"category_id": idea.category_id},
                   after={"category_id": item.previous_category_id, "undo_of_batch": batch.id})
            idea.category_id = item.previous_category_id
            outbox.emit("idea.updated", idea_id=idea.id)
        if item.added_tag_id is not None:
            tag = next((t for t in idea.tags if t.id == item.added_tag_id), None)
            if tag is not None:
                record(actor, "idea.untag", idea, before={"tag": tag.name}, after={"undo_of_batch": batch.id})
                idea.tags.remove(tag)
                outbox.emit("idea.updated", idea_id=idea.id)
        restored.append(idea)
    if not restored:
        raise DomainError("batch_changed",
                          _("Nothing was undone: every idea of this bulk action has changed since."), status=409)
    batch.undone_at = utcnow()
    batch.undone_by_id = actor.id
    record(actor, "triage.bulk_undo", ("batch", batch.id), before={"ideas": [i.id for i in restored]},
           after={"skipped": [i.id for i in skipped]})
    db.session.flush()
    return UndoResult(restored=restored, skipped=skipped)
