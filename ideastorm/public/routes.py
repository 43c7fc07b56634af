"""Leaderboards, Ideas in Action, roadmap and public profiles (thin views over queries.py)."""

from math import ceil

from flask import Blueprint, abort, current_app
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from ..accounts.models import User
from ..ideas.services import held_ideas_of
from ..ideas.queries import Page, active_categories, category_by_slug, ideas_query, paginate
from ..notifications.services import followed_among
from ..votes.services import votes_of
from ..web import get_or_404, page_arg, query_arg, render
from . import queries

bp = Blueprint("public", __name__)

LEADERBOARD_PAGE = 20
PERIOD_LABELS = {
    "week": _l("Past week"),
    "month": _l("Past month"),
    "year": _l("Past year"),
    "all": _l("All time"),
}


def _page_or_404(page: Page) -> Page:
    if page.number > 1 and not page.items:
        abort(404)  # past the last page
    return page


@bp.get("/leaderboard")
def leaderboard():
    period = query_arg("period", queries.DEFAULT_PERIOD, choices=queries.PERIODS)
    category = query_arg("category", lookup=category_by_slug)
    number = page_arg()
    ranking = queries.cached_top_ideas(period, category.id if category else None)
    if number > max(1, ceil(len(ranking.value) / LEADERBOARD_PAGE)):
        abort(404)
    start = (number - 1) * LEADERBOARD_PAGE
    entries = ranking.value[start:start + LEADERBOARD_PAGE]
    ideas = {idea.id: idea for idea in queries.ideas_by_id([entry.idea_id for entry in entries])}
    rows = [(start + i + 1, ideas[entry.idea_id], entry.points)
            for i, entry in enumerate(entries) if entry.idea_id in ideas]
    page = Page(items=rows, number=number, per_page=LEADERBOARD_PAGE,
                has_next=start + LEADERBOARD_PAGE < len(ranking.value))
    return render(
        "public/leaderboard.html", fragment="public/_leaderboard.html",
        period=period, periods=PERIOD_LABELS, category=category, categories=active_categories(),
        page=page, ranking=ranking, contributors=queries.cached_top_contributors(period),
    )


@bp.get("/implemented")
def implemented():
    page = _page_or_404(paginate(queries.implemented_query(), page_arg(), current_app.config["IDEAS_PER_PAGE"]))
    return render(
        "public/implemented.html", page=page, headline=queries.headline_counts(),
        responses=queries.official_responses(page.items), my_votes=votes_of(current_user, page.items),
        followed=followed_among(current_user, page.items),
    )


@bp.get("/roadmap")
def roadmap():
    return render("public/roadmap.html", roadmap=queries.roadmap())


@bp.get("/users/<int:user_id>")
def profile(user_id: int):
    """A member's public face; banned members too, since their ideas stay public."""
    user = get_or_404(User, user_id)
    page = _page_or_404(paginate(ideas_query("new", author_id=user.id), page_arg(),
                                 current_app.config["IDEAS_PER_PAGE"]))
    return render(
        "public/profile.html", member=user, stats=queries.member_stats(user.id), page=page,
        my_votes=votes_of(current_user, page.items),
        followed=followed_among(current_user, page.items),
        waiting=held_ideas_of(user.id) if current_user.is_authenticated and current_user.id == user.id else [],
    )
