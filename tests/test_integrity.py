"""The vote-integrity report (/admin/integrity) and voiding the votes of banned members.

The report must name a burst of new accounts and a network of accounts, and stay quiet about
ordinary voting; voiding must take back only banned members' votes and leave every counter equal
to what ``flask votes verify`` recounts.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from ideastorm.accounts.models import User
from ideastorm.audit.models import AuditEntry
from ideastorm.extensions import db
from ideastorm.ideas.models import Idea
from ideastorm.outbox import OutboxEvent
from ideastorm.timeutil import utcnow
from ideastorm.votes.models import Vote
from tests.conftest import PASSWORD
from tests.helpers import cast_vote, signed_in_client


def _age(user, days: float) -> None:
    db.session.execute(update(User).where(User.id == user.id).values(created_at=utcnow() - timedelta(days=days)))
    db.session.commit()


def _vote_at(user, idea, days_ago: float) -> None:
    cast_vote(user.id, idea.id, 1)
    db.session.execute(update(Vote).where(Vote.user_id == user.id, Vote.idea_id == idea.id)
                       .values(voted_at=utcnow() - timedelta(days=days_ago)))
    db.session.commit()


def _rows(page: str, kind: str) -> list[str]:
    """The <tr> elements of one list of the report."""
    return re.findall(rf'<tr class="integrity-{kind}".*?</tr>', page, re.S)


def _vote_from(app, user, idea, address: str) -> None:
    """A vote through the site from ``address``, by an account a year old (so no burst of new accounts)."""
    _age(user, 365)
    client = signed_in_client(app, user)
    response = client.post_form(f"/ideas/{idea.id}/vote", {"value": "1"}, environ_base={"REMOTE_ADDR": address})
    assert response.status_code == 302


def test_the_report_finds_a_burst_and_networks_and_ignores_normal_voting(app, client, make_user, make_idea, auth):
    app.config["INTEGRITY_SIGNUP_MIN_ACCOUNTS"] = 3
    admin = make_user("admin")
    burst, normal, spread, network = (make_idea(title=t) for t in (
        "Burst target idea", "Ordinary popular idea", "Slowly voted idea", "Voted from one office"))
    # Five accounts made today vote on one idea within the hour: a burst.
    for _ in range(5):
        cast_vote(make_user().id, burst.id, 1)
    # Old accounts voting at once, and new accounts voting days apart: ordinary.
    for _ in range(6):
        old = make_user()
        _age(old, 60)
        cast_vote(old.id, normal.id, 1)
    for day in range(5):
        newcomer = make_user()
        _age(newcomer, day * 2 + 1)
        _vote_at(newcomer, spread, day * 2)
    # Three accounts vote from one /24 on one idea; two from another network do not reach the threshold.
    for n in range(3):
        _vote_from(app, make_user(), network, f"198.51.100.{10 + n}")
    for n in range(2):
        _vote_from(app, make_user(), network, f"192.0.2.{10 + n}")
    # Three accounts registered from one network.
    for n in range(3):
        visitor = app.test_client()
        response = visitor.post_form("/register", {"email": f"signup{n}@example.com", "display_name": f"Signup {n}",
                                                   "password": PASSWORD, "confirm": PASSWORD},
                                     environ_base={"REMOTE_ADDR": f"203.0.113.{n + 1}"})
        assert response.status_code in (200, 302), response.get_data(as_text=True)[:300]
    assert db.session.scalar(select(func.count()).where(User.signup_ip_prefix == "203.0.113.0/24")) == 3

    auth.login(admin)
    page = client.get("/admin/integrity").get_data(as_text=True)
    bursts = _rows(page, "burst")
    assert len(bursts) == 1 and f'data-idea="{burst.id}"' in bursts[0] and "Burst target idea" in bursts[0]
    assert bursts[0].count('href="/users/') == 5 and bursts[0].count("/admin/users?q=") == 5
    networks = _rows(page, "network")
    assert len(networks) == 1 and 'data-network="198.51.100.0/24"' in networks[0]
    assert f'data-idea="{network.id}"' in networks[0] and "3 up, 0 down" in networks[0]
    signups = _rows(page, "signup")
    assert len(signups) == 1 and 'data-network="203.0.113.0/24"' in signups[0] and signups[0].count("/users/") == 3
    assert "Signup 0" in signups[0]
    assert "No banned account has a vote counted." in page
    assert 'href="/admin/integrity"' in client.get("/admin").get_data(as_text=True)


@pytest.mark.parametrize("role, expected", [("visitor", 302), ("member", 403), ("staff", 403), ("banned", 302)])
def test_only_administrators_reach_the_report(app, client, make_user, role, expected):
    if role != "visitor":
        user = make_user("member" if role == "banned" else role)
        client = signed_in_client(app, user)
        if role == "banned":
            db.session.execute(update(User).where(User.id == user.id).values(is_banned=True))
            db.session.commit()
    for url in ("/admin/integrity", "/admin/integrity/void-banned"):
        response = client.get(url)
        assert response.status_code == expected, (role, url)
        if expected == 302:
            assert response.headers["Location"].startswith("/login"), (role, url)
    assert client.post_form("/admin/integrity/void-banned", {"confirm": "1"}).status_code == expected


def test_voiding_takes_back_only_banned_members_votes(app, client, runner, make_user, make_idea, auth):
    admin = make_user("admin")
    first, second, untouched = (make_idea(title=t) for t in ("First idea to clean", "Second idea to clean",
                                                              "Idea nobody banned voted on"))
    spammer, honest = make_user(), make_user()
    for idea in (first, second):
        cast_vote(spammer.id, idea.id, 1)
        cast_vote(honest.id, idea.id, -1)
    cast_vote(honest.id, untouched.id, 1)
    auth.login(admin)
    assert client.post_form(f"/admin/users/{spammer.id}/ban").status_code == 302

    report = client.get("/admin/integrity").get_data(as_text=True)
    assert "Banned accounts still have 2 vote(s) counted, on 2 idea(s)." in report
    confirm = client.get("/admin/integrity/void-banned").get_data(as_text=True)
    assert "2 vote(s) cast by banned accounts will be deleted" in confirm
    # Without the confirmation's field, nothing happens: the confirmation page.
    response = client.post_form("/admin/integrity/void-banned")
    assert response.status_code == 302 and response.headers["Location"] == "/admin/integrity/void-banned"
    assert db.session.scalar(select(func.count()).select_from(Vote)) == 5

    response = client.post_form("/admin/integrity/void-banned", {"confirm": "1"}, follow_redirects=True)
    assert "Votes voided: 2. Ideas recounted: 2." in response.get_data(as_text=True)
    db.session.expire_all()
    remaining = db.session.execute(select(Vote.user_id, Vote.idea_id)).all()
    assert sorted(remaining) == sorted([(honest.id, first.id), (honest.id, second.id), (honest.id, untouched.id)])
    for idea in (first, second):
        stored = db.session.get(Idea, idea.id)
        assert (stored.promote_count, stored.demote_count, stored.score) == (0, 1, -1)
    verify = runner.invoke(args=["votes", "verify"])
    assert verify.exit_code == 0, verify.output
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "votes.void_banned")).one()
    assert entry.actor_id == admin.id and entry.after == {"votes": 2, "ideas": 2}
    voted = [e.payload["idea_id"]
             for e in db.session.scalars(select(OutboxEvent).where(OutboxEvent.topic == "idea.voted"))]
    assert voted.count(first.id) == 3 and voted.count(second.id) == 3  # two votes, then the recount
    assert "No banned account has a vote counted." in client.get("/admin/integrity").get_data(as_text=True)

    # Again: nothing to void, said so.
    again = client.post_form("/admin/integrity/void-banned", {"confirm": "1"}, follow_redirects=True)
    assert "nothing to void" in again.get_data(as_text=True)


def test_the_command_voids_too(runner, make_user, make_idea):
    idea = make_idea()
    banned, member = make_user(), make_user()
    cast_vote(banned.id, idea.id, 1)
    cast_vote(member.id, idea.id, 1)
    db.session.execute(update(User).where(User.id == banned.id).values(is_banned=True))
    db.session.commit()
    result = runner.invoke(args=["votes", "void-banned"])
    assert result.exit_code == 0 and "1 vote(s) of banned accounts voided on 1 idea(s)." in result.output
    assert runner.invoke(args=["votes", "verify"]).exit_code == 0
    db.session.expire_all()
    assert db.session.get(Idea, idea.id).promote_count == 1
    assert db.session.scalar(select(AuditEntry.actor_id).where(AuditEntry.action == "votes.void_banned")) is None


def test_undoing_a_merge_after_voiding_does_not_bring_the_votes_back(runner, make_user, make_idea):
    from ideastorm.triage.services import mark_duplicate, undo_duplicate

    staff = make_user("staff")
    duplicate, original = make_idea(title="Dark mode for the app"), make_idea(title="A dark theme everywhere")
    banned, member = make_user(), make_user()
    cast_vote(banned.id, duplicate.id, 1)
    cast_vote(member.id, duplicate.id, 1)
    mark_duplicate(staff, duplicate, original)  # the merge keeps both votes for its undo
    db.session.commit()
    db.session.execute(update(User).where(User.id == banned.id).values(is_banned=True))
    db.session.commit()
    assert runner.invoke(args=["votes", "void-banned"]).exit_code == 0
    undo_duplicate(staff, db.session.get(Idea, duplicate.id))
    db.session.commit()
    assert runner.invoke(args=["votes", "verify"]).exit_code == 0
    voters = db.session.scalars(select(Vote.user_id).where(Vote.idea_id == duplicate.id)).all()
    assert voters == [member.id]
