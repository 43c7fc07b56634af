"""Promote / demote, IdeaStorm style, with counters that always equal the stored votes.

Concurrency: no lock is held while deciding. The vote row is changed with a guard on the
value that was read (``WHERE value = :old``), a new vote relies on the unique constraint,
and the idea's counters move by an atomic ``x = x + Δ`` guarded by "still open for votes",
all in one transaction. If any guard finds the world changed, the transaction is rolled
back and replayed, so concurrent voters on PostgreSQL or SQLite never corrupt a counter.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from sqlalchemy import and_, delete, insert, select, update
from sqlalchemy.exc import IntegrityError, OperationalError

from .. import outbox
from ..extensions import db
from ..ideas.models import CLOSED_STATUSES, Idea, Status
from ..ideas.ranking import vote_delta
from ..timeutil import utcnow
from .models import Vote

VALID_VALUES = (-1, 0, 1)
MAX_ATTEMPTS = 8


class VoteError(Exception):
    code = 422


class InvalidVote(VoteError):
    code = 422


class IdeaNotFound(VoteError):
    code = 404


class VotingClosed(VoteError):
    code = 409

    def __init__(self, status: str):
        super().__init__(status)
        self.status = status


class VoteContention(VoteError):
    code = 409


class _Retry(Exception):
    """The state read at the start of the attempt changed under us."""


@dataclass(frozen=True)
class VoteResult:
    idea_id: int
    value: int  # the member's vote now: -1, 0 (none) or 1
    promote_count: int
    demote_count: int
    score: int
    changed: bool


def parse_value(raw) -> int:
    """Accept 1, -1 or 0 (as int or text); anything else is InvalidVote."""
    if isinstance(raw, bool):
        raise InvalidVote(raw)
    try:
        value = int(str(raw).strip())
    except (TypeError, ValueError):
        raise InvalidVote(raw) from None
    if value not in VALID_VALUES:
        raise InvalidVote(raw)
    return value


def cast_vote(user_id: int, idea_id: int, value: int) -> VoteResult:
    """Set ``user_id``'s vote on ``idea_id`` to ``value`` (0 retracts). Commits."""
    value = parse_value(value)
    for _attempt in range(MAX_ATTEMPTS):
        try:
            result = _cast_vote_once(user_id, idea_id, value)
            db.session.commit()
            return result
        except (_Retry, IntegrityError) as exc:
            db.session.rollback()
            last = exc
        except OperationalError as exc:  # SQLite: a concurrent writer invalidated our snapshot
            db.session.rollback()
            if "locked" not in str(exc).lower() and "deadlock" not in str(exc).lower():
                raise
            last = exc
        except VoteError:
            db.session.rollback()
            raise
    raise VoteContention("too much contention") from last


def _cast_vote_once(user_id: int, idea_id: int, value: int) -> VoteResult:
    idea = db.session.execute(
        select(Idea.status, Idea.promote_count, Idea.demote_count, Idea.score).where(Idea.id == idea_id)
    ).one_or_none()
    if idea is None:
        raise IdeaNotFound(idea_id)
    if Status(idea.status) in CLOSED_STATUSES:
        raise VotingClosed(idea.status)
    existing = db.session.execute(
        select(Vote.id, Vote.value, Vote.voted_at).where(Vote.idea_id == idea_id, Vote.user_id == user_id)
    ).one_or_none()
    old = existing.value if existing else 0
    if old == value:
        return VoteResult(idea_id, value, idea.promote_count, idea.demote_count, idea.score, changed=False)

    now = utcnow()
    if existing is None:
        db.session.execute(insert(Vote).values(idea_id=idea_id, user_id=user_id, value=value, voted_at=now))
    else:
        guard = and_(Vote.id == existing.id, Vote.value == old)
        if value == 0:
            done = db.session.execute(delete(Vote).where(guard))
        else:
            done = db.session.execute(update(Vote).where(guard).values(value=value, voted_at=now))
        if done.rowcount != 1:
            raise _Retry()

    d_promote = (value == 1) - (old == 1)
    d_demote = (value == -1) - (old == -1)
    counters = db.session.execute(
        update(Idea)
        .where(Idea.id == idea_id, Idea.status.not_in([s.value for s in CLOSED_STATUSES]))
        .values(
            promote_count=Idea.promote_count + d_promote,
            demote_count=Idea.demote_count + d_demote,
            score=Idea.score + (d_promote - d_demote),
            trending=Idea.trending + vote_delta(old, existing.voted_at if existing else None, value, now),
        )
        .returning(Idea.promote_count, Idea.demote_count, Idea.score)
        .execution_options(synchronize_session=False)
    ).one_or_none()
    if counters is None:  # closed between our read and our write
        raise _Retry()
    outbox.emit("idea.voted", idea_id=idea_id)
    return VoteResult(idea_id, value, counters.promote_count, counters.demote_count, counters.score, changed=True)


def votes_of(user, ideas: Iterable[Idea]) -> dict[int, int]:
    """{idea_id: value} of ``user``'s votes on ``ideas``, in one query (empty for visitors)."""
    ids = [idea.id for idea in ideas]
    if not ids or not getattr(user, "is_authenticated", False):
        return {}
    rows = db.session.execute(select(Vote.idea_id, Vote.value).where(Vote.user_id == user.id, Vote.idea_id.in_(ids)))
    return {idea_id: value for idea_id, value in rows}
