"""The public figures: leaderboards, headline counts, Ideas in Action, roadmap, profiles.

Plain typed functions that a view, the JSON API or a CLI can call alike. Anything that reads
every vote (period leaderboards, contributors) is served through ``ideastorm.cache.cached``
with the time it was computed; the headline reads counters kept exact in the transaction of
each change (``ideas/counters.py``); everything else is a query over an index whose cost does
not grow with the backlog.

Rules, stated once:
- Hidden ideas never count, and are never listed.
- A period is a rolling window ending now: week = 7 days, month = 30 days, year = 365 days;
  ``all`` has no start. An idea's period points are the sum of the values of the votes whose
  ``voted_at`` falls in the window (a changed vote counts from when it was changed); for ``all``
  that is the idea's score.
- A contributor's points are the same sum over the votes on their ideas; for ``all``, the sum of
  the scores of their public ideas (what their profile shows). Their implemented count is
  all-time, whatever the period. Banned members keep their ideas public, so they stay listed.
- Only positive totals make a leaderboard. Ties go to the lower id (the earlier idea or member).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Sequence

from sqlalchemy import Select, func, or_, select

from ..accounts.models import User
from ..cache import Cached, cached
from ..extensions import db
from ..ideas import counters
from ..ideas.models import Idea, Status, StatusChange
from ..ideas.queries import ideas_query
from ..timeutil import utcnow
from ..votes.models import Vote

PERIODS: dict[str, timedelta | None] = {
    "week": timedelta(days=7),
    "month": timedelta(days=30),
    "year": timedelta(days=365),
    "all": None,
}
DEFAULT_PERIOD = "month"
TOP_IDEAS_CAP = 100
TOP_CONTRIBUTORS = 20
ROADMAP_COLUMN = 10
RECENTLY_IMPLEMENTED = timedelta(days=90)
IMPLEMENTED = Status.IMPLEMENTED.value


@dataclass(frozen=True)
class RankedIdea:
    idea_id: int
    points: int


@dataclass(frozen=True)
class Contributor:
    user_id: int
    display_name: str
    points: int
    implemented: int


@dataclass(frozen=True)
class HeadlineCounts:
    implemented: int
    submitted: int


@dataclass(frozen=True)
class MemberStats:
    points: int
    ideas: int
    implemented: int


def period_start(period: str, now: datetime | None = None) -> datetime | None:
    """First instant of ``period`` (a key of PERIODS) ending at ``now``; None for ``all``."""
    length = PERIODS[period]
    return None if length is None else (now or utcnow()) - length


def top_ideas(period: str, *, category_id: int | None = None, now: datetime | None = None,
              limit: int = TOP_IDEAS_CAP) -> list[RankedIdea]:
    """Public ideas by points earned in ``period``, best first (ties: lower idea id first)."""
    since = period_start(period, now)
    if since is None:
        points = Idea.score
        query = select(Idea.id, points).where(Idea.is_hidden.is_(False), points > 0)
    else:
        points = func.sum(Vote.value)
        query = (
            select(Idea.id, points)
            .join(Vote, Vote.idea_id == Idea.id)
            .where(Vote.voted_at >= since, Idea.is_hidden.is_(False))
            .group_by(Idea.id)
            .having(points > 0)
        )
    if category_id is not None:
        query = query.where(Idea.category_id == category_id)
    rows = db.session.execute(query.order_by(points.desc(), Idea.id).limit(limit))
    return [RankedIdea(idea_id, int(total)) for idea_id, total in rows]


def top_contributors(period: str, *, now: datetime | None = None,
                     limit: int = TOP_CONTRIBUTORS) -> list[Contributor]:
    """Members by the points their public ideas earned in ``period`` (ties: lower user id first)."""
    since = period_start(period, now)
    if since is None:
        points = func.sum(Idea.score)
        query = select(Idea.author_id, points).where(Idea.is_hidden.is_(False))
    else:
        points = func.sum(Vote.value)
        query = (
            select(Idea.author_id, points)
            .join(Vote, Vote.idea_id == Idea.id)
            .where(Vote.voted_at >= since, Idea.is_hidden.is_(False))
        )
    ranked = db.session.execute(
        query.group_by(Idea.author_id).having(points > 0).order_by(points.desc(), Idea.author_id).limit(limit)
    ).all()
    ids = [author_id for author_id, _ in ranked]
    names = dict(db.session.execute(select(User.id, User.display_name).where(User.id.in_(ids))).all()) if ids else {}
    implemented = dict(db.session.execute(
        select(Idea.author_id, func.count())
        .where(Idea.author_id.in_(ids), Idea.status == IMPLEMENTED, Idea.is_hidden.is_(False))
        .group_by(Idea.author_id)
    ).all()) if ids else {}
    return [Contributor(user_id, names[user_id], int(total), implemented.get(user_id, 0)) for user_id, total in ranked]


def cached_top_ideas(period: str, category_id: int | None = None) -> Cached[list[RankedIdea]]:
    return cached(("top_ideas", period, category_id), lambda: top_ideas(period, category_id=category_id))


def cached_top_contributors(period: str) -> Cached[list[Contributor]]:
    return cached(("top_contributors", period), lambda: top_contributors(period))


def ideas_by_id(ids: Sequence[int]) -> list[Idea]:
    """The public ideas among ``ids``, in the order given (one query; hidden ones drop out)."""
    if not ids:
        return []
    found = {idea.id: idea for idea in db.session.scalars(
        select(Idea).where(Idea.id.in_(ids), Idea.is_hidden.is_(False))
    ).unique()}
    return [found[i] for i in ids if i in found]


def headline_counts() -> HeadlineCounts:
    """'N ideas implemented out of M submitted', public ideas only (home and Ideas in Action), exact."""
    values = counters.values()
    return HeadlineCounts(implemented=values[counters.IMPLEMENTED], submitted=values[counters.SUBMITTED])


def implemented_query() -> Select:
    """Public implemented ideas, latest decision first (index on status, status_changed_at).

    ``status_changed_at`` is set by every status change, so implemented ideas always have one.
    """
    return (
        select(Idea)
        .where(Idea.status == IMPLEMENTED, Idea.is_hidden.is_(False))
        .order_by(Idea.status_changed_at.desc(), Idea.id.desc())
    )


def official_responses(ideas: Sequence[Idea]) -> dict[int, StatusChange]:
    """For each idea, the latest status change that made it implemented (one query)."""
    ids = [idea.id for idea in ideas]
    if not ids:
        return {}
    changes = db.session.scalars(
        select(StatusChange)
        .where(
            StatusChange.idea_id.in_(ids), StatusChange.to_status == IMPLEMENTED,
            or_(StatusChange.from_status.is_(None), StatusChange.from_status != IMPLEMENTED),
        )
        .order_by(StatusChange.created_at, StatusChange.id)
    )
    return {change.idea_id: change for change in changes}  # later changes overwrite earlier ones


@dataclass(frozen=True)
class Roadmap:
    planned: list[Idea]
    in_progress: list[Idea]
    recently_implemented: list[Idea]


def roadmap(*, now: datetime | None = None, per_column: int = ROADMAP_COLUMN) -> Roadmap:
    """Top planned and in-progress ideas (as /ideas?sort=top lists them), and the latest implemented."""
    def column(status: Status) -> list[Idea]:
        return list(db.session.scalars(ideas_query("top", status=status.value).limit(per_column)).unique())

    since = (now or utcnow()) - RECENTLY_IMPLEMENTED
    recent = db.session.scalars(
        implemented_query().where(Idea.status_changed_at >= since).limit(per_column)
    ).unique()
    return Roadmap(column(Status.PLANNED), column(Status.IN_PROGRESS), list(recent))


def member_stats(user_id: int) -> MemberStats:
    """A member's points (sum of their public ideas' scores) and counts (index on author_id)."""
    points, ideas, implemented = db.session.execute(
        select(
            func.coalesce(func.sum(Idea.score), 0), func.count(),
            func.count().filter(Idea.status == IMPLEMENTED),
        ).where(Idea.author_id == user_id, Idea.is_hidden.is_(False))
    ).one()
    return MemberStats(points=int(points), ideas=ideas, implemented=implemented)
