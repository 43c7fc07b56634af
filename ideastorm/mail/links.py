"""Absolute links, built from BASE_URL: emails (which the worker composes with no request to go by),
and every absolute link in a page or a feed (canonical, og:url, Atom ids and links), which must
never follow the request's Host header (a forged Host would otherwise poison shared caches)."""

from __future__ import annotations

from urllib.parse import quote, urlsplit

from flask import current_app


def absolute(endpoint: str, _anchor: str | None = None, **values) -> str:
    """The full URL of ``endpoint`` at the site's public address (``BASE_URL``, which may hold a path)."""
    base = urlsplit(current_app.config["BASE_URL"])
    adapter = current_app.url_map.bind(base.netloc or "localhost", script_name=base.path or "/",
                                       url_scheme=base.scheme or "http")
    url = adapter.build(endpoint, values, force_external=True)
    return f"{url}#{quote(_anchor)}" if _anchor else url
