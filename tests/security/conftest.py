"""The security suite: the fixtures of tests/conftest.py apply here too."""

# The browser fixtures (a live server with its worker, Chromium, contexts, log_in) for the suite's
# checks in a real browser; imported by name, so tests/browser's own hooks stay its own.
from tests.browser.conftest import browser, context, live_server, log_in, new_context, page  # noqa: F401
