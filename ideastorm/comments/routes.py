from flask import Blueprint, abort, flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user
from htmx_flask import request

from ..domain import DomainError
from ..extensions import db
from ..ideas.page import idea_page_context, visible_idea
from ..security.limits import limit
from ..security.permissions import can, login_required_for, require
from ..text import clean_text
from ..web import form_checks_csrf, get_or_404, render, run_form
from . import services
from .forms import CommentForm
from .models import Comment

bp = Blueprint("comments", __name__)

PREVIEW_MAX = 20_000  # longer than any text a form accepts; the form itself says what is too long


@bp.post("/ideas/<int:idea_id>/comments")
@form_checks_csrf
@limit("comment")
def create(idea_id: int):
    idea = visible_idea(idea_id)
    require("comment", idea)
    form = CommentForm()
    outcome = run_form(form, lambda: services.add_comment(current_user, idea, form.body.data))
    if not outcome.done:
        return render("ideas/show.html", fragment="comments/_section.html", status=outcome.status,
                      **idea_page_context(idea, form))
    if not request.htmx:
        flash(_("Your comment is posted."), "success")
        return redirect(url_for("ideas.show", idea_id=idea.id, _anchor="comments"))
    return render("comments/_section.html", **idea_page_context(idea))


def _own_comment(comment_id: int) -> Comment:
    """The comment, if the current user may see it (404 otherwise) and change it (403 / 409 otherwise)."""
    comment = get_or_404(Comment, comment_id)
    idea = visible_idea(comment.idea_id)
    if comment.is_hidden and not can(current_user, "moderate"):
        abort(404)  # hidden comments do not exist for members
    if not current_user.is_authenticated:
        require("comment", idea)  # to the login page, then back here
    try:
        services.check_own_comment(current_user, comment)
    except DomainError as error:
        if request.htmx and error.status == 409:
            # The thread changed since the page was shown (comments locked, comment hidden):
            # htmx gets the thread as it is now, with the reason, in place of the old one.
            response = render("comments/_section.html", status=409, comments_message=error.message,
                              **idea_page_context(idea))
            response.headers.update({"HX-Retarget": "#comments", "HX-Reswap": "outerHTML"})
            abort(response)
        raise  # the error page, with the rule's status
    return comment


def _comment_url(comment: Comment) -> str:
    return url_for("ideas.show", idea_id=comment.idea_id, _anchor=f"comment-{comment.id}")


@bp.route("/comments/<int:comment_id>/edit", methods=["GET", "POST"])
@form_checks_csrf
@limit("write")
def edit(comment_id: int):
    """The author's edit form: a page of its own, or (htmx) in place of the comment."""
    comment = _own_comment(comment_id)
    form = CommentForm(body=comment.body)
    form.body.id = form.body.label.field_id = f"comment-{comment.id}-body"  # unique beside the page's comment box
    outcome = run_form(form, lambda: services.edit_comment(current_user, comment, form.body.data))
    if outcome.done:
        if request.htmx:
            return render("comments/_comment.html", comment=comment, idea=comment.idea)
        flash(_("Your comment is saved."), "success")
        return redirect(_comment_url(comment))
    return render("comments/edit.html", fragment="comments/_edit_form.html", status=outcome.status,
                  form=form, comment=comment, idea=comment.idea)


@bp.route("/comments/<int:comment_id>/delete", methods=["GET", "POST"])
@limit("write")
def delete(comment_id: int):
    """GET asks for confirmation (the page without JavaScript); POST deletes."""
    comment = _own_comment(comment_id)
    idea = comment.idea
    if request.method == "GET":
        return render("comments/delete.html", comment=comment, idea=idea)
    services.delete_comment(current_user, comment)
    db.session.commit()
    if request.htmx:
        return render("comments/_section.html", **idea_page_context(idea))
    flash(_("Your comment is deleted."), "success")
    return redirect(url_for("ideas.show", idea_id=idea.id, _anchor="comments"))


@bp.get("/comments/<int:comment_id>/hide")
@login_required_for("moderate")
def confirm_hide(comment_id: int):
    """Staff confirm hiding a comment (the form posts to the moderation action)."""
    comment = get_or_404(Comment, comment_id)
    return render("comments/hide.html", comment=comment, idea=visible_idea(comment.idea_id))


@bp.post("/markdown/preview")
@login_required_for("submit_idea")  # any member: previews are for people writing
def preview_markdown():
    """``text`` rendered as it will be shown (the same sanitizer); the fragment alone for htmx."""
    text = clean_text(request.form.get("text", "")[:PREVIEW_MAX], multiline=True)  # as saving will store it
    return render("comments/preview.html", fragment="comments/_preview.html", text=text)
