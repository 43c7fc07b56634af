"""Search pages: /search (full text with filters, sorts and facets) and similar-idea suggestions.

When the index cannot answer, the pages say so (503, "Search is unavailable right now", with a
link to browse every idea) instead of "no results"; each failure is logged (``health.note_failure``).
"""

from __future__ import annotations

import dataclasses

from flask import Blueprint, current_app
from flask_babel import gettext as _
from htmx_flask import request
from sqlalchemy import select

from ..extensions import db
from ..i18n import STATUS_LABELS
from ..ideas.models import Category
from ..ideas.queries import Page
from ..web import ID_MAX, page_arg, query_arg, render
from . import backend, health, public_only
from .interface import SORTS, SearchHit, SearchQuery, SearchResults, SearchUnavailable
from .suggest import QUERY_MAX, clean_text, idea_title_from, similar_hits

bp = Blueprint("search", __name__)

TAG_FILTER_MAX = 40
# A fragment that explains a failure in its place (search unavailable) carries this header, so
# that htmx swaps it in although its status is an error (see static/app.js).
SWAP_ERROR_HEADER = "X-Swap-Error"


def _query(query: SearchQuery) -> SearchResults:
    """The backend's answer, or SearchUnavailable (logged) when the index cannot give one."""
    with health.answering():
        return backend().query(query)


def _unavailable(response):
    response.status_code = 503
    response.headers[SWAP_ERROR_HEADER] = "true"
    return response


@bp.app_errorhandler(SearchUnavailable)
def unavailable_response(error: SearchUnavailable):
    """Any other page whose search failed (the error handler for SearchUnavailable): 503 with the message."""
    from ..errors import error_response

    health.note_failure(error)
    if request.endpoint == "search.similar":
        return _unavailable(render("search/_similar.html", hits=[], unavailable=True))
    body, status = error_response(503, _("Search is unavailable right now."))
    return body, status


def _category_names() -> dict[str, str]:
    """Each category's address and its name in the reader's language."""
    categories = db.session.scalars(select(Category).order_by(Category.position, Category.name))
    return {category.slug: category.label for category in categories}


@bp.get("/search")
def search():
    sort = query_arg("sort", SORTS[0], choices=SORTS)
    status = query_arg("status", choices=STATUS_LABELS)
    category_names = _category_names()
    category = query_arg("category", choices=category_names)
    tag = clean_text(query_arg("tag", "", lower=True))[:TAG_FILTER_MAX] or None
    page_no = page_arg()
    # The typed text may be long (refused below with a message) and hold control characters.
    text = clean_text(request.args.get("q", ""))
    results = page = message = None
    proposal, unfiltered_total, unavailable = "", None, False
    if len(text) > QUERY_MAX:
        message = _("A search can have at most %(n)d characters: please shorten it.", n=QUERY_MAX)
        text = text[:QUERY_MAX]
    elif text:
        per_page = current_app.config["IDEAS_PER_PAGE"]
        try:
            results = _query(SearchQuery(text, status=status, category=category, tag=tag, sort=sort,
                                         page=page_no, per_page=per_page))
        except SearchUnavailable:
            unavailable = True
    if results is not None:
        # The index holds the English category name; each hit shows the reader's.
        hits = [
            dataclasses.replace(hit, category_name=category_names.get(hit.category_slug, hit.category_name))
            for hit in public_only(results.hits)
        ]
        results = dataclasses.replace(results, hits=hits)
        message = results.message
        page = Page(items=results.hits, number=page_no, per_page=per_page,
                    has_next=page_no * per_page < results.total)
        if not results.total:
            # Nothing found: the words as a new idea's title, and what the words find without the filters.
            proposal = idea_title_from(text)
            if status or category or tag:
                try:
                    unfiltered_total = _query(SearchQuery(text, per_page=1)).total
                except SearchUnavailable:
                    pass  # the results above stand; only the hint without the filters is left out
    filters = {"q": text, "status": status, "category": category, "tag": tag, "sort": sort}
    response = render(
        "search/search.html", fragment="search/_results.html",
        filters=filters, results=results, page=page, message=message, sorts=SORTS, unavailable=unavailable,
        category_names=category_names, query_max=QUERY_MAX, proposal=proposal, unfiltered_total=unfiltered_total,
    )
    return _unavailable(response) if unavailable else response


@bp.app_template_global("similar_ideas")
def similar_ideas(text: str | None, exclude_id: int | None = None) -> list[SearchHit]:
    """For a form shown again with a title typed: the suggestions htmx would have shown (none when
    search is unavailable: the form must work without it)."""
    try:
        return similar_hits(text or "", exclude_id=exclude_id)
    except SearchUnavailable:
        return []


@bp.get("/search/similar")
def similar():
    exclude = query_arg("exclude", minimum=1, maximum=ID_MAX)
    try:
        hits = similar_hits(request.args.get("title", "")[:10 * QUERY_MAX], exclude_id=exclude)
    except SearchUnavailable:
        return _unavailable(render("search/_similar.html", hits=[], unavailable=True))
    return render("search/_similar.html", hits=hits)
