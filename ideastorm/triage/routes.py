from flask import Blueprint, current_app, flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user
from htmx_flask import request

from ..comments.models import Comment
from ..domain import DomainError
from ..errors import UserFacingError
from ..extensions import db
from ..i18n import STATUS_LABELS
from ..ideas.models import Idea
from ..ideas.page import idea_page_context
from ..ideas.queries import active_categories, category_by_slug, paginate, tag_by_name
from ..security.permissions import login_required_for
from ..web import form_checks_csrf, form_error_status, get_or_404, next_url, page_arg, query_arg, render, run_form
from . import services
from .forms import BulkForm, DuplicateForm, NoteForm, StatusForm
from .queries import QUEUE_SORTS, queue_query

bp = Blueprint("triage", __name__)


def _queue_context(bulk_form: BulkForm | None = None) -> dict:
    sort = query_arg("sort", "oldest", choices=QUEUE_SORTS)
    status = query_arg("status", choices=STATUS_LABELS)
    category = query_arg("category", lookup=category_by_slug)
    tag = query_arg("tag", lookup=tag_by_name, lower=True)
    min_age = query_arg("age", minimum=0, maximum=36_500)
    min_score = query_arg("min_score", minimum=-10**9, maximum=10**9)
    query = queue_query(sort=sort, status=status, category=category, tag=tag, min_age_days=min_age,
                        min_score=min_score)
    page = paginate(query, page_arg(), current_app.config["IDEAS_PER_PAGE"])
    filters = {"sort": sort, "status": status, "category": category.slug if category else "",
               "tag": tag.name if tag else "", "age": min_age, "min_score": min_score}
    return {"page": page, "filters": filters, "statuses": STATUS_LABELS, "categories": active_categories(),
            "bulk_form": bulk_form or BulkForm(formdata=None)}


@bp.get("/triage")
@login_required_for("triage")
def queue():
    return render("triage/queue.html", fragment="triage/_queue.html", **_queue_context())


@bp.post("/triage/bulk")
@login_required_for("triage")
@form_checks_csrf
def bulk():
    form = BulkForm()
    status = 200
    if form.validate_on_submit():
        try:
            ids = [int(v) for v in request.form.getlist("ids")]
        except ValueError:
            raise UserFacingError(422, _("Idea numbers must be whole numbers.")) from None
        if not all(0 < i < 2**31 for i in ids):  # ids are 32-bit integers on every backend
            raise UserFacingError(422, _("Idea numbers must be whole numbers."))
        try:
            count = services.bulk_apply(
                current_user, ids, status=form.status.data or None, response=form.response.data,
                category_id=int(form.category.data) if form.category.data else None, tag=form.tag.data or None,
            )
            db.session.commit()
        except DomainError as error:
            db.session.rollback()
            flash(error.message, "error")
            status = error.status
        else:
            flash(_("%(n)d idea(s) updated.", n=count), "success")
            if not request.htmx:
                return redirect(next_url("triage.queue"))
            form = BulkForm(formdata=None)
    else:
        status = form_error_status(form)
    return render("triage/queue.html", fragment="triage/_queue.html", status=status, **_queue_context(form))


def _staff_idea(idea_id: int) -> Idea:
    return get_or_404(Idea, idea_id)


def _back_to_idea(idea: Idea, message: str):
    flash(message, "success")
    return redirect(url_for("ideas.show", idea_id=idea.id))


def _idea_page_with_errors(idea: Idea, status: int, **forms):
    return render("ideas/show.html", status=status, **idea_page_context(idea, **forms))


@bp.post("/ideas/<int:idea_id>/status")
@login_required_for("triage")
@form_checks_csrf
def change_status(idea_id: int):
    idea = _staff_idea(idea_id)
    form = StatusForm()
    outcome = run_form(form, lambda: services.change_status(current_user, idea, form.status.data,
                                                            form.response.data))
    if not outcome.done:
        return _idea_page_with_errors(idea, outcome.status, status_form=form)
    return _back_to_idea(idea, _("The status is saved."))


@bp.post("/ideas/<int:idea_id>/duplicate")
@login_required_for("triage")
@form_checks_csrf
def mark_duplicate(idea_id: int):
    idea = _staff_idea(idea_id)
    form = DuplicateForm()

    def merge():
        original = db.session.get(Idea, form.original_id.data)
        if original is None:
            raise DomainError("original_missing", _("There is no idea number %(id)d.", id=form.original_id.data),
                              "original_id")
        services.mark_duplicate(current_user, idea, original, form.response.data)

    outcome = run_form(form, merge, default_field="original_id")
    if not outcome.done:
        return _idea_page_with_errors(idea, outcome.status, duplicate_form=form)
    return _back_to_idea(idea, _("Marked as a duplicate; its votes moved to the original."))


def _simple_action(action, success_message: str, *args):
    """Run one staff action and commit; a refusal is an error page with the rule's message."""
    action(current_user, *args)
    db.session.commit()
    flash(success_message, "success")


@bp.post("/ideas/<int:idea_id>/unduplicate")
@login_required_for("triage")
def undo_duplicate(idea_id: int):
    idea = _staff_idea(idea_id)
    _simple_action(services.undo_duplicate, _("The duplicate is undone; both ideas are as they were."), idea)
    return redirect(url_for("ideas.show", idea_id=idea.id))


@bp.post("/ideas/<int:idea_id>/visibility")
@login_required_for("moderate")
def idea_visibility(idea_id: int):
    idea = _staff_idea(idea_id)
    hidden = request.form.get("hidden") == "1"
    _simple_action(services.set_idea_hidden, _("The idea is hidden.") if hidden else _("The idea is visible."),
                   idea, hidden)
    return redirect(url_for("ideas.show", idea_id=idea.id))


@bp.post("/ideas/<int:idea_id>/lock")
@login_required_for("moderate")
def lock_comments(idea_id: int):
    idea = _staff_idea(idea_id)
    locked = request.form.get("locked") == "1"
    _simple_action(services.set_comments_locked,
                   _("Comments are locked.") if locked else _("Comments are open."), idea, locked)
    return redirect(url_for("ideas.show", idea_id=idea.id))


@bp.post("/comments/<int:comment_id>/visibility")
@login_required_for("moderate")
def comment_visibility(comment_id: int):
    comment = get_or_404(Comment, comment_id)
    hidden = request.form.get("hidden") == "1"
    _simple_action(services.set_comment_hidden,
                   _("The comment is hidden.") if hidden else _("The comment is visible."), comment, hidden)
    return redirect(url_for("ideas.show", idea_id=comment.idea_id, _anchor=f"comment-{comment.id}"))


@bp.post("/ideas/<int:idea_id>/notes")
@login_required_for("triage")
@form_checks_csrf
def add_note(idea_id: int):
    idea = _staff_idea(idea_id)
    form = NoteForm()
    outcome = run_form(form, lambda: services.add_note(current_user, idea, form.body.data))
    if not outcome.done:
        return _idea_page_with_errors(idea, outcome.status, note_form=form)
    return _back_to_idea(idea, _("The note is saved."))
