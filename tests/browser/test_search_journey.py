"""Search as you type, and similar ideas while a title is typed, in Chromium."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from ideastorm.search import sync as index_now
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


@pytest.fixture
def ideas(make_idea):
    dark = make_idea(title="Dark mode for the mobile app", description="A night theme for late work.",
                     category="apps", status="planned")
    csv = make_idea(title="Export my support tickets as CSV", description="For quarterly reviews.")
    index_now()
    return dark, csv


def test_results_appear_while_typing(page, ideas):
    dark, csv = ideas
    page.goto("/search")
    expect(page.get_by_text("Type a few words to search")).to_be_visible()
    page.evaluate("window.sameDocument = true")  # lost if the page reloads

    page.get_by_role("searchbox", name="Words to find").press_sequentially("dark mod", delay=40)
    results = page.locator("#search-results")
    expect(results.get_by_role("link", name="Dark mode for the mobile app")).to_be_visible()
    expect(results.locator("mark").first).to_have_text(re.compile("dark", re.I))
    expect(results.get_by_role("status")).to_have_text("1 result")
    expect(results.get_by_role("link", name=re.compile("Export my support"))).to_have_count(0)
    expect(page).to_have_url(re.compile(r"/search\?q=dark(%20|\+)mod$"))
    assert page.evaluate("window.sameDocument") is True

    # The address is a real page: reloading it shows the same results without scripts' help.
    page.reload()
    expect(page.get_by_role("searchbox", name="Words to find")).to_have_value("dark mod")
    expect(page.locator(f"#hit-{dark.id}")).to_be_visible()


def test_similar_ideas_while_typing_a_title(page, ideas, make_user, log_in):
    dark, _ = ideas
    log_in(page, make_user())
    page.goto("/ideas/new")
    page.get_by_label("Title").press_sequentially("Dark mode please", delay=30)
    suggestion = page.locator("#similar-ideas").get_by_role("link", name="Dark mode for the mobile app")
    expect(suggestion).to_be_visible()
    expect(page.locator("#similar-ideas .status-planned")).to_be_visible()
    expect(page.locator("#similar-ideas [data-score]")).to_have_attribute("data-score", "0")
    suggestion.click()
    expect(page).to_have_url(re.compile(rf"/ideas/{dark.id}$"))
    expect(page.get_by_role("heading", level=1, name="Dark mode for the mobile app")).to_be_visible()


def test_no_results_lead_to_a_new_idea_with_those_words(page, ideas, make_user, log_in):
    page.goto("/search")
    page.get_by_role("searchbox", name="Words to find").press_sequentially("solar roof", delay=30)
    results = page.locator("#search-results")
    expect(results.get_by_role("heading", name="No idea matches “solar roof”")).to_be_visible()
    expect(results.locator(".facet")).to_have_count(0)
    # A visitor logs in first, then lands on the form with the words as the title.
    results.get_by_role("button", name="Log in to submit it as a new idea").click()
    page.get_by_label("Email").fill(make_user(email="solar@example.com").email)
    page.get_by_label("Password").fill(PASSWORD)
    page.locator("main form").get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/ideas/new\?title=Solar\+roof$"))
    expect(page.get_by_label("Title")).to_have_value("Solar roof")


def test_a_member_submits_the_words_they_searched_for(page, ideas, make_user, log_in):
    log_in(page, make_user())
    page.goto("/search?q=quiet+keyboard&status=planned")
    expect(page.get_by_role("heading", name="No idea matches “quiet keyboard” with these filters")).to_be_visible()
    page.get_by_role("button", name="Submit “Quiet keyboard” as a new idea").click()
    expect(page.get_by_label("Title")).to_have_value("Quiet keyboard")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
