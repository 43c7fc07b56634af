"""Atom feeds of new and implemented ideas (RFC 4287), with conditional GET."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlsplit

from flask import Blueprint, current_app, make_response, render_template, request
from flask_babel import gettext as _

from ..mail.links import absolute
from ..settings.services import site_settings
from ..timeutil import utcnow
from .services import FeedItem, newest_ideas, recently_implemented, xml_safe

bp = Blueprint("feeds", __name__)

ATOM_TYPE = "application/atom+xml; charset=utf-8"
TAG_DATE = "2025"  # the date part of every tag: URI (RFC 4151); never change it, ids must stay stable


def rfc3339(value: datetime) -> str:
    """Naive UTC as an Atom date: 2025-06-15T12:00:00Z."""
    return value.replace(microsecond=0).isoformat() + "Z"


def tag_uri(specific: str) -> str:
    """A permanent id under the site's public host (BASE_URL's, never the request's Host)."""
    return f"tag:{urlsplit(current_app.config['BASE_URL']).hostname},{TAG_DATE}:{specific}"


def atom_response(kind: str, title: str, alternate: str, items: list[FeedItem]):
    updated = max((item.updated for item in items), default=None) or utcnow()
    body = render_template(
        "feeds/atom.xml", kind=kind, title=title, items=items, updated=updated,
        feed_id=tag_uri(f"feeds/{kind}"), self_url=absolute(f"feeds.{kind}"), alternate=alternate,
        rfc3339=rfc3339, tag_uri=tag_uri, xml_safe=xml_safe,
    )
    response = make_response(body)
    response.content_type = ATOM_TYPE
    response.last_modified = updated.replace(microsecond=0)
    response.add_etag()
    return response.make_conditional(request)


@bp.get("/feeds/ideas.atom")
def ideas():
    return atom_response(
        "ideas", _("New ideas on %(site)s", site=site_settings().name),
        absolute("ideas.list_ideas", sort="new"), newest_ideas(),
    )


@bp.get("/feeds/implemented.atom")
def implemented():
    return atom_response(
        "implemented", _("Implemented ideas on %(site)s", site=site_settings().name),
        absolute("public.implemented"), recently_implemented(),
    )
