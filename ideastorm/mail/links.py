"""Absolute links for emails, built from BASE_URL: the worker composes them with no request to go by."""

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
