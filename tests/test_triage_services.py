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


def test_bulk_undo_restores_status_response_category_and_tag(staff, make_idea):
    from ideastorm import search
    from ideastorm.ideas import counters
    from ideastorm.ideas.models import Category
    from ideastorm.outbox import OutboxEvent
    from ideastorm.search.interface import SearchQuery

    first, second = make_idea(title="Bulk undone first idea"), make_idea(title="Bulk undone second idea")
    services.change_status(staff, first, "under_review", "Looking into it.")
    db.session.commit()
    other = db.session.scalar(select(Category).where(Category.slug == "other"))
    before = [(i.status, i.status_changed_at, i.category_id, [t.name for t in i.tags])
              for i in (db.session.get(Idea, first.id), db.session.get(Idea, second.id))]
    counted = counters.values()

    batch = services.bulk_apply(staff, [second.id, first.id], status="implemented", response="Done.",
                                category_id=other.id, tag="shipped")
    db.session.commit()
    assert [item.idea_id for item in batch.items] == [second.id, first.id]  # in the order chosen
    assert counters.values()["implemented"] == counted["implemented"] + 2
    search.sync()
    assert search.backend().query(SearchQuery("bulk undone", status="implemented")).total == 2

    events_before = db.session.scalar(select(func.count()).select_from(OutboxEvent))
    result = services.undo_batch(staff, batch)
    db.session.commit()
    assert [i.id for i in result.restored] == [second.id, first.id] and result.skipped == []
    db.session.expire_all()
    after = [(i.status, i.status_changed_at, i.category_id, [t.name for t in i.tags])
             for i in (db.session.get(Idea, first.id), db.session.get(Idea, second.id))]
    assert after == before
    history = db.session.execute(select(StatusChange.idea_id, StatusChange.to_status, StatusChange.response)
                                 .order_by(StatusChange.id)).all()
    assert history == [(first.id, "under_review", "Looking into it.")]
    assert counters.values() == counted and counters.differences() == {}
    topics = db.session.scalars(select(OutboxEvent.topic).order_by(OutboxEvent.id).offset(events_before)).all()
    assert topics.count("idea.status_changed") == 2
    search.sync()
    assert search.backend().query(SearchQuery("bulk undone", status="implemented")).total == 0
    assert search.backend().query(SearchQuery("bulk undone")).total == 2

    with pytest.raises(DomainError, match="already undone"):
        services.undo_batch(staff, batch)
    db.session.rollback()
    actions = db.session.scalars(select(AuditEntry.action).where(AuditEntry.target_type == "batch")).all()
    assert actions == ["triage.bulk", "triage.bulk_undo"]


def test_merge_preview_counts_what_moves(staff, make_user, make_idea):
    from ideastorm.comments.services import add_comment

    a, b = make_idea(), make_idea()
    both, only_a = make_user(), make_user()
    cast_vote(both.id, a.id, 1)
    cast_vote(both.id, b.id, -1)
    cast_vote(only_a.id, a.id, -1)
    add_comment(make_user(), a, "Same as the other one")
    db.session.commit()
    db.session.expire_all()
    preview = services.merge_preview(db.session.get(Idea, a.id), db.session.get(Idea, b.id))
    assert (preview.votes_moving, preview.votes_set_aside, preview.comments) == (1, 1, 1)
    with pytest.raises(DomainError, match="itself"):
        services.merge_preview(a, a)
