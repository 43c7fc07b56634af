"""Rules for submitting and editing ideas.

Like every service, these functions check every rule, flush, and raise ``DomainError``;
the caller (a view, a command, the API) commits once.
"""

from __future__ import annotations

import re

from flask_babel import gettext as _
from slugify import slugify as _transliterating_slugify
from sqlalchemy import select

from .. import outbox
from ..accounts.services import require_confirmed_email
from ..notifications.services import follow_automatically
from ..database import insert_ignoring_conflicts
from ..domain import ID_MAX, Checks, DomainError
from ..extensions import db
from ..roles import Role
from ..text import checked, clean_text
from ..timeutil import utcnow
from . import counters
from .models import Category, Idea, Status, Tag
from .ranking import initial_trending

TITLE_MIN, TITLE_MAX = 5, 140
DESCRIPTION_MAX = 10_000
MAX_TAGS = 5
TAG_MAX = 30
TAGS_TEXT_MAX = 300  # characters of the comma-separated tags field
SLUG_MAX = 60
_TAG_JUNK = re.compile(r"[^\w-]+", re.UNICODE)


def normalize_tags(raw: str | list[str] | None) -> list[str]:
    """'UX, Dark mode,ux' -> ['ux', 'dark-mode']: lower case, hyphenated, unique, in order."""
    parts = raw.split(",") if isinstance(raw, str) else (raw or [])
    tags: list[str] = []
    for part in parts:
        if not isinstance(part, str):
            raise DomainError("tags_invalid", _("Tags are words separated by commas."), "tags")
        tag = clean_text(part).strip().lower()
        tag = _TAG_JUNK.sub("-", "-".join(tag.split())).strip("-_")
        if tag and tag not in tags:
            tags.append(tag)
    for tag in tags:
        if len(tag) > TAG_MAX:
            raise DomainError("tag_too_long", _("A tag can have at most %(n)d characters.", n=TAG_MAX), "tags")
    if len(tags) > MAX_TAGS:
        raise DomainError("too_many_tags", _("An idea can have at most %(n)d tags.", n=MAX_TAGS), "tags")
    return tags


def _tags_named(names: list[str]) -> list[Tag]:
    if not names:
        return []
    insert_ignoring_conflicts(Tag.__table__, [{"name": n} for n in names], ["name"])
    found = {t.name: t for t in db.session.scalars(select(Tag).where(Tag.name.in_(names)))}
    return [found[n] for n in names]


def tags_named(raw: str | list[str] | None) -> list[Tag]:
    """The tags ``raw`` names (normalised, checked), created when new."""
    return _tags_named(normalize_tags(raw))


def _usable_category(category_id) -> Category | None:
    # Ids are 32-bit on every backend: a larger number names no category (PostgreSQL would refuse the query).
    usable_id = isinstance(category_id, int) and 0 < category_id <= ID_MAX
    category = db.session.get(Category, category_id) if usable_id else None
    return None if category is None or category.is_archived else category


def _checked_fields(title, description, category_id, tags) -> tuple[str, str, Category, list[str]]:
    """Every rule of an idea's fields, all at once, so each field shows its own message."""
    checks = Checks()
    title = checked(
        checks, "title", title, min_visible=TITLE_MIN, minimum=TITLE_MIN, maximum=TITLE_MAX,
        not_visible=_("The title needs at least %(n)d visible characters.", n=TITLE_MIN),
        required=_("A title is required."),
        too_short=_("A title has at least %(n)d characters.", n=TITLE_MIN),
        too_long=_("A title has at most %(n)d characters.", n=TITLE_MAX),
    )
    description = checked(
        checks, "description", description, multiline=True, maximum=DESCRIPTION_MAX,
        required=_("A description is required: say why it matters."),
        too_long=_("A description has at most %(n)d characters.", n=DESCRIPTION_MAX),
    )
    category = _usable_category(category_id)
    if category is None:
        checks.fail("category", "category_invalid", _("Choose one of the categories."))
    tag_names: list[str] = []
    if isinstance(tags, str) and len(tags) > TAGS_TEXT_MAX:
        checks.fail("tags", "tags_too_long", _("Tags have at most %(n)d characters in all.", n=TAGS_TEXT_MAX))
    else:
        try:
            tag_names = normalize_tags(tags)
        except DomainError as error:
            checks.fail("tags", error.code, error.message)
    checks.done()
    return title, description, category, tag_names


def held_for_approval(author) -> bool:
    """Whether ``author``'s next idea waits for the team: the site holds first ideas, and none of theirs is out yet.

    "Out" is an idea that is public and not waiting (an approved one); staff are never held.
    """
    from ..settings.services import site_settings

    if not site_settings().hold_first_ideas or author.has_role(Role.STAFF):
        return False
    approved = db.session.scalar(
        select(Idea.id).where(Idea.author_id == author.id, Idea.is_hidden.is_(False),
                              Idea.awaiting_approval.is_(False)).limit(1)
    )
    return approved is None


def held_ideas_of(author_id: int) -> list[Idea]:
    """An author's ideas waiting for approval, newest first (shown to them alone, on their profile)."""
    return list(db.session.scalars(
        select(Idea).where(Idea.author_id == author_id, Idea.awaiting_approval.is_(True))
        .order_by(Idea.created_at.desc(), Idea.id.desc())
    ))


def submit_idea(author, title: str, description: str, category_id: int | None,
                tags: str | list[str] = "") -> Idea:
    """Create an idea (no vote is cast for its author); its author follows it unless they turned that off.

    An idea held for approval (``held_for_approval``) is stored hidden and awaiting approval: it is
    neither counted, nor announced, nor indexed; ``triage.services.approve_idea`` does that later.
    """
    require_confirmed_email(author)
    title, description, category, tag_names = _checked_fields(title, description, category_id, tags)
    held = held_for_approval(author)
    now = utcnow()
    idea = Idea(
        title=title,
        description=description,
        author_id=author.id,
        category=category,
        tags=_tags_named(tag_names),
        status=Status.NEW.value,
        created_at=now,
        updated_at=now,
        trending=initial_trending(now),
        is_hidden=held,
        awaiting_approval=held,
    )
    db.session.add(idea)
    db.session.flush()
    follow_automatically(author, idea.id, "submitted")
    if not held:
        announce_new_idea(idea)
    return idea


def announce_new_idea(idea: Idea) -> None:
    """What a public new idea sets off: the headline's count, and ``idea.created`` (index, notifications)."""
    counters.idea_changed(was_public=False, was_implemented=False, is_public=True,
                          is_implemented=idea.status == Status.IMPLEMENTED.value)
    outbox.emit("idea.created", idea_id=idea.id, actor_id=idea.author_id)


def update_idea(idea: Idea, title: str, description: str, category_id: int | None,
                tags: str | list[str] = "") -> Idea:
    """Change an idea's text, category and tags."""
    title, description, category, tag_names = _checked_fields(title, description, category_id, tags)
    idea.title = title
    idea.description = description
    idea.category = category
    idea.tags = _tags_named(tag_names)
    idea.updated_at = utcnow()
    db.session.flush()
    outbox.emit("idea.updated", idea_id=idea.id)
    return idea


def slugify(text: str, max_length: int = SLUG_MAX, fallback: str = "idea") -> str:
    """A URL slug, transliterated: 'Idée géniale' -> 'idee-geniale', '日本の製品' -> 'ri-ben-nozhi-pin'."""
    return _transliterating_slugify(text or "", max_length=max_length, word_boundary=True) or fallback
