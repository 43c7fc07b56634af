"""The headline ("N ideas implemented out of M submitted") is exact at every moment."""

from __future__ import annotations

import re

from ideastorm.extensions import db
from ideastorm.ideas import counters
from ideastorm.triage import services as triage


def _headline(client) -> tuple[int, int]:
    page = client.get("/").get_data(as_text=True)
    match = re.search(r'data-implemented="(\d+)" data-submitted="(\d+)"', page)
    return int(match.group(1)), int(match.group(2))


def test_a_fresh_server_with_ideas_shows_them_at_once(app, make_idea, client):
    # The aggregate cache is on, as in production: the headline does not go through it.
    app.config["AGGREGATE_CACHE_SECONDS"] = 60
    assert _headline(client) == (0, 0)
    make_idea()
    make_idea(title="Another good idea for the store")
    assert _headline(client) == (0, 2)


def test_every_change_keeps_the_counters_equal_to_the_ideas(app, make_user, make_idea, client):
    staff = make_user("staff")
    first, second, third = (make_idea(title=f"Idea number {n} for the counters") for n in range(3))

    def check(expected):
        assert counters.differences() == {}
        assert _headline(client) == expected

    check((0, 3))
    triage.change_status(staff, first, "implemented", "Shipped in 2.0")
    db.session.commit()
    check((1, 3))
    triage.set_idea_hidden(staff, first, True)
    db.session.commit()
    check((0, 2))
    triage.set_idea_hidden(staff, first, False)
    triage.change_status(staff, second, "implemented")
    db.session.commit()
    check((2, 3))
    triage.mark_duplicate(staff, second, third)  # an implemented idea becomes a duplicate
    db.session.commit()
    check((1, 3))
    triage.undo_duplicate(staff, second)
    db.session.commit()
    check((2, 3))
    triage.change_status(staff, first, "planned")
    db.session.commit()
    check((1, 3))


def test_a_refused_change_moves_no_counter(app, make_user, make_idea):
    staff, idea = make_user("staff"), make_idea()
    triage.change_status(staff, idea, "implemented")
    db.session.rollback()
    assert counters.values() == {"submitted": 1, "implemented": 0}


def test_recount_repairs_drift(app, make_idea):
    make_idea()
    counters.adjust(counters.SUBMITTED, 5)
    db.session.commit()
    assert counters.differences() == {"submitted": (6, 1)}
    counters.recount()
    db.session.commit()
    assert counters.differences() == {}
