"""Following ideas, members' notification settings, and the in-app inbox (flush only; the caller commits).

Who hears of what is decided later, by the worker (``notifications.fanout``): a request only
records the follow, the setting or the read mark.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, select, update

from ..accounts.models import EMAIL_SETTINGS, FREQUENCIES, User
from ..database import insert_ignoring_conflicts
from ..domain import DomainError
from ..extensions import db
from ..ideas.models import Category, Idea
from ..security.permissions import can
from ..timeutil import utcnow
from .models import CategoryWatch, Follow, Notification

# What /account shows for each of accounts.models.FREQUENCIES.
FREQUENCY_LABELS = {"immediate": _l("At once"), "daily": _l("In a daily digest"), "never": _l("Never")}
# Email settings by group: a status change and a merge are both "news about an idea I follow".
EMAIL_SETTING_OF_KIND = {
    "status": "email_status",
    "merge": "email_status",
    "comment": "email_comments",
    "mention": "email_mentions",
    "new_idea": "email_new_ideas",
}
DIGEST = "digest"  # what an unsubscribe from the daily digest names instead of one setting
STAFF_ONLY = ("email_new_ideas",)  # members are never told of new ideas: the setting is not theirs
AUTO_FOLLOW_SETTING = {"submitted": "follow_on_submit", "voted": "follow_on_vote", "commented": "follow_on_comment"}

# "@marie-dupont": a handle (accounts.services.unique_handle) after a space, a line start or
# punctuation, not inside an email address.
MENTION = re.compile(r"(?<![\w@.])@([a-z0-9]+(?:-[a-z0-9]+)*)", re.IGNORECASE)
MAX_MENTIONS = 20  # per comment: a list of every member is not a mention
SUGGESTIONS = 8


# --- following ------------------------------------------------------------------------------

def follow(user, idea: Idea, reason: str = "manual") -> None:
    """``user`` follows ``idea``; nothing changes if they already do."""
    if not getattr(user, "is_authenticated", False) or user.is_banned:
        raise DomainError("follow_needs_member", _("Sign in to follow an idea."), status=403)
    if not can(user, "view_idea", idea):
        raise DomainError("idea_not_found", _("There is no such idea."), status=404)
    insert_ignoring_conflicts(Follow.__table__, [_follow_row(user.id, idea.id, reason)], ["user_id", "idea_id"])


def unfollow(user, idea: Idea) -> None:
    """``user`` stops following ``idea`` (nothing happens if they did not)."""
    if not can(user, "view_idea", idea):
        raise DomainError("idea_not_found", _("There is no such idea."), status=404)
    db.session.execute(delete(Follow).where(Follow.user_id == user.id, Follow.idea_id == idea.id))


def follow_automatically(user, idea_id: int, reason: str) -> None:
    """The follow that comes with submitting, voting or commenting, unless the member turned it off.

    One INSERT that ignores an existing follow: the member's setting is on their row, already
    loaded, so the vote (the busiest write of the site) pays a single statement for it.
    """
    if getattr(user, AUTO_FOLLOW_SETTING[reason]):
        insert_ignoring_conflicts(Follow.__table__, [_follow_row(user.id, idea_id, reason)], ["user_id", "idea_id"])


def _follow_row(user_id: int, idea_id: int, reason: str) -> dict:
    return {"user_id": user_id, "idea_id": idea_id, "reason": reason, "created_at": utcnow()}


def follow_state(user, idea_id: int) -> tuple[bool, int]:
    """Whether ``user`` follows the idea, and how many do: the idea page's control, in one query."""
    member_id = user.id if getattr(user, "is_authenticated", False) else None
    count, own = db.session.execute(
        select(func.count(), func.count().filter(Follow.user_id == member_id)).where(Follow.idea_id == idea_id)
    ).one()
    return bool(own), count or 0


def followed_among(user, ideas: Iterable[Idea]) -> set[int]:
    """Which of ``ideas`` ``user`` follows, in one query (empty for visitors), as ``votes.services.votes_of``."""
    ids = [idea.id for idea in ideas]
    if not ids or not getattr(user, "is_authenticated", False):
        return set()
    return set(db.session.scalars(select(Follow.idea_id).where(Follow.user_id == user.id, Follow.idea_id.in_(ids))))


def follower_count(idea_id: int) -> int:
    return follow_state(None, idea_id)[1]


def move_followers(duplicate_id: int, original_id: int, merge_id: int) -> None:
    """The duplicate's followers follow the original too; those follows carry the merge, so an undo removes them."""
    already = select(Follow.user_id).where(Follow.idea_id == original_id)
    now = utcnow()
    rows = [
        {"user_id": user_id, "idea_id": original_id, "reason": "merged", "merge_id": merge_id, "created_at": now}
        for user_id in db.session.scalars(
            select(Follow.user_id).where(Follow.idea_id == duplicate_id, Follow.user_id.not_in(already)))
    ]
    insert_ignoring_conflicts(Follow.__table__, rows, ["user_id", "idea_id"])


def forget_moved_followers(merge_id: int) -> None:
    db.session.execute(delete(Follow).where(Follow.merge_id == merge_id))


# --- settings -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Preferences:
    follow_on_submit: bool
    follow_on_vote: bool
    follow_on_comment: bool
    email_status: str
    email_comments: str
    email_mentions: str
    email_new_ideas: str | None  # ignored for members (STAFF_ONLY)
    watched_category_ids: tuple[int, ...] = ()


def preferences_of(user) -> Preferences:
    return Preferences(
        follow_on_submit=user.follow_on_submit, follow_on_vote=user.follow_on_vote,
        follow_on_comment=user.follow_on_comment,
        **{name: getattr(user, name) for name in EMAIL_SETTINGS},
        watched_category_ids=tuple(watched_categories(user.id)) if user.is_staff else (),
    )


def save_preferences(user, preferences: Preferences) -> None:
    """Store what the member chose on /account; new-idea emails and category watches are for staff only."""
    settings = EMAIL_SETTINGS if user.is_staff else tuple(name for name in EMAIL_SETTINGS if name not in STAFF_ONLY)
    for name in settings:
        if getattr(preferences, name) not in FREQUENCIES:
            raise DomainError("frequency_unknown", _("Choose how often you are emailed."), name)
    user.follow_on_submit = bool(preferences.follow_on_submit)
    user.follow_on_vote = bool(preferences.follow_on_vote)
    user.follow_on_comment = bool(preferences.follow_on_comment)
    for name in settings:
        setattr(user, name, getattr(preferences, name))
    if user.is_staff:
        _watch_categories(user.id, preferences.watched_category_ids)
    db.session.flush()


def stop_emails(user_id: int, setting: str) -> User | None:
    """The one-click unsubscribe: one email setting to "never"; the member, or None if gone.

    ``DIGEST`` stops the daily digest, which gathers every kind set to "daily": those become "never".
    """
    if setting not in (*EMAIL_SETTINGS, DIGEST):
        raise DomainError("frequency_unknown", _("This unsubscribe link is not valid."), status=404)
    user = db.session.get(User, user_id)
    if user is not None:
        names = [name for name in EMAIL_SETTINGS if getattr(user, name) == "daily"] if setting == DIGEST else [setting]
        for name in names:
            setattr(user, name, "never")
        db.session.flush()
    return user


def watched_categories(user_id: int) -> list[int]:
    return list(db.session.scalars(select(CategoryWatch.category_id).where(CategoryWatch.user_id == user_id)))


def _watch_categories(user_id: int, category_ids: Iterable[int]) -> None:
    wanted = set(category_ids)
    known = set(db.session.scalars(select(Category.id).where(
        Category.id.in_(wanted), Category.is_archived.is_(False)))) if wanted else set()
    if wanted - known:
        raise DomainError("category_unknown", _("Choose among the listed categories."), "watched_categories")
    db.session.execute(delete(CategoryWatch).where(CategoryWatch.user_id == user_id,
                                                   CategoryWatch.category_id.not_in(known)))
    insert_ignoring_conflicts(CategoryWatch.__table__, [{"user_id": user_id, "category_id": c} for c in known],
                              ["user_id", "category_id"])


# --- the inbox ------------------------------------------------------------------------------

def unread_count(user) -> int:
    """The header's badge: what the inbox shows unread (a partial index holds only unread rows).

    Filtered like the inbox, so content hidden after the fact neither shows in the count nor
    leaves a badge the member cannot clear.
    """
    if not getattr(user, "is_authenticated", False):
        return 0
    unread = (visible_inbox_query(user).with_only_columns(Notification.id)
              .where(Notification.read_at.is_(None)).order_by(None))
    return db.session.scalar(select(func.count()).select_from(unread.subquery())) or 0


def inbox_query(user):
    """``user``'s notifications, newest first (paginate it)."""
    return select(Notification).where(Notification.user_id == user.id).order_by(Notification.id.desc())


def notification_of(user, notification_id: int | None) -> Notification:
    notification = db.session.get(Notification, notification_id) if notification_id else None
    if notification is None or notification.user_id != user.id:
        raise DomainError("notification_not_found", _("There is no such notification."), status=404)
    return notification


def mark_read(user, notification_id: int | None) -> Notification:
    notification = notification_of(user, notification_id)
    if notification.read_at is None:
        notification.read_at = utcnow()
        db.session.flush()
    return notification


def mark_all_read(user) -> int:
    done = db.session.execute(update(Notification).where(
        Notification.user_id == user.id, Notification.read_at.is_(None)).values(read_at=utcnow()))
    return done.rowcount or 0


# --- mentions -------------------------------------------------------------------------------

def mentioned_handles(text: str | None) -> list[str]:
    """The handles ``text`` mentions, lower case, each once, in order; at most MAX_MENTIONS."""
    seen: dict[str, None] = {}
    for match in MENTION.finditer(text or ""):
        seen.setdefault(match.group(1).lower(), None)
        if len(seen) >= MAX_MENTIONS:
            break
    return list(seen)


def members_by_handle(handles: Iterable[str]) -> list[User]:
    handles = [h.lower() for h in handles]
    if not handles:
        return []
    return list(db.session.scalars(select(User).where(User.handle.in_(handles), User.is_banned.is_(False))))


def suggest_members(prefix: str, limit: int = SUGGESTIONS) -> list[User]:
    """Members whose handle or name starts with ``prefix`` (the mention autocomplete), shortest first."""
    prefix = (prefix or "").strip().lstrip("@").lower()[:40]
    if not prefix:
        return []
    like = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    query = (
        select(User)
        .where(User.is_banned.is_(False), User.handle.is_not(None),
               (User.handle.like(like, escape="\\")) | (func.lower(User.display_name).like(like, escape="\\")))
        .order_by(func.length(User.handle), User.handle)
        .limit(limit)
    )
    return list(db.session.scalars(query))


# --- the inbox as shown (added for /notifications) -------------------------------------------
# A notification is about an idea (and for comments and mentions, a comment) that may have been
# hidden since it was made: the fan-out never notifies of hidden content, but moderation can
# come later, and the inbox must not then show a hidden title to anyone but staff.

@dataclass(frozen=True)
class InboxItem:
    notification: Notification
    idea: Idea
    comment: object | None = None  # comments.models.Comment
    actor: User | None = None
    original: Idea | None = None  # a merge: the idea it was merged into


def visible_inbox_query(user):
    """``inbox_query`` without what is about hidden content, unless ``user`` is staff."""
    from ..comments.models import Comment

    query = inbox_query(user)
    if can(user, "moderate"):
        return query
    return (query.join(Idea, Idea.id == Notification.idea_id).where(Idea.is_hidden.is_(False))
            .outerjoin(Comment, Comment.id == Notification.comment_id)
            .where((Notification.comment_id.is_(None)) | (Comment.is_hidden.is_(False))))


def inbox_items(user, notifications: Iterable[Notification]) -> list[InboxItem]:
    """``notifications`` with their ideas, comments and actors: three reads, whatever their number.

    A merge into an idea the reader may not see is left out (its title would show).
    """
    from sqlalchemy.orm import lazyload

    from ..comments.models import Comment

    notifications = list(notifications)
    idea_ids = {n.idea_id for n in notifications} | {original_id_of(n) for n in notifications if original_id_of(n)}
    ideas = {idea.id: idea for idea in db.session.scalars(
        select(Idea).options(lazyload(Idea.tags)).where(Idea.id.in_(idea_ids)))} if idea_ids else {}
    comment_ids = {n.comment_id for n in notifications if n.comment_id}
    comments = {c.id: c for c in db.session.scalars(
        select(Comment).where(Comment.id.in_(comment_ids)))} if comment_ids else {}
    actor_ids = {n.actor_id for n in notifications if n.actor_id}
    actors = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(actor_ids)))} if actor_ids else {}
    staff = can(user, "moderate")
    items = []
    for n in notifications:
        idea = ideas.get(n.idea_id)
        original = ideas.get(original_id_of(n)) if n.kind == "merge" else None
        if idea is None or (n.kind == "merge" and original is None):
            continue
        if n.kind == "merge" and not can(user, "view_idea", original):
            continue
        comment = comments.get(n.comment_id) if n.comment_id else None
        if not staff and (idea.is_hidden or (comment is not None and comment.is_hidden)):
            continue  # already filtered by visible_inbox_query; kept here for any other caller
        items.append(InboxItem(n, idea, comment, actors.get(n.actor_id), original))
    return items


def original_id_of(notification: Notification) -> int | None:
    """The idea a merge notification's idea was merged into (None for other kinds)."""
    if notification.kind != "merge":
        return None
    raw = (notification.data or {}).get("original_id")
    return raw if isinstance(raw, int) and not isinstance(raw, bool) else None  # written by the fan-out

