"""Filters and globals the templates share."""

from __future__ import annotations

import functools
import hashlib
from datetime import datetime

from flask import Flask, request, url_for
from flask_babel import format_datetime, format_timedelta, get_locale, get_timezone

from .i18n import LANGUAGE_NAMES, STATUS_LABELS, status_label
from .ideas.services import slugify
from .markdown import plain_excerpt, render_markdown
from .mail.links import absolute
from .timeutil import utcnow


def time_ago(value: datetime | None) -> str:
    if value is None:
        return ""
    return format_timedelta(value - utcnow(), add_direction=True)


def exact_time(value: datetime | None, fmt: str = "medium") -> str:
    """A moment written out in full in the reader's language (the hover text of every date)."""
    if value is None:
        return ""
    return _exact_time(value, fmt, str(get_locale()), str(get_timezone()))


@functools.lru_cache(maxsize=4096)
def _exact_time(value: datetime, fmt: str, locale: str, timezone: str) -> str:
    # The text depends on these arguments alone (the locale and zone are the request's, read
    # again by format_datetime), and a page shows the same moments to every reader.
    return format_datetime(value, fmt)


def iso_utc(value: datetime | None) -> str:
    """A stored (naive UTC) timestamp as ISO 8601 with its zone, for <time datetime>."""
    if value is None:
        return ""
    return value.replace(microsecond=0, tzinfo=None).isoformat() + "Z"


def initials(name: str | None) -> str:
    """One or two letters standing for a display name: first letters of its first and last words."""
    words = [word for word in (name or "").split() if word[:1].isalnum()]
    if not words:
        return "?"
    letters = words[0][0] + (words[-1][0] if len(words) > 1 else "")
    return letters.upper()


AVATAR_COLOURS = 8


def avatar_class(user_id: int | None) -> str:
    """A stable colour class for a user's avatar (the same user, the same colour, everywhere)."""
    digest = hashlib.blake2b(str(int(user_id or 0)).encode(), digest_size=4).digest()
    return f"avatar-{int.from_bytes(digest, 'big') % AVATAR_COLOURS}"


def url_with(**changes) -> str:
    """The current page's URL with some query arguments changed (None removes one)."""
    path_args = request.view_args or {}
    # Only the page's own query arguments: not one named like a path argument or url_for's
    # own parameters (`endpoint`, `_external`, ...), which would break or redirect the link.
    args = {key: value for key, value in request.args.items()
            if key != "endpoint" and not key.startswith("_") and key not in path_args}
    for key, value in changes.items():
        if value is None or value == "":
            args.pop(key, None)
        else:
            args[key] = value
    return url_for(request.endpoint, **path_args, **args)


def choices(items, value_attr: str, label_attr: str) -> list[tuple]:
    """Objects as (value, label) pairs for a <select>."""
    return [(getattr(item, value_attr), getattr(item, label_attr)) for item in items]


def init_app(app: Flask) -> None:
    app.jinja_env.filters.update(
        markdown=render_markdown,
        excerpt=plain_excerpt,
        status_label=status_label,
        time_ago=time_ago,
        datetime=exact_time,
        slugify=slugify,
        choices=choices,
        iso_utc=iso_utc,
        initials=initials,
        avatar_class=avatar_class,
    )
    app.jinja_env.globals.update(
        STATUS_LABELS=STATUS_LABELS,
        LANGUAGE_NAMES=LANGUAGE_NAMES,
        current_locale=lambda: str(get_locale()),
        url_with=url_with,
        absolute_url=absolute,  # links that leave the page (canonical, og:url): at BASE_URL, never the Host
    )
    app.jinja_env.add_extension("jinja2.ext.do")
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
