"""The trending rank: every vote weighted by how recent it is, kept in one indexed column.

trending(idea) = 2^(created/H) + Σ value_v · 2^(cast_v/H)      (times in seconds since EPOCH)

Divide by 2^(now/H) and this is the idea's score with each vote's weight halving every
H (a week) after it was cast, plus one "vote" for being submitted, so a new idea is seen and
a new idea with momentum overtakes old giants whose votes are long past. The division is
the same for every idea at a given moment, so the order never needs it: the column only
changes when a vote is cast, changed or retracted, by an atomic ``trending = trending + Δ``
in the same transaction, and ``ORDER BY trending DESC`` is served from an index with no
per-request computation and no periodic job.

Floats stay in range until about 2044 (2^(t/H) nears 2^1000). Before then, moving EPOCH
forward by N half-lives and dividing every row's value by 2^N in one UPDATE keeps the order
and the arithmetic; no command does that yet, since it is needed only in two decades.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

EPOCH = datetime(2025, 1, 1)
HALF_LIFE = timedelta(days=7)
_HALF_LIFE_SECONDS = HALF_LIFE.total_seconds()


def weight(at: datetime) -> float:
    """The weight of one vote cast at ``at``, on the common (undivided) scale."""
    return 2.0 ** ((at - EPOCH).total_seconds() / _HALF_LIFE_SECONDS)


def initial_trending(created_at: datetime) -> float:
    """A new idea counts as if it had one promote at its creation."""
    return weight(created_at)


def vote_delta(old_value: int, old_cast_at: datetime | None, new_value: int, now: datetime) -> float:
    """How much ``trending`` moves when a member's vote goes from old to new."""
    delta = new_value * weight(now) if new_value else 0.0
    if old_value and old_cast_at is not None:
        delta -= old_value * weight(old_cast_at)
    return delta


def recount(created_at: datetime, votes: list[tuple[int, datetime]]) -> float:
    """The exact value from the stored votes, for `votes verify`."""
    return initial_trending(created_at) + math.fsum(value * weight(at) for value, at in votes)


def decayed(trending: float, now: datetime) -> float:
    """The human-scale figure: trending divided by the common factor at ``now``."""
    return trending / weight(now)
