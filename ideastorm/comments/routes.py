from flask import Blueprint, flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user
from htmx_flask import request

from ..ideas.routes import idea_page_context, visible_idea
from ..security.permissions import require
from ..web import form_checks_csrf, form_error_status, render
from . import services
from .forms import CommentForm

bp = Blueprint("comments", __name__)


@bp.post("/ideas/<int:idea_id>/comments")
@form_checks_csrf
def create(idea_id: int):
    idea = visible_idea(idea_id)
    require("comment", idea)
    form = CommentForm()
    if not form.validate_on_submit():
        return render("ideas/show.html", fragment="comments/_section.html", status=form_error_status(form),
                      **idea_page_context(idea, form))
    services.add_comment(current_user, idea, form.body.data)
    if not request.htmx:
        flash(_("Your comment is posted."), "success")
        return redirect(url_for("ideas.show", idea_id=idea.id, _anchor="comments"))
    return render("comments/_section.html", **idea_page_context(idea))
