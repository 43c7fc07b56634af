"""/stats: every figure of a small, known dataset, in the tables and on the chart bars."""

from __future__ import annotations

import re
from datetime import datetime
from html.parser import HTMLParser

import pytest
from sqlalchemy import select, update

from ideastorm.extensions import db
from ideastorm.ideas.models import Category, StatusChange
from ideastorm.votes.models import Vote

NOW = datetime(2025, 6, 15, 12, 0)
MONTHS = ["Jul 2024", "Aug 2024", "Sep 2024", "Oct 2024", "Nov 2024", "Dec 2024",
          "Jan 2025", "Feb 2025", "Mar 2025", "Apr 2025", "May 2025", "Jun 2025"]
STATUS_HEADINGS = ["New", "Under review", "Planned", "In progress", "Implemented", "Declined", "Duplicate"]


class StatsPage(HTMLParser):
    """Reads the tables (id -> body rows of cell texts), their header rows, and the chart bars (svg id -> bars)."""

    def __init__(self, html: str):
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.headers: dict[str, list[str]] = {}
        self.bars: dict[str, list[dict]] = {}
        self.title = ""
        self._table = self._svg = self._cell = None
        self._bar: dict | None = None
        self._in_title = False
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table":
            self._table = self.tables.setdefault(attrs.get("id", ""), [])
            self._table_id = attrs.get("id", "")
        elif tag == "thead":
            self._table = self.headers.setdefault(self._table_id, [])
        elif tag == "tr" and self._table is not None:
            self._table.append([])
        elif tag in ("td", "th") and self._table is not None:
            self._cell = []
        elif tag == "svg":
            self._svg = self.bars.setdefault(attrs["id"], [])
        elif tag == "rect" and self._svg is not None:
            self._bar = {**attrs, "title": ""}
            self._svg.append(self._bar)
        elif tag == "title" and self._svg is None:
            self._in_title = True

    def handle_endtag(self, tag):
        if tag == "table":
            self._table = None
        elif tag == "thead":
            self._table = self.tables[self._table_id]
        elif tag in ("td", "th") and self._cell is not None:
            self._table[-1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "svg":
            self._svg = None
        elif tag == "rect":
            self._bar = None
        elif tag == "title":
            self._in_title = False

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        if self._bar is not None:
            self._bar["title"] += data
        if self._in_title:
            self.title += data

    def body_rows(self, table_id: str) -> dict[str, list[str]]:
        """Body rows keyed by their first cell (the row's header)."""
        return {row[0]: row[1:] for row in self.tables[table_id]}

    def bar_values(self, svg_id: str) -> dict[tuple[str, str], int]:
        return {(bar["data-label"], bar.get("data-series", "")): int(bar["data-value"]) for bar in self.bars[svg_id]}


@pytest.fixture
def dataset(app, make_user, make_idea, monkeypatch):
    """Ideas with fixed times and statuses; see each test for the figures they make."""
    monkeypatch.setattr("ideastorm.stats.services.utcnow", lambda: NOW)
    staff, admin, member = make_user("staff"), make_user("admin"), make_user()
    voters = [make_user() for _ in range(4)]
    db.session.execute(update(Category).where(Category.slug.in_(["store", "other"])).values(is_archived=True))

    def idea(title, category, status, created, answers=(), hidden=False):
        made = make_idea(title=title, category="products", status=status, hidden=hidden)
        made.category_id = db.session.scalar(select(Category.id).where(Category.slug == category))
        made.created_at = made.updated_at = created
        for actor, at in answers:
            db.session.add(StatusChange(idea_id=made.id, actor_id=actor.id, from_status="new",
                                        to_status=status, created_at=at))
        db.session.commit()
        return made

    ideas = {
        "i1": idea("Implemented idea one", "products", "implemented", datetime(2025, 1, 10),
                   [(staff, datetime(2025, 1, 12)), (admin, datetime(2025, 2, 1)), (admin, datetime(2025, 3, 1))]),
        "i2": idea("Planned idea two", "products", "planned", datetime(2025, 3, 5),
                   [(staff, datetime(2025, 3, 5, 6))]),
        "i3": idea("New idea three", "support", "new", datetime(2025, 6, 1)),
        "i4": idea("Declined idea four", "support", "declined", datetime(2024, 6, 30, 23, 59, 59),
                   [(staff, datetime(2024, 7, 10, 23, 59, 59))]),
        "i5": idea("Zanzibar hidden idea", "products", "implemented", datetime(2025, 6, 2),
                   [(staff, datetime(2025, 6, 3))], hidden=True),
        "i6": idea("In progress idea six", None, "in_progress", datetime(2025, 2, 14),
                   [(admin, datetime(2025, 2, 17))]),
        "i7": idea("Duplicate idea seven", "support", "duplicate", datetime(2025, 4, 10),
                   [(staff, datetime(2025, 4, 11))]),
        # A status change by a member (data imported from elsewhere) is not an answer from the team.
        "i8": idea("New idea eight", None, "new", datetime(2024, 7, 1), [(member, datetime(2024, 7, 2))]),
        "i9": idea("Under review idea nine", "store", "under_review", datetime(2025, 6, 10),
                   [(staff, datetime(2025, 6, 10, 12))]),
    }
    votes = [
        ("i1", datetime(2025, 1, 15)), ("i1", datetime(2025, 1, 31, 23, 59, 59)), ("i1", datetime(2025, 2, 1)),
        ("i2", datetime(2025, 6, 14)), ("i2", datetime(2024, 6, 30, 23)),
        ("i5", datetime(2025, 6, 5)), ("i5", datetime(2025, 6, 6)),
        ("i3", datetime(2025, 6, 15, 11)),
    ]
    for n, (key, at) in enumerate(votes):
        db.session.add(Vote(idea_id=ideas[key].id, user_id=voters[n % 4].id, value=1 if n % 3 else -1, voted_at=at))
    db.session.commit()
    return ideas


def test_every_figure_of_a_known_dataset(client, dataset):
    response = client.get("/stats")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Zanzibar" not in html
    page = StatsPage(html)
    assert page.title.startswith("Stats")

    funnel = {"Submitted": 8, "Under review": 4, "Planned": 3, "In progress": 2, "Implemented": 1}
    assert page.body_rows("table-funnel") == {label: [str(n)] for label, n in funnel.items()}
    assert page.bar_values("chart-funnel") == {(label, ""): n for label, n in funnel.items()}
    closed = {"Declined": 1, "Duplicate": 1}
    assert page.body_rows("table-closed") == {label: [str(n)] for label, n in closed.items()}
    assert page.bar_values("chart-closed") == {(label, ""): n for label, n in closed.items()}

    ideas = dict(zip(MONTHS, [1, 0, 0, 0, 0, 0, 1, 1, 1, 1, 0, 2]))
    votes = dict(zip(MONTHS, [0, 0, 0, 0, 0, 0, 2, 1, 0, 0, 0, 2]))
    assert page.body_rows("table-activity") == {m: [str(ideas[m]), str(votes[m])] for m in MONTHS}
    assert page.bar_values("chart-ideas") == {(m, ""): ideas[m] for m in MONTHS}
    assert page.bar_values("chart-votes") == {(m, ""): votes[m] for m in MONTHS}

    categories = {
        "Products": [0, 0, 1, 0, 1, 0, 0],
        "Support & services": [1, 0, 0, 0, 0, 1, 1],
        "Online store": [0, 1, 0, 0, 0, 0, 0],  # archived, still holds a public idea
        "Apps & portals": [0] * 7,
        "Business & IT": [0] * 7,
        "Sustainability": [0] * 7,
        "No category": [1, 0, 0, 1, 0, 0, 0],
    }  # "Other" is archived and empty: not listed
    assert page.headers["table-categories"][0] == ["Category", *STATUS_HEADINGS, "Total"]
    assert page.body_rows("table-categories") == {
        name: [str(n) for n in counts] + [str(sum(counts))] for name, counts in categories.items()
    }
    assert list(page.body_rows("table-categories")) == list(categories)  # in the categories' order
    assert page.bar_values("chart-categories") == {
        (name, status): n
        for name, counts in categories.items() for status, n in zip(STATUS_HEADINGS, counts) if n
    }

    # Waits: 6 h, 12 h, 1 day, 2 days (i1's first answer), 3 days, 10 days: median 1 day 12 hours.
    answer = page.body_rows("table-answer")
    assert answer == {
        "Median time to a first answer": ["1 day, 12 hours"],
        "Ideas answered": ["6"],
        "Ideas awaiting a first answer": ["2"],
    }
    assert 'data-seconds="129600"' in html
    assert 'class="stats-computed"' not in html  # the cache time is for staff


def percent(length: str) -> float:
    """A horizontal length of a chart: a percentage of the chart's width."""
    assert length.endswith("%"), length
    return float(length[:-1])


def test_bars_carry_their_value_in_title_and_size(client, dataset):
    page = StatsPage(client.get("/stats").get_data(as_text=True))
    funnel = page.bars["chart-funnel"]
    assert [bar["title"] for bar in funnel] == [
        "Submitted: 8", "Under review: 4", "Planned: 3", "In progress: 2", "Implemented: 1",
    ]
    widths = [percent(bar["width"]) for bar in funnel]
    assert widths == sorted(widths, reverse=True) and widths[-1] > 0
    assert widths[1] == pytest.approx(widths[0] / 2)
    assert all(percent(bar["x"]) == 0 for bar in funnel)
    votes = {bar["data-label"]: bar for bar in page.bars["chart-votes"]}
    assert float(votes["Jan 2025"]["height"]) == pytest.approx(float(votes["Feb 2025"]["height"]) * 2)
    assert float(votes["Mar 2025"]["height"]) == 0
    products = [bar for bar in page.bars["chart-categories"] if bar["data-label"] == "Products"]
    assert [bar["title"] for bar in products] == ["Products, Planned: 1 (50%)", "Products, Implemented: 1 (50%)"]
    assert percent(products[0]["width"]) == pytest.approx(percent(products[1]["width"]))
    # The charts fill the page's width and draw text at its own size (no viewBox to scale it).
    assert 'width="100%"' in client.get("/stats").get_data(as_text=True)
    assert "viewBox" not in client.get("/stats").get_data(as_text=True)


def test_compared_bars_share_one_scale(client, dataset):
    page = StatsPage(client.get("/stats").get_data(as_text=True))
    # Every status, in the funnel or declined and duplicates, on the scale of the largest (Submitted: 8).
    statuses = page.bars["chart-funnel"] + page.bars["chart-closed"]
    per_idea = percent(statuses[0]["width"]) / 8
    assert per_idea > 0
    for bar in statuses:
        assert percent(bar["width"]) == pytest.approx(int(bar["data-value"]) * per_idea, abs=0.01), bar["title"]
    assert percent(page.bars["chart-closed"][0]["width"]) == pytest.approx(percent(statuses[0]["width"]) / 8, abs=0.01)
    # Each category's bar is as long as its number of ideas (Support & services: 3, the largest),
    # its segments end to end.
    lengths: dict[str, float] = {}
    ends: dict[str, float] = {}
    for bar in page.bars["chart-categories"]:
        label = bar["data-label"]
        assert percent(bar["x"]) == pytest.approx(ends.get(label, 0.0), abs=0.02)
        ends[label] = percent(bar["x"]) + percent(bar["width"])
        lengths[label] = lengths.get(label, 0.0) + percent(bar["width"])
    per_idea = lengths["Support & services"] / 3
    assert lengths == pytest.approx({"Products": 2 * per_idea, "Support & services": 3 * per_idea,
                                     "Online store": per_idea, "No category": 2 * per_idea}, abs=0.03)


@pytest.mark.parametrize("role, shown", [(None, False), ("member", False), ("staff", True), ("admin", True)])
def test_the_cache_time_is_shown_to_staff_only(client, dataset, make_user, auth, role, shown):
    if role:
        auth.login(make_user(role))
    html = client.get("/stats").get_data(as_text=True)
    assert ('class="stats-computed"' in html) is shown
    assert ("Only staff see this line" in html) is shown
    if shown:
        assert re.search(r'<p class="stats-computed"><small>\s*Figures as of <time datetime="[^"]+Z">', html)


def test_every_table_is_collapsed_under_its_chart(client, dataset):
    html = client.get("/stats").get_data(as_text=True)
    for chart_id, table_id in [("chart-funnel", "table-funnel"), ("chart-closed", "table-closed"),
                               ("chart-votes", "table-activity"), ("chart-categories", "table-categories")]:
        after = html[html.index(f'id="{chart_id}"'):]
        after = after[after.index("</figure>"):]
        assert re.match(r'</figure>\s*<details class="stats-numbers">\s*<summary>Show the numbers</summary>'
                        r'\s*<div class="overflow-auto">\s*<table id="' + table_id + '"', after), chart_id


def test_an_empty_site(client):
    response = client.get("/stats")
    assert response.status_code == 200
    page = StatsPage(response.get_data(as_text=True))
    assert page.body_rows("table-funnel") == {
        label: ["0"] for label in ["Submitted", "Under review", "Planned", "In progress", "Implemented"]
    }
    assert all(row == ["0", "0"] for row in page.body_rows("table-activity").values())
    assert len(page.body_rows("table-activity")) == 12
    assert all(float(bar["height"]) == 0 for bar in page.bars["chart-ideas"])
    assert page.bars["chart-categories"] == []
    assert page.body_rows("table-answer") == {
        "Median time to a first answer": ["No idea answered yet"],
        "Ideas answered": ["0"],
        "Ideas awaiting a first answer": ["0"],
    }


def test_a_french_page_and_ignored_query_arguments(client, dataset):
    response = client.get("/stats?month=abc&page=-1", headers={"Accept-Language": "fr"})
    assert response.status_code == 200
    page = StatsPage(response.get_data(as_text=True))
    assert page.bar_values("chart-funnel")[("Réalisée", "")] == 1


def test_figures_are_cached_with_their_time(app, client, make_idea):
    from ideastorm import cache

    app.config["AGGREGATE_CACHE_SECONDS"] = 3600
    first = StatsPage(client.get("/stats").get_data(as_text=True))
    make_idea()
    cached = StatsPage(client.get("/stats").get_data(as_text=True))
    assert cached.body_rows("table-funnel")["Submitted"] == first.body_rows("table-funnel")["Submitted"] == ["0"]
    with app.app_context():
        cache.clear()
    fresh = StatsPage(client.get("/stats").get_data(as_text=True))
    assert fresh.body_rows("table-funnel")["Submitted"] == ["1"]
