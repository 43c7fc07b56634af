"""Every model, imported in one place for Alembic and the shell."""

from .accounts.models import Role, User
from .comments.models import Comment
from .ideas.models import Category, Idea, Status, StatusChange, Tag, idea_tags
from .outbox import OutboxEvent
from .votes.models import Vote

__all__ = [
    "Category", "Comment", "Idea", "OutboxEvent", "Role", "Status", "StatusChange",
    "Tag", "User", "Vote", "idea_tags",
]
