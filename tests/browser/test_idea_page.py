"""The idea page in Chromium: one's own comments edited and deleted, the Markdown preview, the share link."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from ideastorm.comments.services import add_comment
from ideastorm.extensions import db

pytestmark = pytest.mark.browser


def _no_reload_marker(page):
    page.evaluate("window.__noReload = 1")


def test_member_edits_and_deletes_their_comment_in_place(page, make_user, make_idea, log_in):
    member = make_user(name="Chloé Martin")
    other = make_user(name="Bob Builder")
    idea = make_idea()
    add_comment(other, idea, "Someone else's words")
    mine = add_comment(member, idea, "My *first* words")
    db.session.commit()
    log_in(page, member)
    page.goto(f"/ideas/{idea.id}")
    _no_reload_marker(page)
    comments = page.locator("#comments")
    expect(comments.get_by_role("heading", name="2 comments")).to_be_visible()
    theirs = page.locator(".comment").filter(has_text="Someone else's words")
    expect(theirs.get_by_role("link", name="Edit")).to_have_count(0)
    expect(theirs.get_by_role("link", name="Bob Builder")).to_have_attribute("href", f"/users/{other.id}")

    card = page.locator(f"#comment-{mine.id}")
    card.get_by_role("link", name="Edit").click()
    box = card.get_by_label("Your comment")
    expect(box).to_have_value("My *first* words")
    box.fill("")
    card.get_by_role("button", name="Save comment").click()
    expect(card.get_by_text("A comment cannot be empty.")).to_be_visible()  # refused in place
    card.get_by_label("Your comment").fill("My **second** words")
    card.get_by_role("button", name="Save comment").click()
    expect(card.locator(".comment-body strong")).to_have_text("second")
    expect(card.locator(".edited")).to_contain_text("edited")
    expect(card.locator(".edited time")).to_have_attribute("datetime", re.compile(r"Z$"))

    # Cancel puts the comment back as it was.
    card.get_by_role("link", name="Edit").click()
    card.get_by_label("Your comment").fill("Not saved")
    card.get_by_role("button", name="Cancel").click()
    expect(card.locator(".comment-body")).to_have_text("My second words")

    # Delete asks first; dismissing keeps the comment.
    page.once("dialog", lambda dialog: dialog.dismiss())
    card.get_by_role("link", name="Delete").click()
    expect(card).to_be_visible()
    page.once("dialog", lambda dialog: dialog.accept())
    card.get_by_role("link", name="Delete").click()
    expect(page.locator(f"#comment-{mine.id}")).to_have_count(0)
    expect(comments.get_by_role("heading", name="1 comment")).to_be_visible()
    assert page.evaluate("window.__noReload") == 1, "the page reloaded"
    page.reload()
    expect(page.locator(".comment")).to_have_count(1)


def test_without_javascript_edit_and_delete_have_their_pages(new_context, make_user, make_idea, log_in):
    member = make_user()
    idea = make_idea()
    mine = add_comment(member, idea, "Plain words")
    db.session.commit()
    page = new_context(java_script_enabled=False).new_page()
    log_in(page, member)
    page.goto(f"/ideas/{idea.id}")
    expect(page.locator('[role="tablist"]')).to_be_hidden()  # only the textarea without scripts
    expect(page.get_by_role("button", name="Copy link")).to_be_hidden()
    expect(page.get_by_label("Link to this idea")).to_have_value(re.compile(rf"/ideas/{idea.id}$"))

    page.locator(f"#comment-{mine.id}").get_by_role("link", name="Edit").click()
    expect(page.get_by_role("heading", level=1, name="Edit your comment")).to_be_visible()
    page.get_by_label("Your comment").fill("Plainer words")
    page.get_by_role("button", name="Save comment").click()
    expect(page.get_by_text("Your comment is saved.")).to_be_visible()
    expect(page.locator(f"#comment-{mine.id} .comment-body")).to_have_text("Plainer words")

    page.locator(f"#comment-{mine.id}").get_by_role("link", name="Delete").click()
    expect(page.get_by_role("heading", level=1, name="Delete your comment?")).to_be_visible()
    page.get_by_role("button", name="Delete comment").click()
    expect(page.get_by_text("Your comment is deleted.")).to_be_visible()
    expect(page.locator("#comments .comment")).to_have_count(0)
    expect(page.locator("#comments").get_by_role("heading", name="0 comments")).to_be_visible()


def test_markdown_preview_on_comments_and_ideas(page, make_user, make_idea, log_in):
    member = make_user()
    idea = make_idea()
    log_in(page, member)
    page.goto(f"/ideas/{idea.id}")
    comments = page.locator("#comments")
    write = comments.get_by_role("tab", name="Write")
    preview = comments.get_by_role("tab", name="Preview")
    expect(write).to_have_attribute("aria-selected", "true")
    comments.get_by_label("Your comment").fill("## Plan\n\nSome **bold** words <script>window.__pwned = 1</script>")
    preview.click()
    expect(preview).to_have_attribute("aria-selected", "true")
    panel = comments.get_by_role("tabpanel", name="Preview")
    expect(panel.locator("strong")).to_have_text("bold")
    expect(panel.locator("h4")).to_have_text("Plan")  # headings kept below the page's own
    expect(panel).to_contain_text("<script>window.__pwned = 1</script>")  # shown as text, never run
    assert page.evaluate("window.__pwned") is None
    expect(comments.get_by_label("Your comment")).to_be_hidden()
    write.click()
    expect(comments.get_by_label("Your comment")).to_be_visible()
    comments.get_by_role("button", name="Post comment").click()
    expect(comments.locator(".comment .comment-body strong")).to_have_text("bold")

    page.goto("/ideas/new")
    page.get_by_label("Description").fill("An *idea* to preview")
    page.get_by_role("tab", name="Preview").click()
    expect(page.get_by_role("tabpanel", name="Preview").locator("em")).to_have_text("idea")


def test_copy_link_says_copied(new_context, make_idea):
    idea = make_idea()
    context = new_context(permissions=["clipboard-read", "clipboard-write"])
    page = context.new_page()
    page.goto(f"/ideas/{idea.id}")
    button = page.get_by_role("button", name="Copy link")
    button.click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()").endswith(f"/ideas/{idea.id}")


def test_staff_hide_a_comment_after_confirming(page, make_user, make_idea, log_in):
    idea = make_idea()
    comment = add_comment(make_user(), idea, "Buy cheap watches")
    db.session.commit()
    log_in(page, make_user("staff"))
    page.goto(f"/ideas/{idea.id}")
    card = page.locator(f"#comment-{comment.id}")
    page.once("dialog", lambda dialog: dialog.accept())
    card.get_by_role("link", name="Hide comment").click()
    expect(card.locator(".hidden-badge")).to_have_text("Hidden")
    expect(card.get_by_role("button", name="Show comment")).to_be_visible()
    db.session.expire_all()
    assert db.session.get(type(comment), comment.id).is_hidden
