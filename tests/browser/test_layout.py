"""Every page fits from a phone to a desk, in English and French, and has no serious accessibility fault.

The pages come from the app's route table: every GET route is opened by the role that may see it
(a visitor for the public pages, a member, staff or an administrator for the others; some by
several roles), in both languages, at 390 px and 1280 px (and 360, 1024 and 1920 px for the layout
alone). No page may scroll sideways, let a header item wrap or cut the site's name, and axe-core (node_modules/axe-core)
must find no violation of impact "serious" or "critical" (run once per page and language: English
at 1280 px in the light theme, French at 390 px in the dark one). A new page route is covered on its own; a GET route that is not a
page is listed in ``NOT_PAGES`` with the reason, and a route this file cannot fill or reach fails.
The header's menus are then operated with the keyboard, with and without JavaScript.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from ideastorm.accounts.tokens import make_confirm_token, make_reset_token
from ideastorm.extensions import db
from ideastorm.ideas.models import Idea

pytestmark = pytest.mark.browser

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
WIDTHS = (390, 1280)  # a phone, a desk: every check
MORE_WIDTHS = (360, 1024, 1920)  # the smallest phone, a tablet, a wide screen: the layout checks only
LOCALES = ("en", "fr")
ROLES = ("visitor", "member", "staff", "admin")
SERIOUS = ("serious", "critical")
AXE_AT = {"en": 1280, "fr": 390}  # the width at which axe checks each language
SCHEMES = {"en": "light", "fr": "dark"}  # both themes' colours are checked, each in one language

# GET routes that are not pages a person reads, with the reason.
NOT_PAGES = {
    "static": "style sheets and scripts",
    "main.vendor": "front-end packages",
    "main.healthz": "JSON for monitoring",
    "feeds.ideas": "an Atom feed",
    "feeds.implemented": "an Atom feed",
    "search.similar": "a fragment of the submit form (checked there, on /ideas/new)",
    "ideas.show_with_slug": "redirects to ideas.show",
    "main.brand_css": "the brand style sheet",
    "main.logo": "the site's logo image (tests/test_site_settings.py)",
    "notifications.count": "the header's polled fragment (in every member's page)",
    "notifications.suggest_members": "a fragment of the comment box (tests/browser/test_notifications_journey.py)",
    "notifications.open": "redirects to what the notification is about",
    "sso.start": "redirects to the sign-in provider (tests/test_sso.py)",
    "sso.callback": "the provider's redirect back, signing in (tests/test_sso.py)",
    "privacy.export": "a JSON download (tests/test_privacy.py)",
}
# The role that opens a page whose permission depends on an object (the others declare an action).
OBJECT_ROLES = {"accounts.account": "member", "ideas.edit": "member", "comments.edit": "member",
                "comments.delete": "member", "privacy.delete": "member",
                # opened by a visitor, the member's confirmation link would sign the visitor's page in
                "accounts.confirm_email": "member"}
ACTION_ROLES = {"submit_idea": "member", "triage": "staff", "moderate": "staff", "admin": "admin"}
# Pages opened by more roles than the one that may first see them (the header and the controls change).
ALSO = {"ideas.show": ("staff",), "main.home": ("member", "admin"), "ideas.list_ideas": ("member",)}
# The signed links of the account emails, made for the member.
ACCOUNT_TOKENS = {"accounts.reset_password": make_reset_token, "accounts.confirm_email": make_confirm_token}
# Query arguments that make a page show what it is for.
QUERIES = {"search.search": lambda site: "?q=mode", "triage.confirm_merge": lambda site: f"?into={site.other_idea_id}"}
# Pages that are not routes: the error page.
EXTRA = [("visitor", "/ideas/999999999", 404)]


@dataclass
class Site:
    users: dict = field(default_factory=dict)
    idea_id: int = 0  # a triaged idea with comments
    own_idea_id: int = 0  # the member's own new idea (editable)
    other_idea_id: int = 0  # another public idea
    author_id: int = 0  # a member with ideas (a profile)
    comment_id: int = 0  # the member's own comment
    category_slug: str = ""


@pytest.fixture
def site(app, make_user, make_idea) -> Site:
    """Demo-like data (a seeded backlog) and one signed-in-able account per role."""
    from ideastorm.comments.services import add_comment
    from ideastorm.demo.seed import seed
    from ideastorm.search import index_ideas
    from ideastorm.triage.services import change_status

    report = seed(ideas=40, users=12, votes=300, seed=7)
    db.session.commit()
    index_ideas(report.idea_ids)
    found = Site()
    found.users = {
        "member": make_user("member", name="Marie-Amélie de La Tour-Fontaine"),
        "staff": make_user("staff", name="Rosalind Franklin"),
        "admin": make_user("admin", name="Ada Lovelace"),
    }
    own = make_idea(found.users["member"], category="apps", tags="mobile, accessibility",
                    title="Let every report be exported as a spreadsheet, a PDF file and a calendar feed for "
                          "the whole team at once")
    found.own_idea_id = own.id
    shipped = make_idea(title="Show the delivery date of every order in the customer portal", category="store")
    change_status(found.users["staff"], shipped, "planned", "We will start with the next release.")
    change_status(found.users["staff"], shipped, "implemented",
                  "Shipped in **version 3.2**: the date is on each order, and in the confirmation e-mail.")
    db.session.commit()
    found.idea_id = db.session.scalar(
        select(Idea.id).where(Idea.status != "new", Idea.is_hidden.is_(False))
        .order_by(Idea.comment_count.desc(), Idea.id).limit(1))
    found.other_idea_id = db.session.scalar(
        select(Idea.id).where(Idea.status == "new", Idea.is_hidden.is_(False), Idea.id != own.id).limit(1))
    comment = add_comment(found.users["member"], db.session.get(Idea, found.idea_id),
                          "Yes, and **please** keep the *old* export too: our scripts read it every night.")
    db.session.commit()
    found.comment_id = comment.id
    found.author_id = db.session.scalar(
        select(Idea.author_id).group_by(Idea.author_id).order_by(func.count().desc(), Idea.author_id).limit(1))
    found.category_slug = own.category.slug
    _notify_member(found, shipped, comment)
    return found


def _notify_member(found: Site, shipped: Idea, comment) -> None:
    """Something in the member's /notifications: one of each kind, a long title, unread and read ones."""
    from ideastorm.notifications.models import Notification
    from ideastorm.timeutil import utcnow

    member, staff = found.users["member"], found.users["staff"]
    rows = [
        ("status", shipped.id, None, staff.id, {"from": "planned", "to": "implemented",
                                                "response": "Shipped in **version 3.2**: the date is on each order."}),
        ("comment", found.idea_id, comment.id, staff.id, {}),
        ("mention", found.idea_id, comment.id, staff.id, {}),
        ("merge", found.other_idea_id, None, staff.id, {"original_id": found.own_idea_id}),
        ("new_idea", found.own_idea_id, None, None, {}),
    ]
    for n, (kind, idea_id, comment_id, actor_id, data) in enumerate(rows):
        db.session.add(Notification(user_id=member.id, kind=kind, idea_id=idea_id, comment_id=comment_id,
                                    actor_id=actor_id, event_id=900_000 + n, data=data,
                                    read_at=utcnow() if n >= 3 else None))
    db.session.commit()


def _role_of(app, endpoint: str) -> str:
    action = getattr(app.view_functions[endpoint], "required_action", None)
    if action:
        assert action in ACTION_ROLES, f"{endpoint} requires {action!r}: say in ACTION_ROLES which role opens it"
        return ACTION_ROLES[action]
    return OBJECT_ROLES.get(endpoint, "visitor")


def _arguments(endpoint: str, names, site: Site) -> dict:
    values = {"idea_id": site.own_idea_id if endpoint == "ideas.edit" else site.idea_id,
              "user_id": site.author_id, "slug": site.category_slug, "comment_id": site.comment_id}
    if endpoint in ACCOUNT_TOKENS:  # a valid link for the member: the form or the confirmation it opens
        values["token"] = ACCOUNT_TOKENS[endpoint](site.users["member"])
    if endpoint == "mail.unsubscribe":  # the page an email's unsubscribe link opens
        from ideastorm.mail.tokens import make_unsubscribe_token

        values["token"] = make_unsubscribe_token(site.users["member"].id, "email_comments")
    missing = set(names) - set(values)
    if missing:
        raise AssertionError(f"{endpoint}: no value for {sorted(missing)}: add one in _arguments or list it in NOT_PAGES")
    return {name: values[name] for name in names}


def page_plan(app, site: Site) -> list[tuple[str, str, int]]:
    """(role, url, status) for every GET page of the route table, and the extra pages."""
    from flask import url_for

    plan = []
    with app.test_request_context():
        for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
            if "GET" not in rule.methods or rule.endpoint in NOT_PAGES:
                continue
            assert rule.redirect_to is None, f"{rule.rule}: a redirect; list {rule.endpoint} in NOT_PAGES"
            url = url_for(rule.endpoint, **_arguments(rule.endpoint, rule.arguments, site))
            url += QUERIES[rule.endpoint](site) if rule.endpoint in QUERIES else ""
            for role in (_role_of(app, rule.endpoint), *ALSO.get(rule.endpoint, ())):
                plan.append((role, url, 200))
    return plan + EXTRA


# A list of what is wrong with the layout of the page as it is displayed now.
LAYOUT_PROBLEMS = """() => {
  const problems = [];
  const describe = (el) => {
    const text = (el.innerText || el.getAttribute('aria-label') || '').trim().replace(/\\s+/g, ' ').slice(0, 40);
    return `<${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''}${el.classList.length ? '.' + [...el.classList].join('.') : ''}> "${text}"`;
  };
  const root = document.documentElement;
  if (root.scrollWidth > window.innerWidth) {
    const wide = [...document.body.querySelectorAll('*')].filter((el) => {
      const box = el.getBoundingClientRect();
      return box.width > 0 && box.right > window.innerWidth + 1 && el.checkVisibility();
    });
    const outermost = wide.filter((el) => !wide.includes(el.parentElement)).slice(0, 4);
    problems.push(`scrolls sideways (${root.scrollWidth} > ${window.innerWidth}): ${outermost.map(describe).join(', ')}`);
  }
  for (const el of document.querySelectorAll('header.site-header :is(a, summary, button)')) {
    if (!el.checkVisibility()) continue;
    const style = getComputedStyle(el);
    const line = parseFloat(style.lineHeight) || parseFloat(style.fontSize) * 1.5;
    const box = el.getBoundingClientRect();
    const content = box.height - parseFloat(style.paddingTop) - parseFloat(style.paddingBottom)
      - parseFloat(style.borderTopWidth) - parseFloat(style.borderBottomWidth);
    if (el.getClientRects().length > 1 || content > line * 1.5) problems.push(`header item wraps: ${describe(el)}`);
  }
  const items = [...document.querySelectorAll('header.site-header nav > ul > li')].filter((li) => li.checkVisibility());
  const middles = items.map((li) => { const box = li.getBoundingClientRect(); return box.top + box.height / 2; });
  if (middles.length && Math.max(...middles) - Math.min(...middles) > 8) problems.push('header items on more than one row');
  // The ellipsis is for a long site name; the default one must always fit beside the links and actions.
  const brand = document.querySelector('header.site-header .brand strong');
  if (brand && brand.textContent.trim() === 'IdeaStorm' && brand.scrollWidth > brand.clientWidth + 1) {
    problems.push(`the site's name is cut (${brand.clientWidth} of ${brand.scrollWidth} px)`);
  }
  return problems;
}"""

AXE_RUN = """async (IMPACTS) => {
  const result = await axe.run(document, {resultTypes: ['violations']});
  return result.violations.filter((v) => IMPACTS.includes(v.impact)).map((v) =>
    `axe ${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ')}`);
}"""


def check_page(page, *, axe: bool = True) -> list[str]:
    """What is wrong with the page as displayed: the layout, and axe's serious violations."""
    problems = page.evaluate(LAYOUT_PROBLEMS)
    if axe:
        if not page.evaluate("() => typeof window.axe !== 'undefined'"):
            page.evaluate(AXE.read_text(encoding="utf-8"))  # not a <script> tag: the CSP refuses inline ones
        problems += page.evaluate(AXE_RUN, list(SERIOUS))
    return problems


def set_locale(page, base_url: str, locale: str) -> None:
    """Speak ``locale`` from now on, as the footer's language form does (a cookie)."""
    from ideastorm.i18n import LOCALE_COOKIE

    page.context.add_cookies([{"name": LOCALE_COOKIE, "value": locale, "url": base_url}])


def _signed_in_page(new_context, log_in, site: Site, role: str, **options):
    page = new_context(**options).new_page()
    if role != "visitor":
        log_in(page, site.users[role])
    return page


def test_every_page_fits_every_width_in_both_languages(app, site, live_server, new_context, log_in):
    if not AXE.exists():
        pytest.fail(f"axe-core is missing at {AXE}: run `npm ci` (make setup does)")
    plan = page_plan(app, site)
    covered = {re.sub(r"\?.*", "", url) for _, url, _ in plan}
    assert {"/", "/ideas", "/roadmap", "/leaderboard", "/implemented", f"/users/{site.author_id}", "/account",
            "/login", "/register", "/triage", "/admin", f"/ideas/{site.own_idea_id}/edit"} <= covered
    failures = []
    for role in ROLES:
        page = _signed_in_page(new_context, log_in, site, role, viewport={"width": WIDTHS[-1], "height": 900})
        for locale in LOCALES:
            set_locale(page, live_server, locale)
            page.emulate_media(color_scheme=SCHEMES[locale])
            for _, url, status in (item for item in plan if item[0] == role):
                page.set_viewport_size({"width": WIDTHS[-1], "height": 900})
                response = page.goto(url)
                assert response.status == status, (role, url, response.status)
                assert urlsplit(page.url).path == urlsplit(url).path, (
                    f"{url} as {role} went to {page.url}: give the route a role in OBJECT_ROLES, or list it in NOT_PAGES")
                assert page.evaluate("document.documentElement.lang") == locale, (role, url)
                for width in WIDTHS + MORE_WIDTHS:
                    page.set_viewport_size({"width": width, "height": 900})
                    # axe once per page and language, at each width in turn (English wide, French narrow):
                    # what it checks hardly depends on either, and it is most of this test's time.
                    axe = AXE_AT[locale] == width
                    failures += [f"{url} as {role}, {locale}, {SCHEMES[locale]}, {width}px: {p}"
                                 for p in check_page(page, axe=axe)]
    assert not failures, f"{len(failures)} problem(s):\n" + "\n".join(failures)


def _focused(page) -> str:
    return page.evaluate("document.activeElement.textContent.trim()")


def _tab_to(page, locator, limit: int = 40) -> None:
    """Press Tab until ``locator`` has the focus."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if locator.evaluate("el => el === document.activeElement"):
            return
    raise AssertionError(f"Tab never reached {locator}")


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_phone_menu_and_account_menu_by_keyboard(site, new_context, log_in, javascript):
    page = _signed_in_page(new_context, log_in, site, "staff", viewport={"width": 390, "height": 800},
                           java_script_enabled=javascript)
    page.goto("/roadmap")
    header = page.locator("header.site-header")
    inline_links = header.locator(".nav-links")
    expect(inline_links).to_be_hidden()  # folded into the menu on a phone
    expect(header.get_by_role("button", name="Submit an idea")).to_be_visible()  # an <a role="button">

    menu = header.locator("details.nav-menu")
    summary = menu.locator("summary")
    _tab_to(page, summary)
    expect(menu.get_by_role("link", name="Leaderboard")).to_be_hidden()
    page.keyboard.press("Enter")
    expect(menu).to_have_attribute("open", "")
    for name in ("All ideas", "Leaderboard", "Roadmap", "Ideas in Action", "Stats", "Search", "Triage"):
        expect(menu.get_by_role("link", name=name, exact=True)).to_be_visible()
    expect(menu.get_by_role("link", name="Roadmap")).to_have_attribute("aria-current", "page")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.keyboard.press("Tab")
    assert _focused(page) == "All ideas"
    page.keyboard.press("Tab")
    assert _focused(page) == "Leaderboard"
    if javascript:  # Escape closes the menu and gives the focus back to its summary
        page.keyboard.press("Escape")
        expect(menu).not_to_have_attribute("open", "")
        assert summary.evaluate("el => el === document.activeElement")
    else:  # the summary toggles it without a script
        page.keyboard.press("Shift+Tab")
        page.keyboard.press("Shift+Tab")
        page.keyboard.press(" ")
        expect(menu).not_to_have_attribute("open", "")
    page.keyboard.press(" ")  # Space opens it too
    expect(menu).to_have_attribute("open", "")
    if javascript:  # Tab past its last entry closes it
        for _ in range(8):
            page.keyboard.press("Tab")
        expect(menu).not_to_have_attribute("open", "")
        page.keyboard.press("Shift+Tab")  # back on the summary: the links are hidden again
        assert summary.evaluate("el => el === document.activeElement")
        page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/ideas$"))

    # The account menu: the name as its summary, the profile, the account page and log out inside.
    account = page.locator("header details.account-menu")
    expect(account.locator("summary")).to_have_accessible_name(re.compile("Rosalind Franklin"))
    _tab_to(page, account.locator("summary"))
    page.keyboard.press("Enter")
    expect(account).to_have_attribute("open", "")
    page.keyboard.press("Tab")
    assert _focused(page) == "Profile"
    page.keyboard.press("Tab")
    assert _focused(page) == "Account"
    page.keyboard.press("Tab")
    assert _focused(page) == "Log out"
    if javascript:
        page.keyboard.press("Escape")
        expect(account).not_to_have_attribute("open", "")
        page.keyboard.press("Enter")
        page.keyboard.press("Tab")
    else:
        page.keyboard.press("Shift+Tab")
        page.keyboard.press("Shift+Tab")
    page.keyboard.press("Enter")  # the profile
    expect(page).to_have_url(re.compile(rf"/users/{site.users['staff'].id}$"))
    expect(page.get_by_role("heading", level=1, name="Rosalind Franklin")).to_be_visible()

    # On a desk the links are inline and the menu is gone; log out from the account menu.
    page.set_viewport_size({"width": 1280, "height": 800})
    expect(header.locator(".nav-links").get_by_role("link", name="Triage")).to_be_visible()
    expect(header.locator("details.nav-menu")).to_be_hidden()
    account.locator("summary").click()
    account.get_by_role("button", name="Log out").click()
    expect(header.get_by_role("link", name="Log in", exact=True)).to_be_visible()
    expect(header.locator("details.account-menu")).to_have_count(0)


def test_one_click_moves_from_one_open_menu_to_the_other(site, new_context, log_in):
    """The page under an open menu is covered (a click outside closes it); a click on the other
    menu there opens that one at once."""
    page = _signed_in_page(new_context, log_in, site, "staff", viewport={"width": 390, "height": 800})
    page.goto("/roadmap")
    menu, account = page.locator("header details.nav-menu"), page.locator("header details.account-menu")
    menu.locator("summary").click()
    expect(menu).to_have_attribute("open", "")
    box = account.locator("summary").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    expect(account).to_have_attribute("open", "")
    expect(menu).not_to_have_attribute("open", "")
    page.mouse.click(5, 700)  # anywhere else: both closed
    expect(account).not_to_have_attribute("open", "")
    expect(menu).not_to_have_attribute("open", "")


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_sort_tabs_and_filters_that_apply_on_change(site, new_context, javascript):
    page = new_context(java_script_enabled=javascript, viewport={"width": 390, "height": 800}).new_page()
    page.goto("/ideas")
    tabs = page.get_by_role("navigation", name="Sort")
    expect(tabs.get_by_role("link", name="Trending")).to_have_attribute("aria-current", "page")
    apply = page.get_by_role("button", name="Apply")
    page.get_by_label("Category").select_option(site.category_slug)
    if javascript:  # the list follows the choice at once, and the address says it
        expect(apply).to_be_hidden()
    else:  # a plain GET form
        apply.click()
    expect(page).to_have_url(re.compile(rf"[?&]category={site.category_slug}\b"))
    expect(page.locator("#results .idea-card").first).to_be_visible()
    tabs.get_by_role("link", name="Newest").click()
    expect(page).to_have_url(re.compile(rf"sort=new.*category={site.category_slug}|category={site.category_slug}.*sort=new"))
    expect(tabs.get_by_role("link", name="Newest")).to_have_attribute("aria-current", "page")
    expect(page.get_by_label("Category")).to_have_value(site.category_slug)
    expect(page.locator(f"#idea-{site.own_idea_id}")).to_be_visible()  # the newest of its category
    expect(page.get_by_role("link", name="Log in to vote")).to_have_count(1)  # once, above the list
    expect(page.locator("#results .idea-card .vote-total").first).to_have_text(re.compile(r"^\d+ votes?$"))
