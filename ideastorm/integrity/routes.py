"""The vote-integrity report and the voiding of banned members' votes (administrators)."""

from flask import Blueprint, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from .. import cache
from ..extensions import db
from ..security.permissions import login_required_for
from ..web import render
from . import services

bp = Blueprint("integrity", __name__, url_prefix="/admin/integrity")


@bp.get("")
@login_required_for("admin")
def report():
    return render("integrity/report.html", report=services.integrity_report())


@bp.get("/void-banned")
@login_required_for("admin")
def confirm_void():
    """What voiding will take back, with Confirm and Cancel."""
    votes, ideas = services.banned_votes_count()
    return render("integrity/confirm_void.html", votes=votes, ideas=ideas)


@bp.post("/void-banned")
@login_required_for("admin")
def void_banned():
    """Delete every vote cast by a banned member; only with ``confirm=1`` (the confirmation page's)."""
    if request.form.get("confirm") != "1":
        return redirect(url_for("integrity.confirm_void"))
    result = services.void_banned_votes(current_user)
    db.session.commit()
    cache.clear()  # this process's leaderboards at once; the others within AGGREGATE_CACHE_SECONDS
    if result.votes:
        flash(_("The votes of banned accounts are voided. Votes voided: %(votes)d. Ideas recounted: %(ideas)d.",
                votes=result.votes, ideas=result.ideas), "success")
    else:
        flash(_("No banned account has a vote: nothing to void."), "info")
    return redirect(url_for("integrity.report"))
