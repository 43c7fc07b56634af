"""Status changes, duplicate merges and moderation, through the services every interface calls."""

import pytest
from sqlalchemy import func, select

from ideastorm.audit.models import AuditEntry
from ideastorm.domain import DomainError
from ideastorm.extensions import db
from ideastorm.ideas.models import Idea, StatusChange
from ideastorm.triage import services
from ideastorm.votes.models import Vote
from ideastorm.votes.verify import find_differences
from tests.helpers import cast_vote


def _state(*ideas):
    db.session.expire_all()
    return [
        (i.status, i.promote_count, i.demote_count, i.score, f"{i.trending:.12e}", i.duplicate_of_id,
         sorted(db.session.execute(select(Vote.user_id, Vote.value).where(Vote.idea_id == i.id)).all()))
        for i in (db.session.get(Idea, idea.id) for idea in ideas)
    ]


@pytest.fixture
def staff(make_user):
    return make_user("staff")


def test_status_change_is_history_with_response_and_audit(staff, make_idea):
    idea = make_idea()
    services.change_status(staff, idea, "under_review")
    services.change_status(staff, idea, "planned", "Coming in **May**.")
    services.change_status(staff, idea, "planned", "")  # nothing new: no entry
    history = db.session.execute(
        select(StatusChange.from_status, StatusChange.to_status, StatusChange.response, StatusChange.actor_id)
        .order_by(StatusChange.id)).all()
    assert history == [("new", "under_review", None, staff.id), ("under_review", "planned", "Coming in **May**.", staff.id)]
    assert db.session.get(Idea, idea.id).status_changed_at is not None
    audit = db.session.execute(select(AuditEntry.action, AuditEntry.before, AuditEntry.after)).all()
    assert audit[-1] == ("idea.status", {"status": "under_review"}, {"status": "planned", "response": "Coming in **May**."})


@pytest.mark.parametrize("status, response", [("bogus", None), ("duplicate", None), ("planned", "x" * 1_000_000)])
def test_bad_status_changes_change_nothing(staff, make_idea, status, response):
    idea = make_idea()
    with pytest.raises(DomainError):
        services.change_status(staff, idea, status, response)
    db.session.rollback()
    assert _state(idea)[0][0] == "new"
    assert db.session.scalar(select(func.count()).select_from(StatusChange)) == 0


def test_merge_moves_votes_one_per_member_and_undo_restores_exactly(staff, make_user, make_idea):
    a, b = make_idea(title="Dark mode for the app"), make_idea(title="Night theme for the app")
    both, only_a, only_b, demoter = (make_user() for _ in range(4))
    cast_vote(both.id, a.id, -1)
    cast_vote(both.id, b.id, 1)
    cast_vote(only_a.id, a.id, 1)
    cast_vote(demoter.id, a.id, -1)
    cast_vote(only_b.id, b.id, 1)
    before = _state(a, b)

    services.mark_duplicate(staff, a, b, "Same as the night theme idea.")
    db.session.commit()
    after_a, after_b = _state(a, b)
    assert after_a[:4] == ("duplicate", 0, 0, 0) and after_a[5] == b.id and after_a[6] == []
    # `both` keeps their vote on the original; the others' votes moved.
    assert after_b[6] == sorted([(both.id, 1), (only_a.id, 1), (demoter.id, -1), (only_b.id, 1)])
    assert after_b[1:4] == (3, 1, 2)
    assert find_differences() == []
    with pytest.raises(Exception):
        cast_vote(only_b.id, a.id, 1)  # closed: it is a duplicate

    services.undo_duplicate(staff, a)
    assert _state(a, b) == before
    assert find_differences() == []


def test_chains_and_cycles_are_refused(staff, make_idea):
    a, b, c = make_idea(), make_idea(), make_idea()
    with pytest.raises(DomainError, match="itself"):
        services.mark_duplicate(staff, a, a)
    db.session.rollback()
    services.mark_duplicate(staff, a, b)
    db.session.commit()
    with pytest.raises(DomainError, match="Other ideas are duplicates"):
        services.mark_duplicate(staff, b, c)  # the original later becoming a duplicate
    db.session.rollback()
    with pytest.raises(DomainError, match="itself a duplicate"):
        services.mark_duplicate(staff, c, a)  # pointing at a duplicate would make a chain
    db.session.rollback()
    with pytest.raises(DomainError, match="already a duplicate"):
        services.mark_duplicate(staff, a, c)
    db.session.rollback()
    assert [s[0] for s in _state(a, b, c)] == ["duplicate", "new", "new"]
    assert find_differences() == []


def test_hidden_comment_leaves_the_count_and_comes_back(staff, make_user, make_idea):
    from ideastorm.comments.services import add_comment

    idea = make_idea()
    comment = add_comment(make_user(), idea, "Buy cheap watches")
    services.set_comment_hidden(staff, comment, True)
    services.set_comment_hidden(staff, comment, True)  # idempotent
    assert _state(idea) and db.session.get(Idea, idea.id).comment_count == 0
    services.set_comment_hidden(staff, comment, False)
    assert db.session.get(Idea, idea.id).comment_count == 1


def test_notes_lock_hide_and_ban(staff, make_user, make_idea):
    member, admin = make_user(), make_user("admin")
    idea = make_idea()
    services.add_note(staff, idea, "Check with the firmware team")
    assert [n.body for n in services.notes_of(idea)] == ["Check with the firmware team"]
    with pytest.raises(DomainError):
        services.add_note(staff, idea, "  ")
    services.set_comments_locked(staff, idea, True)
    services.set_idea_hidden(staff, idea, True)
    services.set_banned(staff, member, True)
    with pytest.raises(DomainError):
        services.set_banned(staff, admin, True)
    with pytest.raises(DomainError):
        services.set_banned(staff, make_user("staff"), True)
    db.session.expire_all()
    assert (idea.comments_locked, idea.is_hidden, member.is_banned, admin.is_banned) == (True, True, True, False)
    actions = list(db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
    assert actions == ["idea.note", "idea.lock", "idea.hide", "user.ban"]
