"""The admin area: users and their roles, categories, the audit log."""

import json

from flask import Blueprint, current_app, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, or_, select

from ..accounts.models import User
from ..roles import Role
from ..audit.models import AuditEntry
from ..audit.services import entries_query
from ..extensions import db
from ..ideas.models import Category, Idea
from ..ideas.queries import paginate
from ..security.permissions import can, login_required_for
from ..settings.services import Upload, forget_cached, save_settings, site_settings
from ..triage.services import set_banned
from ..web import form_checks_csrf, get_or_404, page_arg, query_arg, redirect_next, render, run_form
from . import services
from .forms import CategoryEditForm, CategoryForm, SiteSettingsForm

bp = Blueprint("admin", __name__, url_prefix="/admin")

ROLES = [role.value for role in Role]


def _count(query) -> int:
    return db.session.scalar(select(func.count()).select_from(query.subquery()))


@bp.get("")
@login_required_for("admin")
def index():
    counts = {
        "users": _count(select(User.id)),
        "staff": _count(select(User.id).where(User.role == Role.STAFF.value)),
        "admins": _count(select(User.id).where(User.role == Role.ADMIN.value)),
        "banned": _count(select(User.id).where(User.is_banned.is_(True))),
        "ideas": _count(select(Idea.id)),
        "categories": _count(select(Category.id).where(Category.is_archived.is_(False))),
        "archived": _count(select(Category.id).where(Category.is_archived.is_(True))),
    }
    return render("admin/index.html", counts=counts)


# Users ---------------------------------------------------------------------------------


@bp.get("/users")
@login_required_for("admin")
def users():
    q = query_arg("q", "")[:100]
    role = query_arg("role", "", choices=ROLES)
    query = select(User)
    if q:
        escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = f"%{escaped}%"
        query = query.where(or_(User.email.ilike(pattern, escape="\\"),
                                User.display_name.ilike(pattern, escape="\\")))
    if role:
        query = query.where(User.role == role)
    query = query.order_by(User.created_at.desc(), User.id.desc())
    page = paginate(query, page_arg(), current_app.config["IDEAS_PER_PAGE"])
    return render("admin/users.html", page=page, q=q, role=role, roles=ROLES,
                  role_label=lambda value: Role(value).label)


@bp.post("/users/<int:user_id>/role")
@login_required_for("admin")
def change_role(user_id: int):
    user = get_or_404(User, user_id)
    services.change_role(current_user, user, request.form.get("role", ""))
    db.session.commit()
    flash(_("%(name)s is now %(role)s.", name=user.display_name, role=_role_label(user.role)), "success")
    if not can(current_user, "admin"):  # an admin who stepped down
        return redirect(url_for("main.home"))
    return redirect_next("admin.users")


def _role_label(role: str) -> str:
    return {"member": _("member"), "staff": _("staff"), "admin": _("administrator")}.get(role, role)


def _ban(user_id: int, banned: bool):
    user = get_or_404(User, user_id)
    set_banned(current_user, user, banned)
    db.session.commit()
    if banned:
        flash(_("%(name)s is banned.", name=user.display_name), "success")
    else:
        flash(_("%(name)s is no longer banned.", name=user.display_name), "success")
    return redirect_next("admin.users")


@bp.post("/users/<int:user_id>/ban")
@login_required_for("admin")
def ban(user_id: int):
    return _ban(user_id, True)


@bp.post("/users/<int:user_id>/unban")
@login_required_for("admin")
def unban(user_id: int):
    return _ban(user_id, False)


# Categories ----------------------------------------------------------------------------


def _all_categories() -> list[Category]:
    return list(db.session.scalars(select(Category).order_by(Category.position, Category.name)))


def _edit_form(category: Category) -> CategoryEditForm:
    return CategoryEditForm(prefix=f"category-{category.id}", formdata=None, obj=category)


def _categories_page(form: CategoryForm, status: int = 200, edited: CategoryEditForm | None = None,
                     edited_id: int | None = None):
    categories = _all_categories()
    edit_forms = {c.id: (edited if c.id == edited_id else _edit_form(c)) for c in categories}
    return render("admin/categories.html", status=status, categories=categories, form=form,
                  edit_forms=edit_forms)


@bp.route("/categories", methods=["GET", "POST"])
@login_required_for("admin")
@form_checks_csrf
def categories():
    form = CategoryForm()
    outcome = run_form(form, lambda: services.create_category(
        current_user, form.name.data, form.slug.data, form.description.data,
        name_fr=form.name_fr.data, description_fr=form.description_fr.data,
    ), default_field="name")
    if not outcome.done:
        return _categories_page(form, outcome.status)
    flash(_("The category %(name)s is created.", name=outcome.result.name), "success")
    return redirect(url_for("admin.categories"))


@bp.post("/categories/<int:category_id>")
@login_required_for("admin")
@form_checks_csrf
def edit_category(category_id: int):
    category = get_or_404(Category, category_id)
    form = CategoryEditForm(prefix=f"category-{category.id}")
    outcome = run_form(form, lambda: services.update_category(
        current_user, category, form.name.data, form.description.data,
        name_fr=form.name_fr.data, description_fr=form.description_fr.data,
    ), default_field="name")
    if not outcome.done:
        return _categories_page(CategoryForm(formdata=None), outcome.status, form, category.id)
    flash(_("The category %(name)s is saved.", name=category.name), "success")
    return redirect(url_for("admin.categories"))


def _archive(category_id: int, archived: bool):
    category = get_or_404(Category, category_id)
    services.set_category_archived(current_user, category, archived)
    db.session.commit()
    if archived:
        flash(_("The category %(name)s is archived.", name=category.name), "success")
    else:
        flash(_("The category %(name)s is back in use.", name=category.name), "success")
    return redirect(url_for("admin.categories"))


@bp.post("/categories/<int:category_id>/archive")
@login_required_for("admin")
def archive_category(category_id: int):
    return _archive(category_id, True)


@bp.post("/categories/<int:category_id>/unarchive")
@login_required_for("admin")
def unarchive_category(category_id: int):
    return _archive(category_id, False)


# Site settings -------------------------------------------------------------------------


def _upload(field) -> Upload | None:
    file = field.data
    if not file or not getattr(file, "filename", ""):
        return None
    return Upload(file.filename, file.read())


@bp.route("/settings", methods=["GET", "POST"])
@login_required_for("admin")
@form_checks_csrf
def settings():
    brand = site_settings()
    # The stored values fill the page; a posted form is read alone (a missing field is empty).
    form = SiteSettingsForm(obj=brand if request.method == "GET" else None)
    outcome = run_form(form, lambda: save_settings(
        current_user, name=form.name.data, accent=form.accent.data, welcome_en=form.welcome_en.data,
        welcome_fr=form.welcome_fr.data, logo=_upload(form.logo), remove_logo=form.remove_logo.data,
        require_verified_email=form.require_verified_email.data,
        hold_first_ideas=form.hold_first_ideas.data,
    ), default_field="name")
    if not outcome.done:
        return render("admin/settings.html", status=outcome.status, form=form, brand=brand)
    forget_cached()  # committed: no request of this process read the old row in between keeps it
    flash(_("The site settings are saved."), "success")
    return redirect(url_for("admin.settings"))


# Audit log -----------------------------------------------------------------------------


@bp.get("/audit")
@login_required_for("admin")
def audit():
    action = query_arg("action", "")[:40]
    actions = list(db.session.scalars(select(AuditEntry.action).distinct().order_by(AuditEntry.action)))
    page = paginate(entries_query(action=action or None), page_arg(), current_app.config["IDEAS_PER_PAGE"])
    return render("admin/audit.html", page=page, action=action, actions=actions, compact_json=_compact_json)


def _compact_json(value) -> str:
    """One line of JSON; the template escapes it like any other text."""
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "), sort_keys=True, default=str)
