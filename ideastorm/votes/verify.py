"""Recount every idea's votes and compare with the counters kept in the row."""

from __future__ import annotations

import math
from dataclasses import dataclass

from sqlalchemy import case, func, select, update

from ..extensions import db
from ..ideas.models import Idea
from ..ideas.ranking import recount
from .models import Vote

BATCH = 2000


@dataclass(frozen=True)
class CounterDifference:
    idea_id: int
    field: str
    stored: float
    counted: float


def find_differences(check_trending: bool = True) -> list[CounterDifference]:
    """Every counter that differs from a recount of the votes table (batched by idea id)."""
    differences: list[CounterDifference] = []
    last_id = 0
    while True:
        ideas = db.session.execute(
            select(Idea.id, Idea.promote_count, Idea.demote_count, Idea.score, Idea.trending, Idea.created_at)
            .where(Idea.id > last_id).order_by(Idea.id).limit(BATCH)
        ).all()
        if not ideas:
            return differences
        first, last_id = ideas[0].id, ideas[-1].id
        counts = {
            row.idea_id: row
            for row in db.session.execute(
                select(
                    Vote.idea_id,
                    func.sum(case((Vote.value == 1, 1), else_=0)).label("promotes"),
                    func.sum(case((Vote.value == -1, 1), else_=0)).label("demotes"),
                )
                .where(Vote.idea_id.between(first, last_id))
                .group_by(Vote.idea_id)
            )
        }
        by_idea: dict[int, list] = {}
        if check_trending:
            for idea_id, value, voted_at in db.session.execute(
                select(Vote.idea_id, Vote.value, Vote.voted_at).where(Vote.idea_id.between(first, last_id))
            ):
                by_idea.setdefault(idea_id, []).append((value, voted_at))
        for idea in ideas:
            row = counts.get(idea.id)
            promotes = int(row.promotes) if row else 0
            demotes = int(row.demotes) if row else 0
            for field, stored, counted in (
                ("promote_count", idea.promote_count, promotes),
                ("demote_count", idea.demote_count, demotes),
                ("score", idea.score, promotes - demotes),
            ):
                if stored != counted:
                    differences.append(CounterDifference(idea.id, field, stored, counted))
            if check_trending:
                expected = recount(idea.created_at, by_idea.get(idea.id, []))
                if not math.isclose(idea.trending, expected, rel_tol=1e-9, abs_tol=1e-6 * abs(expected) + 1e-9):
                    differences.append(CounterDifference(idea.id, "trending", idea.trending, expected))


def repair(differences: list[CounterDifference]) -> None:
    """Write the recounted values (the caller commits)."""
    per_idea: dict[int, dict] = {}
    for difference in differences:
        per_idea.setdefault(difference.idea_id, {})[difference.field] = difference.counted
    for idea_id, values in per_idea.items():  # one UPDATE per idea keeps score = promotes - demotes
        db.session.execute(update(Idea).where(Idea.id == idea_id).values(values))
    db.session.flush()
