"""The search pages: /search, similar ideas on the submit form, duplicate candidates for staff."""

import re

import pytest

from ideastorm.extensions import db
from ideastorm.search import sync as index_now
from ideastorm.ideas.models import Idea
from tests.helpers import cast_vote


@pytest.fixture
def corpus(make_idea, make_user):
    """A small bilingual backlog; returns its ideas by a short name."""
    author = make_user(name="Grace Hopper")
    ideas = {
        "dark": make_idea(author, title="Dark mode for the mobile app",
                          description="A night theme would be easier on the eyes when working late.",
                          category="apps", tags="mobile, ui", status="planned"),
        "reading": make_idea(author, title="A reading mode for dark rooms",
                             description="Dim the screen of the printer panel in the evening.",
                             category="products", tags="printer"),
        "csv": make_idea(author, title="Export my support tickets as CSV",
                         description="Quarterly reviews need a spreadsheet of every ticket.", category="support"),
        "sombre": make_idea(author, title="Mode sombre pour l'application",
                            description="Un thème sombre serait plus reposant pour les yeux le soir.",
                            category="apps", tags="mobile"),
        "factures": make_idea(author, title="Télécharger les factures en PDF",
                              description="Les comptables veulent récupérer toutes les factures du mois.",
                              category="store"),
        "hidden": make_idea(author, title="Secret dark mode prototype for the app",
                            description="Nobody outside should see this dark mode.", hidden=True),
    }
    index_now()
    return ideas


def page_of(client, url, **kwargs):
    response = client.get(url, **kwargs)
    assert response.status_code == 200, (url, response.status_code)
    return response.get_data(as_text=True)


def hit_ids(html: str) -> list[int]:
    """The ideas listed as results, in order."""
    return [int(n) for n in re.findall(r'<article class="idea-card search-hit" id="hit-(\d+)"', html)]


def test_results_with_highlights_scores_and_details(client, corpus):
    html = page_of(client, "/search?q=dark")
    dark = corpus["dark"]
    assert set(hit_ids(html)) == {dark.id, corpus["reading"].id}
    assert "2 results" in html
    assert "<mark>Dark</mark> mode for the mobile app" in html
    card = html[html.index(f'id="hit-{dark.id}"'):]
    card = card[:card.index("</article>")]
    assert 'data-score="0" data-promotes="0" data-demotes="0"' in card
    assert "status-planned" in card and "Planned" in card
    assert "Apps &amp; portals" in card and "#mobile" in card and "0 comments" in card
    assert f'href="/users/{dark.author_id}">Grace Hopper</a>' in card
    assert f'href="/ideas/{dark.id}"' in card


def test_both_languages_stemming_and_accents(client, corpus):
    assert hit_ids(page_of(client, "/search?q=facture")) == [corpus["factures"].id]
    assert hit_ids(page_of(client, "/search?q=telecharger")) == [corpus["factures"].id]  # accent folded
    assert set(hit_ids(page_of(client, "/search?q=theme"))) == {corpus["dark"].id, corpus["sombre"].id}
    assert corpus["csv"].id in hit_ids(page_of(client, "/search?q=exporting"))  # English stemming


def test_facets_count_and_filter(client, corpus):
    html = page_of(client, "/search?q=mode")
    assert set(hit_ids(html)) == {corpus["dark"].id, corpus["reading"].id, corpus["sombre"].id}
    facets = html[html.index('class="facets"'):html.index('id="hits-title"')]
    assert re.search(r'href="/search\?q=mode&amp;status=planned">Planned</a> <small>\(1\)</small>', facets)
    assert re.search(r'href="/search\?q=mode&amp;status=new">New</a> <small>\(2\)</small>', facets)
    assert re.search(r'category=apps">Apps &amp; portals</a> <small>\(2\)</small>', facets)
    assert re.search(r'tag=mobile">#mobile</a> <small>\(2\)</small>', facets)

    planned = page_of(client, "/search?q=mode&status=planned")
    assert hit_ids(planned) == [corpus["dark"].id]
    assert '<strong aria-current="true">Planned <small>(1)</small></strong>' in planned
    assert re.search(r'status=new">New</a> <small>\(2\)</small>', planned)  # still one click away
    assert 'href="/search?q=mode" class="facet-clear"' in planned
    assert set(hit_ids(page_of(client, "/search?q=mode&category=apps"))) == {corpus["dark"].id, corpus["sombre"].id}
    assert hit_ids(page_of(client, "/search?q=mode&tag=printer")) == [corpus["reading"].id]
    assert hit_ids(page_of(client, "/search?q=mode&tag=nothing-like-this")) == []
    # The filters chosen are kept when the words change.
    assert '<input type="hidden" name="status" value="planned">' in planned


def test_sorts_change_the_order(client, corpus, make_user):
    dark, reading, sombre = corpus["dark"], corpus["reading"], corpus["sombre"]
    for n in range(2):
        cast_vote(make_user().id, reading.id, 1)
    cast_vote(make_user().id, dark.id, -1)
    index_now()
    assert hit_ids(page_of(client, "/search?q=mode&sort=score")) == [reading.id, sombre.id, dark.id]
    assert hit_ids(page_of(client, "/search?q=mode&sort=newest")) == [sombre.id, reading.id, dark.id]
    html = page_of(client, "/search?q=mode&sort=newest")
    assert '<strong aria-current="true">Newest</strong>' in html
    assert 'href="/search?q=mode&amp;sort=score">Score</a>' in html


def test_pagination(client, app, corpus):
    app.config["IDEAS_PER_PAGE"] = 2
    first = page_of(client, "/search?q=mode&sort=newest")
    assert len(hit_ids(first)) == 2 and "3 results" in first
    assert 'href="/search?q=mode&amp;sort=newest&amp;page=2" rel="next"' in first
    second = page_of(client, "/search?q=mode&sort=newest&page=2")
    assert hit_ids(second) == [corpus["dark"].id]
    assert 'rel="prev"' in second and 'rel="next"' not in second
    assert "No more results on this page." in page_of(client, "/search?q=mode&page=50")


def test_did_you_mean(client, corpus):
    html = page_of(client, "/search?q=spredsheet")
    assert hit_ids(html) == []
    link = re.search(r'Did you mean <a href="([^"]+)" class="suggestion">([^<]+)</a>\?', html)
    assert link and link.group(2) == "spreadsheet"
    assert hit_ids(page_of(client, link.group(1).replace("&amp;", "&"))) == [corpus["csv"].id]


def facet_headings(html: str) -> list[str]:
    return re.findall(r'<h3 id="facet-(\w+)">', html)


def test_no_results_offer_to_submit_the_words_as_an_idea(client, corpus, member):
    query = '<b>Solar</b> & "panel" roof -mobile'
    html = page_of(client, "/search", query_string={"q": query})
    assert hit_ids(html) == [] and facet_headings(html) == [] and 'class="facets"' not in html
    assert "None</li>" not in html
    assert "No idea matches “&lt;b&gt;Solar&lt;/b&gt; &amp; &#34;panel&#34; roof -mobile”" in html
    assert "<b>Solar" not in html
    link = re.search(r'<a href="([^"]+)" role="button" class="search-propose-link">([^<]+)</a>', html)
    assert link.group(1) == "/ideas/new?title=%3Cb%3ESolar%3C/b%3E+%26+panel+roof"
    assert link.group(2) == "Submit “&lt;b&gt;Solar&lt;/b&gt; &amp; panel roof” as a new idea"
    form = page_of(client, link.group(1))
    assert re.search(r'<input[^>]+id="title"[^>]+value="&lt;b&gt;Solar&lt;/b&gt; &amp; panel roof"', form)
    # The live search fragment says the same.
    fragment = client.get("/search", query_string={"q": "solar roof"}, headers={"HX-Request": "true"})
    text = fragment.get_data(as_text=True)
    assert text.lstrip().startswith('<div id="search-results"') and facet_headings(text) == []
    assert 'href="/ideas/new?title=Solar+roof"' in text and "No idea matches “solar roof”" in text


def test_no_results_for_a_visitor_offer_to_log_in_first(client, corpus):
    html = page_of(client, "/search?q=solar+roof")
    link = re.search(r'<a href="([^"]+)" role="button" class="search-propose-link">([^<]+)</a>', html)
    assert link.group(1) == "/login?next=/ideas/new?title%3DSolar%2Broof"
    assert link.group(2) == "Log in to submit it as a new idea"
    assert "/ideas/new?title=" not in html


def test_no_results_under_filters_suggest_removing_them(client, corpus):
    html = page_of(client, "/search?q=mode&status=implemented&tag=mobile")
    assert hit_ids(html) == [] and facet_headings(html) == []
    assert 'href="/search?q=mode&amp;tag=mobile" class="search-unfilter">Search again without the filter “Implemented”' in html
    assert 'href="/search?q=mode&amp;status=implemented" class="search-unfilter">Search again without the filter “#mobile”' in html
    assert re.search(r'find <a href="/search\?q=mode" class="search-unfilter-all">3 ideas</a>', html)
    nowhere = page_of(client, "/search?q=zzyzx&status=planned")
    assert "these words find no idea either" in nowhere and "search-unfilter" not in nowhere
    assert "these words find" not in page_of(client, "/search?q=zzyzx")  # no filter, nothing to remove
    # A misspelling still gets its "did you mean" beside the other suggestions.
    assert 'class="suggestion">spreadsheet</a>?' in page_of(client, "/search?q=spredsheet&category=support")


def test_phrases_and_excluded_words(client, corpus):
    assert hit_ids(page_of(client, '/search?q="dark mode"')) == [corpus["dark"].id]
    assert hit_ids(page_of(client, "/search?q=mode -mobile")) == [corpus["reading"].id]


@pytest.mark.parametrize("as_member", [False, True])
def test_hidden_ideas_never_appear(client, corpus, make_user, auth, as_member):
    if as_member:
        auth.login(make_user())
    for url in ("/search?q=secret", "/search?q=prototype", "/search?q=dark", "/search/similar?title=Secret+dark+mode+prototype"):
        html = page_of(client, url)
        assert "Secret dark mode prototype for the app" not in html and "Nobody outside" not in html
        assert f"/ideas/{corpus['hidden'].id}\"" not in html and corpus["hidden"].id not in hit_ids(html)
    assert "No idea matches “prototype”" in page_of(client, "/search?q=prototype")


def test_an_idea_hidden_later_leaves_the_results(client, corpus, make_user):
    from ideastorm.triage.services import set_idea_hidden

    assert corpus["csv"].id in hit_ids(page_of(client, "/search?q=tickets"))
    set_idea_hidden(make_user("staff"), corpus["csv"], True)
    db.session.commit()
    index_now()
    assert "No idea matches “tickets”" in page_of(client, "/search?q=tickets")
    assert "support tickets" not in page_of(client, "/search/similar?title=Export+my+support+tickets")


@pytest.mark.parametrize("query", ['"unclosed', "AND OR", "*", "x" * 5000, "\x00\x1f", "dark)(", "title:", "-"])
def test_odd_query_text_answers_a_page(client, corpus, query):
    response = client.get("/search", query_string={"q": query})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'id="search-results"' in html and "\x00" not in html
    if len(query) > 200:
        assert "A search can have at most 200 characters" in html


@pytest.mark.parametrize("args", [
    {"sort": "bogus"}, {"page": "0"}, {"page": "abc"}, {"page": "99999999999"}, {"status": "nope"},
    {"category": "nope"}, {"page": "-1"},
])
def test_invalid_parameters_answer_400(client, corpus, args):
    response = client.get("/search", query_string={"q": "dark", **args})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Unknown value for" in html or "The page number must be a whole number" in html


def test_empty_query_shows_the_form_and_a_hint(client, corpus):
    html = page_of(client, "/search")
    assert 'role="search"' in html and '<label for="search-q">' in html
    assert "Type a few words to search" in html and 'class="search-status"' not in html
    assert hit_ids(page_of(client, "/search?q=%20%20&status=new")) == []


def test_as_you_type_attributes_and_fragment(client, corpus):
    html = page_of(client, "/search?q=dark")
    search_input = re.search(r'<input type="search" id="search-q"[^>]+>', html, re.S).group(0)
    for attribute in ('hx-get="/search"', 'hx-trigger="input changed delay:300ms, search"',
                      'hx-target="#search-results"', 'hx-push-url="true"', 'hx-sync="this:replace"'):
        assert attribute in search_input
    assert '<div id="search-results" aria-live="polite">' in html and 'role="status"' in html
    response = client.get("/search?q=dark", headers={"HX-Request": "true"})
    fragment = response.get_data(as_text=True)
    assert response.status_code == 200 and "HX-Request" in response.headers["Vary"]
    assert fragment.lstrip().startswith('<div id="search-results"') and "<html" not in fragment
    assert set(hit_ids(fragment)) == {corpus["dark"].id, corpus["reading"].id}


def test_similar_ideas_fragment(client, corpus):
    html = page_of(client, "/search/similar?title=Dark+mode+app")
    assert html.lstrip().startswith('<div id="similar-ideas"') and "<html" not in html
    assert f'href="/ideas/{corpus["dark"].id}"' in html
    assert "status-planned" in html and 'data-score="0"' in html
    assert f'href="/ideas/{corpus["hidden"].id}"' not in html
    excluded = page_of(client, f"/search/similar?title=Dark+mode+app&exclude={corpus['dark'].id}")
    assert f'href="/ideas/{corpus["dark"].id}"' not in excluded
    for title in ("", "da", "  d ", "zzzzqqqq"):
        empty = page_of(client, "/search/similar", query_string={"title": title})
        assert "<li" not in empty and 'id="similar-ideas"' in empty
    assert client.get("/search/similar?title=dark&exclude=abc").status_code == 400
    assert page_of(client, "/search/similar", query_string={"title": "x" * 5000 + "\x00"})


def test_submit_form_asks_for_similar_ideas(client, corpus, member, make_idea):
    html = page_of(client, "/ideas/new")
    title = re.search(r'<input[^>]+id="title"[^>]*>', html).group(0)
    for attribute in ('hx-get="/search/similar"', 'hx-trigger="input changed delay:400ms"',
                      'hx-target="#similar-ideas"', 'hx-sync="this:replace"'):
        assert attribute in title
    assert '<div id="similar-ideas"' in html and "<li" not in html.split('id="similar-ideas"')[1].split("</div>")[0]
    # Shown again after invalid input, the form lists the similar ideas without scripts.
    response = client.post_form("/ideas/new", {"title": "Dark mode app please", "description": ""})
    assert response.status_code == 422
    assert f'href="/ideas/{corpus["dark"].id}"' in response.get_data(as_text=True).split('id="similar-ideas"')[1]
    own = make_idea(member, title="My own dark mode idea")
    assert f'hx-get="/search/similar?exclude={own.id}"' in page_of(client, f"/ideas/{own.id}/edit")


def test_staff_get_duplicate_candidates(client, corpus, make_user, make_idea, auth):
    idea = make_idea(title="Please add a dark mode to the app", description="Night theme for the mobile app.")
    index_now()
    auth.login(make_user())
    assert "Possible duplicates" not in page_of(client, f"/ideas/{idea.id}")
    auth.logout()
    auth.login(make_user("staff"))
    html = page_of(client, f"/ideas/{idea.id}")
    candidates = html[html.index("Possible duplicates"):]
    candidates = candidates[:candidates.index("</ul>")]
    # Each candidate leads to the merge confirmation (no one-click merge).
    assert f'href="/ideas/{idea.id}/merge/confirm?into={corpus["dark"].id}"' in candidates
    assert f'into={idea.id}"' not in candidates and f'into={corpus["hidden"].id}"' not in candidates
    response = client.post_form(f"/ideas/{idea.id}/duplicate", {"original_id": str(corpus["dark"].id), "confirm": "1"})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Idea, idea.id).status == "duplicate"
