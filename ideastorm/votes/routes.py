from flask import Blueprint, abort, flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user
from htmx_flask import request

from ..errors import UserFacingError
from ..extensions import db
from ..i18n import status_label
from ..ideas.models import Idea
from ..security.permissions import can, is_safe_next, require
from ..web import get_or_404, render
from . import services

bp = Blueprint("votes", __name__)


@bp.post("/ideas/<int:idea_id>/vote")
def vote(idea_id: int):
    idea = get_or_404(Idea, idea_id)
    if not can(current_user, "view_idea", idea):
        abort(404)
    require("vote", idea)
    try:
        result = services.cast_vote(current_user.id, idea.id, request.form.get("value", ""))
    except services.InvalidVote:
        raise UserFacingError(422, _("A vote is 1 (promote), -1 (demote) or 0 (retract).")) from None
    except services.IdeaNotFound:
        abort(404)
    except services.VotingClosed as closed:
        message = _("Voting is closed: this idea is %(status)s.", status=status_label(closed.status))
        if request.htmx:
            return _widget(idea, message=message, status=409)
        raise UserFacingError(409, message) from None
    except services.VoteContention:
        raise UserFacingError(409, _("Many people are voting right now; please try again.")) from None
    if request.htmx:
        return _widget(idea)
    if result.changed:
        flash(_("Your vote is counted.") if result.value else _("Your vote is withdrawn."), "success")
    target = request.form.get("next")
    return redirect(target if is_safe_next(target) else url_for("ideas.show", idea_id=idea.id))


def _widget(idea: Idea, *, message: str | None = None, status: int = 200):
    """The vote control alone, as htmx swaps it in place."""
    db.session.refresh(idea)  # the counters were changed by a Core UPDATE
    return render(
        "votes/_widget.html", status=status, idea=idea, my_votes=services.votes_of(current_user, [idea]),
        vote_message=message,
    )
