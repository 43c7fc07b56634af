"""Realistic demo data, deterministic for a given seed, inserted in bulk.

Counters are computed here from the very votes inserted, so `votes verify` holds after a seed.
"""

from __future__ import annotations

import bisect
import itertools
import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable

from sqlalchemy import func, insert, select

from ..accounts.models import User
from ..accounts.services import free_handle, handle_stem
from ..notifications.models import Follow
from ..roles import Role
from ..comments.models import Comment
from ..extensions import db
from ..ideas import counters
from ..ideas.defaults import ensure_default_categories
from ..ideas.models import CLOSED_STATUSES, Category, Idea, Status, StatusChange, Tag, idea_tags
from ..ideas.ranking import recount
from ..timeutil import utcnow
from ..votes.models import Vote
from . import corpus

CHUNK = 5000
HISTORY_DAYS = 365
# Share of ideas in each status, roughly as in a mature public backlog.
STATUS_WEIGHTS = [
    (Status.NEW, 62), (Status.UNDER_REVIEW, 12), (Status.PLANNED, 7), (Status.IN_PROGRESS, 4),
    (Status.IMPLEMENTED, 7), (Status.DECLINED, 6), (Status.DUPLICATE, 2),
]
TRIAGE_PATH = {
    Status.UNDER_REVIEW: [Status.UNDER_REVIEW],
    Status.PLANNED: [Status.UNDER_REVIEW, Status.PLANNED],
    Status.IN_PROGRESS: [Status.UNDER_REVIEW, Status.PLANNED, Status.IN_PROGRESS],
    Status.IMPLEMENTED: [Status.UNDER_REVIEW, Status.PLANNED, Status.IN_PROGRESS, Status.IMPLEMENTED],
    Status.DECLINED: [Status.UNDER_REVIEW, Status.DECLINED],
    Status.DUPLICATE: [Status.DUPLICATE],
}

Progress = Callable[[int], None]


@dataclass
class SeedReport:
    users: int = 0
    ideas: int = 0
    votes: int = 0
    comments: int = 0
    idea_ids: list[int] = field(default_factory=list)


def steps(ideas: int, users: int, votes: int) -> int:
    """How many progress units `seed` reports (for a progress bar's length)."""
    return (users + 1) + ideas + votes + ideas


def _chunks(rows: list, size: int = CHUNK):
    for start in range(0, len(rows), size):
        yield rows[start:start + size]


def add_french_category_names() -> None:
    """French names and descriptions for the default categories that have none yet."""
    for category in db.session.scalars(select(Category).where(Category.slug.in_(corpus.CATEGORIES_FR))):
        name_fr, description_fr = corpus.CATEGORIES_FR[category.slug]
        category.name_fr = category.name_fr or name_fr
        category.description_fr = category.description_fr or description_fr
    db.session.flush()


def seed(*, ideas: int = 300, users: int = 60, votes: int = 3000, seed: int = 1,
         progress: Progress | None = None) -> SeedReport:
    """Add demo users, ideas, votes, comments and triage history (the caller commits, then indexes ``idea_ids``)."""
    rng = random.Random(seed)
    tick = progress or (lambda n: None)
    now = utcnow().replace(hour=0, minute=0, second=0, microsecond=0)
    start = now - timedelta(days=HISTORY_DAYS)
    report = SeedReport()

    ensure_default_categories()
    add_french_category_names()
    categories = db.session.scalars(select(Category.id).where(Category.is_archived.is_(False))).all()

    # People: members and one R&D account. Demo accounts have no password: nobody can sign in as them.
    run = db.session.scalar(select(func.count()).select_from(User))
    taken_handles = set(db.session.scalars(select(User.handle).where(User.handle.is_not(None))))

    def handle(name: str) -> str:
        found = free_handle(handle_stem(name), taken_handles)
        taken_handles.add(found)
        return found

    user_rows = []
    for i in range(users):
        first, last = rng.choice(corpus.FIRST_NAMES), rng.choice(corpus.LAST_NAMES)
        joined = start + timedelta(seconds=rng.randrange(HISTORY_DAYS * 86400 // 2))
        user_rows.append({
            "email": f"demo{run}-{i}@demo.ideastorm.invalid",
            "display_name": f"{first} {last}",
            "handle": handle(f"{first} {last}"),
            "password_hash": None,
            "role": Role.MEMBER.value,
            "locale": rng.choice(["en", "fr", None]),
            "is_banned": False,
            "created_at": joined,
            "email_verified_at": joined,
        })
    user_rows.append({
        "email": f"demo{run}-staff@demo.ideastorm.invalid", "display_name": "R&D Team", "handle": handle("R&D Team"),
        "password_hash": None, "role": Role.STAFF.value, "locale": None, "is_banned": False, "created_at": start,
        "email_verified_at": start,
    })
    user_ids = []
    for chunk in _chunks(user_rows):
        user_ids += db.session.scalars(
            insert(User).returning(User.id, sort_by_parameter_order=True), chunk
        ).all()
        tick(len(chunk))
    staff_id, member_ids = user_ids[-1], user_ids[:-1]
    report.users = len(user_ids)

    tag_names = corpus.TAGS
    existing_tags = dict(db.session.execute(select(Tag.name, Tag.id)).all())
    missing = [{"name": t} for t in tag_names if t not in existing_tags]
    if missing:
        db.session.execute(insert(Tag), missing)
    tag_ids = dict(db.session.execute(select(Tag.name, Tag.id).where(Tag.name.in_(tag_names))).all())

    # Ideas, with a popularity that makes a few of them giants, as in real backlogs.
    statuses = [s for s, _ in STATUS_WEIGHTS]
    weights = [w for _, w in STATUS_WEIGHTS]
    idea_rows, idea_meta = [], []
    for i in range(ideas):
        french = rng.random() < 0.35
        subject = rng.choice(corpus.SUBJECTS_FR if french else corpus.SUBJECTS_EN)
        title = rng.choice(corpus.TITLES_FR if french else corpus.TITLES_EN).format(s=subject)
        title = title[0].upper() + title[1:]
        body = "\n\n".join([
            rng.choice(corpus.REASONS_FR if french else corpus.REASONS_EN),
            rng.choice(corpus.PROPOSALS_FR if french else corpus.PROPOSALS_EN),
        ])
        created = start + timedelta(seconds=rng.randrange(HISTORY_DAYS * 86400))
        status = rng.choices(statuses, weights)[0] if i > 0 else Status.NEW
        idea_rows.append({
            "title": title[:140], "description": body, "author_id": rng.choice(member_ids),
            "category_id": rng.choice(categories) if categories else None,
            "status": status.value, "created_at": created, "updated_at": created,
            "promote_count": 0, "demote_count": 0, "score": 0, "comment_count": 0,
            "trending": 0.0, "is_hidden": False, "comments_locked": False,
        })
        idea_meta.append({
            "popularity": rng.paretovariate(1.2), "positivity": rng.uniform(0.55, 0.95),
            "tags": rng.sample(tag_names, rng.randint(0, 3)), "french": french,
        })
    idea_ids = []
    for chunk in _chunks(idea_rows):
        idea_ids += db.session.scalars(insert(Idea).returning(Idea.id, sort_by_parameter_order=True), chunk).all()
        tick(len(chunk))
    report.ideas = len(idea_ids)

    tag_rows = [{"idea_id": idea_id, "tag_id": tag_ids[t]}
                for idea_id, meta in zip(idea_ids, idea_meta) for t in meta["tags"]]
    for chunk in _chunks(tag_rows):
        db.session.execute(insert(idea_tags), chunk)

    # Triage history: each triaged idea walked its path with official responses.
    closed_at: dict[int, datetime] = {}
    history_rows = []
    for index, (idea_id, row) in enumerate(zip(idea_ids, idea_rows)):
        status = Status(row["status"])
        if status == Status.NEW:
            continue
        when, previous = row["created_at"], Status.NEW
        for step in TRIAGE_PATH[status]:
            when = min(when + timedelta(days=rng.uniform(1, 30)), now - timedelta(minutes=1))
            responses = corpus.RESPONSES.get(step.value)
            history_rows.append({
                "idea_id": idea_id, "actor_id": staff_id, "from_status": previous.value,
                "to_status": step.value, "created_at": when,
                "response": rng.choice(responses) if responses and rng.random() < 0.8 else None,
            })
            previous = step
        row["status_changed_at"] = when
        if status in CLOSED_STATUSES:
            closed_at[idea_id] = when
        if status == Status.DUPLICATE and index > 0:
            row["duplicate_of_id"] = idea_ids[rng.randrange(index)]
    for chunk in _chunks(history_rows):
        db.session.execute(insert(StatusChange), chunk)

    # Votes: unique (member, idea) pairs, more on popular ideas, cast while the idea was open.
    votable = [(i, idea_id) for i, idea_id in enumerate(idea_ids) if idea_rows[i]["status"] != Status.DUPLICATE.value]
    capacity = len(votable) * len(member_ids)
    votes = min(votes, capacity)
    cumulative = list(itertools.accumulate(idea_meta[i]["popularity"] for i, _ in votable))
    seen: set[tuple[int, int]] = set()
    vote_rows = []
    tally: dict[int, list] = defaultdict(list)
    attempts = 0
    while len(vote_rows) < votes and attempts < votes * 20:
        attempts += 1
        i, idea_id = votable[bisect.bisect_left(cumulative, rng.random() * cumulative[-1])] if attempts < votes * 10 else rng.choice(votable)
        user_id = rng.choice(member_ids)
        if (user_id, idea_id) in seen:
            continue
        seen.add((user_id, idea_id))
        opened = idea_rows[i]["created_at"]
        closes = closed_at.get(idea_id, now)
        voted_at = opened + (closes - opened) * (rng.random() ** 0.7)
        value = 1 if rng.random() < idea_meta[i]["positivity"] else -1
        vote_rows.append({"idea_id": idea_id, "user_id": user_id, "value": value, "voted_at": voted_at})
        tally[idea_id].append((value, voted_at))
    for chunk in _chunks(vote_rows):
        db.session.execute(insert(Vote), chunk)
        tick(len(chunk))
    report.votes = len(vote_rows)

    # Comments, then every counter from what was inserted.
    comment_rows = []
    for i, idea_id in enumerate(idea_ids):
        count = min(int(rng.expovariate(1 / (0.5 + idea_meta[i]["popularity"]))), 12)
        french = idea_meta[i]["french"]
        for _ in range(count):
            comment_rows.append({
                "idea_id": idea_id, "author_id": rng.choice(member_ids),
                "body": rng.choice(corpus.COMMENTS_FR if french else corpus.COMMENTS_EN),
                "created_at": idea_rows[i]["created_at"] + timedelta(hours=rng.uniform(1, 24 * 60)),
                "is_hidden": False,
            })
    for row in comment_rows:
        row["created_at"] = min(row["created_at"], now)
        row["updated_at"] = row["created_at"]
    for chunk in _chunks(comment_rows):
        db.session.execute(insert(Comment), chunk)
    report.comments = len(comment_rows)
    # Authors and commenters follow what they wrote on, as the site's default settings do.
    follows = {(row["author_id"], row["idea_id"]): "commented" for row in comment_rows}
    follows.update({(row["author_id"], idea_id): "submitted" for idea_id, row in zip(idea_ids, idea_rows)})
    for chunk in _chunks([{"user_id": u, "idea_id": i, "reason": reason, "created_at": now}
                          for (u, i), reason in follows.items()]):
        db.session.execute(insert(Follow), chunk)
    comment_counts = defaultdict(int)
    for row in comment_rows:
        comment_counts[row["idea_id"]] += 1

    update_rows = []
    for idea_id, row in zip(idea_ids, idea_rows):
        cast = tally.get(idea_id, [])
        promotes = sum(1 for value, _ in cast if value == 1)
        demotes = len(cast) - promotes
        update_rows.append({
            "b_id": idea_id, "promote_count": promotes, "demote_count": demotes, "score": promotes - demotes,
            "trending": recount(row["created_at"], cast), "comment_count": comment_counts[idea_id],
            "status_changed_at": row.get("status_changed_at"), "duplicate_of_id": row.get("duplicate_of_id"),
        })
    statement = (
        Idea.__table__.update()
        .where(Idea.__table__.c.id == db.bindparam("b_id"))
        .values({name: db.bindparam(name) for name in update_rows[0] if name != "b_id"})
        if update_rows else None
    )
    for chunk in _chunks(update_rows):
        db.session.execute(statement, chunk)
        tick(len(chunk))
    counters.recount()  # the bulk inserts bypass the services that keep the headline counters
    report.idea_ids = idea_ids
    return report

