"""Notifications in Chromium: following an idea, the header's count kept fresh without a reload,
reading a notification, and the mention autocomplete by keyboard and by mouse."""

from __future__ import annotations

import itertools
import re

import pytest
from playwright.sync_api import expect

from ideastorm import outbox
from ideastorm.comments.services import add_comment
from ideastorm.extensions import db
from ideastorm.notifications.models import Notification

pytestmark = pytest.mark.browser

POLL_SECONDS = 1
EVENTS = itertools.count(500_000)


@pytest.fixture
def fast_polling(app):
    """Pages ask for the unread count every second (60 in production) while the test runs."""
    app.config["NOTIFICATIONS_POLL_SECONDS"] = POLL_SECONDS


def _no_reload_marker(page):
    page.evaluate("window.__noReload = 1")


def _not_reloaded(page) -> bool:
    return page.evaluate("window.__noReload === 1")


def _notify(user, idea, comment, actor) -> Notification:
    notification = Notification(user_id=user.id, kind="comment", idea_id=idea.id, comment_id=comment.id,
                                actor_id=actor.id, event_id=next(EVENTS), data={})
    db.session.add(notification)
    db.session.commit()
    return notification


def _read_then_badge_gone(page, comment_id: int):
    """Open /notifications, follow the newest item to its comment; the header has nothing unread left."""
    badge = page.locator("#nav-notifications .badge")
    page.get_by_role("link", name=re.compile("Notifications")).click()
    expect(page).to_have_url(re.compile(r"/notifications$"))
    expect(page.get_by_role("heading", level=1, name="Notifications")).to_be_visible()
    item = page.locator(".notification").first
    expect(item.locator(".unread-mark")).to_have_text("Unread")
    item.get_by_role("link").first.click()
    expect(page).to_have_url(re.compile(rf"/ideas/\d+#comment-{comment_id}$"))
    expect(page.locator(f"#comment-{comment_id}")).to_be_visible()
    expect(badge).to_have_count(0)
    expect(page.locator("#nav-notifications")).to_contain_text("Notifications")


def test_the_badge_counts_another_members_comment_on_a_followed_idea(app, fast_polling, page, make_user,
                                                                      make_idea, log_in):
    """The whole loop: follow, someone comments, the fan-out notifies, the open page shows it."""
    follower = make_user(name="Alice Follower")
    commenter = make_user(name="Marie Curie")
    idea = make_idea(make_user(), title="Let the badge count")
    log_in(page, follower)
    page.goto(f"/ideas/{idea.id}")
    page.get_by_role("button", name="Follow", exact=True).click()
    following = page.get_by_role("button", name="Following ✓ — Unfollow")
    expect(following).to_have_attribute("aria-pressed", "true")
    expect(page.locator(".follower-count")).to_have_text(re.compile(r"^\d+ followers?$"))
    _no_reload_marker(page)
    badge = page.locator("#nav-notifications .badge")
    expect(badge).to_have_count(0)

    comment = add_comment(commenter, idea, "I would use it every night.")
    db.session.commit()
    outbox.drain_all()  # the live server's worker may get there first: the same result

    expect(badge).to_have_text("1", timeout=(POLL_SECONDS + 5) * 1000)
    expect(page.locator("#nav-notifications")).to_contain_text("1 unread")
    assert _not_reloaded(page)
    _read_then_badge_gone(page, comment.id)


def test_the_badge_follows_the_inbox_without_a_reload(app, fast_polling, page, make_user, make_idea, log_in):
    """The polling and the reading alone, on notifications made directly."""
    member = make_user(name="Alice Follower")
    commenter = make_user(name="Marie Curie")
    idea = make_idea(make_user(), title="Poll the count")
    comment = add_comment(commenter, idea, "First")
    db.session.commit()
    log_in(page, member)
    page.goto(f"/ideas/{idea.id}")
    _no_reload_marker(page)
    badge = page.locator("#nav-notifications .badge")
    expect(badge).to_have_count(0)

    _notify(member, idea, comment, commenter)
    expect(badge).to_have_text("1", timeout=(POLL_SECONDS + 5) * 1000)
    _notify(member, idea, comment, commenter)
    expect(badge).to_have_text("2", timeout=(POLL_SECONDS + 5) * 1000)
    assert _not_reloaded(page)

    # "Mark read" on one item: the item and the header change in place.
    page.get_by_role("link", name=re.compile("Notifications")).click()
    page.wait_for_url("**/notifications")
    page.wait_for_load_state("load")  # htmx bound to the page's buttons before one is clicked
    _no_reload_marker(page)
    items = page.locator(".notification")
    expect(items).to_have_count(2)
    items.nth(1).get_by_role("button", name="Mark read").click()
    expect(items.nth(1).locator(".unread-mark")).to_have_count(0)
    expect(badge).to_have_text("1")
    assert _not_reloaded(page)
    expect(items.nth(1).get_by_role("link").first).to_be_focused()  # not lost with the button
    _read_then_badge_gone(page, comment.id)


def test_a_hidden_tab_does_not_poll(app, fast_polling, page, make_user, log_in):
    member = make_user()
    log_in(page, member)
    page.goto("/roadmap")
    polls = []
    page.on("request", lambda request: polls.append(request.url) if "/notifications/count" in request.url else None)
    page.wait_for_timeout(POLL_SECONDS * 2500)
    assert len(polls) >= 1  # visible: it polls

    page.evaluate("""() => {
      Object.defineProperty(document, 'visibilityState', {configurable: true, get: () => 'hidden'});
      document.dispatchEvent(new Event('visibilitychange'));
    }""")
    page.wait_for_timeout(300)  # a request already on its way
    polls.clear()
    page.wait_for_timeout(POLL_SECONDS * 3000)
    assert polls == []

    page.evaluate("""() => {
      Object.defineProperty(document, 'visibilityState', {configurable: true, get: () => 'visible'});
      document.dispatchEvent(new Event('visibilitychange'));
    }""")
    page.wait_for_timeout(400)  # at once, not after a whole interval
    assert len(polls) == 1


def test_visitors_never_poll(app, fast_polling, page):
    page.goto("/roadmap")
    polls = []
    page.on("request", lambda request: polls.append(request.url) if "/notifications/" in request.url else None)
    page.wait_for_timeout(POLL_SECONDS * 2500)
    assert polls == []
    expect(page.locator("#nav-notifications")).to_have_count(0)


@pytest.fixture
def rosalind(make_user):
    user = make_user(name="Rosalind Franklin")
    user.handle = "rosalind-franklin"
    other = make_user(name="Ada Lovelace")
    other.handle = "ada-lovelace"
    db.session.commit()
    return user


def test_the_mention_autocomplete_by_keyboard(page, make_user, make_idea, log_in, rosalind):
    member = make_user(name="Alice Writer")
    idea = make_idea()
    log_in(page, member)
    page.goto(f"/ideas/{idea.id}")
    box = page.get_by_label("Your comment")
    expect(box).to_have_attribute("aria-autocomplete", "list")
    expect(box).to_have_attribute("aria-expanded", "false")
    box.click()
    page.keyboard.type("Thanks @ro")
    listbox = page.locator("#comment-body-mentions")
    expect(listbox).to_have_attribute("role", "listbox")
    expect(listbox.get_by_role("option")).to_have_count(1)
    expect(listbox.get_by_role("option").first).to_contain_text("Rosalind Franklin")
    expect(listbox.get_by_role("option").first).to_contain_text("@rosalind-franklin")
    expect(box).to_have_attribute("aria-expanded", "true")
    expect(box).to_have_attribute("aria-controls", listbox.evaluate("el => el.id"))
    page.keyboard.press("ArrowDown")
    first = listbox.get_by_role("option").first
    expect(first).to_have_attribute("aria-selected", "true")
    expect(box).to_have_attribute("aria-activedescendant", first.evaluate("el => el.id"))
    page.keyboard.press("Enter")
    expect(box).to_have_value("Thanks @rosalind-franklin ")
    expect(listbox).to_be_hidden()
    expect(box).to_have_attribute("aria-expanded", "false")
    expect(box).to_be_focused()

    # ArrowUp goes to the last; Escape closes without changing the text; then Enter is a new line again.
    page.keyboard.type("and @ro")
    expect(listbox.get_by_role("option")).to_have_count(1)
    page.keyboard.press("ArrowUp")
    expect(listbox.get_by_role("option").last).to_have_attribute("aria-selected", "true")
    page.keyboard.press("Escape")
    expect(listbox).to_be_hidden()
    expect(box).to_have_value("Thanks @rosalind-franklin and @ro")
    page.keyboard.press("Enter")
    expect(box).to_have_value("Thanks @rosalind-franklin and @ro\n")

    # An email address is not a mention; a click on a choice inserts it too.
    page.keyboard.type("write to me@ro")
    page.wait_for_timeout(400)
    expect(listbox).to_be_hidden()
    box.fill("")
    page.keyboard.type("Cc @Ada")  # a name matches too, whatever its case
    listbox.get_by_role("option", name=re.compile("Ada Lovelace")).click()
    expect(box).to_have_value("Cc @ada-lovelace ")
    expect(box).to_be_focused()

    # Posting it: the comment shows the text as typed.
    page.get_by_role("button", name="Post comment").click()
    expect(page.locator(".comment-body").last).to_contain_text("Cc @ada-lovelace")


def test_without_javascript_the_mention_is_typed_out(new_context, make_user, make_idea, log_in, rosalind):
    page = new_context(java_script_enabled=False).new_page()
    member = make_user()
    idea = make_idea()
    log_in(page, member)
    page.goto(f"/ideas/{idea.id}")
    box = page.get_by_label("Your comment")
    expect(box).not_to_have_attribute("role", "combobox")
    box.fill("Over to you @rosalind-franklin")
    page.get_by_role("button", name="Post comment").click()
    expect(page.locator(".comment-body").last).to_contain_text("@rosalind-franklin")
