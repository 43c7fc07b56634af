from flask import Blueprint, current_app, flash, redirect, render_template, session, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from htmx_flask import request
from markupsafe import Markup

from ..comments.models import Comment
from ..domain import ID_MAX, DomainError
from ..errors import UserFacingError
from ..extensions import db
from ..i18n import STATUS_LABELS
from ..ideas.models import Idea
from ..ideas.page import idea_page_context
from ..ideas.queries import active_categories, category_by_slug, paginate, tag_by_name
from ..search.suggest import QUERY_MAX, clean_text, duplicate_candidates, similar_hits
from ..security.permissions import login_required_for
from ..web import (
    form_checks_csrf, form_error_status, get_or_404, next_url, page_arg, query_arg, record_id, render, run_form,
)
from . import services
from .forms import BulkForm, DuplicateForm, NoteForm, StatusForm
from .queries import QUEUE_SORTS, approval_query, approval_total, queue_query, queue_total

bp = Blueprint("triage", __name__)


BATCH_KEY = "triage_batch"  # the session remembers the last bulk action, to offer its undo once
NAMED_IN_MESSAGE = 5  # a message names this many ideas, then "and N more"


def _queue_context(bulk_form: BulkForm | None = None, batch=None) -> dict:
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
    return {"page": page, "total": queue_total(query), "filters": filters, "statuses": STATUS_LABELS,
            "sorts": _sort_labels(), "categories": active_categories(),
            "bulk_form": bulk_form or BulkForm(formdata=None), "batch": batch, "named": NAMED_IN_MESSAGE,
            "approval_total": approval_total()}


def _sort_labels() -> dict[str, str]:
    return {"newest": _("Newest first"), "oldest": _("Oldest first"), "score": _("Highest score first"),
            "comments": _("Most commented first")}


def _remembered_batch():
    """The bulk action just applied (once, after the redirect), unless it was undone already."""
    batch_id = session.pop(BATCH_KEY, None)
    batch = services.find_batch(batch_id) if isinstance(batch_id, int) else None
    return batch if batch is not None and batch.undone_at is None else None


def _ideas_named(ideas) -> Markup:
    """The first ideas' titles, linked, then "and N more"."""
    return Markup(render_template("triage/_ideas_named.html", ideas=list(ideas), named=NAMED_IN_MESSAGE))


@bp.get("/triage")
@login_required_for("triage")
def queue():
    return render("triage/queue.html", fragment="triage/_queue.html", **_queue_context(batch=_remembered_batch()))


@bp.post("/triage/bulk")
@login_required_for("triage")
@form_checks_csrf
def bulk():
    form = BulkForm()
    status, bulk_error = 200, None
    if form.validate_on_submit():
        ids = [record_id(v) for v in request.form.getlist("ids")]
        try:
            if None in ids:
                raise DomainError("ids_invalid", _("Idea numbers must be whole numbers."), "ids")
            batch = services.bulk_apply(
                current_user, ids, status=form.status.data or None, response=form.response.data,
                category_id=int(form.category.data) if form.category.data else None, tag=form.tag.data or None,
            )
            db.session.commit()
        except DomainError as error:
            db.session.rollback()
            bulk_error, status = error.message, error.status  # shown in the bulk bar, always in view
        else:
            if not request.htmx:
                session[BATCH_KEY] = batch.id
                return redirect(next_url("triage.queue"))
            return render("triage/queue.html", fragment="triage/_queue.html",
                          **_queue_context(BulkForm(formdata=None), batch=batch))
    else:
        status = form_error_status(form)
    response = render("triage/queue.html", fragment="triage/_queue.html", status=status, bulk_error=bulk_error,
                      **_queue_context(form))
    response.headers["HX-Reswap"] = "outerHTML"  # refused: stay where the bulk bar is, selection kept
    return response


@bp.post("/triage/undo")
@login_required_for("triage")
def undo_bulk():
    """Undo one bulk action as a whole: every idea back to its status and official response before it."""
    batch_id = record_id(request.form.get("batch"))
    if batch_id is None:
        raise UserFacingError(400, _("No bulk action to undo."))
    batch = get_or_404(services.TriageBatch, batch_id)
    status = 200
    try:
        result = services.undo_batch(current_user, batch)
        db.session.commit()
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
        status = error.status
    else:
        message = ngettext("Undone: %(num)d idea is back as it was (%(ideas)s).",
                           "Undone: %(num)d ideas are back as they were (%(ideas)s).",
                           len(result.restored), ideas=_ideas_named(result.restored))
        flash(Markup(message), "success")
        if result.skipped:
            flash(Markup(ngettext("Left as it is, because it changed since: %(ideas)s.",
                                  "Left as they are, because they changed since: %(ideas)s.",
                                  len(result.skipped), ideas=_ideas_named(result.skipped))), "warning")
        if not request.htmx:
            return redirect(next_url("triage.queue"))
    if not request.htmx:
        return render("triage/queue.html", status=status, **_queue_context())
    return render("triage/queue.html", fragment="triage/_queue.html", status=status, **_queue_context())


@bp.get("/triage/approval")
@login_required_for("triage")
def approval_queue():
    """New members' first ideas, held until staff approve (publish) or decline them."""
    page = paginate(approval_query(), page_arg(), current_app.config["IDEAS_PER_PAGE"])
    return render("triage/approval.html", page=page, total=approval_total(), my_votes={})


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


def _original_of(form: DuplicateForm) -> Idea:
    original = db.session.get(Idea, form.original_id.data)
    if original is None:
        raise DomainError("original_missing", _("There is no idea number %(id)d.", id=form.original_id.data),
                          "original_id")
    return original


@bp.post("/ideas/<int:idea_id>/duplicate")
@login_required_for("triage")
@form_checks_csrf
def mark_duplicate(idea_id: int):
    """Merge after the confirmation page only: without ``confirm=1`` the request goes to that page."""
    idea = _staff_idea(idea_id)
    form = DuplicateForm()
    confirmed = request.form.get("confirm") == "1"

    def merge():
        original = _original_of(form)
        if not confirmed:
            services.merge_preview(idea, original)  # refused here, with the rule's message, before any page
            return original
        services.mark_duplicate(current_user, idea, original, form.response.data)
        return original

    outcome = run_form(form, merge, default_field="original_id")
    if not outcome.done:
        return _idea_page_with_errors(idea, outcome.status, duplicate_form=form)
    if not confirmed:
        return redirect(url_for("triage.confirm_merge", idea_id=idea.id, into=outcome.result.id))
    return _back_to_idea(idea, _("Marked as a duplicate; its votes moved to the original."))


def _merge_candidates(idea: Idea, text: str) -> list:
    """Ideas ``idea`` may be merged into: by number ("#12"), by title (the search index), or the suggestions."""
    number = record_id(text.lstrip("#"))
    if number is not None:
        found = db.session.get(Idea, number)
        return [found] if found is not None and found.id != idea.id and not found.is_hidden else []
    if not text:
        return duplicate_candidates(idea)
    hits = similar_hits(text, exclude_id=idea.id, limit=12)
    return [hit for hit in hits if hit.status != "duplicate"][:8]


@bp.get("/ideas/<int:idea_id>/merge")
@login_required_for("triage")
def merge_search(idea_id: int):
    """The merge picker: candidate ideas by title (htmx: the list only, as the staff member types)."""
    idea = _staff_idea(idea_id)
    text = clean_text(query_arg("q", "", max_length=QUERY_MAX))
    context = {"idea": idea, "q": text, "candidates": _merge_candidates(idea, text) if idea.status != "duplicate" else []}
    return render("triage/merge_search.html", fragment="triage/_merge_candidates.html", **context)


@bp.get("/ideas/<int:idea_id>/merge/confirm")
@login_required_for("triage")
def confirm_merge(idea_id: int):
    """What the merge will do (target, votes moving, comments), with Confirm and Cancel."""
    idea = _staff_idea(idea_id)
    into = query_arg("into", minimum=1, maximum=ID_MAX,
                     message=_("Choose the idea to merge into."))
    if into is None:
        raise UserFacingError(400, _("Choose the idea to merge into."))
    original = get_or_404(Idea, into)
    form = DuplicateForm(formdata=None, original_id=original.id)
    try:
        preview, problem, status = services.merge_preview(idea, original), None, 200
    except DomainError as error:
        preview, problem, status = None, error.message, error.status
    return render("triage/merge_confirm.html", status=status, idea=idea, original=original, preview=preview,
                  problem=problem, form=form)


MODERATION = ("visibility", "comments")


def _needs_confirmation(change: bool) -> bool:
    return change and request.form.get("confirm") != "1"


@bp.get("/ideas/<int:idea_id>/moderate")
@login_required_for("moderate")
def confirm_moderation(idea_id: int):
    """Hide or show the idea, lock or open its comments: the question, with Confirm and Cancel."""
    idea = _staff_idea(idea_id)
    what = query_arg("what", "visibility", choices=MODERATION)
    return render("triage/confirm_moderation.html", idea=idea, what=what)


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
    """Hide or show: a change is made with ``confirm=1`` (the confirmation page's, or the script's after asking)."""
    idea = _staff_idea(idea_id)
    hidden = request.form.get("hidden") == "1"
    if _needs_confirmation(idea.is_hidden != hidden):
        return redirect(url_for("triage.confirm_moderation", idea_id=idea.id, what="visibility"))
    _simple_action(services.set_idea_hidden, _("The idea is hidden.") if hidden else _("The idea is visible."),
                   idea, hidden)
    return redirect(url_for("ideas.show", idea_id=idea.id))


@bp.post("/ideas/<int:idea_id>/approve")
@login_required_for("moderate")
def approve_idea(idea_id: int):
    """Publish an idea held for approval: it is counted, indexed and announced like any new idea."""
    idea = _staff_idea(idea_id)
    _simple_action(services.approve_idea, _("The idea is approved: everyone can see it now."), idea)
    return redirect(next_url("ideas.show", idea_id=idea.id))


@bp.post("/ideas/<int:idea_id>/reject")
@login_required_for("moderate")
def reject_idea(idea_id: int):
    """Decline an idea held for approval: it stays hidden (kept, like any hidden idea)."""
    idea = _staff_idea(idea_id)
    _simple_action(services.reject_idea, _("The idea is declined: it stays hidden."), idea)
    return redirect(next_url("ideas.show", idea_id=idea.id))


@bp.post("/ideas/<int:idea_id>/lock")
@login_required_for("moderate")
def lock_comments(idea_id: int):
    idea = _staff_idea(idea_id)
    locked = request.form.get("locked") == "1"
    if _needs_confirmation(idea.comments_locked != locked):
        return redirect(url_for("triage.confirm_moderation", idea_id=idea.id, what="comments"))
    _simple_action(services.set_comments_locked,
                   _("Comments are locked.") if locked else _("Comments are open."), idea, locked)
    return redirect(url_for("ideas.show", idea_id=idea.id))


@bp.post("/comments/<int:comment_id>/visibility")
@login_required_for("moderate")
def comment_visibility(comment_id: int):
    comment = get_or_404(Comment, comment_id)
    hidden = request.form.get("hidden") == "1"
    if hidden and _needs_confirmation(not comment.is_hidden):  # hiding asks first; showing again does not
        return redirect(url_for("comments.confirm_hide", comment_id=comment.id))
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
