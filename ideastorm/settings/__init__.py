"""Site settings: the brand (name, logo, accent colour, welcome text) an administrator chooses.

``init_app`` gives every template ``site`` (the settings; see ``services.site_settings``).
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from .services import site_settings

    app.context_processor(lambda: {"site": site_settings()})
