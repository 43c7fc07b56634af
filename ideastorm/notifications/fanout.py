"""Events become notifications: the outbox subscriber ``notifications`` (run by the worker only).

A status change, a new comment, a merge or a new idea is one outbox event written with the
change; this handler turns it into one Notification per recipient and, for those who want it at
once, one queued email (sent by the ``mailer`` subscriber, see ``ideastorm.mail``). 1,000
followers are one INSERT of notifications and one of emails, here, never in the request that
changed the status.

Who is told: the idea's followers, never the member who acted, never banned members, and nobody
at all for a hidden idea or comment. A comment's ``@handle`` mentions tell those members (with a
"mention", which replaces the "comment" notification they would get as followers). A new idea
tells the staff who watch its category.

Running twice is harmless (a worker killed after the commit and before the delivery is marked):
a notification is unique per (event, recipient, kind) and an email per notification.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select

from .. import outbox
from ..accounts.models import User
from ..comments.models import Comment
from ..database import insert_ignoring_conflicts
from ..extensions import db
from ..ideas.models import Idea, Status
from ..mail.services import queue_emails
from ..roles import Role
from .models import CategoryWatch, Follow, Notification
from .services import EMAIL_SETTING_OF_KIND, members_by_handle, mentioned_handles

SUBSCRIBER = "notifications"
TOPICS = ("idea.status_changed", "idea.commented", "idea.merged", "idea.created")
STAFF_ROLES = (Role.STAFF.value, Role.ADMIN.value)


def handle(event: outbox.Event) -> None:
    """Record the notifications (and queued emails) ``event`` calls for, in one transaction."""
    try:
        fan_out(event)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise


def fan_out(event: outbox.Event) -> int:
    """The notifications of one event (flushed, not committed); how many recipients it found."""
    payload = event.payload
    idea = db.session.get(Idea, int(payload["idea_id"]))
    if idea is None or idea.is_hidden:
        return 0
    actor_id = payload.get("actor_id")
    if event.topic == "idea.status_changed":
        # A merge says more than "now a duplicate"; an undone bulk change takes itself back.
        if payload.get("status") == Status.DUPLICATE.value or payload.get("undo"):
            return 0
        data = {"from": payload.get("from_status"), "to": payload.get("status"), "response": payload.get("response")}
        return _notify(event, "status", idea, _followers(idea.id), actor_id, data=data)
    if event.topic == "idea.commented":
        comment = db.session.get(Comment, int(payload["comment_id"])) if payload.get("comment_id") else None
        if comment is None or comment.is_hidden:  # an edit or a deletion, or hidden since
            return 0
        actor_id = comment.author_id
        mentioned = {user.id for user in members_by_handle(mentioned_handles(comment.body))}
        told = _notify(event, "mention", idea, mentioned, actor_id, comment_id=comment.id)
        return told + _notify(event, "comment", idea, _followers(idea.id) - mentioned, actor_id,
                              comment_id=comment.id)
    if event.topic == "idea.merged":
        return _notify(event, "merge", idea, _followers(idea.id), actor_id,
                       data={"original_id": int(payload["original_id"])})
    if event.topic == "idea.created":
        watchers = select(CategoryWatch.user_id).where(CategoryWatch.category_id == idea.category_id)
        staff = set(db.session.scalars(select(User.id).where(User.id.in_(watchers), User.role.in_(STAFF_ROLES))))
        return _notify(event, "new_idea", idea, staff, actor_id or idea.author_id)
    return 0


def _followers(idea_id: int) -> set[int]:
    return set(db.session.scalars(select(Follow.user_id).where(Follow.idea_id == idea_id)))


def _notify(event: outbox.Event, kind: str, idea: Idea, recipients: Iterable[int], actor_id: int | None, *,
            comment_id: int | None = None, data: dict | None = None) -> int:
    """One notification per recipient (the actor and banned members left out), and the emails due at once."""
    wanted = set(recipients) - {actor_id}
    if not wanted:
        return 0
    setting = getattr(User, EMAIL_SETTING_OF_KIND[kind])
    frequencies = dict(db.session.execute(
        select(User.id, setting).where(User.id.in_(wanted), User.is_banned.is_(False))).all())
    day = event.created_at.date()
    insert_ignoring_conflicts(Notification.__table__, [
        {"user_id": user_id, "kind": kind, "idea_id": idea.id, "comment_id": comment_id, "actor_id": actor_id,
         "event_id": event.id, "data": data or {}, "created_at": event.created_at,
         "digest_day": day if frequency == "daily" else None}
        for user_id, frequency in frequencies.items()
    ], ["event_id", "user_id", "kind"])
    at_once = [user_id for user_id, frequency in frequencies.items() if frequency == "immediate"]
    if at_once:
        made = db.session.execute(select(Notification.id, Notification.user_id).where(
            Notification.event_id == event.id, Notification.kind == kind, Notification.user_id.in_(at_once)))
        queue_emails([{"kind": "notification", "user_id": user_id, "notification_id": notification_id}
                      for notification_id, user_id in made])
    return len(frequencies)
