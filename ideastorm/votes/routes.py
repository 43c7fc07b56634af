from flask import Blueprint, abort, flash, redirect
from flask_babel import gettext as _
from flask_login import current_user
from htmx_flask import request

from ..database import run_transaction
from ..security.limits import limit
from ..security.network import network_prefix
from ..security.permissions import can, require
from ..web import next_url, render
from . import services

bp = Blueprint("votes", __name__)


@bp.post("/ideas/<int:idea_id>/vote")
@limit("vote")
def vote(idea_id: int):
    # The busiest write of the site: one narrow read of the idea, the vote's transaction, and the
    # widget drawn from what the vote returned, with no other query.
    idea = services.vote_target(idea_id) or abort(404)
    if not can(current_user, "view_idea", idea):
        abort(404)
    require("vote", idea)
    value = request.form.get("value", "")
    network = network_prefix(request.remote_addr)
    try:
        result = run_transaction(lambda: services.vote(current_user, idea.id, value, ip_prefix=network),
                                 expire_on_commit=False)
    except services.VotingClosed as closed:
        if request.htmx:
            idea = services.vote_target(idea.id) or idea  # as the refusal found it (closed meanwhile, say)
            return _widget(idea, services.votes_of(current_user, [idea]), message=closed.message, status=409)
        raise
    if request.htmx:
        return _widget(idea.after(result), {idea.id: result.value})
    if result.changed:
        flash(_("Your vote is counted.") if result.value else _("Your vote is withdrawn."), "success")
    return redirect(next_url("ideas.show", idea_id=idea.id))


def _widget(idea: services.VoteTarget, my_votes: dict[int, int], *, message: str | None = None,
            status: int = 200):
    """The vote control alone, as htmx swaps it in place."""
    return render("votes/_widget.html", status=status, idea=idea, my_votes=my_votes, vote_message=message)
