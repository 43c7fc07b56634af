"""The XSS corpus through every field people write, then every page that shows them, in Chromium.

The corpus (``xss_payloads.py``) is stored through the services, in bulk: every payload becomes a
member's display name, a category's name, an idea's title, description and tags, a comment that
mentions a member, an official response and a staff note; the site's name and welcome texts
carry them too, and the search box, ``?next=`` and the mention suggestions get them as arguments.
Chromium then opens every page where they show, as an administrator (who sees the staff panel,
the triage queue and the admin pages), as the member they mention (the inbox) and as a visitor.

On every page: no dialog, no call of the sentinel ``__xss``, no request to ``/xss-probe`` or
``/logout`` made by injected htmx attributes, no request to another host, no navigation away, no
inline handler, ``javascript:`` / ``data:text/html`` URL, frame, ``<base>`` or ``<meta refresh>``
in the DOM. Content-Security-Policy violations are counted apart: on pages of benign content
there must be none (the app's own markup obeys its policy); on payload pages a violation is a
payload the policy blocked, which is good, and the test only reports them.
"""

from __future__ import annotations

import re
import time
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import quote, urlsplit

import pytest
from sqlalchemy.exc import OperationalError

from ideastorm.accounts.services import create_user
from ideastorm.admin.services import create_category
from ideastorm.comments.services import add_comment
from ideastorm.domain import DomainError
from ideastorm.extensions import db
from ideastorm.ideas.services import submit_idea
from ideastorm.search import sync
from ideastorm.settings.services import WELCOME_MAX, save_settings
from ideastorm.triage.services import add_note, change_status
from tests.security.xss_payloads import BENIGN, PAYLOADS, SHORT_PAYLOADS

pytestmark = pytest.mark.browser


@pytest.fixture(params=["sqlite"])
def backend(request) -> str:
    """What reaches the browser does not depend on the database: one keeps this long tour quick."""
    return request.param

PARALLEL = 6  # pages loading at once
WINDOW, IDEA_STRIDE = 8, 6  # each description holds 8 payloads; one idea page in 6 is opened

# Defined before any script of the page, in every frame: the sentinel, and a record of the
# policy's violations (read after the page has loaded).
INIT_SCRIPT = """
window.__xssCalls = [];
window.__xss = (n) => { window.__xssCalls.push(String(n)); };
window.__csp = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__csp.push({directive: e.violatedDirective, blocked: e.blockedURI, sample: e.sample,
                     source: e.sourceFile, line: e.lineNumber});
});
"""

# What a page's DOM must never hold, whatever was stored (returns one line per finding).
DOM_CHECK = r"""
() => {
  const found = [];
  const dangerous = /^(javascript|vbscript|data:text\/html)/;
  const urlAttributes = new Set(['href', 'src', 'action', 'formaction', 'data', 'xlink:href', 'poster', 'background']);
  for (const el of document.querySelectorAll('*')) {
    const inContent = el.parentElement !== null && el.parentElement.closest('.markdown') !== null;
    for (const a of el.attributes) {
      const name = a.name.toLowerCase();
      const value = a.value.replace(/[\s\u0000-\u001f]/g, '').toLowerCase();
      if (name.startsWith('on') || name.startsWith('hx-on') || name.startsWith('data-hx-on') || name === 'srcdoc') {
        found.push(`${el.tagName} ${name}`);
      } else if (urlAttributes.has(name) && dangerous.test(value)) {
        found.push(`${el.tagName} ${name}=${a.value.slice(0, 60)}`);
      } else if (inContent && /^(hx-|data-hx-|x-|style$|id$|name$)/.test(name)) {
        found.push(`${el.tagName} ${name} inside written content`);
      }
    }
  }
  const foreign = 'iframe, frame, object, embed, base, link[rel=import], meta[http-equiv]';
  for (const el of document.querySelectorAll(foreign)) {
    found.push(el.outerHTML.slice(0, 80));
  }
  for (const el of document.querySelectorAll('script')) {
    if (!el.src || new URL(el.src).origin !== location.origin) found.push(`script ${el.outerHTML.slice(0, 60)}`);
  }
  for (const el of document.querySelectorAll('body style, .markdown style, .markdown form, .markdown input')) {
    found.push(el.outerHTML.slice(0, 80));
  }
  if (!document.baseURI.startsWith(location.origin)) found.push(`base URI ${document.baseURI}`);
  return found;
}
"""


@dataclass
class Findings:
    """What the pages did: anything in ``ran`` or ``dom`` fails the test; ``csp`` is reported."""

    ran: list[str] = field(default_factory=list)
    dom: list[str] = field(default_factory=list)
    csp: list[str] = field(default_factory=list)
    pages: int = 0

    def fail_on_script(self) -> None:
        assert not self.ran, "script ran:\n" + "\n".join(self.ran[:40])
        assert not self.dom, "dangerous markup in the DOM:\n" + "\n".join(self.dom[:40])


class Visitor:
    """One browser context (a role), its pages wired to record what scripts do."""

    def __init__(self, context, base: str, findings: Findings, assets: dict):
        self.context, self.base, self.findings = context, base, findings
        self.current = ""
        context.add_init_script(INIT_SCRIPT)

        def refuse(route) -> None:
            request = route.request
            self.findings.ran.append(f"{request.method} {request.url} asked by {self.current}")
            route.fulfill(status=204, body="")

        def cached(route) -> None:
            # The stylesheets and scripts do not change during the test: fetched from the server once
            # for every context (the session cookie changes at each answer, so the browser would not cache).
            url = route.request.url
            if url not in assets:
                answer = route.fetch()
                assets[url] = {"status": answer.status, "headers": answer.headers, "body": answer.body()}
            route.fulfill(**assets[url])

        # Matched by the browser itself: only these requests come back to Python.
        context.route(re.compile(rf"^(?!{re.escape(base)}/)|/xss-probe|/logout$"), refuse)
        context.route(re.compile(rf"^{re.escape(base)}/(static/|vendor/|brand\.css)"), cached)
        self.pages = [self._page() for _ in range(PARALLEL)]

    def _page(self):
        page = self.context.new_page()

        def dialog(d) -> None:
            self.findings.ran.append(f"{d.type} dialog {d.message!r} on {page.url}")
            d.dismiss()

        def console(message) -> None:
            if message.type in ("error", "warning") and "Content Security Policy" in message.text:
                self.findings.csp.append(f"{page.url}: {message.text[:200]}")

        page.on("dialog", dialog)
        page.on("console", console)
        return page

    def visit(self, paths: list[str]) -> None:
        """Open ``paths``, PARALLEL at a time, and check each page once it has loaded."""
        for start in range(0, len(paths), PARALLEL):
            batch = list(zip(self.pages, paths[start:start + PARALLEL]))
            for page, path in batch:
                self.current = path
                response = page.goto(path, wait_until="commit")
                if response is not None and response.status >= 500:
                    self.findings.dom.append(f"{path}: HTTP {response.status}")
            for page, path in batch:
                page.wait_for_load_state("load")
                self._check(page, path)

    def _check(self, page, path: str) -> None:
        self.findings.pages += 1
        wanted = urlsplit(self.base + path)
        if urlsplit(page.url).path != wanted.path:
            self.findings.ran.append(f"{path} navigated to {page.url}")
        for frame in page.frames:
            try:
                calls = frame.evaluate("window.__xssCalls || []")
                violations = frame.evaluate("window.__csp || []")
            except Exception:  # a frame that went away: nothing to read
                continue
            self.findings.ran.extend(f"__xss({call}) on {path}" for call in calls)
            self.findings.csp.extend(f"{path}: {v['directive']} blocked {v['blocked']} {v['sample'][:60]}"
                                     for v in violations)
        if "xml" not in (page.evaluate("document.contentType") or ""):
            self.findings.dom.extend(f"{path}: {finding}" for finding in page.evaluate(DOM_CHECK))


def _first_that_passes(*attempts):
    """The result of the first attempt that the rules accept (a payload too long for a field falls back)."""
    for attempt in attempts:
        try:
            with db.session.begin_nested():
                return attempt()
        except DomainError:
            continue
    raise AssertionError("no attempt passed")


@dataclass
class Seeded:
    admin: object
    victim: object
    ideas: list
    authors: list


def _seed(texts: list[str], make_user) -> Seeded:
    """``_store`` again if SQLite stayed busy past its timeout (the live server's worker writes meanwhile)."""
    for attempt in range(3):
        try:
            return _store(texts, make_user)
        except OperationalError as error:
            db.session.rollback()
            if "locked" not in str(error) or attempt == 2:
                raise
    raise AssertionError("unreachable")


def _store(texts: list[str], make_user) -> Seeded:
    """Every text through every field, with the services (the rules apply; too long falls back).

    Text ``n`` is the name of member ``n`` and of category ``n``, and the title and tags of idea
    ``n``; its description is the texts ``n`` to ``n + WINDOW - 1``, each a paragraph of its own
    (so the idea pages opened, one in IDEA_STRIDE, render every payload as a description). The
    first idea holds every comment (each mentioning the victim), every official response and every
    staff note: one page renders them all.
    """
    admin = make_user("admin", name='"><script>__xss("admin")</script>')
    # In-app notifications only: the pages are under test here, not the mail (N² emails otherwise).
    quiet = {"follow_on_submit": False, "follow_on_comment": False, "email_mentions": "never", "email_status": "never"}
    victim = make_user(name="<img src=x onerror=__xss('victim')>", **quiet)
    ideas, authors = [], []
    for n, text in enumerate(texts):
        description = "\n\n".join((texts[n:] + texts[:n])[:WINDOW])
        author = _first_that_passes(lambda: create_user(f"author{n}@example.com", text, None),
                                    lambda: create_user(f"author{n}@example.com", f"Author {n}", None))
        for setting, value in quiet.items():
            setattr(author, setting, value)
        category = _first_that_passes(lambda: create_category(admin, text, f"xss-{n}"),
                                      lambda: create_category(admin, f"Category {n} {text}"[:80], f"xss-{n}"),
                                      lambda: create_category(admin, f"Category {n}", f"xss-{n}"))
        idea = _first_that_passes(
            lambda: submit_idea(author, text, description, category.id, text),
            lambda: submit_idea(author, f"Idea {n}: {text}"[:140], description, category.id, text[:300]),
            lambda: submit_idea(author, f"Idea {n}: {text}"[:140], description, category.id),
        )
        thread = ideas[0] if ideas else idea
        add_comment(author, thread, f"{text}\n\n@{victim.handle} @{author.handle}")
        change_status(admin, thread, "under_review", response=text)  # stays in the triage queue
        add_note(admin, thread, text)
        ideas.append(idea)
        authors.append(author)
    db.session.commit()
    sync()  # the search index and the mention notifications, now
    return Seeded(admin, victim, ideas, authors)


def _welcome(texts: list[str]) -> tuple[str, str]:
    """The texts as two welcome texts (English, French), each within its limit."""
    halves: tuple[list[str], list[str]] = ([], [])
    for n, text in enumerate(texts):
        halves[n % 2].append(text)
    return tuple("\n\n".join(half)[:WELCOME_MAX] for half in halves)  # type: ignore[return-value]


def _batches(texts: list[str], limit: int) -> list[str]:
    """The texts joined into as few query arguments of at most ``limit`` characters as they fit in (URL-encoded).

    A reflected argument is escaped character by character, so several payloads in one value
    test the same as one each, for far fewer pages.
    """
    batches: list[str] = []
    for text in texts:
        if batches and len(batches[-1]) + 1 + len(text) <= limit:
            batches[-1] += " " + text
        else:
            batches.append(text[:limit])
    return [quote(batch, safe="") for batch in batches]


def _pages(seeded: Seeded, texts: list[str]) -> dict[str, list[str]]:
    """Every page that shows what was stored, by who opens it."""
    named = [author for author, text in zip(seeded.authors, texts) if author.display_name == text]
    return {
        "admin": (
            [f"/ideas/{idea.id}" for idea in seeded.ideas[::IDEA_STRIDE]]
            + [f"/ideas/{idea.id}/edit" for idea in seeded.ideas[1::12]]
            + [f"/users/{author.id}" for author in named[::6]]
            + ["/", "/ideas", "/ideas?sort=new", "/ideas?sort=top", "/search?q=xss", "/search?q=script",
               f"/ideas?category=xss-0&tag={quote(seeded.ideas[0].tags[0].name) if seeded.ideas[0].tags else ''}",
               "/triage", "/triage?sort=oldest", "/leaderboard?period=all", "/implemented", "/roadmap", "/stats",
               "/admin", "/admin/users", "/admin/categories", "/admin/audit", "/admin/settings", "/account",
               "/ideas/new"]
            + [f"/members/suggest?q={q}" for q in _batches(texts, 30)[:10]]
        ),
        "victim": ["/notifications", "/notifications?page=2", "/notifications?page=3", "/account", "/"],
        "visitor": (
            [f"/login?next={q}" for q in _batches(texts, 200)]
            # the search box, and every page's language form, which carries the page's own address
            + [f"/search?q={q}&next={q}" for q in _batches(texts, 200)]
            + ["/feeds/ideas.atom", "/feeds/implemented.atom", "/ideas", f"/ideas/{seeded.ideas[0].id}",
               "/register", "/"]
        ),
    }


def _browse(app, new_context, log_in, live_server, seeded: Seeded, texts: list[str],
            site_names: list[str]) -> Findings:
    app.config["IDEAS_PER_PAGE"] = 100  # the lists show every idea on one page
    findings, assets = Findings(), {}
    pages = _pages(seeded, texts)
    visitors = {}
    for role, user in (("admin", seeded.admin), ("victim", seeded.victim), ("visitor", None)):
        visitor = Visitor(new_context(), live_server, findings, assets)
        if user is not None:
            log_in(visitor.pages[0], user)
        visitors[role] = visitor
    for role, paths in pages.items():
        visitors[role].visit(paths)
    french = Visitor(new_context(locale="fr-FR"), live_server, findings, assets)
    french.visit(["/", "/ideas"])
    # The site's name is one text at a time: each shows in every page's title, header and meta tags.
    for name in site_names:
        save_settings(seeded.admin, name=name, accent="#0172ad")
        db.session.commit()
        visitors["visitor"].visit(["/", f"/ideas/{seeded.ideas[0].id}"])
        visitors["admin"].visit(["/admin/settings"])
    return findings


class _DangerousMarkup(HTMLParser):
    """Collects the scripts, inline handlers and script URLs of an HTML fragment, as a browser would parse it."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs) -> None:
        if tag in ("script", "iframe", "object", "embed", "base", "meta", "style"):
            self.found.append(tag)
        for name, value in attrs:
            squeezed = re.sub(r"[\s\x00-\x1f]", "", value or "").lower()
            if name.startswith(("on", "hx-", "data-hx-")) or squeezed.startswith(("javascript:", "vbscript:", "data:")):
                self.found.append(f"{tag} {name}={value}")


def _feed_is_inert(client, url: str) -> None:
    """The feeds are well-formed XML; their HTML content is sanitized (no script, handler or javascript: URL)."""
    body = client.get(url).get_data(as_text=True)
    root = ElementTree.fromstring(body)
    atom = "{http://www.w3.org/2005/Atom}"
    for content in root.iter(f"{atom}content"):
        html = content.text or ""
        parser = _DangerousMarkup()
        parser.feed(html)
        assert not parser.found, (parser.found, html)
    assert not root.findall(".//{http://www.w3.org/1999/xhtml}script")


def test_the_apps_own_pages_report_no_policy_violation(app, client, make_user, new_context, log_in, live_server):
    """Benign content on the same pages: every CSP violation here would be the app's own markup."""
    seeded = _seed([BENIGN, "Dark mode for the mobile app", "Élodie’s idée: 你好 👩‍💻"], make_user)
    save_settings(seeded.admin, name="Acme Ideas", accent="#0172ad", welcome_en=f"# Welcome\n\n{BENIGN}",
                  welcome_fr=f"# Bienvenue\n\n{BENIGN}")
    db.session.commit()
    findings = _browse(app, new_context, log_in, live_server, seeded, [BENIGN], ["Acme Ideas"])
    findings.fail_on_script()
    assert not findings.csp, "the app's own pages violate their Content-Security-Policy:\n" + "\n".join(findings.csp)
    assert findings.pages > 30


def test_no_payload_runs_on_any_page(app, client, make_user, new_context, log_in, live_server):
    started = time.monotonic()
    seeded = _seed(PAYLOADS, make_user)
    welcome_en, welcome_fr = _welcome(PAYLOADS)
    save_settings(seeded.admin, name="XSS corpus", accent="#0172ad", welcome_en=welcome_en, welcome_fr=welcome_fr)
    db.session.commit()
    site_names = [p for p in SHORT_PAYLOADS if any(k in p for k in ("<script", "onerror", "\"><", "</title"))][:3]
    findings = _browse(app, new_context, log_in, live_server, seeded, PAYLOADS, site_names)
    for url in ("/feeds/ideas.atom", "/feeds/implemented.atom"):
        _feed_is_inert(client, url)

    findings.fail_on_script()
    # Server-side templates never evaluate what people write.
    page_html = client.get(f"/ideas/{seeded.ideas[PAYLOADS.index('{{7*7}} ${7*7} #{7*7} <%= 7*7 %>')].id}")
    assert "{{7*7}} ${7*7} #{7*7}" in page_html.get_data(as_text=True)
    csp_header = client.get("/").headers.get("Content-Security-Policy")
    print(f"\n{len(PAYLOADS)} payloads, {findings.pages} pages in {time.monotonic() - started:.1f} s; "
          f"CSP header: {'present' if csp_header else 'absent'}; "
          f"{len(findings.csp)} violations, all from injected payloads the policy blocked")
    assert len(PAYLOADS) >= 50
