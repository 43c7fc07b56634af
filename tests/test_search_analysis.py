"""Word analysis through the backend's interface: a word found under its other forms.

Accents, plural, gender and verb forms in French and English: an idea whose text holds one form
is found by searching for the other one, with the word highlighted, and the other way round.
French stemming reads accents (``améliorées`` and ``ameliorees`` do not stem alike), so a word
typed without its accents must still find the written one.
"""

from __future__ import annotations

import pytest

from ideastorm import search
from ideastorm.search.interface import SearchQuery

NEUTRAL_TITLE = "Customer request"

PAIRS = [
    # (one form, another form of the same word)
    ("idée", "idee"),
    ("idées", "idees"),
    ("idée", "idées"),
    ("idee", "idées"),
    ("améliorer", "ameliore"),
    ("améliorées", "ameliorees"),
    ("améliorées", "ameliore"),
    ("amélioré", "ameliorees"),
    ("amélioration", "ameliorations"),
    ("améliorations", "améliorer"),
    ("exporter", "exportation"),
    ("exportation", "exportations"),
    ("intégration", "integrations"),
    ("intégrées", "integre"),
    ("sécurité", "securite"),
    ("sécurisées", "securise"),
    ("réalisé", "realisees"),
    ("réalisées", "realise"),
    ("réalisée", "réalisés"),
    ("préférence", "preferences"),
    ("préférées", "prefere"),
    ("événement", "evenements"),
    ("créé", "creees"),
    ("modèle", "modeles"),
    ("différent", "differentes"),
    ("téléchargées", "telecharge"),
    ("export", "exporting"),
    ("export", "exported"),
    ("exporting", "exportations"),
    ("notification", "notifications"),
    ("improve", "improved"),
    ("improve", "improvements"),
    ("improvement", "improved"),
]

UNRELATED = [
    # (a word in an idea, a word that must not find it)
    ("exportation", "importation"),
    ("idée", "identité"),
    ("notification", "note"),
    ("improve", "prove"),
    ("réalisé", "réel"),
    ("préférence", "référence"),
    ("amélioré", "amer"),
    ("sécurité", "sécheresse"),
    ("intégration", "intérêt"),
    ("export", "expert"),
    ("modèle", "mode"),
]


def find(text: str):
    return search.backend().query(SearchQuery(text))


def hit_for(results, idea):
    return next((hit for hit in results.hits if hit.id == idea.id), None)


def describe(results) -> str:
    return f"{results.total} results: {[hit.title for hit in results.hits]}"


@pytest.mark.parametrize("one, other", PAIRS, ids=[f"{a}-{b}" for a, b in PAIRS])
def test_a_word_is_found_under_its_other_forms(make_idea, one, other):
    ideas = {
        one: make_idea(title=NEUTRAL_TITLE, description=f"Une demande: {one} pour le service."),
        other: make_idea(title=NEUTRAL_TITLE, description=f"Une demande: {other} pour le service."),
    }
    search.sync()
    for written, typed in ((one, other), (other, one)):
        results = find(typed)
        hit = hit_for(results, ideas[written])
        assert hit is not None, f"searching {typed!r} misses the idea that says {written!r}: {describe(results)}"
        assert f"<mark>{written}</mark>" in hit.snippet_html, hit.snippet_html


@pytest.mark.parametrize("written, typed", UNRELATED, ids=[f"{a}-{b}" for a, b in UNRELATED])
def test_unrelated_words_do_not_match(make_idea, written, typed):
    idea = make_idea(title=NEUTRAL_TITLE, description=f"Une demande: {written} pour le service.")
    search.sync()
    assert find(written).total == 1  # the idea is there to be found
    results = find(typed)
    assert hit_for(results, idea) is None, describe(results)
    assert results.total == 0


@pytest.fixture
def improved_ideas(make_idea):
    """The reported case: a description with ``idées améliorées``, found by ``idee ameliore``."""
    ideas = {
        "improved": make_idea(title="Suivi des demandes",
                              description="Des idées améliorées après chaque réunion avec les clients."),
        "other": make_idea(title="Suivi des demandes", description="Des tableaux exportés chaque semaine."),
    }
    search.sync()
    return ideas


def test_words_typed_without_accents_find_the_accented_text(improved_ideas):
    results = find("idee ameliore")
    assert [hit.id for hit in results.hits] == [improved_ideas["improved"].id], describe(results)
    snippet = str(results.hits[0].snippet_html)
    assert "<mark>idées</mark> <mark>améliorées</mark>" in snippet, snippet
    assert results.suggestion is None  # both words are known: no "did you mean"


@pytest.mark.parametrize("text", ['"idées améliorées"', '"idees ameliorees"', '"idee amelioree"',
                                  '"IDÉES AMÉLIORÉES"'])
def test_phrases_match_across_accents(improved_ideas, text):
    assert [hit.id for hit in find(text).hits] == [improved_ideas["improved"].id]


@pytest.mark.parametrize("text", ['"ameliorees idees"', '"idees chaque"', '"améliorées réunion"'])
def test_phrases_still_need_the_words_next_to_each_other_in_order(improved_ideas, text):
    assert find(text).total == 0


def test_excluding_a_word_typed_without_accents(improved_ideas):
    results = find("demandes -ameliorees")
    assert [hit.id for hit in results.hits] == [improved_ideas["other"].id], describe(results)


def test_did_you_mean_still_spells_the_words_of_the_ideas(improved_ideas):
    results = find("idee amelirees")
    assert results.total == 0
    assert results.suggestion == "idee ameliorees"
    assert find(results.suggestion).hits[0].id == improved_ideas["improved"].id


def test_similar_titles_across_accents(improved_ideas):
    similar = search.backend().similar("Idees ameliorees pour les reunions", limit=3)
    assert similar and similar[0].id == improved_ideas["improved"].id
    assert "<mark>" in str(similar[0].snippet_html)
