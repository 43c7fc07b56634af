"""The customer journey through the real UI, in Chromium, against a live server."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from ideastorm.extensions import db
from ideastorm.ideas.models import Idea
from ideastorm.votes.models import Vote
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser

TITLE = "Let me export my support tickets as CSV"
DESCRIPTION = "I need them for **quarterly reviews**.\n\n- one row per ticket\n- with the status"
COMMENT = "Yes please, and include the *resolution date* too."


def expect_widget(page, idea_id: int, *, score: int, promotes: int, demotes: int):
    """The vote widget of ``idea_id`` shows these counts, in its data attributes and its text."""
    widget = page.locator(f"#vote-{idea_id}")
    expect(widget).to_have_attribute("data-score", str(score))
    expect(widget).to_have_attribute("data-promotes", str(promotes))
    expect(widget).to_have_attribute("data-demotes", str(demotes))
    expect(widget.locator(".score")).to_have_text(str(score))
    expect(widget.locator(".count.promotes")).to_have_text(str(promotes))
    expect(widget.locator(".count.demotes")).to_have_text(str(demotes))
    return widget


def _confirmation_link(email: str) -> str:
    """The path of the link in the confirmation email queued for ``email``, as the worker would send it."""
    from ideastorm.accounts.models import User
    from ideastorm.mail.compose import compose
    from ideastorm.mail.models import OutgoingEmail

    db.session.expire_all()
    queued = db.session.scalar(select(OutgoingEmail).join(User, User.id == OutgoingEmail.user_id)
                               .where(User.email == email, OutgoingEmail.kind == "verify_email"))
    return re.search(r"https?://[^/\s]+(/confirm-email/\S+)", compose(queued).body).group(1)


def test_customer_journey(page, new_context, make_user, log_in):
    # --- A visitor signs up -----------------------------------------------------------
    page.goto("/register")
    expect(page.get_by_role("heading", name="Create your account")).to_be_visible()
    page.get_by_label("Email").fill("ada@example.com")
    page.get_by_label("Display name").fill("Ada Lovelace")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat password").fill(PASSWORD)
    page.locator("main form").get_by_role("button", name="Sign up").click()

    # ... is asked to open the link emailed to her, opens it, and lands signed in.
    expect(page.get_by_role("heading", name="Check your inbox")).to_be_visible()
    expect(page.get_by_text("We sent a link to ada@example.com to finish signing up.")).to_be_visible()
    page.goto(_confirmation_link("ada@example.com"))
    expect(page.get_by_text("Welcome to IdeaStorm, Ada Lovelace! You are signed in.")).to_be_visible()
    header = page.locator("header.site-header")
    account = header.locator("details.account-menu")  # the account menu, named after her
    expect(account.locator("summary")).to_have_accessible_name(re.compile("Ada Lovelace"))
    account.locator("summary").click()
    expect(account.get_by_role("button", name="Log out")).to_be_visible()
    account.locator("summary").click()
    expect(header.get_by_role("link", name="Log in")).to_have_count(0)

    # --- ... and submits an idea ------------------------------------------------------------
    header.get_by_role("button", name="Submit an idea").click()  # an <a role="button">
    expect(page).to_have_url(re.compile(r"/ideas/new$"))
    page.get_by_label("Title").fill(TITLE)
    page.get_by_label("Description").fill(DESCRIPTION)
    page.get_by_label("Category").select_option(label="Support & services")
    page.get_by_label("Tags").fill("Export, CSV")
    page.get_by_role("button", name="Publish my idea").click()

    expect(page).to_have_url(re.compile(r"/ideas/\d+$"))
    idea_id = int(re.search(r"/ideas/(\d+)$", page.url).group(1))
    expect(page.get_by_text("Your idea is published. Thank you!")).to_be_visible()
    expect(page.get_by_role("heading", level=1, name=TITLE)).to_be_visible()
    description = page.locator(".idea-description")
    expect(description.locator("strong")).to_have_text("quarterly reviews")  # Markdown rendered
    expect(description.locator("li")).to_have_text(["one row per ticket", "with the status"])
    expect(page.locator(".idea-header .meta").get_by_role("link", name="Support & services")).to_be_visible()
    expect(page.locator("ul.tags li")).to_have_text(["#csv", "#export"])  # normalized, sorted by name
    expect(page.locator(f"#vote-{idea_id}")).to_have_attribute("data-score", "0")

    # The idea is listed.
    page.goto("/ideas")
    card = page.locator(f"#idea-{idea_id}")
    expect(card.get_by_role("link", name=TITLE)).to_be_visible()
    expect(card).to_contain_text("by Ada Lovelace")

    # --- A second member, in their own browser, promotes it -----------------------------------
    bob = make_user(name="Bob Builder")
    bob_page = new_context().new_page()
    log_in(bob_page, bob)
    bob_page.goto(f"/ideas/{idea_id}")
    bob_page.wait_for_function("() => window.htmx !== undefined")
    widget = expect_widget(bob_page, idea_id, score=0, promotes=0, demotes=0)

    # A full page load would wipe this marker: it proves the vote is swapped in place.
    bob_page.evaluate("window.__noReload = 1")
    widget.locator("button.promote").click()
    expect(widget).to_have_attribute("data-score", "1")
    expect_widget(bob_page, idea_id, score=1, promotes=1, demotes=0)
    expect(widget.locator("button.promote")).to_have_attribute("aria-pressed", "true")
    expect(widget).to_have_class(re.compile(r"\bvoted-up\b"))
    assert bob_page.evaluate("window.__noReload") == 1, "the page reloaded: the vote was not swapped in place"

    # ... then changes their mind and demotes it.
    widget.locator("button.demote").click()
    expect(widget).to_have_attribute("data-score", "-1")
    expect_widget(bob_page, idea_id, score=-1, promotes=0, demotes=1)
    expect(widget.locator("button.demote")).to_have_attribute("aria-pressed", "true")
    expect(widget.locator("button.promote")).to_have_attribute("aria-pressed", "false")
    expect(widget).to_have_class(re.compile(r"\bvoted-down\b"))
    assert bob_page.evaluate("window.__noReload") == 1, "the page reloaded: the vote was not swapped in place"

    # --- ... comments (the #comments section is swapped in place) --------------------------------
    comments = bob_page.locator("#comments")
    expect(comments.get_by_role("heading", name="0 comments")).to_be_visible()
    comments.get_by_label("Your comment").fill(COMMENT)
    comments.get_by_role("button", name="Post comment").click()
    expect(comments.locator(".comment")).to_have_count(1)
    comment = comments.locator(".comment").first
    expect(comment.locator(".meta")).to_contain_text("Bob Builder")
    expect(comment.locator(".comment-body")).to_have_text(re.compile(r"Yes please, and include the resolution date too\."))
    expect(comment.locator(".comment-body em")).to_have_text("resolution date")
    expect(comments.get_by_role("heading", name="1 comment")).to_be_visible()
    expect(comments.get_by_label("Your comment")).to_have_value("")  # a fresh form
    assert bob_page.evaluate("window.__noReload") == 1, "the page reloaded: the comment was not swapped in place"

    # --- ... and logs out. -----------------------------------------------------------------------------
    bob_page.locator("header.site-header details.account-menu summary").click()
    bob_page.locator("header.site-header").get_by_role("button", name="Log out").click()
    expect(bob_page.get_by_text("You are signed out.")).to_be_visible()
    bob_header = bob_page.locator("header.site-header")
    expect(bob_header.get_by_role("link", name="Log in")).to_be_visible()
    expect(bob_header.locator("details.account-menu")).to_have_count(0)

    # Ada, in her own browser, is still signed in and sees the new score after a reload.
    page.goto(f"/ideas/{idea_id}")
    expect(page.locator("header.site-header details.account-menu")).to_be_visible()
    expect(page.locator(f"#vote-{idea_id}")).to_have_attribute("data-score", "-1")
    expect(page.locator("#comments .comment")).to_have_count(1)

    # --- What the database holds ---------------------------------------------------------------
    # End any read transaction this thread may hold, so we see what the server's threads committed.
    db.session.rollback()
    db.session.expire_all()
    votes = db.session.scalars(select(Vote).where(Vote.idea_id == idea_id)).all()
    assert [(v.user_id, v.value) for v in votes] == [(bob.id, -1)]
    idea = db.session.get(Idea, idea_id)
    assert (idea.promote_count, idea.demote_count, idea.score) == (0, 1, -1)
    assert idea.title == TITLE
    assert idea.author.email == "ada@example.com"


def test_voting_works_without_javascript(new_context, make_user, make_idea, log_in):
    """No JavaScript at all: the vote buttons are a plain form, the page reloads with the new score."""
    idea = make_idea(title="Offer a repair-cafe finder in the app")
    idea_id = idea.id
    member = make_user()
    page = new_context(java_script_enabled=False).new_page()
    log_in(page, member)
    page.goto(f"/ideas/{idea_id}")
    widget = page.locator(f"#vote-{idea_id}")
    expect(widget).to_have_attribute("data-score", "0")

    with page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith(f"/ideas/{idea_id}/vote")) as posted:
        widget.locator("button.promote").click()
    response = posted.value
    assert response.status == 302, "a plain form POST is answered with a redirect"
    assert "hx-request" not in response.request.headers, "htmx must not be involved"
    page.wait_for_load_state()

    expect(page).to_have_url(re.compile(rf"/ideas/{idea_id}$"))
    expect(page.get_by_text("Your vote is counted.")).to_be_visible()
    expect_widget(page, idea_id, score=1, promotes=1, demotes=0)
    expect(widget.locator("button.promote")).to_have_attribute("aria-pressed", "true")
