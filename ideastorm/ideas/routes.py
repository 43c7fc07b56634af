from flask import Blueprint, current_app, flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..i18n import STATUS_LABELS
from ..notifications.services import followed_among
from ..security.limits import limit
from ..security.permissions import can, login_required_for, require
from ..votes.services import votes_of
from ..web import form_checks_csrf, page_arg, query_arg, render, run_form
from . import services
from .forms import IdeaForm
from .page import idea_page_context, visible_idea
from .queries import DEFAULT_SORT, SORTS, active_categories, category_by_slug, ideas_query, paginate, tag_by_name

bp = Blueprint("ideas", __name__)


@bp.get("/ideas")
def list_ideas():
    sort = query_arg("sort", DEFAULT_SORT, choices=SORTS)
    status = query_arg("status", choices=STATUS_LABELS)
    category = query_arg("category", lookup=category_by_slug)
    tag = query_arg("tag", lookup=tag_by_name, lower=True)
    query = ideas_query(
        sort, status=status, category=category, tag=tag, include_hidden=can(current_user, "moderate")
    )
    page = paginate(query, page_arg(), current_app.config["IDEAS_PER_PAGE"])
    filters = {"sort": sort, "status": status, "category": category.slug if category else None,
               "tag": tag.name if tag else None}
    return render(
        "ideas/list.html", fragment="ideas/_results.html",
        page=page, filters=filters, sorts=list(SORTS), statuses=STATUS_LABELS,
        categories=active_categories(), category=category, tag=tag,
        my_votes=votes_of(current_user, page.items),
        followed=followed_among(current_user, page.items),
    )


def _idea_form(form: IdeaForm, idea=None):
    """Submit (``idea`` None) or update from the form; the form again with the messages when refused."""
    fields = (form.title.data, form.description.data, form.category.data, form.tags.data)
    if idea is None:
        outcome = run_form(form, lambda: services.submit_idea(current_user, *fields))
        message = _("Your idea is published. Thank you!")
    else:
        outcome = run_form(form, lambda: services.update_idea(idea, *fields))
        message = _("Your changes are saved.")
    if outcome.done:
        if idea is None and outcome.result.awaiting_approval:
            message = _("Thank you! Your idea will be published once the team has approved it.")
        flash(message, "success")
        return redirect(url_for("ideas.show", idea_id=outcome.result.id))
    return render("ideas/form.html", status=outcome.status, form=form, idea=idea)


@bp.route("/ideas/new", methods=["GET", "POST"])
@login_required_for("submit_idea")
@form_checks_csrf
@limit("submit")
def new_idea():
    return _idea_form(IdeaForm(title=query_arg("title")))


@bp.get("/ideas/<int:idea_id>")
def show(idea_id: int):
    return render("ideas/show.html", **idea_page_context(visible_idea(idea_id)))


@bp.get("/ideas/<int:idea_id>/<slug>")
def show_with_slug(idea_id: int, slug: str):
    visible_idea(idea_id)
    return redirect(url_for("ideas.show", idea_id=idea_id), 301)


@bp.route("/ideas/<int:idea_id>/edit", methods=["GET", "POST"])
@form_checks_csrf
@limit("write")
def edit(idea_id: int):
    idea = visible_idea(idea_id)
    require("edit_idea", idea)
    form = IdeaForm(
        title=idea.title, description=idea.description, category=idea.category_id,
        tags=", ".join(t.name for t in idea.tags),
    )
    return _idea_form(form, idea)
