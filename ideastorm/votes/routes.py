from flask import Blueprint, abort, flash, redirect
from flask_babel import gettext as _
from flask_login import current_user
from htmx_flask import request

from ..database import run_transaction
from ..extensions import db
from ..ideas.models import Idea
from ..security.permissions import can, require
from ..web import get_or_404, next_url, render
from . import services

bp = Blueprint("votes", __name__)


@bp.post("/ideas/<int:idea_id>/vote")
def vote(idea_id: int):
    idea = get_or_404(Idea, idea_id)
    if not can(current_user, "view_idea", idea):
        abort(404)
    require("vote", idea)
    value = request.form.get("value", "")
    try:
        result = run_transaction(lambda: services.cast_vote(current_user.id, idea.id, value))
    except services.VotingClosed as closed:
        if request.htmx:
            return _widget(idea, message=closed.message, status=409)
        raise
    if request.htmx:
        return _widget(idea)
    if result.changed:
        flash(_("Your vote is counted.") if result.value else _("Your vote is withdrawn."), "success")
    return redirect(next_url("ideas.show", idea_id=idea.id))


def _widget(idea: Idea, *, message: str | None = None, status: int = 200):
    """The vote control alone, as htmx swaps it in place."""
    db.session.refresh(idea)  # the counters were changed by a Core UPDATE
    return render(
        "votes/_widget.html", status=status, idea=idea, my_votes=services.votes_of(current_user, [idea]),
        vote_message=message,
    )
