"""Shortcuts for tests that call services directly, committing as a view or command would."""

from __future__ import annotations

from ideastorm.database import run_transaction
from ideastorm.votes import services as votes


def cast_vote(user_id: int, idea_id: int, value) -> votes.VoteResult:
    """Vote as the vote view does: the replayable unit of work, committed once."""
    return run_transaction(lambda: votes.cast_vote(user_id, idea_id, value))


def signed_in_client(app, user, remember: bool = False):
    """Another browser, signed in as ``user`` (the app's client class: it sends the CSRF token)."""
    from tests.conftest import Auth

    other = app.test_client()
    assert Auth(other).login(user, remember=remember).status_code == 302
    return other


def is_signed_in(client) -> bool:
    return client.get("/account").status_code == 200
