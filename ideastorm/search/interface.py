"""The search interface the rest of IdeaStorm uses.

Views, the CLI and the outbox handler talk to a ``SearchBackend``; the Whoosh backend is
the embedded default, and a second one (PostgreSQL full-text search) must pass the same
tests. Nothing outside ``ideastorm.search`` imports Whoosh.

The ``relevance`` sort (the default) ranks every match by ``ranking.final_score(text_score,
votes)``: the backend's own text score, raised by the idea's vote score within a stated bound
(see ``ideastorm/search/ranking.py``), so that every backend weighs popularity alike.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Callable, Collection, Iterable, Mapping, Protocol

from markupsafe import Markup

SORTS = ("relevance", "score", "newest")
FACETS = ("status", "category", "tag")


@dataclass(frozen=True)
class IdeaDocument:
    """What the index holds for one public idea (hidden ideas are never indexed)."""

    id: int
    title: str
    description: str  # Markdown source
    tags: tuple[str, ...]
    category_slug: str
    category_name: str
    status: str
    author_id: int
    author_name: str
    comments: str  # the text of the idea's visible comments, joined
    score: int
    promote_count: int
    demote_count: int
    comment_count: int
    created_at: datetime
    updated_at: datetime

    def fingerprint(self) -> str:
        """A stable digest of every indexed field: ``verify`` compares these."""
        values = [getattr(self, f.name) for f in fields(self)]
        text = json.dumps(values, default=lambda v: v.isoformat() if isinstance(v, datetime) else str(v))
        return hashlib.sha1(text.encode()).hexdigest()


@dataclass(frozen=True)
class SearchQuery:
    text: str
    status: str | None = None
    category: str | None = None  # category slug
    tag: str | None = None
    sort: str = "relevance"  # one of SORTS
    page: int = 1
    per_page: int = 20


@dataclass(frozen=True)
class SearchHit:
    id: int
    title: str
    title_html: Markup  # title with the matched terms in <mark>, escaped
    snippet_html: Markup  # a fragment of the description or comments, escaped, terms in <mark>
    status: str
    category_slug: str
    category_name: str
    tags: tuple[str, ...]
    author_id: int
    author_name: str
    score: int
    promote_count: int
    demote_count: int
    comment_count: int
    created_at: datetime


@dataclass(frozen=True)
class SearchResults:
    query: SearchQuery
    hits: list[SearchHit]
    total: int
    # facet name (FACETS) -> [(value, count)], most first: the results counted under every
    # filter except that facet's own, so the other values of a chosen filter stay visible
    facets: Mapping[str, list[tuple[str, int]]] = field(default_factory=dict)
    suggestion: str | None = None  # "did you mean" query text, when words look misspelt and the fix finds ideas
    message: str | None = None  # a clear, translated message when the query could not be used


@dataclass(frozen=True)
class Difference:
    idea_id: int
    problem: str  # "missing from index", "not in database", "stale", ...


class IndexBusy(RuntimeError):
    """The index could not be written now because another process is writing it (try again later)."""


class SearchUnavailable(RuntimeError):
    """The index cannot answer: missing, unreadable or failing. Pages say "search is unavailable",
    never "no results"; the worker rebuilds a missing index from the database.

    ``missing`` is true when there is no index at all (deleted, never built while the site has ideas).
    """

    def __init__(self, reason: str, *, missing: bool = False):
        super().__init__(reason)
        self.missing = missing


class SearchBackend(Protocol):
    def index(self, documents: Iterable[IdeaDocument]) -> None:
        """Add or replace these documents (one atomic write)."""

    def apply(self, idea_ids: Collection[int], load: Callable[[Collection[int]], Iterable[IdeaDocument]],
              through: int | None = None) -> None:
        """Index what ``load(idea_ids)`` returns and remove the other ids, in one atomic write.

        ``load`` runs while the write is exclusive, so concurrent callers cannot write an older
        version of an idea over a newer one. Raises ``IndexBusy`` when it cannot get that, and
        ``SearchUnavailable`` when there is no index (and the site has ideas) or it cannot be written.
        ``through``: the highest outbox event id this write reflects; the index keeps the highest
        it was given (``indexed_through`` in ``health``), with the write.
        """

    def remove(self, idea_ids: Iterable[int]) -> None:
        """Remove these ideas; unknown ids are ignored."""

    def query(self, query: SearchQuery) -> SearchResults:
        """Raises ``SearchUnavailable`` (or any error) when the index cannot answer: never an empty result for that."""

    def similar(self, text: str, limit: int = 5, exclude_id: int | None = None) -> list[SearchHit]:
        """Ideas whose title or description resemble ``text`` (a title being typed)."""

    def rebuild(
        self, documents: Iterable[IdeaDocument], total: int, progress: Callable[[int], None] | None = None,
        through: int | None = None, only_if_missing: bool = False,
    ) -> bool:
        """Build a new index aside from every document, then swap it in; False when nothing was built.

        One rebuild at a time, across processes. ``through``: the highest outbox event id when
        the documents began to be read; the new index's ``indexed_through`` is that or the old
        index's, whichever is higher. ``only_if_missing``: build only if there is still no index
        once this rebuild's turn comes (several workers found it missing at once).
        """

    def fingerprints(self) -> dict[int, str]:
        """``{idea_id: fingerprint}`` of everything indexed (for ``verify``)."""

    def document_count(self) -> int: ...

    def health(self) -> dict:
        """For /healthz, cheap (no search, no full scan), never raising. The keys every backend gives:

        - ``status``: ``"ok"``, ``"missing"`` (no index: deleted, or never built), or ``"error: <reason>"``;
        - ``documents``: how many ideas the index holds (None when it cannot tell);
        - ``writable``: whether the worker can write it now (None when it cannot tell);
        - ``indexed_through``: the highest outbox event id its writes reflect (see ``apply``), or None;
        - ``generation``: a name for the index in use, which changes with each rebuild.

        ``ideastorm.search.health`` compares these with the database.
        """
