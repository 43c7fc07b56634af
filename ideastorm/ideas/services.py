"""Rules for submitting and editing ideas."""

from __future__ import annotations

import re
import unicodedata

from flask_babel import gettext as _
from sqlalchemy import select

from .. import outbox
from ..database import insert_ignoring_conflicts
from ..extensions import db
from ..timeutil import utcnow
from .models import Category, Idea, Status, Tag
from .ranking import initial_trending

TITLE_MIN, TITLE_MAX = 5, 140
DESCRIPTION_MAX = 10_000
MAX_TAGS = 5
TAG_MAX = 30
_TAG_JUNK = re.compile(r"[^\w-]+", re.UNICODE)


class IdeaError(ValueError):
    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


def normalize_tags(raw: str | list[str] | None) -> list[str]:
    """'UX, Dark mode,ux' -> ['ux', 'dark-mode']: lower case, hyphenated, unique, in order."""
    parts = raw.split(",") if isinstance(raw, str) else (raw or [])
    tags: list[str] = []
    for part in parts:
        tag = unicodedata.normalize("NFC", part).strip().lower()
        tag = _TAG_JUNK.sub("-", "-".join(tag.split())).strip("-_")
        if tag and tag not in tags:
            tags.append(tag)
    for tag in tags:
        if len(tag) > TAG_MAX:
            raise IdeaError(_("A tag can have at most %(n)d characters.", n=TAG_MAX), field="tags")
    if len(tags) > MAX_TAGS:
        raise IdeaError(_("An idea can have at most %(n)d tags.", n=MAX_TAGS), field="tags")
    return tags


def _tags_named(names: list[str]) -> list[Tag]:
    if not names:
        return []
    insert_ignoring_conflicts(Tag.__table__, [{"name": n} for n in names], ["name"])
    found = {t.name: t for t in db.session.scalars(select(Tag).where(Tag.name.in_(names)))}
    return [found[n] for n in names]


def _usable_category(category_id: int | None) -> Category:
    category = db.session.get(Category, category_id) if category_id else None
    if category is None or category.is_archived:
        raise IdeaError(_("Choose one of the categories."), field="category")
    return category


def submit_idea(author, title: str, description: str, category_id: int, tags: str | list[str] = "") -> Idea:
    """Create an idea (no vote is cast for its author). Commits."""
    now = utcnow()
    idea = Idea(
        title=title.strip(),
        description=description.strip(),
        author_id=author.id,
        category=_usable_category(category_id),
        tags=_tags_named(normalize_tags(tags)),
        status=Status.NEW.value,
        created_at=now,
        updated_at=now,
        trending=initial_trending(now),
    )
    db.session.add(idea)
    db.session.flush()
    outbox.emit("idea.created", idea_id=idea.id)
    db.session.commit()
    return idea


def update_idea(idea: Idea, title: str, description: str, category_id: int, tags: str | list[str] = "") -> Idea:
    """Change an idea's text, category and tags. Commits."""
    idea.title = title.strip()
    idea.description = description.strip()
    idea.category = _usable_category(category_id)
    idea.tags = _tags_named(normalize_tags(tags))
    idea.updated_at = utcnow()
    outbox.emit("idea.updated", idea_id=idea.id)
    db.session.commit()
    return idea


def slugify(text: str, max_length: int = 60) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:max_length].rstrip("-") or "idea"
