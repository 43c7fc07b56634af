"""Atom feeds: valid Atom 1.0 as a feed reader parses it, public ideas only, absolute links."""

from __future__ import annotations

from datetime import datetime, timedelta

import feedparser
import pytest

from ideastorm.extensions import db
from ideastorm.triage.services import change_status, set_idea_hidden

BASE = "http://ideastorm.test"  # BASE_URL: never the request's Host
FEEDS = ["/feeds/ideas.atom", "/feeds/implemented.atom"]


def parse(client, url, **kwargs):
    response = client.get(url, **kwargs)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/atom+xml; charset=utf-8"
    feed = feedparser.parse(response.get_data())
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.version == "atom10"
    return feed, response


def _age(idea, days: int):
    idea.created_at = idea.updated_at = datetime(2025, 3, 1) + timedelta(days=days)
    db.session.commit()


@pytest.mark.parametrize("url", FEEDS)
def test_empty_feeds_are_valid(client, url):
    feed, _ = parse(client, url)
    assert feed.entries == []
    assert feed.feed.updated_parsed is not None
    assert feed.feed.id.startswith("tag:ideastorm.test,2025:feeds/")
    links = {link.rel: link.href for link in feed.feed.links}
    assert links["self"] == BASE + url
    assert links["alternate"].startswith(BASE + "/")


def test_new_ideas_feed(client, make_user, make_idea):
    staff = make_user("staff")
    author = make_user(name="Ada & <Co>")
    old = make_idea(author, title="Older idea about exports")
    tricky = make_idea(title="Fish & chips <script>alert(1)</script>",
                       description="Plain **bold** and <script>alert('x')</script> text")
    hidden = make_idea(title="Zanzibar hidden proposal")
    _age(old, 0), _age(tricky, 1), _age(hidden, 2)
    set_idea_hidden(staff, hidden, True)
    db.session.commit()

    feed, _ = parse(client, "/feeds/ideas.atom")
    assert feed.feed.title == "New ideas on IdeaStorm"
    assert [e.title for e in feed.entries] == ["Fish & chips <script>alert(1)</script>", "Older idea about exports"]
    first, second = feed.entries
    assert first.link == f"{BASE}/ideas/{tricky.id}"
    assert first.id == f"tag:ideastorm.test,2025:ideas/{tricky.id}"
    assert first.published == "2025-03-02T00:00:00Z" and first.updated == "2025-03-02T00:00:00Z"
    assert second.author == "Ada & <Co>"
    assert first.content[0].type == "text/html"
    content = first.content[0].value
    assert "<strong>bold</strong>" in content and "<script" not in content
    assert feed.feed.updated == "2025-03-02T00:00:00Z"  # the newest entry
    body = client.get("/feeds/ideas.atom").get_data(as_text=True)
    assert "Zanzibar" not in body
    assert "Fish &amp; chips &lt;script&gt;" in body  # escaped once in the XML, not raw markup


def test_feed_size_is_bounded(client, make_user, make_idea):
    author = make_user()
    for n in range(52):
        _age(make_idea(author, title=f"Numbered idea {n:02d}"), n)
    feed, _ = parse(client, "/feeds/ideas.atom")
    assert len(feed.entries) == 50
    assert feed.entries[0].title == "Numbered idea 51" and feed.entries[-1].title == "Numbered idea 02"


def test_implemented_feed_has_the_official_response(client, make_user, make_idea, monkeypatch):
    staff = make_user("staff")
    first = make_idea(title="Export tickets as CSV")
    second = make_idea(title="Dark mode for the portal")
    not_done = make_idea(title="Planned but not implemented")
    hidden = make_idea(title="Zanzibar hidden implemented")
    clock = iter(datetime(2025, 5, day, 9) for day in range(1, 20))
    monkeypatch.setattr("ideastorm.triage.services.utcnow", lambda: next(clock))
    change_status(staff, first, "planned", "We will do it.")
    change_status(staff, first, "implemented", "Shipped in **2.4**: see _Export_ & enjoy.")
    change_status(staff, second, "implemented")
    change_status(staff, not_done, "planned", "Soon.")
    change_status(staff, hidden, "implemented", "Zanzibar response")
    set_idea_hidden(staff, hidden, True)
    db.session.commit()

    feed, _ = parse(client, "/feeds/implemented.atom")
    assert feed.feed.title == "Implemented ideas on IdeaStorm"
    assert {link.rel: link.href for link in feed.feed.links}["alternate"] == f"{BASE}/implemented"
    assert [e.title for e in feed.entries] == ["Dark mode for the portal", "Export tickets as CSV"]
    newest, older = feed.entries
    assert newest.updated == "2025-05-03T09:00:00Z" and older.updated == "2025-05-02T09:00:00Z"
    assert older.link == f"{BASE}/ideas/{first.id}"
    content = older.content[0].value
    assert "Official response" in content
    assert "<strong>2.4</strong>" in content and "<em>Export</em> &amp; enjoy" in content
    assert "We will do it." not in content  # the planned response is not the implementation's
    assert "Official response" not in newest.content[0].value
    assert "Zanzibar" not in client.get("/feeds/implemented.atom").get_data(as_text=True)


@pytest.mark.parametrize("url", FEEDS)
def test_conditional_get(client, make_idea, url):
    make_idea(status="implemented")
    _, response = parse(client, url)
    assert response.headers["ETag"] and response.headers["Last-Modified"]
    again = client.get(url, headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304 and again.get_data() == b""
    since = client.get(url, headers={"If-Modified-Since": response.headers["Last-Modified"]})
    assert since.status_code == 304
    assert client.get(url, headers={"If-None-Match": '"something-else"'}).status_code == 200


def test_control_characters_do_not_break_the_xml(client, make_idea):
    make_idea(title="Bell \x07 in the title", description="Form feed \x0c here")
    feed, _ = parse(client, "/feeds/ideas.atom")
    assert feed.entries[0].title == "Bell  in the title"


def test_pages_announce_the_feeds(client):
    page = client.get("/").get_data(as_text=True)
    for url in FEEDS:
        assert 'type="application/atom+xml"' in page and f'href="{url}"' in page
