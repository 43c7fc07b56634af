from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Boolean, CheckConstraint, DateTime, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..roles import Role
from ..timeutil import utcnow


# How often a member is emailed about one kind of notification, and the columns that say it.
FREQUENCIES = ("immediate", "daily", "never")
EMAIL_SETTINGS = ("email_status", "email_comments", "email_mentions", "email_new_ideas")


class User(UserMixin, db.Model):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("role IN ('member', 'staff', 'admin')", name="role_known"),
        *(CheckConstraint(f"{column} IN ({', '.join(repr(f) for f in FREQUENCIES)})", name=f"{column}_known")
          for column in EMAIL_SETTINGS),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Stored normalised (stripped, lower case) so the unique constraint ignores case.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(String(60))
    # NULL means "cannot sign in with a password" (e.g. demo accounts).
    password_hash: Mapped[str | None] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default=Role.MEMBER.value)
    locale: Mapped[str | None] = mapped_column(String(8))
    is_banned: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime)
    # What others type after "@" to mention this member: made once from the display name
    # (python-slugify), unique, and kept when the name changes so old mentions still point here.
    handle: Mapped[str | None] = mapped_column(String(40), unique=True)
    email_verified_at: Mapped[datetime | None] = mapped_column(DateTime)
    # Moved by a password change or reset: every session and remember-me cookie issued before
    # carries the old value in its id (``get_id``) and no longer signs anyone in.
    session_version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    # Following and email, all switchable on /account. On the row itself: the member is already
    # loaded on every request, so a vote's automatic follow costs no extra read.
    follow_on_submit: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")
    follow_on_vote: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")
    follow_on_comment: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")
    # Per kind of notification: "immediate", "daily" (one digest a day) or "never".
    email_status: Mapped[str] = mapped_column(String(10), default="immediate", server_default="immediate")
    email_comments: Mapped[str] = mapped_column(String(10), default="daily", server_default="daily")
    email_mentions: Mapped[str] = mapped_column(String(10), default="immediate", server_default="immediate")
    email_new_ideas: Mapped[str] = mapped_column(String(10), default="daily", server_default="daily")

    # The network a member registered from, truncated (/24 for IPv4, /48 for IPv6) so it names a
    # network, not a household: read by the vote-integrity report, erased after the retention period.
    signup_ip_prefix: Mapped[str | None] = mapped_column(String(45))
    # Set when the member deleted their account: the row stays (their ideas and comments are kept
    # under "Deleted member"), every personal field is erased.
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime)

    @property
    def role_enum(self) -> Role:
        return Role(self.role)

    def has_role(self, role: Role) -> bool:
        return self.role_enum.rank >= role.rank

    @property
    def is_staff(self) -> bool:
        return self.has_role(Role.STAFF)

    def get_id(self) -> str:
        # "<id>.<login session id>.<secret>": what Flask-Login keeps in the session and the remember-me
        # cookie. accounts.sessions sets it when the member signs in or is loaded; the row decides.
        token = getattr(self, "login_token", None)
        if token is None:
            raise RuntimeError("sign members in with accounts.sessions.sign_in, which opens their login session")
        return token

    # The same member, whichever login session each copy was loaded with (Flask-Login's UserMixin
    # would compare get_id(), which names a login session).
    def __eq__(self, other):
        if isinstance(other, User):
            return self is other or (self.id is not None and self.id == other.id)
        return NotImplemented

    __hash__ = object.__hash__

    @property
    def is_verified(self) -> bool:
        return self.email_verified_at is not None

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return not self.is_banned

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email}>"


class LoginSession(db.Model):
    """One signed-in browser: the server's side of a session and of its remember-me cookie.

    The browser holds ``<id>.<secret>``; only a SHA-256 of the secret is stored. Logging out,
    a password change or "sign out everywhere" revoke rows, so a copied cookie stops working.
    """

    __tablename__ = "login_sessions"
    __table_args__ = (Index("ix_login_sessions_user_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    secret_hash: Mapped[str] = mapped_column(String(64))
    # The previous secret of a rotated remember-me token: presented again, it reveals a stolen copy.
    previous_secret_hash: Mapped[str | None] = mapped_column(String(64))
    remember: Mapped[bool] = mapped_column(Boolean, default=False)
    # How the member signed in: "password", "reset", "confirm" or "sso:<provider>".
    method: Mapped[str] = mapped_column(String(60), default="password")
    user_agent: Mapped[str | None] = mapped_column(String(200))
    ip_prefix: Mapped[str | None] = mapped_column(String(45))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    rotated_at: Mapped[datetime | None] = mapped_column(DateTime)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)


class UserIdentity(db.Model):
    """An account at an OpenID Connect provider linked to a member (single sign-on)."""

    __tablename__ = "user_identities"
    __table_args__ = (
        UniqueConstraint("provider", "subject"),
        Index("ix_user_identities_user_id", "user_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    provider: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime)
