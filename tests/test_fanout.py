"""Who is told of what: following, the fan-out of events into notifications and emails, digests."""

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from ideastorm import outbox
from ideastorm.comments.services import add_comment
from ideastorm.extensions import db
from ideastorm.mail.models import OutgoingEmail
from ideastorm.notifications import digest, services
from ideastorm.notifications.models import CategoryWatch, Follow, Notification
from ideastorm.triage import services as triage
from ideastorm.votes.services import vote
from tests.helpers import cast_vote


@pytest.fixture
def staff(make_user):
    return make_user("staff", name="Rosalind Franklin")


def _deliver():
    db.session.commit()
    outbox.drain_all(include_scheduled=True)
    db.session.expire_all()


def _told(kind=None):
    """{user id: [kinds]} of every notification, in order."""
    query = select(Notification.user_id, Notification.kind).order_by(Notification.id)
    if kind:
        query = query.where(Notification.kind == kind)
    told = {}
    for user_id, found in db.session.execute(query):
        told.setdefault(user_id, []).append(found)
    return told


def _emailed():
    return sorted(db.session.execute(select(OutgoingEmail.user_id, OutgoingEmail.kind)).all())


def _followers(idea_id):
    return set(db.session.scalars(select(Follow.user_id).where(Follow.idea_id == idea_id)))


def test_submitting_voting_and_commenting_follow_the_idea_unless_turned_off(make_user, make_idea):
    author, voter, commenter = make_user(), make_user(), make_user()
    quiet = make_user(follow_on_vote=False, follow_on_comment=False)
    idea = make_idea(author)
    cast_vote(quiet.id, make_idea(author).id, 1)  # the plain vote of scripts and tests follows nothing

    vote(voter, idea.id, 1)
    vote(quiet, idea.id, 1)
    add_comment(commenter, idea, "Yes please.")
    add_comment(quiet, idea, "Me too, but quietly.")
    db.session.commit()
    assert _followers(idea.id) == {author.id, voter.id, commenter.id}
    reasons = dict(db.session.execute(select(Follow.user_id, Follow.reason)).all())
    assert reasons == {author.id: "submitted", voter.id: "voted", commenter.id: "commented"}

    vote(voter, idea.id, 0)  # withdrawing a vote keeps the follow
    db.session.commit()
    assert voter.id in _followers(idea.id)


def test_a_status_change_tells_each_follower_once_with_the_response_never_the_actor(make_user, make_idea, staff):
    now_member, daily_member, never_member, banned = (
        make_user(), make_user(email_status="daily"), make_user(email_status="never"), make_user())
    idea = make_idea(now_member)
    for user in (daily_member, never_member, banned, staff):
        services.follow(user, idea)
    banned.is_banned = True
    db.session.commit()

    triage.change_status(staff, idea, "planned", "Coming in **May**.")
    _deliver()
    assert _told() == {now_member.id: ["status"], daily_member.id: ["status"], never_member.id: ["status"]}
    note = db.session.scalar(select(Notification).where(Notification.user_id == now_member.id))
    assert note.data == {"from": "new", "to": "planned", "response": "Coming in **May**."}
    assert note.actor_id == staff.id and note.digest_day is None
    waiting = db.session.scalar(select(Notification).where(Notification.user_id == daily_member.id))
    assert waiting.digest_day == waiting.created_at.date()
    # Only the member who asked for "at once" gets an email now; the digest member gets it tomorrow.
    assert _emailed() == [(now_member.id, "notification")]


def test_running_the_fan_out_twice_tells_nobody_twice(make_user, make_idea, staff):
    follower = make_user()
    idea = make_idea(follower)
    triage.change_status(staff, idea, "planned", None)
    db.session.commit()
    event = db.session.scalar(select(outbox.OutboxEvent).where(outbox.OutboxEvent.topic == "idea.status_changed"))
    from ideastorm.notifications import fanout

    record = outbox.Event(event.id, event.topic, event.payload, event.created_at, attempt=1)
    fanout.handle(record)
    fanout.handle(record)
    assert _told() == {follower.id: ["status"]}
    assert _emailed() == [(follower.id, "notification")]


def test_a_comment_tells_followers_and_a_mention_tells_the_member_named_once(make_user, make_idea):
    author = make_user(name="Ada Lovelace")
    follower = make_user(name="Grace Hopper")
    mentioned = make_user(name="Rosalind Franklin")
    idea = make_idea(author)
    services.follow(follower, idea)
    db.session.commit()
    comment = add_comment(follower, idea, "Agreed. @rosalind-franklin, @Ada-Lovelace: what do you think? "
                                          "Write to grace@rosalind-franklin.example")
    _deliver()
    # The author follows (submitted) and is mentioned: one "mention", not a "comment" as well.
    assert _told() == {mentioned.id: ["mention"], author.id: ["mention"]}
    note = db.session.scalar(select(Notification).where(Notification.user_id == mentioned.id))
    assert note.comment_id == comment.id and note.actor_id == follower.id

    add_comment(author, idea, "Thanks, Grace.")
    _deliver()
    assert _told("comment") == {follower.id: ["comment"]}  # the commenter is not told of their own comment


def test_hidden_ideas_and_comments_edits_and_deletions_tell_nobody(make_user, make_idea, staff):
    follower = make_user()
    idea = make_idea()
    services.follow(follower, idea)
    hidden = add_comment(make_user(), idea, "Hidden before anyone was told")
    triage.set_comment_hidden(staff, hidden, True)
    _deliver()
    hidden_idea = make_idea()
    services.follow(follower, hidden_idea)
    triage.set_idea_hidden(staff, hidden_idea, True)
    triage.change_status(staff, hidden_idea, "planned", "Secret")
    _deliver()
    assert _told() == {}

    from ideastorm.comments.services import delete_comment, edit_comment

    shown = add_comment(follower, idea, "First version")
    _deliver()
    before = _told()
    assert before and follower.id not in before
    edit_comment(follower, shown, "Second version")
    _deliver()
    assert _told() == before
    delete_comment(follower, shown)  # what told of it goes with it
    _deliver()
    assert _told() == {}


def test_a_merge_tells_the_duplicates_followers_who_then_follow_the_original(make_user, make_idea, staff):
    follower, original_follower = make_user(), make_user()
    original = make_idea(title="Export every report as a spreadsheet")
    duplicate = make_idea(title="Spreadsheet export for reports")
    services.follow(follower, duplicate)
    services.follow(original_follower, original)
    db.session.commit()
    triage.mark_duplicate(staff, duplicate, original, "Same as the older one.")
    _deliver()
    # One "merge" per follower of the duplicate (its author too), no "status: duplicate" besides.
    assert _told() == {follower.id: ["merge"], duplicate.author_id: ["merge"]}
    note = db.session.scalar(select(Notification).where(Notification.user_id == follower.id))
    assert note.idea_id == duplicate.id and note.data == {"original_id": original.id}
    assert _followers(original.id) == {original.author_id, original_follower.id, follower.id, duplicate.author_id}

    triage.undo_duplicate(staff, db.session.get(type(duplicate), duplicate.id))
    db.session.commit()
    assert _followers(original.id) == {original.author_id, original_follower.id}


def test_staff_watching_a_category_hear_of_new_ideas_members_do_not(make_user, make_idea, staff, app):
    from ideastorm.ideas.models import Category

    store = db.session.scalar(select(Category).where(Category.slug == "store"))
    apps = db.session.scalar(select(Category).where(Category.slug == "apps"))
    member = make_user()
    db.session.add_all([CategoryWatch(user_id=staff.id, category_id=store.id),
                        CategoryWatch(user_id=member.id, category_id=store.id)])
    db.session.commit()
    make_idea(category="store")
    make_idea(category="apps")
    make_idea(staff, category="store")  # their own: nothing
    _deliver()
    assert _told() == {staff.id: ["new_idea"]}
    assert apps is not None


def test_preferences_are_saved_and_category_watches_are_for_staff_only(make_user, staff):
    from ideastorm.domain import DomainError
    from ideastorm.ideas.models import Category

    store_id = db.session.scalar(select(Category.id).where(Category.slug == "store"))
    member = make_user()
    wanted = services.Preferences(False, True, False, "daily", "never", "immediate", "daily", (store_id,))
    services.save_preferences(member, wanted)
    services.save_preferences(staff, wanted)
    db.session.commit()
    assert services.preferences_of(member) == services.Preferences(
        False, True, False, "daily", "never", "immediate", "daily", ())
    assert services.preferences_of(staff) == wanted
    with pytest.raises(DomainError):
        services.save_preferences(member, services.Preferences(True, True, True, "hourly", "daily", "daily", "daily"))


def test_a_digest_gathers_a_members_day_once_however_often_it_runs(make_user, make_idea, staff, runner):
    member = make_user(email_status="daily", email_comments="daily")
    idea, other = make_idea(member), make_idea(member)
    triage.change_status(staff, idea, "planned", "Soon.")
    add_comment(make_user(), other, "Nice one.")
    _deliver()
    today = db.session.scalar(select(func.min(Notification.digest_day)))
    assert db.session.scalar(select(func.count()).select_from(Notification).where(
        Notification.user_id == member.id, Notification.digest_day == today)) == 2

    assert digest.queue_digests(today) == 1
    assert digest.queue_digests(today) == 0
    result = runner.invoke(args=["notifications", "digest", "--day", today.isoformat()])
    assert result.exit_code == 0 and "0 digest(s) queued" in result.output
    db.session.commit()
    assert _emailed() == [(member.id, "digest")]

    result = runner.invoke(args=["notifications", "digest", "--day", "yesterday-ish"])
    assert result.exit_code != 0 and "is not a date" in result.output


def test_the_worker_schedule_queues_yesterdays_digests_after_the_hour(make_user, make_idea, staff, app):
    member = make_user(email_status="daily")
    idea = make_idea(member)
    triage.change_status(staff, idea, "planned", None)
    _deliver()
    day = db.session.scalar(select(Notification.digest_day))
    before = datetime.combine(day + timedelta(days=1), datetime.min.time()).replace(hour=app.config["DIGEST_HOUR_UTC"] - 1)
    assert digest.digest_day_due(before, app.config["DIGEST_HOUR_UTC"]) == day - timedelta(days=1)
    outbox.run_scheduled_jobs({}, now=before)
    assert _emailed() == []
    after = before + timedelta(hours=1)
    runs = {}
    outbox.run_scheduled_jobs(runs, now=after)
    outbox.run_scheduled_jobs(runs, now=after + timedelta(minutes=5))  # same hour: not run again
    assert _emailed() == [(member.id, "digest")]
    assert isinstance(day, date)


def test_a_follow_is_refused_on_an_idea_the_member_cannot_see(make_user, make_idea):
    from ideastorm.domain import DomainError

    member = make_user()
    idea = make_idea(hidden=True)
    with pytest.raises(DomainError) as refused:
        services.follow(member, idea)
    assert refused.value.status == 404
