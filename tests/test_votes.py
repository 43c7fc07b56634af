import re

import pytest
from sqlalchemy import func, select

from ideastorm.extensions import db
from ideastorm.ideas.models import Idea
from ideastorm.votes.models import Vote
from ideastorm.votes.verify import find_differences


def _counters(idea_id):
    db.session.expire_all()
    idea = db.session.get(Idea, idea_id)
    return idea.promote_count, idea.demote_count, idea.score


def _vote(client, idea, value, **kwargs):
    return client.post_form(f"/ideas/{idea.id}/vote", {"value": value}, **kwargs)


def test_promote_change_retract_as_plain_form_posts(client, member, make_idea):
    idea = make_idea()
    response = _vote(client, idea, "1")
    assert response.status_code == 302 and response.headers["Location"] == f"/ideas/{idea.id}"
    assert _counters(idea.id) == (1, 0, 1)
    page = client.get(f"/ideas/{idea.id}").get_data(as_text=True)
    assert 'data-score="1" data-promotes="1" data-demotes="0"' in page
    assert 'aria-pressed="true"' in page

    _vote(client, idea, "-1")  # change
    assert _counters(idea.id) == (0, 1, -1)
    _vote(client, idea, "-1")  # same again: nothing changes
    assert _counters(idea.id) == (0, 1, -1)
    _vote(client, idea, "0")  # retract
    assert _counters(idea.id) == (0, 0, 0)
    assert db.session.scalar(select(func.count()).select_from(Vote)) == 0
    assert find_differences() == []


def test_vote_returns_to_the_page_it_came_from(client, member, make_idea):
    idea = make_idea()
    response = client.post_form(f"/ideas/{idea.id}/vote", {"value": "1", "next": "/ideas?sort=new"})
    assert response.headers["Location"] == "/ideas?sort=new"
    response = client.post_form(f"/ideas/{idea.id}/vote", {"value": "0", "next": "https://evil.example"})
    assert response.headers["Location"] == f"/ideas/{idea.id}"


def test_htmx_vote_swaps_the_widget(client, member, make_idea):
    idea = make_idea()
    response = client.htmx_post(f"/ideas/{idea.id}/vote", {"value": "1"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert page.lstrip().startswith(f'<div class="vote-widget voted-up" id="vote-{idea.id}"')
    assert 'data-score="1"' in page and "<html" not in page
    assert re.search(r'name="value" value="0" class="vote-button promote"', page)  # pressing again retracts


def test_author_vote_is_not_automatic(client, member, make_idea):
    idea = make_idea(member)
    assert _counters(idea.id) == (0, 0, 0)
    _vote(client, idea, "1")
    assert _counters(idea.id) == (1, 0, 1)


@pytest.mark.parametrize("value", ["7", "2", "-2", "", "one", "1.5", "true"])
def test_invalid_vote_values_are_refused(client, member, make_idea, value):
    idea = make_idea()
    _vote(client, idea, "1")
    response = _vote(client, idea, value)
    assert response.status_code == 422
    assert "A vote is 1 (promote), -1 (demote) or 0 (retract)" in response.get_data(as_text=True)
    assert _counters(idea.id) == (1, 0, 1)


def test_vote_on_missing_idea_is_404(client, member):
    assert _vote(client, type("Missing", (), {"id": 424242})(), "1").status_code == 404


@pytest.mark.parametrize("status, label", [
    ("implemented", "Implemented"), ("declined", "Declined"), ("duplicate", "Duplicate"),
])
def test_closed_ideas_refuse_votes_with_409(client, member, make_idea, make_user, status, label):
    from tests.helpers import cast_vote

    idea = make_idea()
    cast_vote(make_user().id, idea.id, 1)
    idea.status = status
    db.session.commit()
    response = _vote(client, idea, "-1")
    assert response.status_code == 409
    assert f"Voting is closed: this idea is {label}." in response.get_data(as_text=True)
    htmx = client.htmx_post(f"/ideas/{idea.id}/vote", {"value": "-1"})
    assert htmx.status_code == 409 and f"this idea is {label}" in htmx.get_data(as_text=True)
    assert _counters(idea.id) == (1, 0, 1)
    page = client.get(f"/ideas/{idea.id}").get_data(as_text=True)
    assert "Voting closed" in page and 'data-score="1"' in page


def test_visitor_must_log_in_to_vote(client, make_idea):
    idea = make_idea()
    page = client.get(f"/ideas/{idea.id}").get_data(as_text=True)
    assert "Log in to vote" in page
    response = _vote(client, idea, "1")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    assert _counters(idea.id) == (0, 0, 0)


def test_hidden_idea_cannot_be_voted_by_members(client, member, make_idea):
    idea = make_idea(hidden=True)
    assert _vote(client, idea, "1").status_code == 404
    assert _counters(idea.id) == (0, 0, 0)


def test_the_database_refuses_a_second_vote_row(app, make_user, make_idea):
    from sqlalchemy.exc import IntegrityError

    user, idea = make_user(), make_idea()
    db.session.add(Vote(idea_id=idea.id, user_id=user.id, value=1))
    db.session.commit()
    db.session.add(Vote(idea_id=idea.id, user_id=user.id, value=-1))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_trending_favours_recent_momentum(app, make_user, make_idea):
    from datetime import timedelta

    from ideastorm.ideas import ranking

    now = ranking.EPOCH + timedelta(days=600)
    old = ranking.recount(now - timedelta(days=300), [(1, now - timedelta(days=290))] * 200)
    new = ranking.recount(now - timedelta(days=2), [(1, now - timedelta(days=1))] * 10)
    assert new > old
    assert ranking.decayed(new, now) == pytest.approx(10 * 2 ** (-1 / 7) + 2 ** (-2 / 7))
