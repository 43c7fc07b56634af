"""The staff triage journey through the real UI, in Chromium, against a live server."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.helpers import cast_vote

pytestmark = pytest.mark.browser

TITLES = [
    "Let me pay my invoices by bank transfer",
    "Show the delivery window in the order email",
    "Add a spare-parts catalogue to the app",
]
RESPONSE = "Thanks for the suggestions: we will ship these in the spring release."


def expect_planned(page, idea_id: int, title: str) -> None:
    """The idea's page shows the "Planned" status, the official response and a timeline entry."""
    page.goto(f"/ideas/{idea_id}")
    expect(page.get_by_role("heading", level=1, name=title)).to_be_visible()
    expect(page.locator(".idea-header .status")).to_have_text("Planned")
    expect(page.locator(".idea-header .status")).to_have_class(re.compile(r"\bstatus-planned\b"))
    entries = page.locator(".timeline li.timeline-status")
    expect(entries).to_have_count(1)
    entry = entries.first
    expect(entry.locator(".status")).to_have_text(["New", "Planned"])
    expect(entry.locator("blockquote.official-response")).to_contain_text("Official response")
    expect(entry.locator("blockquote.official-response")).to_contain_text(RESPONSE)


def test_staff_triage_journey(page, new_context, make_user, make_idea, log_in):
    ideas = [make_idea(title=title) for title in TITLES]
    ids = [idea.id for idea in ideas]
    member = make_user()
    promoted_id = ids[1]
    cast_vote(member.id, promoted_id, 1)
    staff = make_user("staff")

    # --- Staff opens the queue: the three ideas await a decision -----------------------------
    log_in(page, staff)
    page.goto("/triage")
    expect(page.get_by_role("heading", level=1, name="Triage queue")).to_be_visible()
    page.wait_for_function("() => window.htmx !== undefined")
    queue = page.locator("#queue")
    for idea_id, title in zip(ids, TITLES):
        expect(queue.locator(f"#triage-{idea_id}").get_by_role("link", name=title)).to_be_visible()
    expect(queue.locator(f"#triage-{promoted_id} td[data-score]")).to_have_attribute("data-score", "1")

    # --- ... selects them all, sets "Planned" with one shared response, and applies ---------------
    for idea_id in ids:
        queue.locator(f'input[name=ids][value="{idea_id}"]').check()
    queue.get_by_label("Set status").select_option(label="Planned")
    queue.get_by_label("Shared official response").fill(RESPONSE)

    # A full page load would wipe this marker: it proves the queue is swapped in place.
    page.evaluate("window.__noReload = 1")
    with page.expect_response(lambda r: r.request.method == "POST" and r.url.split("?")[0].endswith("/triage/bulk")) as posted:
        queue.get_by_role("button", name="Apply", exact=True).click()
    response = posted.value
    assert response.status == 200
    assert response.request.headers.get("hx-request") == "true", "the bulk form must be posted by htmx"

    queue = page.locator("#queue")
    expect(queue.locator(".flash-success")).to_have_text("3 idea(s) updated.")
    # The default queue shows ideas awaiting a decision: the planned ones are gone.
    for idea_id in ids:
        expect(queue.locator(f"#triage-{idea_id}")).to_have_count(0)
    expect(queue.get_by_text("Nothing to triage with these filters.")).to_be_visible()
    expect(queue.get_by_label("Shared official response")).to_have_value("")  # a fresh form
    assert page.evaluate("window.__noReload") == 1, "the page reloaded: the queue was not swapped in place"
    expect(page).to_have_url(re.compile(r"/triage$"))

    # --- Each idea's page shows the decision -------------------------------------------------------
    for idea_id, title in zip(ids, TITLES):
        expect_planned(page, idea_id, title)

    # --- The member who promoted one of them sees it too, in their own browser -------------------------
    member_page = new_context().new_page()
    log_in(member_page, member)
    expect_planned(member_page, promoted_id, TITLES[1])
    expect(member_page.locator(f"#vote-{promoted_id} button.promote")).to_have_attribute("aria-pressed", "true")
    expect(member_page.locator(".staff-panel")).to_have_count(0)
