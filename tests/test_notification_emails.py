"""From a status change to the followers' mailboxes, through the outbox, the fan-out and a real SMTP server."""

from datetime import datetime, timedelta
from urllib.parse import urlsplit

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from ideastorm import outbox
from ideastorm.accounts.models import User
from ideastorm.comments.services import add_comment
from ideastorm.extensions import db
from ideastorm.i18n import status_label
from ideastorm.notifications import services
from ideastorm.notifications.models import Notification
from ideastorm.triage.services import change_status
from tests.smtp_sink import smtp_sink_fixture  # noqa: F401  (the smtp_sink fixture)


@pytest.fixture
def staff(make_user):
    return make_user("staff", name="Rosalind Franklin", email="rosalind@example.com")


def _deliver():
    db.session.commit()
    outbox.drain_all(include_scheduled=True)


def _text(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def _html(message) -> str:
    return message.get_body(preferencelist=("html",)).get_content()


def test_a_status_change_emails_each_follower_once_in_their_language(make_user, make_idea, staff, smtp_sink,
                                                                      client, app):
    author = make_user(name="Ada Lovelace", email="ada@example.com")
    french = make_user(name="Marie Curie", email="marie@example.com")
    french.locale = "fr"
    english = make_user(name="Grace Hopper", email="grace@example.com")
    english.locale = "en"
    silent = make_user(name="Never Told", email="never@example.com", email_status="never")
    idea = make_idea(author, title="Dark mode for the support app")
    for user in (french, english, silent, staff):
        services.follow(user, idea)
    _deliver()  # the new idea's own events
    smtp_sink.messages.clear()
    smtp_sink.counts.clear()

    change_status(staff, idea, "planned", "Coming in **May**, with the new theme.")
    _deliver()
    assert smtp_sink.wait_for(3)
    assert sorted(r for rcpts in smtp_sink.recipients for r in rcpts) == [
        "ada@example.com", "grace@example.com", "marie@example.com"]  # not the actor, not "never"
    assert set(smtp_sink.counts.values()) == {1}

    with app.test_request_context(), force_locale("fr"):
        planned_fr = status_label("planned")
    with app.test_request_context(), force_locale("en"):
        planned_en = status_label("planned")
    assert planned_fr != planned_en
    (to_marie,) = smtp_sink.to("marie@example.com")
    (to_grace,) = smtp_sink.to("grace@example.com")
    assert planned_fr in _text(to_marie) and planned_fr in _html(to_marie)
    assert planned_en in _text(to_grace) and planned_fr not in _text(to_grace)
    # The whole message in French, the plain-text part as well as the HTML one.
    assert "est passée du statut" in _text(to_marie) and "Choisissez les e-mails" in _text(to_marie)
    assert "moved from" in _text(to_grace) and "moved from" not in _text(to_marie)
    for message in (to_marie, to_grace):
        assert "Dark mode for the support app" in message["Subject"] or "Dark mode" in _text(message)
        assert "Coming in" in _text(message) and "<strong>May</strong>" in _html(message)
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    # One click in the mail client: a POST without a session or a CSRF token turns that email off.
    link = str(to_marie["List-Unsubscribe"]).strip().strip("<>")
    assert link.startswith("http://ideastorm.test/")
    path = urlsplit(link).path
    fresh = app.test_client()
    answer = fresh.post(path, data={"List-Unsubscribe": "One-Click"})
    assert answer.status_code == 200
    db.session.expire_all()
    assert db.session.get(User, french.id).email_status == "never"

    change_status(staff, idea, "implemented", "Shipped.")
    _deliver()
    assert smtp_sink.wait_for(5)
    assert len(smtp_sink.to("marie@example.com")) == 1  # still told in the app, no longer by email
    assert len(smtp_sink.to("ada@example.com")) == 2
    assert db.session.scalar(select(Notification.id).where(
        Notification.user_id == french.id, Notification.data["to"].as_string() == "implemented")) is not None


def test_a_digest_member_gets_one_email_the_next_day_with_all_their_events(make_user, make_idea, staff, smtp_sink,
                                                                         app):
    member = make_user(name="Daily Reader", email="daily@example.com", email_status="daily",
                       email_comments="daily")
    first = make_idea(member, title="Offline mode for the field app")
    second = make_idea(member, title="Bulk export of invoices")
    _deliver()
    smtp_sink.messages.clear()
    change_status(staff, first, "under_review", "We are looking at it.")
    add_comment(make_user(name="Grace Hopper"), second, "We need this for the year-end close.")
    change_status(staff, second, "planned", None)
    _deliver()
    assert smtp_sink.to("daily@example.com") == []  # nothing at once for a digest member

    day = db.session.scalar(select(Notification.digest_day).where(Notification.user_id == member.id))
    next_morning = datetime.combine(day + timedelta(days=1), datetime.min.time()).replace(
        hour=app.config["DIGEST_HOUR_UTC"])
    outbox.run_scheduled_jobs({}, now=next_morning)
    outbox.run_scheduled_jobs({}, now=next_morning + timedelta(hours=1))  # a later hour, another worker: no second
    _deliver()
    assert smtp_sink.wait_for(1)
    (digest,) = smtp_sink.to("daily@example.com")
    body = _text(digest)
    assert "Offline mode for the field app" in body and "Bulk export of invoices" in body
    assert "We need this for the year-end close." in body or "Grace Hopper" in body
    assert digest["List-Unsubscribe"]
    assert len(smtp_sink.to("daily@example.com")) == 1


def test_the_mailer_reads_a_batch_in_a_few_queries_not_a_few_per_email(make_user, make_idea, staff, smtp_sink):
    from sqlalchemy import event

    idea = make_idea(title="A popular idea")
    for n in range(30):
        services.follow(make_user(name=f"Follower {n}"), idea)
    _deliver()
    change_status(staff, idea, "planned", "Soon.")
    db.session.commit()
    from ideastorm.notifications import fanout

    event_row = db.session.scalar(select(outbox.OutboxEvent).where(outbox.OutboxEvent.topic == "idea.status_changed"))
    fanout.handle(outbox.Event(event_row.id, event_row.topic, event_row.payload, event_row.created_at, attempt=1))
    db.session.expunge_all()  # the mailer starts from nothing, as in the worker
    reads = []

    def count(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith("SELECT"):
            reads.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        _deliver()
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert smtp_sink.wait_for(31)
    # The claims are one UPDATE per email; the reads are per batch (users, notifications, ideas, …).
    assert len(reads) < 30, reads[:40]  # 219 when each email read its own rows
