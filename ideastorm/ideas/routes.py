from flask import Blueprint, abort, current_app, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from ..comments.forms import CommentForm
from ..comments.services import visible_comments
from ..errors import UserFacingError
from ..extensions import db
from ..i18n import STATUS_LABELS
from ..security.permissions import can, login_required_for, require
from ..votes.services import votes_of
from ..web import form_checks_csrf, form_error_status, get_or_404, render, text_arg, whole_number
from . import services
from .forms import IdeaForm
from .models import Category, Idea, Status, StatusChange, Tag
from .queries import DEFAULT_SORT, SORTS, active_categories, ideas_query, paginate

bp = Blueprint("ideas", __name__)


def _arg_choice(name: str, allowed, default=None):
    value = request.args.get(name, "").strip()
    if not value:
        return default
    if value not in allowed:
        raise UserFacingError(400, _("Unknown value for %(name)s: %(value)s", name=name, value=value[:40]))
    return value


def page_number() -> int:
    number = whole_number(request.args.get("page", "1"))
    if number is None or not 1 <= number <= 100_000:
        raise UserFacingError(400, _("The page number must be a whole number from 1."))
    return number


@bp.get("/ideas")
def list_ideas():
    sort = _arg_choice("sort", SORTS, DEFAULT_SORT)
    status = _arg_choice("status", [s.value for s in Status])
    category = tag = None
    if slug := text_arg("category"):
        category = db.session.scalar(select(Category).where(Category.slug == slug)) or abort(404)
    if tag_name := text_arg("tag").lower():
        tag = db.session.scalar(select(Tag).where(Tag.name == tag_name)) or abort(404)
    query = ideas_query(
        sort, status=status, category=category, tag=tag, include_hidden=can(current_user, "moderate")
    )
    page = paginate(query, page_number(), current_app.config["IDEAS_PER_PAGE"])
    filters = {"sort": sort, "status": status, "category": category.slug if category else None,
               "tag": tag.name if tag else None}
    return render(
        "ideas/list.html", fragment="ideas/_results.html",
        page=page, filters=filters, sorts=list(SORTS), statuses=STATUS_LABELS,
        categories=active_categories(), category=category, tag=tag,
        my_votes=votes_of(current_user, page.items),
    )


@bp.route("/ideas/new", methods=["GET", "POST"])
@login_required_for("submit_idea")
@form_checks_csrf
def new_idea():
    form = IdeaForm()
    if form.validate_on_submit():
        try:
            idea = services.submit_idea(
                current_user, form.title.data, form.description.data, form.category.data, form.tags.data
            )
        except services.IdeaError as error:
            getattr(form, error.field).errors.append(str(error))
        else:
            flash(_("Your idea is published. Thank you!"), "success")
            return redirect(url_for("ideas.show", idea_id=idea.id))
    status = form_error_status(form) if form.is_submitted() else 200
    return render("ideas/form.html", status=status, form=form, idea=None)


def visible_idea(idea_id: int) -> Idea:
    idea = get_or_404(Idea, idea_id)
    if not can(current_user, "view_idea", idea):
        abort(404)  # hidden ideas do not exist for the public
    return idea


def idea_page_context(idea: Idea, comment_form: CommentForm | None = None) -> dict:
    """Everything ideas/show.html (and its fragments) needs."""
    history = db.session.scalars(
        select(StatusChange).where(StatusChange.idea_id == idea.id)
        .order_by(StatusChange.created_at, StatusChange.id)
    ).all()
    context = {
        "idea": idea,
        "history": history,
        "comments": visible_comments(idea, include_hidden=can(current_user, "moderate")),
        "comment_form": comment_form or CommentForm(formdata=None),
        "my_votes": votes_of(current_user, [idea]),
    }
    if can(current_user, "triage"):
        from ..triage.routes import staff_context  # triage builds on ideas, not the reverse

        context.update(staff_context(idea))
    return context


@bp.get("/ideas/<int:idea_id>")
def show(idea_id: int):
    return render("ideas/show.html", **idea_page_context(visible_idea(idea_id)))


@bp.get("/ideas/<int:idea_id>/<slug>")
def show_with_slug(idea_id: int, slug: str):
    visible_idea(idea_id)
    return redirect(url_for("ideas.show", idea_id=idea_id), 301)


@bp.route("/ideas/<int:idea_id>/edit", methods=["GET", "POST"])
@form_checks_csrf
def edit(idea_id: int):
    idea = visible_idea(idea_id)
    require("edit_idea", idea)
    form = IdeaForm(
        title=idea.title, description=idea.description, category=idea.category_id,
        tags=", ".join(t.name for t in idea.tags),
    )
    if form.validate_on_submit():
        try:
            services.update_idea(idea, form.title.data, form.description.data, form.category.data, form.tags.data)
        except services.IdeaError as error:
            getattr(form, error.field).errors.append(str(error))
        else:
            flash(_("Your changes are saved."), "success")
            return redirect(url_for("ideas.show", idea_id=idea.id))
    status = form_error_status(form) if form.is_submitted() else 200
    return render("ideas/form.html", status=status, form=form, idea=idea)
