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


@pytest.mark.parametrize("url", [
    "/ideas?category=%00", "/ideas?tag=a%00b", "/leaderboard?category=%00products",
])
def test_nul_characters_in_a_lookup_find_nothing(client, url):
    # PostgreSQL refuses NUL in text parameters; no slug or tag can contain one.
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
