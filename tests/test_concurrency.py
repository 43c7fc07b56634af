"""Many members voting on one idea at the same moment, through the real HTTP interface."""

import random
import re
import threading

from sqlalchemy import func, select

from ideastorm.extensions import db
from ideastorm.votes.models import Vote
from ideastorm.votes.verify import find_differences
from tests.conftest import PASSWORD, Client

MEMBERS = 50
_CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


def test_fifty_members_vote_at_once(app, make_user, make_idea):
    idea = make_idea()
    idea_id = idea.id  # the threads have no app context to load attributes with
    members = [make_user() for _ in range(MEMBERS)]
    app.test_client_class = Client
    rng = random.Random(2026)
    # Each member: a mix of promote, demote, change and retract, ending anywhere.
    plans = [[rng.choice(["1", "-1", "0"]) for _ in range(rng.randint(2, 5))] for _ in members]
    expected_final = {m.id: int(plan[-1]) for m, plan in zip(members, plans)}

    clients = []
    for member in members:
        client = app.test_client()
        login_page = client.get("/login").get_data(as_text=True)
        match = _CSRF.search(login_page)
        assert match, login_page[:500]
        token = match.group(1)
        response = client.post("/login", data={"email": member.email, "password": PASSWORD, "csrf_token": token})
        assert response.status_code == 302
        token = _CSRF.search(client.get("/").get_data(as_text=True)).group(1)  # signing in renewed it
        clients.append((client, token))

    barrier = threading.Barrier(MEMBERS)
    statuses: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def vote(client, token, plan):
        try:
            barrier.wait(timeout=60)
            for value in plan:
                response = client.post(f"/ideas/{idea_id}/vote", data={"value": value, "csrf_token": token})
                with lock:
                    statuses.append(response.status_code)
        except BaseException as exc:  # reported below, never swallowed
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=vote, args=(c, t, p)) for (c, t), p in zip(clients, plans)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert not errors
    assert statuses == [302] * sum(len(p) for p in plans)
    db.session.expire_all()
    stored = dict(db.session.execute(select(Vote.user_id, Vote.value).where(Vote.idea_id == idea_id)).all())
    assert stored == {user_id: value for user_id, value in expected_final.items() if value}
    assert db.session.scalar(
        select(func.max(select(func.count()).select_from(Vote).group_by(Vote.user_id, Vote.idea_id).subquery().c[0]))
    ) in (None, 1)
    db.session.refresh(idea)
    promotes = sum(1 for v in stored.values() if v == 1)
    demotes = sum(1 for v in stored.values() if v == -1)
    assert (idea.promote_count, idea.demote_count, idea.score) == (promotes, demotes, promotes - demotes)
    assert find_differences() == []
