"""Relevance weighs votes (``ideastorm/search/ranking.py``), on fixed documents indexed directly."""

from __future__ import annotations

from datetime import datetime

import pytest

from ideastorm import search
from ideastorm.search.interface import IdeaDocument, SearchQuery
from ideastorm.search.ranking import POPULARITY_MAX, final_score, popularity

WHEN = datetime(2025, 3, 1, 9, 0)
FILLER = ("The team keeps a spreadsheet of every parcel, reviews it each Monday and plans the week "
          "around deliveries, returns, inventory counts and the orders that wait for a part. ")


def document(idea_id: int, title: str, description: str, score: int, comments: str = "") -> IdeaDocument:
    return IdeaDocument(
        id=idea_id, title=title, description=description, tags=(), category_slug="products",
        category_name="Products", status="new", author_id=1, author_name="Robin Martin", comments=comments,
        score=score, promote_count=max(score, 0), demote_count=0, comment_count=0,
        created_at=WHEN, updated_at=WHEN,
    )


@pytest.fixture
def ranked(app):
    documents = {
        # The same match (same words, same lengths): only the votes differ. Indexed first, an equal
        # score would rank first (ties go to the earlier document).
        "negative": document(1, "Barcode scanner in the showroom", "A barcode scanner saves typing codes.", -40),
        "quiet": document(2, "Barcode scanner in the showroom", "A barcode scanner saves typing codes.", 2),
        "popular": document(3, "Barcode scanner in the warehouse", "A barcode scanner saves typing codes.", 223),
        # A strong match with one vote, and a weak one (a passing mention in a long comment) with many.
        "strong": document(4, "Scanner for delivery notes", "Scan each delivery note with the scanner.", 1),
        "weak": document(5, "Plan the week around deliveries", FILLER * 3, 5000,
                         comments=FILLER * 2 + "Maybe a scanner one day."),
    }
    search.backend().index(documents.values())
    return {key: doc.id for key, doc in documents.items()}


def order(text: str, **options) -> list[int]:
    return [hit.id for hit in search.backend().query(SearchQuery(text, **options)).hits]


def test_votes_lift_an_equal_match(ranked):
    found = order("barcode scanner")
    assert found.index(ranked["popular"]) < found.index(ranked["quiet"]) < found.index(ranked["negative"])
    found = order("scanner")
    assert found.index(ranked["popular"]) < found.index(ranked["quiet"])


def test_a_strong_match_with_few_votes_beats_a_weak_match_with_many(ranked):
    found = order("scanner")
    assert set(found) == set(ranked.values())
    assert found.index(ranked["strong"]) < found.index(ranked["weak"])
    assert found[-1] == ranked["weak"]


def test_other_sorts_ignore_the_formula(ranked):
    assert order("scanner", sort="score") == [ranked[k] for k in ("weak", "popular", "quiet", "strong", "negative")]
    assert order("scanner")[0] != ranked["weak"]


def test_similar_ideas_weigh_votes_too(ranked):
    similar = [hit.id for hit in search.backend().similar("Barcode scanner", limit=5)]
    assert similar.index(ranked["popular"]) < similar.index(ranked["quiet"])


def test_the_formula_and_its_bound():
    assert popularity(0) == popularity(-10) == 1.0
    assert popularity(2) == pytest.approx(1.165, abs=0.001)
    assert popularity(223) == pytest.approx(1.811, abs=0.001)
    assert popularity(10**9) == POPULARITY_MAX == 2.0
    assert popularity(2) < popularity(10) < popularity(100) < popularity(223)
    # The bound: a text score more than twice another's wins whatever the votes.
    assert final_score(2.01, 0) > final_score(1.0, 10**9)
    assert final_score(1.0, 223) > final_score(1.0, 2)


def test_an_empty_index_ranks_nothing_without_failing(app):
    assert search.backend().similar("Barcode scanner") == []
    assert search.backend().query(SearchQuery("scanner")).hits == []
