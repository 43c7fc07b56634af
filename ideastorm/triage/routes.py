from flask import Blueprint, abort, current_app, flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user
from htmx_flask import request
from sqlalchemy import select

from ..comments.models import Comment
from ..errors import UserFacingError
from ..extensions import db
from ..i18n import STATUS_LABELS
from ..ideas.models import Category, Idea, Tag
from ..ideas.queries import active_categories, paginate
from ..ideas.routes import idea_page_context, page_number
from ..search.routes import duplicate_candidates
from ..security.permissions import login_required_for
from ..web import form_checks_csrf, form_error_status, get_or_404, render
from . import services
from .forms import BulkForm, DuplicateForm, NoteForm, StatusForm
from .queries import QUEUE_SORTS, queue_query

bp = Blueprint("triage", __name__)


def _int_arg(name: str, low: int, high: int) -> int | None:
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    try:
        value = int(raw)
    except ValueError:
        raise UserFacingError(400, _("%(name)s must be a whole number.", name=name)) from None
    if not low <= value <= high:
        raise UserFacingError(400, _("%(name)s must be a whole number.", name=name))
    return value


def _queue_context(bulk_form: BulkForm | None = None) -> dict:
    sort = request.args.get("sort") or "oldest"
    status = request.args.get("status") or None
    if sort not in QUEUE_SORTS or (status and status not in STATUS_LABELS):
        raise UserFacingError(400, _("Unknown sort or status."))
    category = tag = None
    if slug := request.args.get("category"):
        category = db.session.scalar(select(Category).where(Category.slug == slug)) or abort(404)
    if name := request.args.get("tag", "").strip().lower():
        tag = db.session.scalar(select(Tag).where(Tag.name == name)) or abort(404)
    min_age, min_score = _int_arg("age", 0, 36_500), _int_arg("min_score", -10**9, 10**9)
    query = queue_query(sort=sort, status=status, category=category, tag=tag, min_age_days=min_age,
                        min_score=min_score)
    page = paginate(query, page_number(), current_app.config["IDEAS_PER_PAGE"])
    filters = {"sort": sort, "status": status, "category": slug or "", "tag": name, "age": min_age,
               "min_score": min_score}
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
        try:
            count = services.bulk_apply(
                current_user, ids, status=form.status.data or None, response=form.response.data,
                category_id=int(form.category.data) if form.category.data else None, tag=form.tag.data or None,
            )
        except services.TriageError as error:
            flash(str(error), "error")
            status = error.code
        else:
            flash(_("%(n)d idea(s) updated.", n=count), "success")
            if not request.htmx:
                return redirect(request.form.get("back") or url_for("triage.queue"))
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
    context = idea_page_context(idea)
    context.update(forms)
    return render("ideas/show.html", status=status, **context)


@bp.post("/ideas/<int:idea_id>/status")
@login_required_for("triage")
@form_checks_csrf
def change_status(idea_id: int):
    idea = _staff_idea(idea_id)
    form = StatusForm()
    if not form.validate_on_submit():
        return _idea_page_with_errors(idea, form_error_status(form), status_form=form)
    try:
        services.change_status(current_user, idea, form.status.data, form.response.data)
    except services.TriageError as error:
        form.status.errors.append(str(error))
        return _idea_page_with_errors(idea, error.code, status_form=form)
    return _back_to_idea(idea, _("The status is saved."))


@bp.post("/ideas/<int:idea_id>/duplicate")
@login_required_for("triage")
@form_checks_csrf
def mark_duplicate(idea_id: int):
    idea = _staff_idea(idea_id)
    form = DuplicateForm()
    if form.validate_on_submit():
        original = db.session.get(Idea, form.original_id.data)
        if original is None:
            form.original_id.errors.append(_("There is no idea number %(id)d.", id=form.original_id.data))
        else:
            try:
                services.mark_duplicate(current_user, idea, original, form.response.data)
            except services.TriageError as error:
                db.session.rollback()
                form.original_id.errors.append(str(error))
            else:
                return _back_to_idea(idea, _("Marked as a duplicate; its votes moved to the original."))
        return _idea_page_with_errors(idea, 422, duplicate_form=form)
    return _idea_page_with_errors(idea, form_error_status(form), duplicate_form=form)


def _simple_action(action, success_message: str, *args):
    try:
        action(current_user, *args)
    except services.TriageError as error:
        db.session.rollback()
        raise UserFacingError(error.code, str(error)) from None
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
    if not form.validate_on_submit():
        return _idea_page_with_errors(idea, form_error_status(form), note_form=form)
    services.add_note(current_user, idea, form.body.data)
    return _back_to_idea(idea, _("The note is saved."))


def staff_context(idea: Idea) -> dict:
    """What the staff panel on an idea's page needs."""
    return {
        "duplicate_candidates": duplicate_candidates(idea) if idea.status != "duplicate" else [],
        "status_form": StatusForm(formdata=None, status=idea.status if idea.status != "duplicate" else "new"),
        "duplicate_form": DuplicateForm(formdata=None),
        "note_form": NoteForm(formdata=None),
        "notes": services.notes_of(idea),
    }
