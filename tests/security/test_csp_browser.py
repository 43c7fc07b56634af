"""The strict Content-Security-Policy in Chromium: the app's own pages and htmx interactions cause no
violation, and a violation, when one happens, is seen by the browser and reported to the server."""

from __future__ import annotations

import logging
import re
import time

import pytest
from playwright.sync_api import expect

from ideastorm.comments.services import add_comment
from ideastorm.extensions import db
from ideastorm.search import sync as index_now

pytestmark = pytest.mark.browser

# Each document reports its violations to the test the moment they happen (before any page script).
LISTEN = """
document.addEventListener('securitypolicyviolation', (event) => {
  window.__cspViolation(`${event.effectiveDirective} blocked ${event.blockedURI || 'inline'}`
    + ` at ${event.sourceFile || location.href}:${event.lineNumber}`);
});
"""


@pytest.fixture
def violations(new_context):
    """``open_page()`` gives a page whose CSP violations (events and console messages) land in ``found``."""
    found: list[str] = []

    def open_page(**options):
        context = new_context(**options)
        context.expose_function("__cspViolation", lambda text: found.append(text))
        context.add_init_script(LISTEN)
        page = context.new_page()
        page.on("console", lambda message: "Content Security Policy" in message.text and found.append(message.text))
        page.on("pageerror", lambda error: found.append(f"page error: {error}"))
        return page

    open_page.found = found
    return open_page


def visit(page, url: str):
    response = page.goto(url)
    assert response.status < 500, url
    page.wait_for_load_state("load")
    return response


@pytest.fixture
def backlog(make_user, make_idea):
    author = make_user(name="Ada Author")
    idea = make_idea(author, title="Dark mode for the support app",
                     description="**Night** work.\n\n![chart](https://tracker.example/pixel.gif)",
                     status="under_review")
    other = make_idea(author, title="Export tickets as CSV", description="For the quarterly review.")
    add_comment(author, idea, "I'd use it every evening, @ada-author")
    db.session.commit()
    index_now()
    return idea, other


def test_member_and_staff_pages_and_htmx_cause_no_violation(violations, backlog, make_user, log_in):
    idea, other = backlog
    member = violations()
    log_in(member, make_user(name="Bob Builder"))
    for url in ("/", "/ideas", f"/ideas/{idea.id}", "/search?q=dark", "/leaderboard", "/roadmap",
                "/implemented", "/stats", "/account", "/notifications", "/ideas/new", f"/users/{idea.author_id}"):
        visit(member, url)
    # htmx is configured for the policy: no indicator <style> injected, no eval, no scripts from responses.
    assert member.evaluate("[htmx.config.includeIndicatorStyles, htmx.config.allowEval, htmx.config.allowScriptTags]") \
        == [False, False, False]
    assert member.evaluate("document.querySelectorAll('style').length") == 0

    # A vote, swapped in place.
    visit(member, f"/ideas/{idea.id}")
    member.wait_for_function("() => window.htmx !== undefined")
    widget = member.locator(f"#vote-{idea.id}")
    widget.locator("button.promote").click()
    expect(widget).to_have_attribute("data-score", "1")
    # A remote Markdown image is a link: nothing was asked of its host.
    expect(member.locator(".idea-description a[href='https://tracker.example/pixel.gif']")).to_have_text("chart")
    # The Markdown preview, then a comment, swapped in place.
    comments = member.locator("#comments")
    comments.get_by_label("Your comment").fill("Me **too**")
    comments.get_by_role("tab", name="Preview").click()
    expect(comments.get_by_role("tabpanel", name="Preview").locator("strong")).to_have_text("too")
    comments.get_by_role("tab", name="Write").click()
    comments.get_by_role("button", name="Post comment").click()
    expect(comments.locator(".comment")).to_have_count(2)
    # Search as you type.
    visit(member, "/search")
    member.get_by_role("searchbox", name="Words to find").press_sequentially("dark", delay=30)
    expect(member.locator("#search-results").get_by_role("link", name=idea.title)).to_be_visible()
    # A list filter, applied on change.
    visit(member, "/ideas")
    member.get_by_label("Status").select_option("under_review")
    expect(member).to_have_url(re.compile(r"status=under_review"))
    expect(member.locator(f"#idea-{other.id}")).to_have_count(0)

    staff = violations()
    log_in(staff, make_user("admin", name="Alice Admin"))
    for url in ("/triage", f"/ideas/{idea.id}", f"/ideas/{other.id}", "/admin", "/admin/users", "/admin/categories",
                "/admin/settings", "/admin/audit", "/no-such-page"):
        visit(staff, url)
    # The merge picker searches as staff type.
    visit(staff, f"/ideas/{other.id}")
    staff.get_by_label("Title or number of the original idea").press_sequentially("dark", delay=30)
    expect(staff.locator("#merge-candidates").get_by_text(idea.title)).to_be_visible()

    time.sleep(0.3)  # let the last events arrive
    assert violations.found == []


def test_a_violation_is_seen_and_reported_to_the_server(violations, live_server, caplog):
    # A positive control: the listeners above would see a violation, and the server hears of it.
    page = violations()
    visit(page, "/")
    with caplog.at_level(logging.WARNING, logger="ideastorm.security.headers"):
        page.evaluate("""() => {
          const script = document.createElement('script');
          script.textContent = 'window.__ran = 1';
          document.head.append(script);
        }""")
        assert page.evaluate("window.__ran") is None  # refused: no nonce
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and "CSP violation" not in caplog.text:
            time.sleep(0.1)
    assert any("script-src" in found for found in violations.found), violations.found
    logged = rf"CSP violation: 'script-src-elem' blocked 'inline' on '{re.escape(live_server)}/'"
    assert re.search(logged, caplog.text), caplog.text
