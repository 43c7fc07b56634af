"""The search backend through its interface (``search.backend()``): any backend must pass these."""

from __future__ import annotations

import pytest

from ideastorm import search
from ideastorm.search.interface import SearchQuery

CORPUS = [
    # (key, title, description, category, tags, status)
    ("export", "Export reports to PDF", "Being able to **export** the monthly report would help finance.",
     "products", "reporting, pdf", "planned"),
    ("exporter", "Pouvoir exporter les idées en CSV", "Les exportations vers un tableur seraient utiles.",
     "products", "reporting", "new"),
    ("dark", "Dark mode for the support app", "It would be easier on the eyes at night.",
     "apps", "ux, dark-mode", "new"),
    ("sombre", "Thème sombre pour le site", "Un mode sombre réduirait la fatigue visuelle.",
     "apps", "ux", "under_review"),
    ("idee", "Voter pour une idee sans compte", "Les idees anonymes seraient modérées.",
     "support", "", "declined"),
    ("mode", "Mode selection in the dark room booking", "Pick a dark or bright room when booking.",
     "support", "booking", "new"),
]


@pytest.fixture
def corpus(make_idea, make_user):
    author = make_user(name="Camille Durand")
    ideas = {}
    for key, title, description, category, tags, status in CORPUS:
        ideas[key] = make_idea(author, title=title, description=description, category=category,
                               tags=tags, status=status)
    search.sync()
    return ideas


def find(text: str, **options):
    return search.backend().query(SearchQuery(text, **options))


def titles(results) -> set[str]:
    return {hit.title for hit in results.hits}


def keys(corpus, results) -> set[str]:
    by_id = {idea.id: key for key, idea in corpus.items()}
    return {by_id[hit.id] for hit in results.hits}


@pytest.mark.parametrize("text, expected", [
    ("exporting", {"export", "exporter"}),  # English stemming
    ("exportations", {"export", "exporter"}),  # French stemming
    ("exported pdf", {"export"}),
    ("idée", {"exporter", "idee"}),  # accents folded: idées, idee
    ("IDEES", {"exporter", "idee"}),  # case folded
    ("thème", {"sombre"}),
    ("theme", {"sombre"}),
    ("camille", {key for key, *_rest in CORPUS}),  # author name
    ("booking", {"mode"}),  # tag and text
])
def test_stemming_accents_and_case_in_both_languages(corpus, text, expected):
    assert keys(corpus, find(text)) == expected


def test_a_phrase_matches_the_words_in_order(corpus):
    assert keys(corpus, find('"dark mode"')) == {"dark"}
    assert keys(corpus, find("dark mode")) == {"dark", "mode"}
    assert keys(corpus, find('"mode sombre"')) == {"sombre"}


def test_excluded_words(corpus):
    assert keys(corpus, find("dark -booking")) == {"dark"}
    assert keys(corpus, find("exporting -pdf")) == {"exporter"}


def test_highlights_are_escaped_and_marked(corpus, make_idea):
    make_idea(title="Escape <script>alert(1)</script> in titles", description="A <b>bold</b> export claim.")
    search.sync()
    results = find("export")
    hit = next(h for h in results.hits if "script" in h.title)
    assert str(hit.title_html) == "Escape &lt;script&gt;alert(1)&lt;/script&gt; in titles"
    assert "<mark>export</mark>" in hit.snippet_html and "&lt;b&gt;bold&lt;/b&gt;" in hit.snippet_html
    pdf = next(h for h in results.hits if h.id == corpus["export"].id)
    assert str(pdf.title_html) == "<mark>Export</mark> reports to PDF"
    assert pdf.snippet_html.startswith("Being able to <mark>export</mark>")  # from the description, not Markdown
    assert pdf.category_slug == "products" and pdf.author_name == "Camille Durand" and pdf.status == "planned"


def test_did_you_mean_for_misspelt_words(corpus):
    results = find("exprot")
    assert results.total == 0 and results.suggestion == "export"
    assert find("dakr mode").suggestion == "dark mode"
    assert find("dark mode").suggestion is None


def test_filters_and_facet_counts_over_the_result_set(corpus):
    results = find("dark")
    assert results.total == 2
    assert dict(results.facets["status"]) == {"new": 2}
    assert dict(results.facets["category"]) == {"apps": 1, "support": 1}
    assert dict(results.facets["tag"]) == {"ux": 1, "dark-mode": 1, "booking": 1}
    assert keys(corpus, find("dark", category="support")) == {"mode"}
    # A facet ignores its own filter (the other values stay one click away), not the others.
    narrowed = find("dark", category="support")
    assert narrowed.total == 1
    assert dict(narrowed.facets["category"]) == {"apps": 1, "support": 1}
    assert dict(narrowed.facets["status"]) == {"new": 1}
    assert keys(corpus, find("mode", tag="ux")) == {"dark", "sombre"}
    assert keys(corpus, find("", status="new", category="apps")) == {"dark"}
    assert find("mode", status="implemented").total == 0
    assert find("mode", tag="no-such-tag").hits == []


def test_sorts_and_pagination(corpus, make_user):
    from tests.helpers import cast_vote

    voters = [make_user() for _ in range(3)]
    for voter in voters:
        cast_vote(voter.id, corpus["mode"].id, 1)
    cast_vote(voters[0].id, corpus["dark"].id, -1)
    cast_vote(voters[1].id, corpus["sombre"].id, 1)
    search.sync()
    by_score = find("mode", sort="score")
    assert [(h.id, h.score) for h in by_score.hits] == [
        (corpus["mode"].id, 3), (corpus["sombre"].id, 1), (corpus["dark"].id, -1),
    ]
    newest = find("", sort="newest")
    assert [h.id for h in newest.hits] == sorted((i.id for i in corpus.values()), reverse=True)
    first, second = find("", sort="newest", per_page=4), find("", sort="newest", per_page=4, page=2)
    assert first.total == second.total == len(CORPUS)
    assert len(first.hits) == 4 and len(second.hits) == 2
    assert not {h.id for h in first.hits} & {h.id for h in second.hits}
    assert find("", page=99).hits == [] and find("", page=99).total == len(CORPUS)


def test_relevance_puts_title_matches_first(corpus):
    results = find("dark")
    assert results.hits[0].id in {corpus["dark"].id, corpus["mode"].id}
    assert find("night").hits[0].id == corpus["dark"].id


def test_hidden_ideas_never_appear(corpus, make_idea):
    make_idea(title="Secret dark feature", description="Hidden from everyone", hidden=True)
    search.sync()
    assert "Secret dark feature" not in titles(find("dark"))
    assert find("secret").total == 0 and find("", per_page=100).total == len(CORPUS)
    assert all(h.title != "Secret dark feature" for h in search.backend().similar("Secret dark feature"))


@pytest.mark.parametrize("text", [
    '"unclosed', "AND OR", "*", "x" * 5000, "dark\x00\x07mode", "", "   ", "((dark", "dark)", "NOT",
    "-", '"', "title:dark", "dark^", "[a TO z]", "é" * 300, "OR dark AND",
])
def test_bad_queries_give_results_or_a_message(corpus, text):
    results = find(text)
    assert results.hits or results.message or results.total == 0
    assert isinstance(results.total, int)


def test_too_long_and_wordless_queries_say_so(corpus):
    assert "too long" in find("dark " * 1000).message
    assert find("dark " * 1000).total == 2
    assert find("*").message and find("*").total == 0


def test_similar_titles(corpus):
    similar = search.backend().similar("Exporting the reports", limit=3)
    assert similar[0].id == corpus["export"].id
    assert search.backend().similar("Exporting the reports", exclude_id=corpus["export"].id)[0].id != corpus["export"].id
    assert search.backend().similar("the") == [] and search.backend().similar("") == []
    assert {h.id for h in search.backend().similar("mode sombre", limit=5)} >= {corpus["sombre"].id}


def test_did_you_mean_prefers_the_closest_spelling():
    from ideastorm.search.whoosh_backend import edit_distance

    # "batery" is one edit from "battery" and two from the more frequent "later".
    assert edit_distance("batery", "battery") == 1
    assert edit_distance("batery", "later") == 2
    assert edit_distance("exprot", "export") == 1  # a transposition counts once
    assert edit_distance("", "abc") == 3 and edit_distance("same", "same") == 0


def test_relevance_reaches_every_result_beyond_those_scored_one_by_one(make_idea, monkeypatch):
    from ideastorm.search import whoosh_backend

    monkeypatch.setattr(whoosh_backend, "SCORE_DIRECTLY", 3)
    ideas = [make_idea(title=f"Printer tray {n}" if n % 2 else f"Tray sensor {n}",
                       description="Works with every printer in the office.") for n in range(8)]
    search.sync()
    seen = []
    for page in (1, 2, 3):
        results = find("printer", per_page=3, page=page)
        assert results.total == 8
        seen += [hit.id for hit in results.hits]
    assert sorted(seen) == sorted(idea.id for idea in ideas)  # all reachable, none twice
    titled = {idea.id for idea in ideas if idea.title.startswith("Printer")}
    assert set(seen[:3]) <= titled  # the scored ones (title matches first) lead
