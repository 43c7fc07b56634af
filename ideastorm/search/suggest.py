"""Search helpers shared by pages: cleaning typed text, similar ideas, duplicate candidates."""

from __future__ import annotations

import re

from ..ideas.services import TITLE_MAX
from . import backend, health, public_only
from .interface import SearchHit, SearchUnavailable

QUERY_MAX = 200  # characters of search text; longer input is refused with a message
SIMILAR_MIN = 3  # a title shorter than this suggests nothing
SIMILAR_LIMIT = 5
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")
_EXCLUDED_WORD = re.compile(r'(?<![\w"])-\w+')
_QUERY_SYNTAX = re.compile(r'["()\[\]{}*^~+]')
_OPERATORS = {"AND", "OR", "NOT", "ANDNOT", "ANDMAYBE"}
_WORD = re.compile(r"\w")


def clean_text(raw: str) -> str:
    """Search text as typed, with control characters and runs of spaces reduced to one space."""
    return " ".join(_CONTROL_CHARACTERS.sub(" ", raw or "").split())


def idea_title_from(text: str) -> str:
    """A new idea's title from search text: its words without the query syntax (quotes, excluded
    words, operators), at most an idea title's length, first letter capitalised; "" when no word."""
    words = _QUERY_SYNTAX.sub(" ", _EXCLUDED_WORD.sub(" ", clean_text(text))).split()
    title = " ".join(word for word in words if word not in _OPERATORS)
    if len(title) > TITLE_MAX:
        title = title[:TITLE_MAX].rsplit(" ", 1)[0] or title[:TITLE_MAX]
    if not _WORD.search(title):
        return ""
    return title[:1].upper() + title[1:]


def similar_hits(text: str, exclude_id: int | None = None, limit: int = SIMILAR_LIMIT) -> list[SearchHit]:
    """Ideas resembling ``text`` that the public may see; none for a too-short text.

    Raises SearchUnavailable (logged) when the index cannot answer.
    """
    text = clean_text(text)[:QUERY_MAX]
    if len(text) < SIMILAR_MIN:
        return []
    with health.answering():
        hits = backend().similar(text, limit=limit, exclude_id=exclude_id)
    return public_only(hits)


def duplicate_candidates(idea) -> list[SearchHit]:
    """Ideas that ``idea`` may duplicate: similar, and able to be an original (not duplicates themselves)."""
    if idea.status == "duplicate":
        return []
    try:
        hits = similar_hits(idea.title, exclude_id=idea.id, limit=2 * SIMILAR_LIMIT)
    except SearchUnavailable:  # logged; the idea page must not fail with search
        return []
    return [hit for hit in hits if hit.status != "duplicate"][:SIMILAR_LIMIT]
