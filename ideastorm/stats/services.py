"""The public statistics behind /stats (and the JSON API): one function, one typed result.

Definitions (shown on the page too):

* Funnel: an idea counts at a stage when its *current* status is at or beyond that stage in
  the order new < under_review < planned < in_progress < implemented. "Submitted" counts every
  public idea. Declined and duplicate ideas leave the funnel: they count as submitted only and
  are reported apart.
* Activity: ideas by the month they were submitted, votes by the month their current value was
  cast (a vote changed later counts in the month of the change; a retracted vote is gone), for
  the last 12 months including the current one, in UTC.
* First answer: the time from submission to the idea's first status change made by a staff
  member or an admin. Ideas never answered are left out of the median and counted apart.

Hidden ideas, and the votes and status changes on them, are never counted.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, join, select

from ..accounts.models import User
from ..roles import Role
from ..database import is_postgresql
from ..extensions import db
from ..ideas.models import Category, Idea, Status, StatusChange
from ..timeutil import utcnow
from ..votes.models import Vote

FUNNEL_ORDER = (Status.NEW, Status.UNDER_REVIEW, Status.PLANNED, Status.IN_PROGRESS, Status.IMPLEMENTED)
OUT_OF_FUNNEL = (Status.DECLINED, Status.DUPLICATE)
MONTHS = 12


@dataclass(frozen=True)
class FunnelStage:
    status: str  # the stage: ideas whose status is this one or a later one ("new" means submitted)
    count: int


@dataclass(frozen=True)
class MonthActivity:
    month: date  # the first day of the month
    ideas: int
    votes: int


@dataclass(frozen=True)
class CategoryStatuses:
    name: str | None  # None: ideas without a category
    counts: dict[str, int]  # every status, in Status order, zeros included
    name_fr: str | None = None

    @property
    def label(self) -> str | None:
        """The name in the reader's language (the figures are cached for every reader alike)."""
        from flask_babel import get_locale

        if self.name_fr and str(get_locale() or "").startswith("fr"):
            return self.name_fr
        return self.name

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class AnswerTime:
    median: timedelta | None  # None when no idea was answered
    answered: int
    unanswered: int


@dataclass(frozen=True)
class Stats:
    funnel: list[FunnelStage]
    out_of_funnel: list[FunnelStage]
    months: list[MonthActivity]
    categories: list[CategoryStatuses]
    answer_time: AnswerTime
    as_of: datetime


def compute_stats(now: datetime | None = None) -> Stats:
    """Every public figure of /stats, as of ``now`` (naive UTC, default: the current time)."""
    now = now or utcnow()
    by_status = _count_by_category_and_status()
    status_totals = {s.value: 0 for s in Status}
    for counts in by_status.values():
        for status, n in counts.items():
            status_totals[status] += n
    funnel = _funnel(status_totals)
    return Stats(
        funnel=funnel,
        out_of_funnel=[FunnelStage(s.value, status_totals[s.value]) for s in OUT_OF_FUNNEL],
        months=_monthly_activity(now),
        categories=_categories(by_status),
        answer_time=_answer_time(submitted=funnel[0].count),
        as_of=now,
    )


def _funnel(status_totals: dict[str, int]) -> list[FunnelStage]:
    submitted = sum(status_totals.values())
    stages = [FunnelStage(Status.NEW.value, submitted)]
    for index, stage in enumerate(FUNNEL_ORDER[1:], 1):
        reached = sum(status_totals[s.value] for s in FUNNEL_ORDER[index:])
        stages.append(FunnelStage(stage.value, reached))
    return stages


def _count_by_category_and_status() -> dict[int | None, dict[str, int]]:
    rows = db.session.execute(
        select(Idea.category_id, Idea.status, func.count())
        .where(Idea.is_hidden.is_(False))
        .group_by(Idea.category_id, Idea.status)
    ).all()
    counts: dict[int | None, dict[str, int]] = {}
    for category_id, status, n in rows:
        counts.setdefault(category_id, {s.value: 0 for s in Status})[status] = n
    return counts


def _categories(by_status: dict[int | None, dict[str, int]]) -> list[CategoryStatuses]:
    """Active categories, archived ones still holding public ideas, then "no category" if any."""
    categories = db.session.scalars(select(Category).order_by(Category.position, Category.name)).all()
    empty = {s.value: 0 for s in Status}
    result = [
        CategoryStatuses(c.name, by_status.get(c.id, dict(empty)), c.name_fr)
        for c in categories if not c.is_archived or c.id in by_status
    ]
    if None in by_status:
        result.append(CategoryStatuses(None, by_status[None]))
    return result


def _month_key(column):
    """A 'YYYY-MM' string of a timestamp column, computed by the database."""
    if is_postgresql():
        return func.to_char(column, "YYYY-MM")
    return func.strftime("%Y-%m", column)


def _month_starts(now: datetime) -> list[date]:
    year, month = now.year, now.month
    starts = []
    for _ in range(MONTHS):
        starts.append(date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return starts[::-1]


def _per_month(source, column, since: datetime, until: datetime) -> dict[str, int]:
    """Rows of ``source`` (public ideas only) per month of ``column``, grouped by the database."""
    key = _month_key(column)
    rows = db.session.execute(
        select(key, func.count()).select_from(source)
        .where(Idea.is_hidden.is_(False), column >= since, column < until)
        .group_by(key)
    ).all()
    return {month: n for month, n in rows}


def _monthly_activity(now: datetime) -> list[MonthActivity]:
    months = _month_starts(now)
    since = datetime.combine(months[0], datetime.min.time())
    last = months[-1]
    until = datetime(last.year + last.month // 12, last.month % 12 + 1, 1)
    ideas = _per_month(Idea, Idea.created_at, since, until)
    votes = _per_month(join(Vote, Idea, Idea.id == Vote.idea_id), Vote.voted_at, since, until)
    return [
        MonthActivity(m, ideas.get(m.strftime("%Y-%m"), 0), votes.get(m.strftime("%Y-%m"), 0))
        for m in months
    ]


def _answer_time(submitted: int) -> AnswerTime:
    """The median wait over answered public ideas; one row per answered idea, never per vote."""
    staff_roles = [Role.STAFF.value, Role.ADMIN.value]
    first_answer = (
        select(StatusChange.idea_id, func.min(StatusChange.created_at).label("answered_at"))
        .join(User, User.id == StatusChange.actor_id)
        .where(User.role.in_(staff_roles))
        .group_by(StatusChange.idea_id)
        .subquery()
    )
    rows = db.session.execute(
        select(Idea.created_at, first_answer.c.answered_at)
        .join(first_answer, first_answer.c.idea_id == Idea.id)
        .where(Idea.is_hidden.is_(False))
    ).all()
    waits = [(answered - created).total_seconds() for created, answered in rows]
    median = timedelta(seconds=statistics.median(waits)) if waits else None
    return AnswerTime(median=median, answered=len(waits), unanswered=submitted - len(waits))
