"""Site settings: the brand (name, logo, accent colour, welcome text) an administrator chooses.

``init_app`` gives every template ``site`` (the settings, read once per request) and the
``category_label`` / ``category_description`` helpers (a category's name in the reader's language).
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from .services import category_description, category_label, site_settings

    app.context_processor(lambda: {"site": site_settings()})
    app.jinja_env.globals.update(category_label=category_label, category_description=category_description)
    app.jinja_env.filters.update(category_label=category_label)
