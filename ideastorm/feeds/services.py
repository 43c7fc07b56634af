"""What the Atom feeds list: the newest public ideas, and the latest implemented ones with their answer."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func

from ..extensions import db
from ..ideas.models import Idea, Status
from ..ideas.queries import ideas_query
from ..public.queries import official_responses

FEED_SIZE = 50
# Characters XML 1.0 cannot carry at all; member text is stored as typed, so they are dropped here.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def xml_safe(text: str | None) -> str:
    return _NOT_XML.sub("", text or "")


@dataclass(frozen=True)
class FeedItem:
    idea: Idea
    updated: datetime
    response: str | None = None  # the official response, in the implemented feed


def newest_ideas(limit: int = FEED_SIZE) -> list[FeedItem]:
    """The most recently submitted public ideas, newest first."""
    ideas = db.session.scalars(ideas_query("new").limit(limit)).unique().all()
    return [FeedItem(idea, max(idea.created_at, idea.updated_at or idea.created_at)) for idea in ideas]


def recently_implemented(limit: int = FEED_SIZE) -> list[FeedItem]:
    """The public ideas implemented most recently, each with its official response (as /implemented)."""
    implemented_at = func.coalesce(Idea.status_changed_at, Idea.updated_at)
    ideas = db.session.scalars(
        ideas_query(status=Status.IMPLEMENTED.value).order_by(None).order_by(implemented_at.desc(), Idea.id.desc())
        .limit(limit)
    ).unique().all()
    responses = official_responses(ideas)  # the same response as Ideas in Action shows
    return [
        FeedItem(idea, idea.status_changed_at or idea.updated_at,
                 responses[idea.id].response if idea.id in responses else None)
        for idea in ideas
    ]
