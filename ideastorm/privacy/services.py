"""A member's rights over their data: a copy of all of it, and its erasure; and how long the site keeps it.

``export_member`` gathers everything the site holds about one member as a JSON-ready dict.
``delete_member`` erases a member in one transaction: their votes (the ideas' counters move back
by exactly those votes), follows, watches, notifications, emails, sessions and sign-on identities
go; the account row stays under "Deleted member" with every personal field erased, so the ideas
and comments others read and answered keep an author. ``erase_old_networks`` is the hourly
retention job. Like every service they flush and never commit (except the scheduled job, which
runs outside any request); the caller commits.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import delete, func, select, update

from .. import outbox
from ..accounts.auth import verify_password
from ..accounts.models import EMAIL_SETTINGS, LoginSession, User, UserIdentity
from ..accounts.services import normalize_email
from ..audit.services import record
from ..comments.models import Comment
from ..domain import DomainError
from ..extensions import db
from ..ideas.models import Category, Idea
from ..ideas.ranking import vote_delta
from ..mail.links import absolute
from ..mail.models import OutgoingEmail
from ..notifications.models import CategoryWatch, Follow, Notification
from ..roles import Role
from ..timeutil import utcnow
from ..triage.models import MergedVote
from ..votes.models import Vote

# What a deleted member's row shows wherever their ideas and comments appear (the pages, the
# search index, the feeds): stored as it is, so every place that prints a name prints this one.
DELETED_NAME = "Deleted member"
DELETED_EMAIL_DOMAIN = "deleted.invalid"  # RFC 2606: a domain that can never receive mail
FOLLOW_SETTINGS = ("follow_on_submit", "follow_on_vote", "follow_on_comment")


def iso(moment: datetime | None) -> str | None:
    """A stored (naive UTC) timestamp as ISO 8601 with its zone: ``2026-12-01T17:09:14Z``."""
    return moment.replace(microsecond=0).isoformat() + "Z" if moment else None


# Export ---------------------------------------------------------------------------------


def export_member(user: User) -> dict[str, Any]:
    """Everything the site stores about ``user``, ready for ``json.dumps``; nothing about anyone else.

    Other members appear only as the ids of the ideas this member wrote, voted on or followed.
    """
    return {
        "format": "ideastorm-export/1",
        "exported_at": iso(utcnow()),
        "profile": _profile(user),
        "ideas": _ideas(user.id),
        "comments": _comments(user.id),
        "votes": [
            {"idea_id": idea_id, "value": value, "voted_at": iso(voted_at)}
            for idea_id, value, voted_at in db.session.execute(
                select(Vote.idea_id, Vote.value, Vote.voted_at).where(Vote.user_id == user.id).order_by(Vote.id))
        ],
        "follows": [
            {"idea_id": idea_id, "reason": reason, "created_at": iso(created_at)}
            for idea_id, reason, created_at in db.session.execute(
                select(Follow.idea_id, Follow.reason, Follow.created_at).where(Follow.user_id == user.id)
                .order_by(Follow.id))
        ],
        "watched_categories": list(db.session.scalars(
            select(Category.slug).join(CategoryWatch, CategoryWatch.category_id == Category.id)
            .where(CategoryWatch.user_id == user.id).order_by(Category.slug))),
        "notifications": [
            {"kind": kind, "idea_id": idea_id, "comment_id": comment_id, "created_at": iso(created_at),
             "read_at": iso(read_at)}
            for kind, idea_id, comment_id, created_at, read_at in db.session.execute(
                select(Notification.kind, Notification.idea_id, Notification.comment_id, Notification.created_at,
                       Notification.read_at).where(Notification.user_id == user.id).order_by(Notification.id))
        ],
        "login_sessions": [
            {"created_at": iso(row.created_at), "last_seen_at": iso(row.last_seen_at), "method": row.method,
             "remember_me": row.remember, "user_agent": row.user_agent, "network": row.ip_prefix,
             "expires_at": iso(row.expires_at), "revoked_at": iso(row.revoked_at)}
            for row in db.session.scalars(
                select(LoginSession).where(LoginSession.user_id == user.id).order_by(LoginSession.id))
        ],
        "sign_on_identities": [
            {"provider": row.provider, "email": row.email, "created_at": iso(row.created_at),
             "last_login_at": iso(row.last_login_at)}
            for row in db.session.scalars(
                select(UserIdentity).where(UserIdentity.user_id == user.id).order_by(UserIdentity.id))
        ],
        # The names of the member's API tokens: the JSON API, which brings the tokens, fills this in.
        "api_tokens": [],
        "emails": [
            {"kind": row.kind, "queued_at": iso(row.created_at), "sent_at": iso(row.sent_at),
             "status": email_status(row)}
            for row in db.session.scalars(
                select(OutgoingEmail).where(OutgoingEmail.user_id == user.id).order_by(OutgoingEmail.id))
        ],
    }


def _profile(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "email": user.email,
        "display_name": user.display_name,
        "handle": user.handle,
        "language": user.locale,
        "role": user.role,
        "created_at": iso(user.created_at),
        "last_login_at": iso(user.last_login_at),
        "email_confirmed_at": iso(user.email_verified_at),
        "has_password": user.password_hash is not None,
        "banned": user.is_banned,
        "signup_network": user.signup_ip_prefix,
        "follow_automatically": {name: getattr(user, name) for name in FOLLOW_SETTINGS},
        "email_notifications": {name: getattr(user, name) for name in EMAIL_SETTINGS},
    }


def _ideas(user_id: int) -> list[dict[str, Any]]:
    ideas = db.session.scalars(select(Idea).where(Idea.author_id == user_id).order_by(Idea.id)).all()
    return [
        {"id": idea.id, "title": idea.title, "description": idea.description, "status": idea.status,
         "category": idea.category.slug if idea.category else None, "tags": [tag.name for tag in idea.tags],
         "hidden": idea.is_hidden, "created_at": iso(idea.created_at), "updated_at": iso(idea.updated_at),
         "url": absolute("ideas.show", idea_id=idea.id)}
        for idea in ideas
    ]


def _comments(user_id: int) -> list[dict[str, Any]]:
    rows = db.session.execute(
        select(Comment.id, Comment.idea_id, Comment.body, Comment.is_hidden, Comment.created_at, Comment.edited_at)
        .where(Comment.author_id == user_id).order_by(Comment.id))
    return [
        {"id": row.id, "idea_id": row.idea_id, "body": row.body, "hidden": row.is_hidden,
         "created_at": iso(row.created_at), "edited_at": iso(row.edited_at),
         "url": absolute("ideas.show", f"comment-{row.id}", idea_id=row.idea_id)}
        for row in rows
    ]


def email_status(email: OutgoingEmail) -> str:
    """One word for where an email stands: sent, waiting, sending, interrupted or not_sent."""
    if email.sent_at:
        return "sent"
    if email.interrupted_at:
        return "interrupted"
    if email.skipped_reason:
        return "not_sent"
    return "sending" if email.sending_at else "waiting"


# Deletion -------------------------------------------------------------------------------


def check_deletion_confirmation(user: User, confirmation: str | None) -> None:
    """Refuse (422) unless ``confirmation`` is the member's password, or their email for an account without one."""
    confirmation = confirmation or ""
    if user.password_hash is not None:
        if not verify_password(user.password_hash, confirmation):
            raise DomainError("password_wrong", _("Your password is not correct."), "confirmation")
    elif normalize_email(confirmation) != user.email:
        raise DomainError("email_mismatch", _("Type the email address of your account exactly."), "confirmation")


def delete_account(user: User, confirmation: str | None) -> None:
    """A member deleting their own account from the web: the confirmation checked, then ``delete_member``."""
    check_deletion_confirmation(user, confirmation)
    delete_member(user)


def delete_member(user: User) -> None:
    """Erase ``user``'s personal data; their ideas and comments stay, authored by "Deleted member".

    One transaction (the caller commits): their votes are removed and each idea's counters move
    back by exactly those votes (``cast_vote``'s arithmetic, so leaderboards and ``votes verify``
    agree); their follows, category watches, notifications, emails (sent or waiting), login
    sessions and sign-on identities are deleted; the row keeps its id with every personal field
    erased, and every session it had ends. Refused (409) for the last administrator.
    """
    if user.deleted_at is not None:
        return
    if user.role == Role.ADMIN.value:
        _check_not_last_admin(user)
    _remove_votes(user.id)
    # Synchronised with the session: the request's own login session, loaded with the member, is
    # then gone from it too, and signing out afterwards has nothing left to revoke.
    for model in (OutgoingEmail, Notification, Follow, CategoryWatch, LoginSession, UserIdentity):
        db.session.execute(delete(model).where(model.user_id == user.id))
    record(user, "user.delete", user, before={"role": user.role})
    _erase_row(user)
    outbox.emit("user.updated", user_id=user.id)  # the search index shows their ideas' new author name
    db.session.flush()


def _check_not_last_admin(user: User) -> None:
    # The same lock as admin.services.change_role: two admins leaving at once cannot both go.
    db.session.execute(select(User.id).where(User.role == Role.ADMIN.value).order_by(User.id).with_for_update())
    others = db.session.scalar(select(func.count()).select_from(User).where(
        User.role == Role.ADMIN.value, User.is_banned.is_(False), User.deleted_at.is_(None), User.id != user.id))
    if not others:
        raise DomainError("last_admin", _("You are the last administrator: make someone else an administrator "
                                          "before deleting your account."), "confirmation", status=409)


def _remove_votes(user_id: int) -> None:
    """Delete the member's votes and move each idea's counters back by them, atomically (``x = x - Δ``)."""
    now = utcnow()
    removed = db.session.execute(
        delete(Vote).where(Vote.user_id == user_id).returning(Vote.idea_id, Vote.value, Vote.voted_at)
        .execution_options(synchronize_session=False)
    ).all()
    per_idea: dict[int, list[float]] = defaultdict(lambda: [0, 0, 0.0])
    for idea_id, value, voted_at in removed:
        change = per_idea[idea_id]
        change[0] += value == 1
        change[1] += value == -1
        change[2] += vote_delta(value, voted_at, 0, now)
    for idea_id, (promotes, demotes, trending) in sorted(per_idea.items()):
        db.session.execute(
            update(Idea).where(Idea.id == idea_id).values(
                promote_count=Idea.promote_count - promotes, demote_count=Idea.demote_count - demotes,
                score=Idea.score - (promotes - demotes), trending=Idea.trending + trending,
            ).execution_options(synchronize_session=False)
        )
        outbox.emit("idea.voted", idea_id=idea_id)
    # The record of votes a merge moved: undoing that merge must not bring this member's back.
    db.session.execute(delete(MergedVote).where(MergedVote.user_id == user_id)
                       .execution_options(synchronize_session=False))


def _erase_row(user: User) -> None:
    user.display_name = DELETED_NAME
    user.email = f"deleted-{user.id}@{DELETED_EMAIL_DOMAIN}"  # unique, undeliverable; the address is free again
    user.password_hash = None
    user.handle = None
    user.locale = None
    user.signup_ip_prefix = None
    user.last_login_at = None
    user.email_verified_at = None
    user.role = Role.MEMBER.value
    for name in FOLLOW_SETTINGS:
        setattr(user, name, False)
    for name in EMAIL_SETTINGS:
        setattr(user, name, "never")
    user.session_version += 1  # every session and remember-me cookie of the account ends
    user.deleted_at = utcnow()


# Retention ------------------------------------------------------------------------------


def erase_old_networks(now: datetime | None = None, days: int | None = None) -> tuple[int, int]:
    """Forget the network prefixes older than ``days`` (``VOTE_NETWORK_RETENTION_DAYS``): (votes, accounts) erased.

    A vote's prefix ages from when its current value was cast, a member's sign-up prefix from the
    account's creation. Idempotent, so every worker may run it; the caller commits.
    """
    now = now or utcnow()
    days = int(current_app.config["VOTE_NETWORK_RETENTION_DAYS"] if days is None else days)
    cutoff = now - timedelta(days=days)
    votes = db.session.execute(
        update(Vote).where(Vote.ip_prefix.is_not(None), Vote.voted_at < cutoff).values(ip_prefix=None)
        .execution_options(synchronize_session=False)
    ).rowcount
    accounts = db.session.execute(
        update(User).where(User.signup_ip_prefix.is_not(None), User.created_at < cutoff)
        .values(signup_ip_prefix=None).execution_options(synchronize_session=False)
    ).rowcount
    # A remembered browser keeps its session for months: the network it signed in from goes too.
    db.session.execute(
        update(LoginSession).where(LoginSession.ip_prefix.is_not(None), LoginSession.created_at < cutoff)
        .values(ip_prefix=None).execution_options(synchronize_session=False)
    )
    return votes, accounts


def run_retention(now: datetime) -> tuple[int, int]:
    """The worker's hourly job: ``erase_old_networks``, committed."""
    erased = erase_old_networks(now)
    db.session.commit()
    return erased
