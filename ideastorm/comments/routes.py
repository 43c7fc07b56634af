from flask import Blueprint, flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user
from htmx_flask import request

from ..ideas.page import idea_page_context, visible_idea
from ..security.permissions import require
from ..web import form_checks_csrf, render, run_form
from . import services
from .forms import CommentForm

bp = Blueprint("comments", __name__)


@bp.post("/ideas/<int:idea_id>/comments")
@form_checks_csrf
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
