"""Full-text search behind a small interface, so that a second backend (PostgreSQL) can be added.

The rest of IdeaStorm calls ``backend()`` and the types in ``interface``; nothing else
imports Whoosh.

    from ideastorm import search
    from ideastorm.search.interface import SearchQuery

    results = search.backend().query(SearchQuery("dark mode", status="planned", sort="score"))
    similar = search.backend().similar("Export to PDF", limit=5, exclude_id=idea.id)

How the index follows the database: services emit outbox events in their transaction
(``idea.*``, ``category.updated``, ``user.updated``); the worker (``flask worker``) hands them
to the indexer (``indexer.handle``, the outbox subscriber ``search-index``), which re-reads the
ideas those events name and indexes them, or removes them when they are hidden or gone. Web
processes never write the index.

When the index is missing (deleted, or never built while the site has ideas) or failing, reads
raise ``SearchUnavailable``: pages say "search is unavailable" (503), never "no results"; the
worker rebuilds a missing index from the database; ``/healthz`` compares the index with the
database (``health.report``). An empty index is created on first use only for a site with no idea.

In tests (and scripts) without a worker running, call ``sync()`` after changing ideas (e.g.
with the ``make_idea`` fixture) and before searching.
"""

from __future__ import annotations

from flask import Flask, current_app

from .interface import SearchBackend, SearchHit, SearchUnavailable

EXTENSION = "ideastorm.search"


def init_app(app: Flask) -> None:
    from .. import outbox
    from . import indexer

    app.config.setdefault("SEARCH_BACKEND", "whoosh")
    if app.config["SEARCH_BACKEND"] != "whoosh":
        raise ValueError(f"Unknown SEARCH_BACKEND {app.config['SEARCH_BACKEND']!r}; the choices are: whoosh")
    app.extensions[EXTENSION] = None  # created on first use: nothing opened at import or start-up
    outbox.subscribe(app, indexer.SUBSCRIBER, indexer.TOPICS, indexer.handle, batch=True)


def nothing_to_index() -> bool:
    """Whether the site has no idea the index should hold: only then may a missing index be created empty."""
    from sqlalchemy.orm import Session

    from ..extensions import db
    from .documents import count_indexable

    with Session(db.engine) as session:
        return count_indexable(session) == 0


def backend() -> SearchBackend:
    """This app's search backend (one per app and process; the index is created on first use)."""
    instance = current_app.extensions.get(EXTENSION)
    if instance is None:
        from .whoosh_backend import WhooshBackend

        instance = current_app.extensions[EXTENSION] = WhooshBackend(
            current_app.config["SEARCH_INDEX_DIR"], may_create=nothing_to_index,
        )
    return instance


def sync() -> int:
    """Bring the index up to date now: deliver every pending outbox event in this process; returns deliveries made.

    The session's own changes are committed first (a script's or a test's, as its command
    would). Deliveries waiting for a later attempt are tried now too; those a running worker
    holds are waited for (a few seconds at most). Never inside a request.
    """
    from .. import outbox
    from ..extensions import db

    db.session.commit()
    return outbox.drain_all(include_scheduled=True, wait_for_leases=10.0)


def index_ideas(idea_ids, progress=None) -> None:
    """Index ideas added in bulk (``demo seed``).

    Building a new index is about twice as fast per idea as adding to one, so when the new
    ideas outnumber those indexed, the whole index is rebuilt; otherwise they are added in place.
    """
    from .indexer import reindex
    from .maintenance import rebuild_index

    idea_ids = list(idea_ids)
    try:
        indexed = backend().document_count()
    except SearchUnavailable as exc:
        if not exc.missing:
            raise
        indexed = 0  # no index yet: the rebuild makes it
    if len(idea_ids) >= indexed:
        rebuild_index(progress)
    else:
        reindex(idea_ids)


def public_only(hits: list[SearchHit]) -> list[SearchHit]:
    """The hits whose ideas are public in the database now (one query).

    The index follows the database within moments, and those moments must not show a
    hidden idea: the database, not the index, decides what the public sees.
    """
    from sqlalchemy import select

    from ..extensions import db
    from ..ideas.models import Idea

    if not hits:
        return hits
    public = set(db.session.scalars(
        select(Idea.id).where(Idea.id.in_([hit.id for hit in hits]), Idea.is_hidden.is_(False))
    ))
    return [hit for hit in hits if hit.id in public]
