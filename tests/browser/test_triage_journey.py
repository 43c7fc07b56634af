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

    # --- ... selects them all with the header checkbox: the sticky bar counts them -------------
    bar = queue.locator(".bulk-bar")
    expect(bar).to_have_css("position", "sticky")
    expect(bar.locator(".bulk-count")).to_have_text("0 selected")
    queue.get_by_label("Select every idea on this page").check()
    expect(bar.locator(".bulk-count")).to_have_text("3 selected")
    queue.locator(f'input[name=ids][value="{ids[0]}"]').uncheck()
    expect(bar.locator(".bulk-count")).to_have_text("2 selected")
    expect(queue.locator("#select-all")).to_have_js_property("indeterminate", True)
    queue.locator("#select-all").check()
    expect(bar.locator(".bulk-count")).to_have_text("3 selected")

    # --- ... sets "Planned" with one shared response, and applies -----------------------------
    queue.get_by_label("Set status").select_option(label="Planned")
    queue.get_by_label("Shared official response").fill(RESPONSE)

    # A full page load would wipe this marker: it proves the queue is swapped in place.
    page.evaluate("window.__noReload = 1")
    with page.expect_response(lambda r: r.request.method == "POST" and r.url.split("?")[0].endswith("/triage/bulk")) as posted:
        bar.get_by_role("button", name="Apply", exact=True).click()
    response = posted.value
    assert response.status == 200
    assert response.request.headers.get("hx-request") == "true", "the bulk form must be posted by htmx"

    queue = page.locator("#queue")
    notice = queue.locator(".batch-notice")
    expect(notice).to_contain_text("Updated 3 ideas:")
    for idea_id, title in zip(ids, TITLES):
        expect(notice.get_by_role("link", name=title)).to_have_attribute("href", f"/ideas/{idea_id}")
    # The default queue shows ideas awaiting a decision: the planned ones are gone.
    for idea_id in ids:
        expect(queue.locator(f"#triage-{idea_id}")).to_have_count(0)
    expect(queue.get_by_text("Nothing to triage with these filters.")).to_be_visible()
    expect(queue.get_by_label("Shared official response")).to_have_value("")  # a fresh form
    assert page.evaluate("window.__noReload") == 1, "the page reloaded: the queue was not swapped in place"
    expect(page).to_have_url(re.compile(r"/triage$"))

    # --- A mistake? One Undo puts the three back, then they are planned again ---------------------
    notice.get_by_role("button", name="Undo").click()
    expect(queue.locator(".flash-success")).to_contain_text("Undone: 3 ideas are back as they were")
    for idea_id in ids:
        expect(queue.locator(f"#triage-{idea_id} .status")).to_have_text("New")
    expect(queue.locator(".batch-notice")).to_have_count(0)
    assert page.evaluate("window.__noReload") == 1
    page.goto(f"/ideas/{ids[0]}")
    expect(page.locator(".timeline li.timeline-status")).to_have_count(0)  # no trace of the undone change

    page.goto("/triage")
    queue = page.locator("#queue")
    queue.get_by_label("Select every idea on this page").check()
    queue.get_by_label("Set status").select_option(label="Planned")
    queue.get_by_label("Shared official response").fill(RESPONSE)
    queue.get_by_role("button", name="Apply", exact=True).click()
    expect(queue.locator(".batch-notice")).to_contain_text("Updated 3 ideas:")

    # --- Each idea's page shows the decision -------------------------------------------------------
    for idea_id, title in zip(ids, TITLES):
        expect_planned(page, idea_id, title)

    # --- The member who promoted one of them sees it too, in their own browser -------------------------
    member_page = new_context().new_page()
    log_in(member_page, member)
    expect_planned(member_page, promoted_id, TITLES[1])
    expect(member_page.locator(f"#vote-{promoted_id} button.promote")).to_have_attribute("aria-pressed", "true")
    expect(member_page.locator(".staff-panel")).to_have_count(0)


def test_merge_picker(page, make_user, make_idea, log_in):
    duplicate = make_idea(title="Export my invoices as a spreadsheet file")
    original = make_idea(title="Download invoices as a spreadsheet")
    make_idea(title="Show the delivery window in the order email")
    voters = [make_user() for _ in range(3)]
    for voter in voters:
        cast_vote(voter.id, duplicate.id, 1)
    cast_vote(voters[0].id, original.id, 1)  # voted on both: that vote stays on the original
    staff = make_user("staff")

    log_in(page, staff)
    page.goto(f"/ideas/{duplicate.id}")
    page.wait_for_function("() => window.htmx !== undefined")
    card = page.locator("#merge")
    expect(card.get_by_role("heading", name="Merge into…")).to_be_visible()
    # Typing asks the search index (filled by the worker within moments) for candidates by title.
    card.get_by_label("Title or number of the original idea").press_sequentially("download invoices", delay=30)
    expect(card.locator("#merge-candidates > p.meta")).to_have_text(re.compile(r"^\d+ ideas? found$"))
    candidate = card.locator(f"#candidate-{original.id}")
    expect(candidate).to_be_visible()
    expect(card.locator(f"#candidate-{duplicate.id}")).to_have_count(0)
    candidate.get_by_role("button", name=f"Merge into #{original.id}…").click()

    expect(page.get_by_role("heading", level=1, name="Confirm the merge")).to_be_visible()
    expect(page.locator("#merge-target")).to_contain_text("Download invoices as a spreadsheet")
    expect(page.locator(".merge-effects .votes-moving")).to_have_text("2 votes move to the original.")
    page.get_by_role("button", name="Confirm the merge").click()

    expect(page).to_have_url(re.compile(rf"/ideas/{duplicate.id}$"))
    expect(page.locator(".flash-success")).to_contain_text("Marked as a duplicate")
    expect(page.locator(".duplicate-note").get_by_role("link", name="Download invoices as a spreadsheet")).to_be_visible()
    page.goto(f"/ideas/{original.id}")
    expect(page.locator(f"#vote-{original.id} .score")).to_have_text("3")


def test_hide_from_the_moderation_menu_asks_first(page, make_user, make_idea, log_in):
    idea = make_idea(title="An idea that breaks the rules")
    log_in(page, make_user("staff"))
    page.goto(f"/ideas/{idea.id}")
    menu = page.locator(".moderation-menu")
    menu.get_by_text("Moderation").click()
    messages = []

    def answer(dialog, accept):
        messages.append(dialog.message)
        dialog.accept() if accept else dialog.dismiss()

    page.once("dialog", lambda dialog: answer(dialog, False))
    menu.get_by_role("button", name="Hide idea…").click()
    expect(page.locator(".idea-header .hidden-badge")).to_have_count(0)
    assert messages == ["Hide this idea?"]
    page.once("dialog", lambda dialog: answer(dialog, True))
    menu.get_by_role("button", name="Hide idea…").click()
    expect(page.locator(".flash-success")).to_have_text("The idea is hidden.")
    expect(page.locator(".idea-header .hidden-badge")).to_be_visible()
