"""Every model, imported in one place for Alembic and the shell."""

from .accounts.models import LoginSession, User, UserIdentity
from .audit.models import AuditEntry
from .comments.models import Comment
from .mail.models import OutgoingEmail
from .notifications.models import CategoryWatch, Follow, Notification
from .ideas.models import Category, Idea, Status, StatusChange, Tag, idea_tags
from .outbox import OutboxEvent
from .roles import Role
from .settings.models import SiteSettings
from .triage.models import DuplicateMerge, MergedVote, StaffNote
from .votes.models import Vote

__all__ = [
    "AuditEntry", "Category", "LoginSession", "UserIdentity", "CategoryWatch", "Comment", "Follow", "Notification", "OutgoingEmail", "DuplicateMerge", "Idea", "MergedVote", "OutboxEvent", "Role",
    "SiteSettings", "StaffNote", "Status", "StatusChange", "Tag", "User", "Vote", "idea_tags",
]
