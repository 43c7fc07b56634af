"""Administration rules: roles and categories.

Like the triage services, each function takes plain arguments, records an audit entry in
the same transaction as the change, flushes, and raises ``DomainError``; the caller commits.
"""

from __future__ import annotations

import re
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from .. import outbox
from ..accounts.models import User
from ..roles import Role
from ..audit.services import record
from ..domain import Checks, DomainError
from ..extensions import db
from ..ideas.models import Category
from ..ideas.services import SLUG_MAX, slugify
from ..text import checked

CATEGORY_NAME_MIN, CATEGORY_NAME_MAX = 2, 80
CATEGORY_DESCRIPTION_MAX = 300
SLUG_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
KEEP: Any = object()  # update_category: leave this field as it is


def change_role(actor, user: User, role: str) -> None:
    """Give ``user`` another role; the last administrator cannot be demoted."""
    try:
        target = Role(role)
    except ValueError:
        raise DomainError("role_unknown", _("Unknown role: %(role)s", role=str(role)[:40]), "role") from None
    if target.value == user.role:
        return
    if user.role == Role.ADMIN.value:
        # Lock the admins' rows (PostgreSQL; SQLite has one writer) so two admins
        # demoting each other at once cannot leave the site without one.
        db.session.execute(
            select(User.id).where(User.role == Role.ADMIN.value).order_by(User.id).with_for_update()
        )
        db.session.refresh(user)
        others = db.session.scalar(
            select(func.count()).select_from(User).where(
                User.role == Role.ADMIN.value, User.is_banned.is_(False), User.id != user.id,
            )
        )
        if user.role == Role.ADMIN.value and not others:
            raise DomainError(
                "last_admin",
                _("%(name)s is the last administrator: make someone else an administrator first.",
                  name=user.display_name),
                status=409,
            )
    record(actor, "user.role", user, before={"role": user.role}, after={"role": target.value})
    user.role = target.value
    db.session.flush()


def _name_and_description(checks: Checks, fields: tuple[str, str], name: str | None, description: str | None,
                          *, required: str | None) -> tuple[str, str]:
    """One language's category name (2-80 characters) and one-line description (up to 300)."""
    name_field, description_field = fields
    name = " ".join(checked(
        checks, name_field, name, min_visible=CATEGORY_NAME_MIN, minimum=CATEGORY_NAME_MIN,
        maximum=CATEGORY_NAME_MAX, required=required,
        not_visible=_("A category name needs at least %(n)d visible characters.", n=CATEGORY_NAME_MIN),
        too_short=_("A category name has at least %(n)d characters.", n=CATEGORY_NAME_MIN),
        too_long=_("A category name has at most %(n)d characters.", n=CATEGORY_NAME_MAX),
    ).split())
    description = " ".join(checked(
        checks, description_field, description, maximum=CATEGORY_DESCRIPTION_MAX,
        too_long=_("A description has at most %(n)d characters.", n=CATEGORY_DESCRIPTION_MAX),
    ).split())
    return name, description


def _clean_french(checks: Checks, name_fr: str | None, description_fr: str | None) -> tuple[str | None, str | None]:
    """The French name and description are optional: None shows the English."""
    name_fr, description_fr = _name_and_description(
        checks, ("name_fr", "description_fr"), name_fr, description_fr, required=None)
    return name_fr or None, description_fr or None


def _clean(name: str, slug: str | None, description: str | None, checks: Checks | None = None,
           *, finish: bool = True) -> tuple[str, str, str]:
    """A category's fields checked: name 2-80 characters, one-line description up to 300,
    address (slug) of lower-case letters, digits and single hyphens, derived from the name when empty."""
    checks = checks if checks is not None else Checks()
    name, description = _name_and_description(
        checks, ("name", "description"), name, description, required=_("A category needs a name."))
    slug = (slug or "").strip()
    if slug and (len(slug) > SLUG_MAX or not SLUG_PATTERN.match(slug)):
        checks.fail("slug", "slug_invalid",
                    _("Use lower-case letters, digits and single hyphens, at most %(n)d characters.", n=SLUG_MAX))
    if finish:
        checks.done()
    return name, slug or slugify(name, fallback="category"), description


def _check_unique(name: str, slug: str, exclude_id: int | None = None, name_fr: str | None = None) -> None:
    others = select(Category)
    if exclude_id is not None:
        others = others.where(Category.id != exclude_id)
    if db.session.scalar(others.where(Category.slug == slug).limit(1)) is not None:
        raise DomainError("slug_taken", _("Another category already uses the address %(slug)s.", slug=slug),
                          "slug")
    if db.session.scalar(others.where(func.lower(Category.name) == name.lower()).limit(1)) is not None:
        raise DomainError("name_taken", _("Another category is already named %(name)s.", name=name),
                          "name")
    if name_fr and db.session.scalar(
        others.where(func.lower(Category.name_fr) == name_fr.lower()).limit(1)
    ) is not None:
        raise DomainError("name_taken", _("Another category is already named %(name)s.", name=name_fr),
                          "name_fr")


def _flush_or_duplicate() -> None:
    try:
        with db.session.begin_nested():  # lost a race with an identical create or rename
            db.session.flush()
    except IntegrityError:
        raise DomainError("slug_taken", _("Another category already uses this address."), "slug") from None


def _state(category: Category) -> dict:
    return {"name": category.name, "slug": category.slug, "description": category.description,
            "name_fr": category.name_fr, "description_fr": category.description_fr}


def create_category(actor, name: str, slug: str | None = None, description: str | None = None, *,
                    name_fr: str | None = None, description_fr: str | None = None) -> Category:
    checks = Checks()
    name, slug, description = _clean(name, slug, description, checks, finish=False)
    name_fr, description_fr = _clean_french(checks, name_fr, description_fr)
    checks.done()
    _check_unique(name, slug, name_fr=name_fr)
    position = db.session.scalar(select(func.coalesce(func.max(Category.position), -1))) + 1
    category = Category(name=name, slug=slug, description=description, position=position,
                        name_fr=name_fr, description_fr=description_fr)
    db.session.add(category)
    _flush_or_duplicate()
    record(actor, "category.create", ("category", category.id), after=_state(category))
    db.session.flush()
    return category


def update_category(actor, category: Category, name: str, description: str | None = None, *,
                    name_fr: str | None = KEEP, description_fr: str | None = KEEP) -> None:
    """Rename a category or change its descriptions, in English and in French; its address (slug) stays.

    An empty French name or description shows the English one to French readers; ``KEEP``
    (the default) leaves the French text as it is."""
    name_fr = category.name_fr if name_fr is KEEP else name_fr
    description_fr = category.description_fr if description_fr is KEEP else description_fr
    checks = Checks()
    name, _slug, description = _clean(name, category.slug, description, checks, finish=False)
    name_fr, description_fr = _clean_french(checks, name_fr, description_fr)
    checks.done()
    if (name, description, name_fr, description_fr) == (
        category.name, category.description, category.name_fr, category.description_fr
    ):
        return
    _check_unique(name, category.slug, exclude_id=category.id, name_fr=name_fr)
    before = _state(category)
    category.name, category.description = name, description
    category.name_fr, category.description_fr = name_fr, description_fr
    record(actor, "category.update", ("category", category.id), before=before, after=_state(category))
    outbox.emit("category.updated", category_id=category.id)
    _flush_or_duplicate()


def set_category_archived(actor, category: Category, archived: bool) -> None:
    """Archived categories keep their ideas but are no longer offered for new ones."""
    if category.is_archived == archived:
        return
    record(actor, "category.archive" if archived else "category.unarchive", ("category", category.id),
           before={"archived": category.is_archived}, after={"archived": archived})
    category.is_archived = archived
    db.session.flush()
