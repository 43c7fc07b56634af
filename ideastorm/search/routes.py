"""Search pages: /search (full text with filters, sorts and facets) and similar-idea suggestions."""

from __future__ import annotations

import dataclasses
import re

from flask import Blueprint, current_app
from flask_babel import gettext as _
from htmx_flask import request
from sqlalchemy import select

from ..errors import UserFacingError
from ..extensions import db
from ..i18n import STATUS_LABELS
from ..ideas.models import Category, Idea
from ..ideas.queries import Page
from ..ideas.routes import page_number
from ..web import render, whole_number
from . import backend, public_only
from .interface import SORTS, SearchHit, SearchQuery

bp = Blueprint("search", __name__)

QUERY_MAX = 200  # characters of search text; longer input is refused with a message
SIMILAR_MIN = 3  # a title shorter than this suggests nothing
SIMILAR_LIMIT = 5
TAG_FILTER_MAX = 40
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")


def clean_text(raw: str) -> str:
    """Search text as typed, with control characters and runs of spaces reduced to one space."""
    return " ".join(_CONTROL_CHARACTERS.sub(" ", raw).split())


def _choice(name: str, allowed) -> str | None:
    value = request.args.get(name, "").strip()
    if value and value not in allowed:
        raise UserFacingError(400, _("Unknown value for %(name)s: %(value)s", name=name, value=value[:40]))
    return value or None


def _category_names() -> dict[str, str]:
    rows = db.session.execute(select(Category.slug, Category.name).order_by(Category.position, Category.name))
    return dict(rows.all())


@bp.get("/search")
def search():
    sort = _choice("sort", SORTS) or SORTS[0]
    status = _choice("status", STATUS_LABELS)
    category_names = _category_names()
    category = _choice("category", category_names)
    tag = clean_text(request.args.get("tag", "")).lower()[:TAG_FILTER_MAX] or None
    page_no = page_number()
    text = clean_text(request.args.get("q", ""))
    results = page = message = None
    if len(text) > QUERY_MAX:
        message = _("A search can have at most %(n)d characters: please shorten it.", n=QUERY_MAX)
        text = text[:QUERY_MAX]
    elif text:
        per_page = current_app.config["IDEAS_PER_PAGE"]
        results = backend().query(SearchQuery(text, status=status, category=category, tag=tag, sort=sort,
                                              page=page_no, per_page=per_page))
        results = dataclasses.replace(results, hits=public_only(results.hits))
        message = results.message
        page = Page(items=results.hits, number=page_no, per_page=per_page,
                    has_next=page_no * per_page < results.total)
    filters = {"q": text, "status": status, "category": category, "tag": tag, "sort": sort}
    return render(
        "search/search.html", fragment="search/_results.html",
        filters=filters, results=results, page=page, message=message, sorts=SORTS,
        category_names=category_names, query_max=QUERY_MAX,
    )


def similar_hits(text: str, exclude_id: int | None = None, limit: int = SIMILAR_LIMIT) -> list[SearchHit]:
    """Ideas resembling ``text`` (hidden ideas are never indexed); none for a too-short text."""
    text = clean_text(text)[:QUERY_MAX]
    if len(text) < SIMILAR_MIN:
        return []
    return public_only(backend().similar(text, limit=limit, exclude_id=exclude_id))


@bp.app_template_global("similar_ideas")
def similar_ideas(text: str | None, exclude_id: int | None = None) -> list[SearchHit]:
    """For a form shown again with a title typed: the suggestions htmx would have shown."""
    return similar_hits(text or "", exclude_id=exclude_id)


def duplicate_candidates(idea: Idea) -> list[SearchHit]:
    """Ideas that ``idea`` may duplicate: similar, and able to be an original (not duplicates themselves)."""
    hits = similar_hits(idea.title, exclude_id=idea.id, limit=2 * SIMILAR_LIMIT)
    return [hit for hit in hits if hit.status != "duplicate"][:SIMILAR_LIMIT]


@bp.get("/search/similar")
def similar():
    exclude = request.args.get("exclude", "").strip()
    if exclude and not 0 < (whole_number(exclude) or 0) < 2**31:
        raise UserFacingError(400, _("Unknown value for %(name)s: %(value)s", name="exclude", value=exclude[:40]))
    hits = similar_hits(request.args.get("title", ""), exclude_id=int(exclude) if exclude else None)
    return render("search/_similar.html", hits=hits)
