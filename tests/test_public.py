"""Leaderboards, Ideas in Action, roadmap, profiles and the home page, from a fixed set of votes.

Votes are stored with explicit times (days before now) and each idea's counters recounted by
the triage service, so every period's expected order follows from the table below.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from sqlalchemy import update

from ideastorm.extensions import db
from ideastorm.ideas.models import Idea
from ideastorm.timeutil import utcnow
from ideastorm.triage.services import change_status, recount_idea, set_idea_hidden
from ideastorm.votes.models import Vote

RANKED_IDEA = re.compile(r'id="rank-idea-(\d+)" data-rank="(\d+)" data-points="(-?\d+)"')
RANKED_MEMBER = re.compile(r'id="rank-member-(\d+)" data-rank="(\d+)" data-points="(-?\d+)" data-implemented="(\d+)"')
CARD = re.compile(r'<article class="idea-card" id="idea-(\d+)"')
ROADMAP_CARD = re.compile(r'id="roadmap-idea-(\d+)"')
TITLE = re.compile(r"<title>(.*?)</title>", re.S)


@dataclass
class World:
    users: dict = field(default_factory=dict)
    ideas: dict = field(default_factory=dict)

    def id(self, key: str) -> int:
        return self.ideas[key].id


def _set_votes(idea, voters, votes, now):
    """votes: (value, days_ago) pairs, each by a different voter."""
    for voter, (value, days_ago) in zip(voters, votes, strict=False):
        db.session.add(Vote(idea_id=idea.id, user_id=voter.id, value=value, voted_at=now - timedelta(days=days_ago)))
    db.session.flush()
    recount_idea(idea.id)


@pytest.fixture
def world(app, make_user, make_idea) -> World:
    now = utcnow()
    w = World()
    staff = make_user("staff", name="Rita R&D")
    for name in ("Alice", "Bob", "Carol", "Dave"):
        w.users[name] = make_user(name=name, email=f"{name.lower()}@example.com")
    voters = [make_user(name=f"Voter {n}") for n in range(10)]
    # key: (author, category, created days ago, status, votes as (value, days ago))
    plan = {
        "offline": ("Alice", "products", 400, "new", [(1, 380)] * 6 + [(1, 20)]),
        "dark": ("Bob", "products", 60, "planned", [(1, 3)] * 3 + [(1, 10), (-1, 2)]),
        "checkout": ("Alice", "store", 200, "implemented", [(1, 100)] * 2 + [(1, 40)] * 2),
        "chat": ("Carol", "support", 20, "in_progress", [(1, 1)] * 4 + [(1, 8)]),
        "secret": ("Bob", "products", 2, "implemented", [(1, 1)] * 10),
        "giftcards": ("Dave", "store", 350, "implemented", [(1, 300)] * 3),
        "bad": ("Carol", "products", 5, "new", [(-1, 1)] * 2),
        "invoices": ("Bob", "support", 30, "declined", [(1, 2)] * 2),
        "shortcuts": ("Carol", "apps", 1, "planned", []),
    }
    titles = {
        "offline": "Offline mode for the app", "dark": "Dark theme everywhere", "checkout": "Faster checkout",
        "chat": "Live chat with support", "secret": "Zanzibar secret plan", "giftcards": "Gift cards in the store",
        "bad": "Remove every button", "invoices": "Print invoices as PDF", "shortcuts": "Keyboard shortcuts",
    }
    for key, (author, category, created, _status, votes) in plan.items():
        idea = make_idea(w.users[author], title=titles[key], category=category)
        db.session.execute(update(Idea).where(Idea.id == idea.id).values(created_at=now - timedelta(days=created)))
        _set_votes(idea, voters, votes, now)
        db.session.commit()
        w.ideas[key] = idea
    responses = {"checkout": "Shipped in version 2.0.", "secret": "Zanzibar shipped.", "giftcards": "First try."}
    for key, (_author, _category, _created, status, _votes) in plan.items():
        if status != "new":
            change_status(staff, w.ideas[key], status, responses.get(key))
    # Gift cards were withdrawn, then implemented again: the later response is the one shown.
    change_status(staff, w.ideas["giftcards"], "in_progress", "Withdrawn for now.")
    change_status(staff, w.ideas["giftcards"], "implemented", "Gift cards are back for good.")
    for key, days in (("checkout", 30), ("giftcards", 200)):
        db.session.execute(update(Idea).where(Idea.id == w.id(key)).values(status_changed_at=now - timedelta(days=days)))
    db.session.commit()
    set_idea_hidden(staff, w.ideas["secret"], True)
    db.session.commit()
    w.users["Dave"].is_banned = True
    db.session.commit()
    return w


def _ideas_in(body: str, first_rank: int = 1) -> list[tuple[int, int]]:
    """(idea id, points) of the ranked rows, checking that ranks run on from ``first_rank``."""
    rows = RANKED_IDEA.findall(body)
    assert [int(rank) for _, rank, _ in rows] == list(range(first_rank, first_rank + len(rows)))
    return [(int(i), int(p)) for i, _, p in rows]


def _ranked_ideas(client, query=""):
    response = client.get("/leaderboard" + query)
    assert response.status_code == 200, query
    return _ideas_in(response.get_data(as_text=True))


def _ranked_members(client, query=""):
    rows = RANKED_MEMBER.findall(client.get("/leaderboard" + query).get_data(as_text=True))
    assert [int(rank) for _, rank, _, _ in rows] == list(range(1, len(rows) + 1))
    return [(int(u), int(p), int(n)) for u, _, p, n in rows]


def _title(body: str) -> str:
    return " ".join(TITLE.search(body).group(1).split())


def test_top_ideas_for_each_period(client, world):
    w = world
    expected = {
        "week": [("chat", 4), ("dark", 2), ("invoices", 2)],  # tie at 2: the lower id first
        "month": [("chat", 5), ("dark", 3), ("invoices", 2), ("offline", 1)],
        "year": [("chat", 5), ("checkout", 4), ("dark", 3), ("giftcards", 3), ("invoices", 2), ("offline", 1)],
        "all": [("offline", 7), ("chat", 5), ("checkout", 4), ("dark", 3), ("giftcards", 3), ("invoices", 2)],
    }
    for period, ranking in expected.items():
        assert _ranked_ideas(client, f"?period={period}") == [(w.id(k), p) for k, p in ranking], period
    assert _ranked_ideas(client) == _ranked_ideas(client, "?period=month")  # the default
    assert _ranked_ideas(client, "?period=month&category=products") == [(w.id("dark"), 3), (w.id("offline"), 1)]
    assert _ranked_ideas(client, "?period=week&category=support") == [(w.id("chat"), 4), (w.id("invoices"), 2)]
    assert _ranked_ideas(client, "?period=all&category=business") == []
    body = client.get("/leaderboard?period=year&category=store").get_data(as_text=True)
    assert "No idea has earned points" not in body and "Top ideas in Online store, past year" in body


def test_leaderboard_shows_scores_and_freshness(client, world, make_user, auth):
    body = client.get("/leaderboard?period=week").get_data(as_text=True)
    chat = world.ideas["chat"]
    assert 'data-score="5" data-promotes="5" data-demotes="0"' in body  # whole score beside the week's 4
    assert f'href="/ideas/{chat.id}">Live chat with support</a>' in body
    assert f'href="/users/{world.users["Carol"].id}" class="author">Carol</a>' in body
    assert 'class="updated"' not in body  # when the figures were computed is for staff only
    auth.login(world.users["Alice"])
    assert 'class="updated"' not in client.get("/leaderboard?period=week").get_data(as_text=True)
    auth.logout()
    auth.login(make_user("staff"))
    staff_body = client.get("/leaderboard?period=week").get_data(as_text=True)
    assert staff_body.count('class="updated"') == 2 and "Updated <time datetime=" in staff_body
    assert _title(body) == "Leaderboard · Past week · IdeaStorm"
    assert _title(client.get("/leaderboard?category=support").get_data(as_text=True)) == (
        "Leaderboard · Past month · Support &amp; services · IdeaStorm")


def test_top_contributors_for_each_period(client, world):
    u = {name: user.id for name, user in world.users.items()}
    expected = {
        "week": [("Bob", 4, 0), ("Carol", 2, 0)],
        "month": [("Bob", 5, 0), ("Carol", 3, 0), ("Alice", 1, 1)],
        "year": [("Alice", 5, 1), ("Bob", 5, 0), ("Carol", 3, 0), ("Dave", 3, 1)],  # ties: the lower user id first
        "all": [("Alice", 11, 1), ("Bob", 5, 0), ("Carol", 3, 0), ("Dave", 3, 1)],
    }
    for period, ranking in expected.items():
        assert _ranked_members(client, f"?period={period}") == [(u[n], p, i) for n, p, i in ranking], period
    # Contributors are ranked across categories whatever the category chosen for the ideas.
    assert _ranked_members(client, "?period=all&category=apps") == _ranked_members(client, "?period=all")


def test_leaderboard_pages(client, make_user, make_idea):
    now = utcnow()
    voters = [make_user(name=f"Voter {n}") for n in range(23)]
    ideas = []
    for n in range(23):
        idea = make_idea(title=f"Numbered idea {n:02d}")
        _set_votes(idea, voters, [(1, 1)] * (n + 1), now)
        db.session.commit()
        ideas.append(idea)
    best_first = [(i.id, n + 1) for n, i in reversed(list(enumerate(ideas)))]
    first = client.get("/leaderboard?period=week").get_data(as_text=True)
    assert _ideas_in(first) == best_first[:20]
    assert 'rel="next"' in first and "period=week" in re.search(r'href="([^"]+)" rel="next"', first).group(1)
    second = client.get("/leaderboard?period=week&page=2").get_data(as_text=True)
    assert _ideas_in(second, first_rank=21) == best_first[20:]
    assert "<td>21</td>" in second and 'rel="next"' not in second
    assert client.get("/leaderboard?period=week&page=3").status_code == 404


def test_leaderboard_htmx_fragment_and_plain_form(client, world):
    page = client.get("/leaderboard").get_data(as_text=True)
    form = re.search(r'<form method="get" action="/leaderboard"[^>]*>', page).group(0)
    assert 'hx-get="/leaderboard"' in form and 'hx-push-url="true"' in form and 'hx-target="#leaderboard"' in form
    assert re.search(r'<a href="/leaderboard\?period=month" aria-current="page">Past month</a>', page)
    assert '<input type="hidden" name="period" value="month">' in page and 'name="category"' in page
    response = client.get("/leaderboard?period=all&category=products", headers={"HX-Request": "true"})
    fragment = response.get_data(as_text=True)
    assert fragment.lstrip().startswith('<div id="leaderboard"') and "<title>" not in fragment
    assert "HX-Request" in response.headers["Vary"]
    assert _ideas_in(fragment) == [(world.id("offline"), 7), (world.id("dark"), 3)]


@pytest.mark.parametrize("query, status", [
    ("?period=decade", 400), ("?period=", 200), ("?category=nope", 404), ("?page=0", 400), ("?page=-1", 400),
    ("?page=abc", 400), ("?page=99999999999999", 400), ("?page=99999", 404), ("?period=week&page=1.5", 400),
])
def test_leaderboard_bad_parameters(client, world, query, status):
    response = client.get("/leaderboard" + query)
    assert response.status_code == status
    if query == "?period=decade":
        assert "Unknown value for period: decade. Choose one of: week, month, year, all." in response.get_data(as_text=True)


def test_cached_figures_keep_their_time_until_they_expire(app, client, world, make_user, auth):
    app.config["AGGREGATE_CACHE_SECONDS"] = 600
    auth.login(make_user("staff"))  # staff see when the figures were computed
    updated = re.compile(r'Updated <time datetime="([^"]+)"')
    before = client.get("/leaderboard?period=week").get_data(as_text=True)
    _set_votes(world.ideas["offline"], [make_user(name=f"Late voter {n}") for n in range(5)], [(1, 0)] * 5, utcnow())
    db.session.commit()
    after = client.get("/leaderboard?period=week").get_data(as_text=True)
    assert _ideas_in(after) == _ideas_in(before) and world.id("offline") not in dict(_ideas_in(after))
    assert updated.findall(after) == updated.findall(before)
    app.config["AGGREGATE_CACHE_SECONDS"] = 0
    assert _ranked_ideas(client, "?period=week")[0] == (world.id("offline"), 5)


def test_implemented_page(client, world):
    body = client.get("/implemented").get_data(as_text=True)
    assert [int(i) for i in CARD.findall(body)] == [world.id("checkout"), world.id("giftcards")]
    assert "2 ideas implemented out of 8 submitted" in body
    assert 'data-implemented="2" data-submitted="8"' in body
    assert "Shipped in version 2.0." in body and "Gift cards are back for good." in body
    assert "First try." not in body and "Withdrawn for now." not in body
    assert _title(body) == "Ideas in Action · IdeaStorm"
    home = client.get("/").get_data(as_text=True)
    assert "2 ideas implemented out of 8 submitted" in home
    assert client.get("/implemented?page=2").status_code == 404
    assert client.get("/implemented?page=abc").status_code == 400


def test_roadmap_columns(client, world):
    body = client.get("/roadmap").get_data(as_text=True)
    columns = {}
    for key in ("planned", "in_progress", "implemented"):
        section = re.search(rf'<section class="roadmap-column" id="roadmap-{key}".*?</section>', body, re.S).group(0)
        columns[key] = [int(i) for i in ROADMAP_CARD.findall(section)]
    assert columns == {
        "planned": [world.id("dark"), world.id("shortcuts")],  # by score, as /ideas?sort=top
        "in_progress": [world.id("chat")],
        "implemented": [world.id("checkout")],  # gift cards were implemented more than 90 days ago
    }
    assert 'data-score="3" data-promotes="4" data-demotes="1"' in body
    assert 'href="/ideas?status=planned&amp;sort=top"' in body and 'href="/implemented"' in body
    assert 'href="/ideas?category=support">Support &amp; services</a>' in body
    assert _title(body) == "Roadmap · IdeaStorm"


def test_profiles_agree_with_the_leaderboard(client, world):
    members = {user_id: (points, implemented) for user_id, points, implemented in _ranked_members(client, "?period=all")}
    for name, ideas in (("Alice", ["checkout", "offline"]), ("Bob", ["invoices", "dark"]), ("Dave", ["giftcards"])):
        user = world.users[name]
        body = client.get(f"/users/{user.id}").get_data(as_text=True)
        points, implemented = members[user.id]
        assert f'data-points="{points}" data-ideas="{len(ideas)}" data-implemented="{implemented}"' in body, name
        assert [int(i) for i in CARD.findall(body)] == [world.id(k) for k in ideas], name  # newest first
        assert user.email not in body and "@example.com" not in body
        assert _title(body) == f"{name} · Profile · IdeaStorm"
    assert "Member since" in client.get(f"/users/{world.users['Dave'].id}").get_data(as_text=True)  # banned, still shown
    idea_page = client.get(f"/ideas/{world.id('chat')}").get_data(as_text=True)
    assert f'by <a href="/users/{world.users["Carol"].id}" class="author">Carol</a>' in idea_page


def test_profile_of_a_member_without_ideas_and_bad_ids(client, make_user):
    quiet = make_user(name="Quiet <Member>")
    body = client.get(f"/users/{quiet.id}").get_data(as_text=True)
    assert "Quiet &lt;Member&gt;" in body and "<Member>" not in body
    assert 'data-points="0" data-ideas="0" data-implemented="0"' in body
    for url in ("/users/0", "/users/99999999999", "/users/-1", "/users/abc", f"/users/{quiet.id + 1}"):
        assert client.get(url).status_code == 404, url
    assert client.get(f"/users/{quiet.id}?page=2").status_code == 404
    assert client.get(f"/users/{quiet.id}?page=0").status_code == 400


def test_hidden_idea_is_absent_everywhere(client, world):
    bob = world.users["Bob"].id
    urls = [f"/leaderboard?period={p}" for p in ("week", "month", "year", "all")]
    urls += ["/leaderboard?period=week&category=products", "/implemented", "/roadmap", f"/users/{bob}", "/",
             "/ideas?sort=trending"]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        body = response.get_data(as_text=True)
        assert "Zanzibar" not in body and f"/ideas/{world.id('secret')}" not in body, url


def test_trending_puts_momentum_above_old_giants(client, make_user, make_idea):
    now = utcnow()
    voters = [make_user(name=f"Voter {n}") for n in range(20)]
    # key: (created days ago, votes as (value, days ago))
    plan = {
        "giant": (400, [(1, 390)] * 20),   # huge, long ago: weight 20 · 2^(-390/7), nearly nothing
        "steady": (30, [(1, 20)] * 5),     # 2^(-30/7) + 5 · 2^(-20/7) ≈ 0.74
        "riser": (3, [(1, 1)] * 3),        # 2^(-3/7) + 3 · 2^(-1/7) ≈ 3.46
        "fresh": (0, []),                  # a new idea counts as one vote now: 1.0
        "sinking": (2, [(-1, 1)] * 2),     # 2^(-2/7) - 2 · 2^(-1/7) ≈ -1.0
    }
    ideas = {}
    for key, (created, votes) in plan.items():
        idea = make_idea(title=f"Trending case {key}")
        db.session.execute(update(Idea).where(Idea.id == idea.id).values(created_at=now - timedelta(days=created)))
        _set_votes(idea, voters, votes, now)
        db.session.commit()
        ideas[key] = idea.id
    expected = [ideas[k] for k in ("riser", "fresh", "steady", "giant", "sinking")]
    assert [int(i) for i in CARD.findall(client.get("/").get_data(as_text=True))] == expected
    assert [int(i) for i in CARD.findall(client.get("/ideas?sort=trending").get_data(as_text=True))] == expected
    # The giant still leads the all-time leaderboard: trending and top answer different questions.
    assert _ranked_ideas(client, "?period=all")[0] == (ideas["giant"], 20)


def test_visitors_get_one_log_in_hint_per_page_and_vote_counts_on_every_card(client, world, auth):
    pages = ["/ideas", "/roadmap", f"/users/{world.users['Alice'].id}"]
    # Ideas in Action has none: voting is closed on implemented ideas (and their cards do not repeat it).
    implemented = client.get("/implemented").get_data(as_text=True)
    assert "Log in to vote" not in implemented and "Voting closed" not in implemented
    for url in pages:
        body = client.get(url).get_data(as_text=True)
        assert body.count("Log in to vote") == 1, url
        assert re.search(r'<p class="vote-hint"><a href="/login\?next=[^"]+">Log in to vote</a></p>', body), url
    roadmap = client.get("/roadmap").get_data(as_text=True)
    card = re.search(rf'id="roadmap-idea-{world.id("dark")}".*?</article>', roadmap, re.S).group(0)
    assert ">5 votes</span>" in card and "status-planned" in card and "Products" in card
    ideas = client.get("/ideas?sort=top").get_data(as_text=True)
    card = re.search(rf'id="idea-{world.id("offline")}".*?</article>', ideas, re.S).group(0)
    assert '<small class="vote-total">7 votes</small>' in card and "Products" in card
    # The page of one idea still says it next to its vote buttons.
    assert "Log in to vote" in client.get(f"/ideas/{world.id('chat')}").get_data(as_text=True)
    auth.login(world.users["Bob"])
    for url in pages:
        assert "Log in to vote" not in client.get(url).get_data(as_text=True), url


def test_profile_page_shows_the_member_and_their_ideas(client, world, auth):
    alice = world.users["Alice"]
    body = client.get(f"/users/{alice.id}").get_data(as_text=True)
    header = re.search(r'<header class="profile-header">.*?</header>', body, re.S).group(0)
    assert 'class="avatar' in header and "<h1>Alice</h1>" in header and "Member since" in header
    assert "Edit your profile" not in header
    auth.login(alice)
    assert 'href="/account"' in re.search(r'<header class="profile-header">.*?</header>',
                                          client.get(f"/users/{alice.id}").get_data(as_text=True), re.S).group(0)


def test_leaderboard_periods_are_tabs_that_keep_the_category(client, world):
    body = client.get("/leaderboard?period=week&category=support").get_data(as_text=True)
    tabs = re.search(r'<nav class="tabs".*?</nav>', body, re.S).group(0)
    assert '<a href="/leaderboard?period=week&amp;category=support" aria-current="page">Past week</a>' in tabs
    assert 'href="/leaderboard?period=all&amp;category=support">All time</a>' in tabs
    assert tabs.count("aria-current") == 1
