"""The admin area: users and their roles, categories, the audit log."""

import json

from flask import Blueprint, current_app, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, or_, select

from ..accounts.models import Role, User
from ..audit.models import AuditEntry
from ..audit.services import entries_query
from ..errors import UserFacingError
from ..extensions import db
from ..ideas.models import Category, Idea
from ..ideas.queries import paginate
from ..ideas.routes import page_number
from ..security.permissions import can, is_safe_next, login_required_for
from ..triage.services import TriageError, set_banned
from ..web import form_checks_csrf, form_error_status, get_or_404, render
from . import services
from .forms import CategoryEditForm, CategoryForm

bp = Blueprint("admin", __name__, url_prefix="/admin")

ROLES = [role.value for role in Role]


def _back(default: str = "admin.users"):
    """Redirect to the list the button was on (a same-site ``next``), else ``default``."""
    target = request.form.get("next")
    return redirect(target if is_safe_next(target) else url_for(default))


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
    q = request.args.get("q", "").strip()[:100]
    role = request.args.get("role", "").strip()
    if role and role not in ROLES:
        raise UserFacingError(400, _("Unknown role: %(role)s", role=role[:40]))
    query = select(User)
    if q:
        escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = f"%{escaped}%"
        query = query.where(or_(User.email.ilike(pattern, escape="\\"),
                                User.display_name.ilike(pattern, escape="\\")))
    if role:
        query = query.where(User.role == role)
    query = query.order_by(User.created_at.desc(), User.id.desc())
    page = paginate(query, page_number(), current_app.config["IDEAS_PER_PAGE"])
    return render("admin/users.html", page=page, q=q, role=role, roles=ROLES)


@bp.post("/users/<int:user_id>/role")
@login_required_for("admin")
def change_role(user_id: int):
    user = get_or_404(User, user_id)
    try:
        services.change_role(current_user, user, request.form.get("role", ""))
    except services.AdminError as error:
        raise UserFacingError(error.code, str(error)) from None
    flash(_("%(name)s is now %(role)s.", name=user.display_name, role=_role_label(user.role)), "success")
    if not can(current_user, "admin"):  # an admin who stepped down
        return redirect(url_for("main.home"))
    return _back()


def _role_label(role: str) -> str:
    return {"member": _("member"), "staff": _("staff"), "admin": _("administrator")}.get(role, role)


def _ban(user_id: int, banned: bool):
    user = get_or_404(User, user_id)
    try:
        set_banned(current_user, user, banned)
    except TriageError as error:
        raise UserFacingError(error.code, str(error)) from None
    if banned:
        flash(_("%(name)s is banned.", name=user.display_name), "success")
    else:
        flash(_("%(name)s is no longer banned.", name=user.display_name), "success")
    return _back()


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


def _field_error(form, error: services.AdminError) -> None:
    field = getattr(form, error.field or "", None) or form.name
    field.errors = [*field.errors, str(error)]


@bp.route("/categories", methods=["GET", "POST"])
@login_required_for("admin")
@form_checks_csrf
def categories():
    form = CategoryForm()
    if not form.is_submitted():
        return _categories_page(form)
    if form.validate_on_submit():
        try:
            category = services.create_category(current_user, form.name.data, form.slug.data,
                                                form.description.data)
        except services.AdminError as error:
            _field_error(form, error)
            return _categories_page(form, error.code)
        flash(_("The category %(name)s is created.", name=category.name), "success")
        return redirect(url_for("admin.categories"))
    return _categories_page(form, form_error_status(form))


@bp.post("/categories/<int:category_id>")
@login_required_for("admin")
@form_checks_csrf
def edit_category(category_id: int):
    category = get_or_404(Category, category_id)
    form = CategoryEditForm(prefix=f"category-{category.id}")
    if form.validate_on_submit():
        try:
            services.update_category(current_user, category, form.name.data, form.description.data)
        except services.AdminError as error:
            _field_error(form, error)
            return _categories_page(CategoryForm(formdata=None), error.code, form, category.id)
        flash(_("The category %(name)s is saved.", name=category.name), "success")
        return redirect(url_for("admin.categories"))
    return _categories_page(CategoryForm(formdata=None), form_error_status(form), form, category.id)


def _archive(category_id: int, archived: bool):
    category = get_or_404(Category, category_id)
    services.set_category_archived(current_user, category, archived)
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


# Audit log -----------------------------------------------------------------------------


@bp.get("/audit")
@login_required_for("admin")
def audit():
    action = request.args.get("action", "").strip()[:40]
    actions = list(db.session.scalars(select(AuditEntry.action).distinct().order_by(AuditEntry.action)))
    page = paginate(entries_query(action=action or None), page_number(), current_app.config["IDEAS_PER_PAGE"])
    return render("admin/audit.html", page=page, action=action, actions=actions, compact_json=_compact_json)


def _compact_json(value) -> str:
    """One line of JSON; the template escapes it like any other text."""
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "), sort_keys=True, default=str)
