"""How relevance weighs popularity: one formula for every search backend.

A backend computes a text score for each match (Whoosh: BM25 plus a bonus per query word in the
title), then ranks by ``final_score(text_score, vote_score)``:

    final = text × min(1 + POPULARITY_WEIGHT × ln(1 + max(votes, 0)), POPULARITY_MAX)

so 2 votes multiply the text score by 1.16, 10 by 1.36, 100 by 1.69, 223 by 1.81 and 785 or more
by 2 (the cap). An idea whose score is zero or below keeps its text score. The bound: votes at most
double a text score, so a match whose text score is more than twice another's always ranks above
it, however many votes the other has; between two matches of the same text score, the one with
more votes ranks first.
"""

from __future__ import annotations

from math import log1p

POPULARITY_WEIGHT = 0.15
POPULARITY_MAX = 2.0  # the most votes can multiply a text score by


def popularity(votes: int) -> float:
    """The factor an idea's vote score (promotes minus demotes) applies to its text score."""
    return min(1.0 + POPULARITY_WEIGHT * log1p(max(votes, 0)), POPULARITY_MAX)


def final_score(text_score: float, votes: int) -> float:
    """The relevance of a match: its text score, raised by the idea's votes."""
    return text_score * popularity(votes)
