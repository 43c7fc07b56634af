"""Vote integrity: what looks like organised voting, and taking back the votes of banned members.

The report is read-only and grouped in SQL, so it stays a few indexed scans however many votes
there are, on SQLite and PostgreSQL alike; each list is cut at ``INTEGRITY_REPORT_LIMIT`` rows.
It points at accounts; deciding is left to an administrator (the ban is on the users page).
``void_banned_votes`` then deletes every vote cast by a banned member and recounts what they moved.
Like every service it flushes and never commits: the view or the command commits once.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import Float, case, cast, delete, extract, func, select, tuple_

from .. import outbox
from ..accounts.models import User
from ..audit.services import record
from ..extensions import db
from ..ideas.models import Idea
from ..timeutil import utcnow
from ..triage.models import MergedVote
from ..triage.services import recount_idea
from ..votes.models import Vote

ACCOUNTS_SHOWN = 25  # accounts named per row of the report; the rest are counted
CANDIDATE_IDEAS = 500  # ideas whose new-account votes are scanned for bursts (those with the most)


@dataclass(frozen=True)
class Thresholds:
    """The report's settings (``INTEGRITY_*`` in the configuration), shown on the page beside the lists."""

    new_account_days: int
    burst_min_votes: int
    burst_window: timedelta
    burst_lookback_days: int
    network_min_accounts: int
    signup_min_accounts: int
    limit: int

    @classmethod
    def from_config(cls, config=None) -> Thresholds:
        config = config or current_app.config
        return cls(
            new_account_days=int(config["INTEGRITY_NEW_ACCOUNT_DAYS"]),
            burst_min_votes=int(config["INTEGRITY_BURST_MIN_VOTES"]),
            burst_window=timedelta(minutes=int(config["INTEGRITY_BURST_WINDOW_MINUTES"])),
            burst_lookback_days=int(config["INTEGRITY_BURST_LOOKBACK_DAYS"]),
            network_min_accounts=int(config["INTEGRITY_NETWORK_MIN_ACCOUNTS"]),
            signup_min_accounts=int(config["INTEGRITY_SIGNUP_MIN_ACCOUNTS"]),
            limit=int(config["INTEGRITY_REPORT_LIMIT"]),
        )


@dataclass(frozen=True)
class Account:
    id: int
    display_name: str
    email: str
    created_at: datetime
    is_banned: bool


@dataclass(frozen=True)
class Burst:
    """Votes on one idea from new accounts, all within one window."""

    idea_id: int
    title: str
    start: datetime
    end: datetime
    votes: int
    accounts: list[Account]


@dataclass(frozen=True)
class NetworkVotes:
    """Distinct accounts that voted on one idea from one network."""

    idea_id: int
    title: str
    network: str
    accounts_count: int
    promotes: int
    demotes: int
    accounts: list[Account]


@dataclass(frozen=True)
class SignupNetwork:
    """Accounts registered from one network."""

    network: str
    accounts_count: int
    first: datetime
    last: datetime
    accounts: list[Account]


@dataclass
class Report:
    thresholds: Thresholds
    bursts: list[Burst] = field(default_factory=list)
    networks: list[NetworkVotes] = field(default_factory=list)
    signups: list[SignupNetwork] = field(default_factory=list)
    banned_votes: int = 0
    banned_voted_ideas: int = 0


def _seconds_between(later, earlier):
    """``later - earlier`` in seconds, as SQL on either backend (SQLite keeps times as text)."""
    if db.engine.dialect.name == "sqlite":
        return (func.julianday(later) - func.julianday(earlier)) * 86400.0
    return cast(extract("epoch", later - earlier), Float)


def _accounts(ids) -> dict[int, Account]:
    ids = set(ids)
    if not ids:
        return {}
    rows = db.session.execute(
        select(User.id, User.display_name, User.email, User.created_at, User.is_banned).where(User.id.in_(ids))
    )
    return {row.id: Account(*row) for row in rows}


def _titles(idea_ids) -> dict[int, str]:
    ids = set(idea_ids)
    if not ids:
        return {}
    return dict(db.session.execute(select(Idea.id, Idea.title).where(Idea.id.in_(ids))).all())


def find_bursts(thresholds: Thresholds, now: datetime | None = None) -> list[Burst]:
    """Ideas that got ``burst_min_votes`` or more votes from new accounts within ``burst_window``.

    SQL keeps the votes cast by accounts at most ``new_account_days`` old at the time, of the last
    ``burst_lookback_days``, and groups them by idea: only ideas with enough of them are read
    further (at most ``CANDIDATE_IDEAS``). Their votes then come ordered by time, and one pass with
    two pointers finds each idea's fullest window. A vote changed later counts at its last change.
    """
    since = (now or utcnow()) - timedelta(days=thresholds.burst_lookback_days)
    new_vote = (
        Vote.voted_at >= since,
        _seconds_between(Vote.voted_at, User.created_at) <= thresholds.new_account_days * 86400,
    )
    counts = func.count(Vote.id)
    candidates = list(db.session.scalars(
        select(Vote.idea_id).join(User, User.id == Vote.user_id).where(*new_vote)
        .group_by(Vote.idea_id).having(counts >= thresholds.burst_min_votes)
        .order_by(counts.desc(), Vote.idea_id).limit(CANDIDATE_IDEAS)
    ))
    if not candidates:
        return []
    rows = db.session.execute(
        select(Vote.idea_id, Vote.user_id, Vote.voted_at).join(User, User.id == Vote.user_id)
        .where(Vote.idea_id.in_(candidates), *new_vote).order_by(Vote.idea_id, Vote.voted_at, Vote.id)
    ).all()
    by_idea: dict[int, list] = {}
    for row in rows:
        by_idea.setdefault(row.idea_id, []).append(row)
    found = []
    for idea_id, votes in by_idea.items():
        best = _fullest_window(votes, thresholds.burst_window)
        if best[1] - best[0] >= thresholds.burst_min_votes:
            found.append((idea_id, votes[best[0]:best[1]]))
    found.sort(key=lambda item: (-len(item[1]), item[0]))
    found = found[:thresholds.limit]
    accounts = _accounts(v.user_id for _, votes in found for v in votes[:ACCOUNTS_SHOWN])
    titles = _titles(idea_id for idea_id, _ in found)
    return [
        Burst(idea_id, titles.get(idea_id, ""), votes[0].voted_at, votes[-1].voted_at, len(votes),
              [accounts[v.user_id] for v in votes[:ACCOUNTS_SHOWN] if v.user_id in accounts])
        for idea_id, votes in found
    ]


def _fullest_window(votes: list, window: timedelta) -> tuple[int, int]:
    """(start, end) indexes of the most votes (ordered by time) that fit in ``window``; the earliest on ties."""
    best, start = (0, 0), 0
    for end in range(len(votes)):
        while votes[end].voted_at - votes[start].voted_at > window:
            start += 1
        if end + 1 - start > best[1] - best[0]:
            best = (start, end + 1)
    return best


def find_network_votes(thresholds: Thresholds) -> list[NetworkVotes]:
    """(idea, network) pairs from which ``network_min_accounts`` or more accounts voted (one vote each)."""
    accounts_count = func.count(Vote.id)  # one vote per member per idea: votes are accounts
    rows = db.session.execute(
        select(Vote.idea_id, Vote.ip_prefix, accounts_count.label("n"),
               func.sum(case((Vote.value == 1, 1), else_=0)).label("promotes"),
               func.sum(case((Vote.value == -1, 1), else_=0)).label("demotes"))
        .where(Vote.ip_prefix.is_not(None))
        .group_by(Vote.idea_id, Vote.ip_prefix)
        .having(accounts_count >= thresholds.network_min_accounts)
        .order_by(accounts_count.desc(), Vote.idea_id, Vote.ip_prefix).limit(thresholds.limit)
    ).all()
    if not rows:
        return []
    voters: dict[tuple[int, str], list[int]] = {}
    for idea_id, prefix, user_id in db.session.execute(
        select(Vote.idea_id, Vote.ip_prefix, Vote.user_id)
        .where(tuple_(Vote.idea_id, Vote.ip_prefix).in_([(r.idea_id, r.ip_prefix) for r in rows]))
        .order_by(Vote.voted_at, Vote.id)
    ):
        voters.setdefault((idea_id, prefix), []).append(user_id)
    shown = {key: ids[:ACCOUNTS_SHOWN] for key, ids in voters.items()}
    accounts = _accounts(user_id for ids in shown.values() for user_id in ids)
    titles = _titles(r.idea_id for r in rows)
    return [
        NetworkVotes(r.idea_id, titles.get(r.idea_id, ""), r.ip_prefix, r.n, int(r.promotes), int(r.demotes),
                     [accounts[i] for i in shown.get((r.idea_id, r.ip_prefix), []) if i in accounts])
        for r in rows
    ]


def find_signup_networks(thresholds: Thresholds) -> list[SignupNetwork]:
    """Networks from which ``signup_min_accounts`` or more accounts were registered."""
    count = func.count(User.id)
    rows = db.session.execute(
        select(User.signup_ip_prefix, count.label("n"), func.min(User.created_at).label("first"),
               func.max(User.created_at).label("last"))
        .where(User.signup_ip_prefix.is_not(None))
        .group_by(User.signup_ip_prefix).having(count >= thresholds.signup_min_accounts)
        .order_by(count.desc(), User.signup_ip_prefix).limit(thresholds.limit)
    ).all()
    # Every listed network's accounts in one read, the newest first, then cut per network.
    members: dict[str, list[Account]] = defaultdict(list)
    for prefix, *account in db.session.execute(
        select(User.signup_ip_prefix, User.id, User.display_name, User.email, User.created_at, User.is_banned)
        .where(User.signup_ip_prefix.in_([row.signup_ip_prefix for row in rows]))
        .order_by(User.created_at.desc(), User.id.desc())
    ):
        if len(members[prefix]) < ACCOUNTS_SHOWN:
            members[prefix].append(Account(*account))
    return [SignupNetwork(row.signup_ip_prefix, row.n, row.first, row.last, members[row.signup_ip_prefix])
            for row in rows]


def _banned_votes():
    return select(Vote.id).join(User, User.id == Vote.user_id).where(User.is_banned.is_(True))


def banned_votes_count() -> tuple[int, int]:
    """(votes, ideas) cast by banned members and still counted."""
    votes, ideas = db.session.execute(
        select(func.count(Vote.id), func.count(func.distinct(Vote.idea_id)))
        .join(User, User.id == Vote.user_id).where(User.is_banned.is_(True))
    ).one()
    return int(votes), int(ideas)


def integrity_report(thresholds: Thresholds | None = None, now: datetime | None = None) -> Report:
    """Every list of the report, with the votes of banned members that voiding would take back."""
    thresholds = thresholds or Thresholds.from_config()
    votes, ideas = banned_votes_count()
    return Report(thresholds, bursts=find_bursts(thresholds, now), networks=find_network_votes(thresholds),
                  signups=find_signup_networks(thresholds), banned_votes=votes, banned_voted_ideas=ideas)


@dataclass(frozen=True)
class VoidResult:
    votes: int
    ideas: int


def void_banned_votes(actor) -> VoidResult:
    """Delete every vote cast by a banned member and recount each idea they had voted on.

    The ideas' rows are locked first (PostgreSQL; SQLite has one writer), so a vote cast meanwhile
    by someone else either is counted by the recount or moves the recounted counters after it.
    Each idea gets ``idea.voted`` (the search index keeps its score); the headline counts ideas,
    not votes, and the leaderboards read the votes table within ``AGGREGATE_CACHE_SECONDS``.
    ``actor`` is None for the command line.
    """
    idea_ids = sorted(db.session.scalars(
        select(Vote.idea_id).join(User, User.id == Vote.user_id).where(User.is_banned.is_(True)).distinct()
    ))
    if not idea_ids:
        return VoidResult(0, 0)
    db.session.execute(select(Idea.id).where(Idea.id.in_(idea_ids)).order_by(Idea.id).with_for_update())
    # Only on the ideas locked and recounted here: a ban committed meanwhile waits for the next void.
    voided = db.session.execute(
        delete(Vote).where(Vote.id.in_(_banned_votes()), Vote.idea_id.in_(idea_ids))
        .execution_options(synchronize_session=False)
    ).rowcount
    # The votes a merge keeps for its undo go too, or undoing the merge would count them again.
    banned = select(User.id).where(User.is_banned.is_(True))
    db.session.execute(delete(MergedVote).where(MergedVote.user_id.in_(banned))
                       .execution_options(synchronize_session=False))
    for idea_id in idea_ids:
        recount_idea(idea_id)
        outbox.emit("idea.voted", idea_id=idea_id)
    record(actor, "votes.void_banned", ("votes", 0), after={"votes": voided, "ideas": len(idea_ids)})
    db.session.flush()
    return VoidResult(voided, len(idea_ids))
