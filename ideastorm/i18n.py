"""Language choice: the member's setting, then a cookie, then the browser's Accept-Language."""

from __future__ import annotations

from flask import current_app, has_request_context, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user

LOCALE_COOKIE = "ideastorm_locale"
LANGUAGE_NAMES = {"en": "English", "fr": "Français"}

# Public labels of the statuses (the product's published wording), translated through the catalog.
STATUS_LABELS = {
    "new": _l("New"),
    "under_review": _l("Under review"),
    "planned": _l("Planned"),
    "in_progress": _l("In progress"),
    "implemented": _l("Implemented"),
    "declined": _l("Declined"),
    "duplicate": _l("Duplicate"),
}


def select_locale() -> str:
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():  # CLI commands and workers speak the default language
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    if current_user and current_user.is_authenticated and current_user.locale in languages:
        return current_user.locale
    cookie = request.cookies.get(LOCALE_COOKIE)
    if cookie in languages:
        return cookie
    return request.accept_languages.best_match(languages) or current_app.config["BABEL_DEFAULT_LOCALE"]


def status_label(status: str) -> str:
    return str(STATUS_LABELS.get(status, status))
