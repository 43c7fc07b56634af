"""The idea page, composed: the idea, its timeline, comments, the member's vote and the staff panel.

The ideas, comments and triage views all render ``ideas/show.html`` (a comment refused,
a status form with an error); they build its context here, so no feature's routes import
another's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import abort
from flask_login import current_user
from sqlalchemy import select

from ..comments.forms import CommentForm
from ..comments.services import visible_comments
from ..extensions import db
from ..notifications.services import follow_state
from ..search.suggest import duplicate_candidates
from ..security.permissions import can
from ..triage.forms import DuplicateForm, NoteForm, StatusForm
from ..triage.models import DuplicateMerge
from ..triage.services import notes_of
from ..votes.services import votes_of
from ..web import get_or_404
from .models import Idea, Status, StatusChange


def visible_idea(idea_id: int) -> Idea:
    """The idea, or 404 when it does not exist or is hidden from the current user."""
    idea = get_or_404(Idea, idea_id)
    if not can(current_user, "view_idea", idea):
        abort(404)  # hidden ideas do not exist for the public
    return idea


def staff_context(idea: Idea) -> dict:
    """What the staff panel on an idea's page needs."""
    is_duplicate = idea.status == Status.DUPLICATE.value
    return {
        "duplicate_candidates": duplicate_candidates(idea),
        "status_form": StatusForm(formdata=None, status=Status.NEW.value if is_duplicate else idea.status),
        "duplicate_form": DuplicateForm(formdata=None),
        "note_form": NoteForm(formdata=None),
        "notes": notes_of(idea),
    }


@dataclass(frozen=True)
class TimelineEntry:
    """One moment of an idea's life: ``kind`` is "submitted", "status" (a StatusChange) or "merged"
    (another idea merged into this one)."""

    kind: str
    at: datetime
    change: StatusChange | None = None
    merged: Idea | None = None


def timeline_of(idea: Idea, history: list[StatusChange]) -> list[TimelineEntry]:
    """The idea's timeline, oldest first: submission, status changes with their responses, merges."""
    entries = [TimelineEntry("submitted", idea.created_at)]
    entries += [TimelineEntry("status", change.created_at, change=change) for change in history]
    # Most ideas have no duplicate: a narrow indexed read first, the duplicates only when there are some.
    merged = db.session.execute(
        select(DuplicateMerge.id)
        .where(DuplicateMerge.original_id == idea.id, DuplicateMerge.is_active.is_(True))
    ).scalars().all()
    merges = db.session.execute(
        select(DuplicateMerge, Idea).join(Idea, Idea.id == DuplicateMerge.idea_id)
        .where(DuplicateMerge.id.in_(merged))
    ).all() if merged else []
    entries += [TimelineEntry("merged", merge.created_at, merged=duplicate)
                for merge, duplicate in merges if can(current_user, "view_idea", duplicate)]
    return sorted(entries, key=lambda entry: entry.at)


def latest_response(history: list[StatusChange]) -> StatusChange | None:
    """The newest status change that came with an official response."""
    return next((change for change in reversed(history) if (change.response or "").strip()), None)


def idea_page_context(idea: Idea, comment_form: CommentForm | None = None, **forms) -> dict:
    """Everything ideas/show.html (and its fragments) needs; ``forms`` replace the staff panel's blank ones."""
    history = db.session.scalars(
        select(StatusChange).where(StatusChange.idea_id == idea.id)
        .order_by(StatusChange.created_at, StatusChange.id)
    ).all()
    following, followers = follow_state(current_user, idea.id)
    context = {
        "idea": idea,
        "timeline": timeline_of(idea, history),
        "latest_response": latest_response(history),
        "comments": visible_comments(idea, include_hidden=can(current_user, "moderate")),
        "comment_form": comment_form or CommentForm(formdata=None),
        "my_votes": votes_of(current_user, [idea]),
        "following": following,
        "follower_count": followers,
    }
    if can(current_user, "triage"):
        context.update(staff_context(idea))
    context.update(forms)
    return context
