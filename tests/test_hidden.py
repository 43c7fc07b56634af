"""Hidden content never leaks to the public: pages, lists, counts, search."""

from urllib.parse import urlencode

from ideastorm import search
from ideastorm.comments.services import add_comment
from ideastorm.extensions import db
from ideastorm.search.interface import SearchQuery
from ideastorm.triage.services import set_comment_hidden, set_idea_hidden

SECRET = "Zanzibar ferry timetable proposal"
PUBLIC = "Ferry timetables for everyone"  # shares words with the hidden title, not "Zanzibar"
SEARCHES = ["ferry timetable", "TIMETABLE ferries", '"ferry timetable"']  # words of the hidden title


def _public_get_urls(app, idea_id):
    urls = {"/ideas?sort=" + s for s in ("trending", "top", "new", "discussed")}
    urls |= {"/ideas?status=new", "/ideas?category=products", f"/ideas/{idea_id}"}
    for rule in app.url_map.iter_rules():
        if "GET" in rule.methods and not rule.arguments and not rule.rule.startswith(("/triage", "/admin")):
            urls.add(rule.rule)
    return sorted(urls)


def _search_url(text: str) -> str:
    return "/search?" + urlencode({"q": text})


def _similar_url(title: str) -> str:
    return "/search/similar?" + urlencode({"title": title})


def _hidden_content(make_user, make_idea):
    """A public idea, and an idea and a comment that were public (so indexed), then hidden."""
    staff = make_user("staff")
    visible = make_idea(title=PUBLIC)
    idea = make_idea(title=SECRET)
    comment = add_comment(make_user(), visible, "Zanzibar spam comment")
    db.session.commit()
    search.sync()
    assert search.backend().query(SearchQuery("zanzibar")).total == 2  # indexed while public
    set_idea_hidden(staff, idea, True)
    set_comment_hidden(staff, comment, True)
    db.session.commit()
    search.sync()
    return staff, visible, idea


def _assert_search_finds_only_the_public_idea(client, visible, idea, who):
    for text in SEARCHES:
        url = _search_url(text)
        response = client.get(url)
        body = response.get_data(as_text=True)
        assert response.status_code == 200, (who, url)
        assert f'id="hit-{visible.id}"' in body, (who, url, "the public idea is not found")
        assert f'id="hit-{idea.id}"' not in body and SECRET not in body, (who, url)
        assert ">1 result<" in body, (who, url)
    # Its own word finds nothing: neither the hidden idea nor the idea under the hidden comment.
    body = client.get(_search_url("zanzibar")).get_data(as_text=True)
    assert "No idea matches “zanzibar”" in body and 'id="hit-' not in body, who
    response = client.get(_similar_url(SECRET))
    body = response.get_data(as_text=True)
    assert response.status_code == 200, who
    assert f'id="similar-{visible.id}"' in body, (who, "the public idea is not suggested")
    assert f'id="similar-{idea.id}"' not in body and SECRET not in body, who


def test_hidden_idea_and_comment_never_reach_the_public(app, client, make_user, make_idea, auth):
    staff, visible, idea = _hidden_content(make_user, make_idea)

    for who in ("visitor", "member"):
        if who == "member":
            auth.login(make_user())
        for url in _public_get_urls(app, idea.id) + [f"/ideas/{visible.id}"]:
            with client.get(url) as response:
                body = response.get_data(as_text=True)
                assert "Zanzibar" not in body, (who, url)
                if url == f"/ideas/{idea.id}":
                    assert response.status_code == 404
        _assert_search_finds_only_the_public_idea(client, visible, idea, who)
        home = client.get("/").get_data(as_text=True)
        assert "0 ideas implemented out of 1 submitted" in home
        assert "0 comments" in client.get(f"/ideas/{visible.id}").get_data(as_text=True)
    auth.logout()
    auth.login(staff)
    assert SECRET in client.get(f"/ideas/{idea.id}").get_data(as_text=True)
    assert "Zanzibar spam comment" in client.get(f"/ideas/{visible.id}").get_data(as_text=True)


def test_search_shows_staff_only_public_ideas_too(app, client, make_user, make_idea, auth):
    """Hidden ideas leave the index: staff reach them by their page (or the triage queue), not by search."""
    staff, visible, idea = _hidden_content(make_user, make_idea)
    auth.login(staff)
    _assert_search_finds_only_the_public_idea(client, visible, idea, "staff")
