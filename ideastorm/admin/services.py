"""Administration rules: roles and categories.

Like the triage services, each function takes plain arguments, records an audit entry in
the same transaction as the change, and commits once.
"""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from .. import outbox
from ..accounts.models import Role, User
from ..audit.services import record
from ..extensions import db
from ..ideas.models import Category
from ..ideas.services import slugify


class AdminError(ValueError):
    """A rule refused the action; the message is for the admin. ``code`` is the HTTP status,
    ``field`` names the form field at fault, if any."""

    def __init__(self, message: str, code: int = 422, field: str | None = None):
        super().__init__(message)
        self.code = code
        self.field = field


def change_role(actor, user: User, role: str) -> None:
    """Give ``user`` another role; the last administrator cannot be demoted."""
    try:
        target = Role(role)
    except ValueError:
        raise AdminError(_("Unknown role: %(role)s", role=str(role)[:40])) from None
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
            db.session.rollback()
            raise AdminError(
                _("%(name)s is the last administrator: make someone else an administrator first.",
                  name=user.display_name),
                code=409,
            )
    record(actor, "user.role", user, before={"role": user.role}, after={"role": target.value})
    user.role = target.value
    db.session.commit()


def _clean(name: str, slug: str | None, description: str | None) -> tuple[str, str, str]:
    name = " ".join((name or "").split())
    if not name:
        raise AdminError(_("A category needs a name."), field="name")
    slug = slugify((slug or "").strip() or name)
    return name, slug, (description or "").strip()


def _check_unique(name: str, slug: str, exclude_id: int | None = None) -> None:
    others = select(Category)
    if exclude_id is not None:
        others = others.where(Category.id != exclude_id)
    if db.session.scalar(others.where(Category.slug == slug).limit(1)) is not None:
        raise AdminError(_("Another category already uses the address %(slug)s.", slug=slug), field="slug")
    if db.session.scalar(others.where(func.lower(Category.name) == name.lower()).limit(1)) is not None:
        raise AdminError(_("Another category is already named %(name)s.", name=name), field="name")


def _commit_or_duplicate() -> None:
    try:
        db.session.commit()
    except IntegrityError:  # lost a race with an identical create or rename
        db.session.rollback()
        raise AdminError(_("Another category already uses this address."), field="slug") from None


def _state(category: Category) -> dict:
    return {"name": category.name, "slug": category.slug, "description": category.description}


def create_category(actor, name: str, slug: str | None = None, description: str | None = None) -> Category:
    name, slug, description = _clean(name, slug, description)
    _check_unique(name, slug)
    position = db.session.scalar(select(func.coalesce(func.max(Category.position), -1))) + 1
    category = Category(name=name, slug=slug, description=description, position=position)
    db.session.add(category)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise AdminError(_("Another category already uses this address."), field="slug") from None
    record(actor, "category.create", ("category", category.id), after=_state(category))
    _commit_or_duplicate()
    return category


def update_category(actor, category: Category, name: str, description: str | None = None) -> None:
    """Rename a category or change its description; its address (slug) stays."""
    name, _slug, description = _clean(name, category.slug, description)
    if name == category.name and description == category.description:
        return
    _check_unique(name, category.slug, exclude_id=category.id)
    before = _state(category)
    category.name, category.description = name, description
    record(actor, "category.update", ("category", category.id), before=before, after=_state(category))
    outbox.emit("category.updated", category_id=category.id)
    _commit_or_duplicate()


def set_category_archived(actor, category: Category, archived: bool) -> None:
    """Archived categories keep their ideas but are no longer offered for new ones."""
    if category.is_archived == archived:
        return
    record(actor, "category.archive" if archived else "category.unarchive", ("category", category.id),
           before={"archived": category.is_archived}, after={"archived": archived})
    category.is_archived = archived
    db.session.commit()
