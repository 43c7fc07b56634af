"""Browser tests: Chromium, driven by Playwright's sync API, against a live server.

* ``live_server`` serves the test's ``app`` (same database, same config) on a free port, with
  an outbox worker beside it (a thread running the worker loop on the same app), as
  ``make run`` does: what a journey submits becomes searchable within moments.
* ``browser`` is one Chromium per test package; every test gets fresh contexts
  (``context`` / ``page``, plus ``new_context()`` for a second, independent visitor), so
  cookies never leak from one test to the next.
* Chromium is never downloaded: it is the system one (Debian package ``chromium``), or the
  binary named by ``IDEASTORM_CHROMIUM``; without it these tests are skipped.
* On failure, a screenshot of every open page goes to ``test-artifacts/``.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import got_request_exception
from werkzeug.serving import make_server

from tests.conftest import PASSWORD

CHROMIUM = os.environ.get("IDEASTORM_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
DEFAULT_TIMEOUT_MS = 10_000
HERE = Path(__file__).resolve().parent
ARTIFACTS = HERE.parent.parent / "test-artifacts"


def pytest_collection_modifyitems(items):
    """Every test in tests/browser is a browser test (``-m "not browser"`` skips them all)."""
    for item in items:
        if HERE in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.browser)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the item, so fixtures can tell that the test failed."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


# --- the live server ---------------------------------------------------------------------

@pytest.fixture
def live_server(app) -> Iterator[str]:
    """The test's app served over HTTP in a background thread, with a worker; yields its base URL.

    The test thread keeps its own app context (pushed by ``app``); each request served here
    pushes its own, hence gets its own database session, and so does each round of the
    worker. An exception escaping a view fails the test at teardown, with the view's
    traceback, instead of hiding behind a 500 page.
    """
    from ideastorm.worker import Worker

    errors: list[BaseException] = []

    def record(sender, exception, **extra):
        errors.append(exception)

    got_request_exception.connect(record, app)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    worker = Worker(app, name="live-server-worker")
    worker_thread = threading.Thread(target=worker.run, name="live-server-worker", daemon=True)
    thread.start()
    worker_thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        worker.stop()
        server.shutdown()
        thread.join(timeout=10)
        worker_thread.join(timeout=10)
        server.server_close()
        got_request_exception.disconnect(record, app)
    if errors:
        raise AssertionError(f"the live server raised {len(errors)} exception(s), first: {errors[0]!r}") from errors[0]
    if worker_thread.is_alive():
        raise AssertionError("the live server's outbox worker did not stop")


# --- Playwright ----------------------------------------------------------------------------

@pytest.fixture(scope="package")
def browser() -> Iterator:
    """One headless Chromium per test package (the system binary: never downloaded).

    Package-scoped, not session-scoped: tests/security imports these fixtures too, and two sync
    Playwright instances cannot be alive at once in one thread; each package closes its own first.
    """
    if not Path(CHROMIUM).exists():
        pytest.skip(
            f"Chromium not found at {CHROMIUM}: install the Debian package `chromium` (CI does) "
            "to run browser tests, or set IDEASTORM_CHROMIUM"
        )
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=DEFAULT_TIMEOUT_MS)
    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
    finally:
        playwright.stop()


@pytest.fixture
def new_context(request, browser, live_server) -> Iterator[Callable]:
    """Open a fresh, independent browser context (another visitor); all closed at teardown.

    Keyword arguments go to ``browser.new_context`` (e.g. ``java_script_enabled=False``).
    Relative URLs (``page.goto("/ideas")``) are resolved against the live server.
    """
    contexts = []

    def open_context(**options):
        options.setdefault("base_url", live_server)
        options.setdefault("locale", "en-US")
        context = browser.new_context(**options)
        context.set_default_timeout(DEFAULT_TIMEOUT_MS)
        context.set_default_navigation_timeout(DEFAULT_TIMEOUT_MS)
        contexts.append(context)
        return context

    yield open_context

    try:
        report = getattr(request.node, "rep_call", None)
        if report is not None and report.failed:
            _screenshot_pages(request.node.nodeid, contexts)
    finally:
        for context in contexts:
            context.close()


def _screenshot_pages(nodeid: str, contexts) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", nodeid).strip("_")
    for c, context in enumerate(contexts, 1):
        for p, page in enumerate(context.pages, 1):
            try:
                page.screenshot(path=str(ARTIFACTS / f"{stem}-context{c}-page{p}.png"), full_page=True)
            except Exception:  # a screenshot is a courtesy: never mask the real failure
                pass


@pytest.fixture
def context(new_context):
    """This test's first browser context."""
    return new_context()


@pytest.fixture
def page(context):
    """A page in this test's first context."""
    return context.new_page()


@pytest.fixture
def log_in() -> Callable:
    """``log_in(page, user_or_email, password=PASSWORD)``: sign in through the /login form."""
    from playwright.sync_api import expect

    def log_in(page, user_or_email, password: str = PASSWORD):
        email = getattr(user_or_email, "email", user_or_email)
        page.goto("/login")
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(password)
        page.locator("main form").get_by_role("button", name="Log in").click()
        expect(page.locator("header details.account-menu")).to_be_visible()  # holds "Log out"
        return page

    return log_in
