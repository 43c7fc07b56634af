"""Query arguments no page expects: a clear 4xx or the page itself, never a 500 (both databases)."""

from __future__ import annotations

import re

import pytest


@pytest.mark.parametrize("url", [
    "/ideas?page=%C2%B2", "/leaderboard?page=%C2%B2", "/implemented?page=%C2%B2",
    "/search?q=dark&page=%C2%B2", "/search/similar?title=dark&exclude=%C2%B2",
])
def test_digits_that_are_not_ascii_are_not_page_numbers(client, member, url):
    # "²".isdigit() is true in Python, but int("²") fails.
    assert client.get(url).status_code == 400


def test_profile_pages_refuse_unicode_digits(client, member):
    assert client.get(f"/users/{member.id}?page=%C2%B2").status_code == 400


# Every query argument every page reads, each parsed by the one helper (web.query_arg).
ARGUMENTS = {
    "/ideas": ["sort", "status", "category", "tag", "page"],
    "/triage": ["sort", "status", "category", "tag", "age", "min_score", "page"],
    "/search?q=dark": ["sort", "status", "category", "tag", "page"],
    "/search/similar?title=dark": ["exclude"],
    "/leaderboard": ["period", "category", "page"],
    "/implemented": ["page"],
    "/admin/users": ["q", "role", "page"],
    "/admin/audit": ["action", "page"],
}


@pytest.mark.parametrize("url, name", [(url, name) for url, names in ARGUMENTS.items() for name in names])
def test_nul_characters_are_refused_by_every_argument(client, make_user, auth, url, name):
    # PostgreSQL refuses NUL in text parameters; no stored text contains one.
    auth.login(make_user("admin"))
    separator = "&" if "?" in url else "?"
    response = client.get(f"{url}{separator}{name}=a%00b")
    assert response.status_code == 400, (url, name)
    assert "Unknown value for" in response.get_data(as_text=True)


@pytest.mark.parametrize("url, message", [
    ("/ideas?sort=best", "Unknown value for sort: best. Choose one of: trending, top, new, discussed."),
    ("/triage?age=-1", "age must be a whole number from 0 to 36500."),
    ("/triage?min_score=ten", "min_score must be a whole number from"),
    ("/ideas?page=0", "The page number must be a whole number from 1."),
    ("/ideas?category=" + "x" * 201, "Unknown value for category"),
])
def test_refused_arguments_say_why(client, make_user, auth, url, message):
    auth.login(make_user("staff"))
    response = client.get(url)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)


@pytest.mark.parametrize("url", ["/ideas?category=nowhere", "/ideas?tag=nothing", "/leaderboard?category=nowhere"])
def test_lookups_that_find_nothing_are_404(client, url):
    assert client.get(url).status_code == 404


def test_links_ignore_arguments_named_like_url_for_parameters(client, make_idea, member):
    for n in range(25):
        make_idea(author=member, title=f"Label printer improvement {n}")
    from ideastorm.search import sync

    sync()
    for url in ("/search?q=printer&endpoint=x&_external=1", f"/users/{member.id}?user_id=3&endpoint=y",
                "/ideas?endpoint=z&_scheme=ftp"):
        response = client.get(url)
        assert response.status_code == 200, url
        links = re.findall(r'href="([^"]*)"', response.get_data(as_text=True))
        assert any("page=2" in link for link in links), url  # the pagination links were built
        assert not any("endpoint=" in link or "_external" in link or "://" in link for link in links), url
