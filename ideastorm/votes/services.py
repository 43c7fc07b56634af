"""Promote / demote, IdeaStorm style, with counters that always equal the stored votes.

Concurrency: no lock is held while deciding. The vote row is changed with a guard on the
value that was read (``WHERE value = :old``), a new vote relies on the unique constraint,
and the idea's counters move by an atomic ``x = x + Δ`` guarded by "still open for votes",
all in one transaction. If any guard finds the world changed, ``Retry`` is raised and
``database.run_transaction`` rolls back and replays the whole unit of work, so concurrent
voters on PostgreSQL or SQLite never corrupt a counter. ``cast_vote`` does not commit: the
view (or command, API endpoint) runs it through ``run_transaction``, which commits once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from flask_babel import gettext as _
from sqlalchemy import and_, delete, insert, select, update

from .. import outbox
from ..accounts.services import require_confirmed_email
from ..notifications.services import follow_automatically
from ..database import Retry
from ..domain import DomainError
from ..extensions import db
from ..i18n import status_label
from ..ideas.models import CLOSED_STATUSES, Idea, Status
from ..ideas.ranking import vote_delta
from ..timeutil import utcnow
from .models import Vote

VALID_VALUES = (-1, 0, 1)
_IDEAS = Idea.__table__
_VOTES = Vote.__table__
_CLOSED = sorted(status.value for status in CLOSED_STATUSES)


class VotingClosed(DomainError):
    """The idea's status closes it for votes (409); ``idea_status`` says which."""

    def __init__(self, idea_status: str):
        super().__init__("voting_closed",
                         _("Voting is closed: this idea is %(status)s.", status=status_label(idea_status)),
                         status=409)
        self.idea_status = idea_status


@dataclass(frozen=True)
class VoteTarget:
    """What voting needs to know of an idea, read in one narrow query (no author, category or tags)."""

    id: int
    status: str
    is_hidden: bool
    promote_count: int
    demote_count: int
    score: int
    awaiting_approval: bool = False  # held for the team's approval: nobody votes yet

    @property
    def open_for_votes(self) -> bool:
        return Status(self.status).open_for_votes

    def after(self, result: VoteResult) -> VoteTarget:
        """The same idea with the counters a vote left it with."""
        return VoteTarget(self.id, self.status, self.is_hidden, result.promote_count, result.demote_count,
                          result.score, self.awaiting_approval)


def vote_target(idea_id: int) -> VoteTarget | None:
    """The idea to vote on, or None when there is no such idea."""
    if not 0 < idea_id < 2**31:  # ids are 32-bit integers on every backend
        return None
    row = db.session.execute(
        select(_IDEAS.c.id, _IDEAS.c.status, _IDEAS.c.is_hidden, _IDEAS.c.promote_count, _IDEAS.c.demote_count,
               _IDEAS.c.score, _IDEAS.c.awaiting_approval)
        .where(_IDEAS.c.id == idea_id)
    ).one_or_none()
    return VoteTarget(*row) if row else None


@dataclass(frozen=True)
class VoteResult:
    idea_id: int
    value: int  # the member's vote now: -1, 0 (none) or 1
    promote_count: int
    demote_count: int
    score: int
    changed: bool


def parse_value(raw) -> int:
    """Accept 1, -1 or 0 (as int or text); anything else is refused."""
    invalid = DomainError("vote_invalid", _("A vote is 1 (promote), -1 (demote) or 0 (retract)."), "value")
    if isinstance(raw, bool):
        raise invalid
    try:
        value = int(str(raw).strip())
    except (TypeError, ValueError):
        raise invalid from None
    if value not in VALID_VALUES:
        raise invalid
    return value


def cast_vote(user_id: int, idea_id: int, value, *, ip_prefix: str | None = None) -> VoteResult:
    """Set ``user_id``'s vote on ``idea_id`` to ``value`` (0 retracts); raises ``Retry`` when raced.

    ``ip_prefix`` is the voter's network (``security.network.network_prefix``), kept on the vote for the
    integrity report (many accounts voting from one network); the caller reads it from its request.

    Run it through ``database.run_transaction``, which replays it when a guard fails. Every
    statement is Core, on the tables: this is the busiest write of the site, and no ORM object
    is loaded or changed by it.
    """
    value = parse_value(value)
    connection = db.session.connection()  # Core on the session's connection: no ORM bookkeeping per statement
    idea = connection.execute(
        select(_IDEAS.c.status, _IDEAS.c.promote_count, _IDEAS.c.demote_count, _IDEAS.c.score)
        .where(_IDEAS.c.id == idea_id)
    ).one_or_none()
    if idea is None:
        raise DomainError("idea_not_found", _("There is no such idea."), status=404)
    if Status(idea.status) in CLOSED_STATUSES:
        raise VotingClosed(idea.status)
    existing = connection.execute(
        select(_VOTES.c.id, _VOTES.c.value, _VOTES.c.voted_at)
        .where(_VOTES.c.idea_id == idea_id, _VOTES.c.user_id == user_id)
    ).one_or_none()
    old = existing.value if existing else 0
    if old == value:
        return VoteResult(idea_id, value, idea.promote_count, idea.demote_count, idea.score, changed=False)

    now = utcnow()
    if existing is None:
        connection.execute(insert(_VOTES).values(idea_id=idea_id, user_id=user_id, value=value, voted_at=now,
                                                 ip_prefix=ip_prefix))
    else:
        guard = and_(_VOTES.c.id == existing.id, _VOTES.c.value == old)
        if value == 0:
            done = connection.execute(delete(_VOTES).where(guard))
        else:
            done = connection.execute(update(_VOTES).where(guard).values(value=value, voted_at=now,
                                                                         ip_prefix=ip_prefix))
        if done.rowcount != 1:
            raise Retry()

    d_promote = (value == 1) - (old == 1)
    d_demote = (value == -1) - (old == -1)
    counters = connection.execute(
        update(_IDEAS)
        .where(_IDEAS.c.id == idea_id, _IDEAS.c.status.not_in(_CLOSED))
        .values(
            promote_count=_IDEAS.c.promote_count + d_promote,
            demote_count=_IDEAS.c.demote_count + d_demote,
            score=_IDEAS.c.score + (d_promote - d_demote),
            trending=_IDEAS.c.trending + vote_delta(old, existing.voted_at if existing else None, value, now),
        )
        .returning(_IDEAS.c.promote_count, _IDEAS.c.demote_count, _IDEAS.c.score)
    ).one_or_none()
    if counters is None:  # closed between our read and our write
        raise Retry()
    outbox.emit("idea.voted", idea_id=idea_id)
    return VoteResult(idea_id, value, counters.promote_count, counters.demote_count, counters.score, changed=True)


def vote(voter, idea_id: int, value, *, ip_prefix: str | None = None) -> VoteResult:
    """A member's vote: the site's rule on confirmed emails, the vote, and the follow that comes with it.

    Run it through ``database.run_transaction`` like ``cast_vote``. Withdrawing a vote keeps the
    follow, and stays open to a member whose address is not confirmed (a vote cast before the site
    asked for one can be taken back).
    """
    value = parse_value(value)
    if value:
        require_confirmed_email(voter)
    result = cast_vote(voter.id, idea_id, value, ip_prefix=ip_prefix)
    if result.changed and result.value:
        follow_automatically(voter, idea_id, "voted")
    return result


def votes_of(user, ideas: Iterable[Idea]) -> dict[int, int]:
    """{idea_id: value} of ``user``'s votes on ``ideas``, in one query (empty for visitors)."""
    ids = [idea.id for idea in ideas]
    if not ids or not getattr(user, "is_authenticated", False):
        return {}
    rows = db.session.execute(select(Vote.idea_id, Vote.value).where(Vote.user_id == user.id, Vote.idea_id.in_(ids)))
    return {idea_id: value for idea_id, value in rows}
