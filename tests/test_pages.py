"""Every public page has a title of its own, found from the app's route table."""

from __future__ import annotations

import html
import re

from flask import url_for

SITE = "IdeaStorm"
DEFAULT_TITLE = f"Ideas · {SITE}"  # what base.html shows when a page forgets its title block
NOT_PAGES = {
    "main.healthz": "JSON for monitoring",
    "feeds.ideas": "Atom",
    "feeds.implemented": "Atom",
    "search.similar": "a fragment for the submit form's similar-ideas list",
    "main.brand_css": "the brand stylesheet (CSS)",
    "notifications.count": "the header's polled fragment (tests/test_notifications_pages.py)",
    "notifications.suggest_members": "a fragment for the comment box's mention autocomplete",
    "privacy.export": "a JSON download of the member's data (tests/test_privacy.py)",
}
_TITLE = re.compile(r"<title>(.*?)</title>", re.S)


def _argumentless_pages(app) -> list[str]:
    return sorted(
        rule.rule for rule in app.url_map.iter_rules()
        if "GET" in rule.methods and not rule.arguments and rule.endpoint not in NOT_PAGES
        and not rule.rule.startswith(("/triage", "/admin"))
    )


def _title(url: str, response) -> str:
    assert response.mimetype == "text/html", url
    found = _TITLE.search(response.get_data(as_text=True))
    assert found, f"{url}: no <title>"
    return " ".join(html.unescape(found.group(1)).split())


def test_every_page_has_a_meaningful_distinct_title(app, client, make_user, make_idea, auth):
    author = make_user(name="Grace Hopper")
    idea = make_idea(author, title="Print receipts in large type")
    with app.test_request_context():
        urls = _argumentless_pages(app) + [
            url_for("ideas.show", idea_id=idea.id), url_for("public.profile", user_id=author.id),
        ]
    assert {"/", "/ideas", "/stats", "/leaderboard", "/roadmap", "/implemented", "/search"} <= set(urls)

    titles: dict[str, str] = {}
    needs_sign_in = []
    for url in urls:
        response = client.get(url)
        if response.status_code == 302 and response.location.startswith("/login"):
            needs_sign_in.append(url)
            continue
        assert response.status_code == 200, url
        titles[url] = _title(url, response)
    assert needs_sign_in  # /account and /ideas/new, checked as a member below
    auth.login(make_user())
    for url in needs_sign_in:
        response = client.get(url)
        assert response.status_code == 200, url
        titles[url] = _title(url, response)

    for url, title in titles.items():
        own = title.removesuffix(f" · {SITE}").strip()
        assert title.endswith(f" · {SITE}") and len(own) >= 3 and SITE not in own, (url, title)
        assert title != DEFAULT_TITLE, (url, title)
    duplicates = {t for t in titles.values() if list(titles.values()).count(t) > 1}
    assert not duplicates, {url: t for url, t in titles.items() if t in duplicates}
    assert titles[f"/ideas/{idea.id}"] == f"Print receipts in large type · {SITE}"
    assert titles[f"/users/{author.id}"].startswith("Grace Hopper")


def test_idea_list_sorts_are_tabs_and_filters_a_plain_get_form(client, make_idea):
    make_idea(title="Print receipts in large type", category="store", tags="mobile")
    body = client.get("/ideas?sort=top&category=store&page=1").get_data(as_text=True)
    tabs = re.search(r'<nav class="tabs" aria-label="Sort">.*?</nav>', body, re.S).group(0)
    assert '<a href="/ideas?sort=top&amp;category=store" aria-current="page">Top</a>' in tabs
    assert '<a href="/ideas?sort=new&amp;category=store">Newest</a>' in tabs and tabs.count("aria-current") == 1
    form = re.search(r'<form method="get" action="/ideas" class="filters".*?</form>', body, re.S).group(0)
    assert '<input type="hidden" name="sort" value="top">' in form  # a filter change keeps the sort
    assert 'name="sort"' not in form.replace('<input type="hidden" name="sort" value="top">', "")
    assert '<button type="submit" class="secondary filter-submit">Apply</button>' in form  # without JavaScript
    fragment = client.get("/ideas?sort=new&status=new", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert '<a href="/ideas?sort=new&amp;status=new" aria-current="page">Newest</a>' in fragment  # swapped with the list
