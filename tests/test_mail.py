"""Email: composed in the recipient's language from the site's brand, sent over real SMTP, one-click unsubscribe.

Notifications are made here directly (rows plus ``queue_email``), as the fan-out would, so these
tests depend on the mail package alone.
"""

from __future__ import annotations

import itertools
import os
import re
import time
from datetime import date
from email import message_from_bytes, policy
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from ideastorm import outbox
from ideastorm.accounts import tokens as account_tokens
from ideastorm.accounts.models import User
from ideastorm.comments.services import add_comment
from ideastorm.extensions import db
from ideastorm.ideas.models import Category
from ideastorm.mail import services
from ideastorm.mail.compose import compose
from ideastorm.mail.models import OutgoingEmail
from ideastorm.mail.tokens import make_unsubscribe_token, read_unsubscribe_token
from ideastorm.notifications.models import Notification
from ideastorm.outbox import OutboxEvent
from ideastorm.settings.services import save_settings
from tests.smtp_sink import smtp_sink_fixture  # noqa: F401  (the smtp_sink fixture)

ACCENT = "#6a1b9a"
_events = itertools.count(1_000_000)
ONE_CLICK = {"data": "List-Unsubscribe=One-Click", "content_type": "application/x-www-form-urlencoded"}


def notify(user, kind: str, idea, *, actor=None, comment=None, data=None, digest_day=None, queue=True) -> Notification:
    """A notification as the fan-out records it, emailed at once (or kept for the digest of ``digest_day``)."""
    notification = Notification(user_id=user.id, kind=kind, idea_id=idea.id, comment_id=comment.id if comment else None,
                                actor_id=actor.id if actor else None, event_id=next(_events), data=data or {},
                                digest_day=digest_day)
    db.session.add(notification)
    db.session.flush()
    if queue and digest_day is None:
        services.queue_email("notification", user.id, notification_id=notification.id)
    return notification


def deliver() -> None:
    db.session.commit()
    outbox.drain_all(include_scheduled=True)


def brand(make_user, name: str = "Acme Ideas", accent: str = ACCENT) -> None:
    save_settings(make_user("admin"), name=name, accent=accent)
    db.session.commit()


def parts(message) -> tuple[str, str]:
    """What a reader sees: the plain-text part and the HTML part."""
    return message.get_body(("plain",)).get_content(), message.get_body(("html",)).get_content()


def as_received(email_message):
    """A composed Flask-Mailman message parsed back as a mail client would."""
    return message_from_bytes(email_message.message().as_bytes(), policy=policy.default)


def compose_row(email_id: int):
    return as_received(compose(db.session.get(OutgoingEmail, email_id)))


def unsubscribe_path(message) -> str:
    header = str(message["List-Unsubscribe"]).strip()  # a long header is folded after its name
    assert header.startswith("<http://ideastorm.test/unsubscribe/") and header.endswith(">"), header
    return urlsplit(header[1:-1]).path


@pytest.fixture
def people(make_user):
    english = make_user(name="Edith Evans")
    french = make_user(name="Françoise Dorléac")
    french.locale = "fr"
    staff = make_user("staff", name="Rosalind Franklin")
    db.session.commit()
    return english, french, staff


# --- composing ---------------------------------------------------------------------------------

def test_a_status_change_reaches_each_follower_in_their_language_with_the_brand(app, smtp_sink, make_user,
                                                                                make_idea, people):
    english, french, staff = people
    brand(make_user)
    idea = make_idea(title="Scan receipts with the phone")
    data = {"from": "under_review", "to": "planned", "response": "We start **next month**."}
    notify(english, "status", idea, actor=staff, data=data)
    notify(french, "status", idea, actor=staff, data=data)
    deliver()

    assert smtp_sink.wait_for(2)
    [to_english], [to_french] = smtp_sink.to(english.email), smtp_sink.to(french.email)
    assert to_english["Subject"] == "[Acme Ideas] “Scan receipts with the phone” is now Planned"
    assert "Planifiée" in to_french["Subject"] and to_french["Subject"].startswith("[Acme Ideas] ")
    assert to_english["From"].addresses[0].display_name == "Acme Ideas"
    assert to_english["From"].addresses[0].addr_spec == "noreply@localhost"
    assert to_english["To"].addresses[0].addr_spec == english.email

    text, html = parts(to_english)
    assert "moved from Under review to Planned" in text and "We start **next month**." in text
    assert "Rosalind Franklin" in text and f"http://ideastorm.test/ideas/{idea.id}" in text
    assert "<strong>next month</strong>" in html and f"background:{ACCENT}" in html and "Acme Ideas" in html
    assert 'lang="en"' in html
    french_text, french_html = parts(to_french)
    assert "À l'étude" in french_text and "Planifiée" in french_text
    assert 'lang="fr"' in french_html and "Planifiée" in french_html and to_french["Content-Language"] == "fr"

    rows = {row.user_id: row for row in db.session.scalars(select(OutgoingEmail))}
    assert to_english["Message-ID"] == rows[english.id].message_id
    assert re.fullmatch(r"<[0-9a-f]{32}@ideastorm\.test>", rows[english.id].message_id)
    assert to_english["Auto-Submitted"] == "auto-generated"
    assert to_english["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert read_unsubscribe_token(unsubscribe_path(to_english).rsplit("/", 1)[1]) == (english.id, "email_status")
    assert "http://ideastorm.test/account" in text
    assert all(row.sent_at and row.sending_at is None and row.attempts == 1 for row in rows.values())


def test_comment_mention_merge_and_new_idea_emails_in_english_and_french(app, make_user, make_idea, people):
    english, french, staff = people
    products = db.session.scalar(select(Category).where(Category.slug == "products"))
    products.name_fr = "Produits"
    commenter = make_user(name="Paul Dirac")
    idea = make_idea(title="Offline mode for the field app")
    original = make_idea(title="Work without a network")
    comment = add_comment(commenter, idea, "I need this **on site**, where there is no signal at all.")
    db.session.commit()

    for user in (english, french):
        emails = {kind: services.queue_email("notification", user.id, notification_id=notify(
            user, kind, idea, actor=commenter, comment=comment, queue=False).id)
                  for kind in ("comment", "mention")}
        emails["merge"] = services.queue_email("notification", user.id, notification_id=notify(
            user, "merge", idea, actor=staff, data={"original_id": original.id}, queue=False).id)
        emails["new_idea"] = services.queue_email("notification", user.id, notification_id=notify(
            user, "new_idea", idea, actor=idea.author, queue=False).id)
        db.session.commit()
        received = {kind: compose_row(email_id) for kind, email_id in emails.items()}
        texts = {kind: parts(message) for kind, message in received.items()}
        anchor = f"http://ideastorm.test/ideas/{idea.id}#comment-{comment.id}"

        if user is english:
            assert received["comment"]["Subject"] == "[IdeaStorm] Paul Dirac commented on “Offline mode for the field app”"
            assert received["mention"]["Subject"] == "[IdeaStorm] Paul Dirac mentioned you on “Offline mode for the field app”"
            assert received["merge"]["Subject"] == ("[IdeaStorm] “Offline mode for the field app” was merged into "
                                                   "“Work without a network”")
            assert received["new_idea"]["Subject"] == "[IdeaStorm] New idea in Products: “Offline mode for the field app”"
        else:
            assert "Produits" in received["new_idea"]["Subject"]
            assert 'lang="fr"' in texts["new_idea"][1]
        for kind in ("comment", "mention"):
            text, html = texts[kind]
            assert "I need this on site, where there is no signal at all." in text and anchor in text
            assert f'href="{anchor}"' in html and "Paul Dirac" in html
        merge_text, merge_html = texts["merge"]
        assert "Work without a network" in merge_text and f"http://ideastorm.test/ideas/{original.id}" in merge_text
        assert f'href="http://ideastorm.test/ideas/{original.id}"' in merge_html
        settings = {kind: read_unsubscribe_token(unsubscribe_path(message).rsplit("/", 1)[1])[1]
                    for kind, message in received.items()}
        assert settings == {"comment": "email_comments", "mention": "email_mentions", "merge": "email_status",
                            "new_idea": "email_new_ideas"}


def test_member_text_is_escaped_in_html_and_kept_as_written_in_text(app, make_user, make_idea, people):
    english, _, _ = people
    author = make_user(name="Bobby <b>Tables</b>")
    idea = make_idea(author, title="Use <script>alert(1)</script> & friends")
    comment = add_comment(author, idea, "A <img src=x onerror=alert(1)> comment")
    db.session.commit()
    email_id = services.queue_email("notification", english.id, notification_id=notify(
        english, "comment", idea, actor=author, comment=comment, queue=False).id)
    db.session.commit()
    text, html = parts(compose_row(email_id))
    assert "<script>" not in html and "&lt;script&gt;" in html and "<b>Tables" not in html and "<img" not in html
    assert "Use <script>alert(1)</script> & friends" in text


def test_the_digest_gathers_a_members_day_grouped_by_idea(app, smtp_sink, make_user, make_idea, people):
    english, french, staff = people
    commenter = make_user(name="Paul Dirac")
    first, second = make_idea(title="Offline mode for the field app"), make_idea(title="Bigger buttons")
    comment = add_comment(commenter, first, "Me too")
    day = date(2026, 12, 1)
    for user in (english, french):
        notify(user, "comment", first, actor=commenter, comment=comment, digest_day=day)
        notify(user, "status", first, actor=staff, data={"from": "new", "to": "planned"}, digest_day=day)
        notify(user, "status", second, actor=staff, data={"from": "new", "to": "under_review"}, digest_day=day)
        notify(user, "status", second, actor=staff, data={"to": "declined"}, digest_day=date(2026, 12, 2))
        services.queue_email("digest", user.id, digest_day=day)
    assert services.queue_email("digest", english.id, digest_day=day) is None  # one digest per member and day
    deliver()

    assert smtp_sink.wait_for(2)
    [message] = smtp_sink.to(english.email)
    assert message["Subject"] == "[IdeaStorm] Your daily digest: 3 updates"
    text, html = parts(message)
    assert text.index("== Offline mode for the field app ==") < text.index("== Bigger buttons ==")
    assert "Paul Dirac commented" in text and "to Planned" in text and "to Under review" in text
    assert "Declined" not in text  # another day's
    assert "December 1, 2026" in text
    assert html.count("<h2") == 2
    [french_message] = smtp_sink.to(french.email)
    french_text, _ = parts(french_message)
    assert "1 décembre 2026" in french_text and "Planifiée" in french_text
    assert read_unsubscribe_token(unsubscribe_path(message).rsplit("/", 1)[1]) == (english.id, "digest")


def test_account_emails_carry_their_link_and_no_unsubscribe(app, people):
    english, french, _ = people
    reset = services.queue_email("password_reset", english.id)
    confirm = services.queue_email("verify_email", french.id)
    db.session.commit()

    message = compose_row(reset)
    assert message["Subject"] == "[IdeaStorm] Reset your password"
    assert message["List-Unsubscribe"] is None and message["Auto-Submitted"] == "auto-generated"
    text, html = parts(message)
    [link] = re.findall(r"http://ideastorm\.test/reset-password/\S+", text)
    assert account_tokens.user_for_reset_token(link.rsplit("/", 1)[1]) == english
    assert "valid for 1 hour" in text and "If you did not ask for this, ignore this email" in text
    assert f'href="{link}"' in html and "http://ideastorm.test/account" in text

    message = compose_row(confirm)
    text, _ = parts(message)
    [link] = re.findall(r"http://ideastorm\.test/confirm-email/\S+", text)
    assert account_tokens.user_for_confirm_token(link.rsplit("/", 1)[1]) == french
    assert message["List-Unsubscribe"] is None and message["Content-Language"] == "fr"


# --- queueing ----------------------------------------------------------------------------------

def test_queueing_a_thousand_is_one_event_and_idempotent(app, make_user, make_idea):
    idea = make_idea()
    users = [{"email": f"follower{n}@example.com", "display_name": f"Follower {n}", "role": "member"}
             for n in range(1000)]
    db.session.execute(User.__table__.insert(), users)
    user_ids = db.session.scalars(select(User.id).where(User.email.like("follower%"))).all()
    db.session.execute(Notification.__table__.insert(), [
        {"user_id": user_id, "kind": "comment", "idea_id": idea.id, "event_id": 7, "data": {}} for user_id in user_ids])
    notification_ids = db.session.scalars(select(Notification.id).order_by(Notification.id)).all()
    rows = [{"kind": "notification", "user_id": user_id, "notification_id": notification_id}
            for user_id, notification_id in zip(user_ids, notification_ids)]
    events_before = db.session.scalar(select(func.count()).select_from(OutboxEvent))

    ids = services.queue_emails(rows)
    assert len(ids) == 1000 and ids == sorted(ids)
    assert services.queue_emails(rows[:10] + rows[-5:]) == []  # queued already: nothing new, no event
    db.session.commit()
    events = db.session.scalars(select(OutboxEvent).where(OutboxEvent.topic == "email.queued")).all()
    assert db.session.scalar(select(func.count()).select_from(OutboxEvent)) == events_before + 1
    assert sorted(events[0].payload["email_ids"]) == ids
    assert db.session.scalar(select(func.count(func.distinct(OutgoingEmail.message_id)))) == 1000


# --- sending -----------------------------------------------------------------------------------

def test_without_a_server_each_email_is_an_eml_file(app, make_idea, people):
    english, _, staff = people
    idea = make_idea(title="Scan receipts with the phone")
    notify(english, "status", idea, actor=staff, data={"from": "new", "to": "planned"})
    notify(english, "status", idea, actor=staff, data={"from": "planned", "to": "in_progress"})
    deliver()

    folder = Path(app.config["MAIL_DIR"])
    names = sorted(os.listdir(folder))
    ids = db.session.scalars(select(OutgoingEmail.id).order_by(OutgoingEmail.id)).all()
    assert [re.fullmatch(r"\d{8}-\d{6}-(\d+)\.eml", name).group(1) for name in names] == [str(i) for i in ids]
    message = message_from_bytes((folder / names[0]).read_bytes(), policy=policy.default)
    assert message["Subject"] == "[IdeaStorm] “Scan receipts with the phone” is now Planned"
    assert "moved from New to Planned" in parts(message)[0]
    assert all(row.sent_at for row in db.session.scalars(select(OutgoingEmail)))


def test_one_click_unsubscribe_from_a_received_email(app, smtp_sink, make_idea, people):
    english, _, staff = people
    idea = make_idea()
    notify(english, "status", idea, actor=staff, data={"from": "new", "to": "planned"})
    deliver()
    assert smtp_sink.wait_for(1)
    [message] = smtp_sink.messages
    path = unsubscribe_path(message)
    assert f"http://ideastorm.test{path}" in parts(message)[0]  # the same link in the text

    visitor = app.test_client()  # no cookie, no CSRF token: a mail client or a scanner
    page = visitor.get(path)
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "Stop emails about status changes of the ideas you follow?" in body and 'method="post"' in body
    db.session.expire_all()
    assert db.session.get(User, english.id).email_status == "immediate"  # GET changes nothing

    done = visitor.post(path, **ONE_CLICK)
    assert done.status_code == 200 and "You are unsubscribed" in done.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, english.id).email_status == "never"
    assert db.session.get(User, english.id).email_comments == "daily"  # only the setting the link names
    assert visitor.post(path, **ONE_CLICK).status_code == 200  # twice is harmless


def test_the_digest_link_stops_every_daily_setting(app, people):
    english, _, _ = people
    english.email_status, english.email_comments, english.email_mentions = "immediate", "daily", "never"
    db.session.commit()
    response = app.test_client().post(f"/unsubscribe/{make_unsubscribe_token(english.id, 'digest')}", **ONE_CLICK)
    assert response.status_code == 200
    db.session.expire_all()
    user = db.session.get(User, english.id)
    assert (user.email_status, user.email_comments, user.email_mentions, user.email_new_ideas) == (
        "immediate", "never", "never", "never")


def test_a_forged_or_stale_unsubscribe_link_is_a_clear_404(app, make_user, people):
    english, _, _ = people
    client = app.test_client()
    genuine = make_unsubscribe_token(english.id, "email_comments")
    gone = make_user()
    gone_token = make_unsubscribe_token(gone.id, "email_comments")
    db.session.delete(gone)
    db.session.commit()
    for token in (genuine[:-2] + "xx", "nonsense", gone_token):
        for response in (client.get(f"/unsubscribe/{token}"), client.post(f"/unsubscribe/{token}", **ONE_CLICK)):
            assert response.status_code == 404
            assert "This unsubscribe link is not valid" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, english.id).email_comments == "daily"


def test_emails_no_longer_wanted_are_skipped_with_the_reason(app, smtp_sink, make_user, make_idea, people):
    english, french, staff = people
    banned = make_user()
    idea, hidden_idea = make_idea(), make_idea(title="An idea hidden since")
    comment = add_comment(staff, idea, "A comment")
    notify(english, "comment", idea, actor=staff, comment=comment)
    notify(french, "status", hidden_idea, actor=staff, data={"to": "planned"})
    notify(banned, "status", idea, actor=staff, data={"to": "planned"})
    notify(french, "status", idea, actor=staff, data={"to": "planned"})
    db.session.commit()
    english.email_comments = "never"  # meanwhile, on /account
    banned.is_banned = True
    hidden_idea.is_hidden = True
    deliver()

    assert smtp_sink.wait_for(1)
    time.sleep(0.1)
    assert len(smtp_sink.messages) == 1 and smtp_sink.to(french.email)
    reasons = dict(db.session.execute(select(OutgoingEmail.user_id, OutgoingEmail.skipped_reason)
                                      .where(OutgoingEmail.skipped_reason.is_not(None))).all())
    assert reasons == {english.id: "unsubscribed", banned.id: "banned"} | {french.id: "hidden"}


def test_a_refused_recipient_ends_only_their_email(app, smtp_sink, make_idea, people):
    english, french, staff = people
    smtp_sink.refuse.add(english.email)
    idea = make_idea()
    notify(english, "status", idea, actor=staff, data={"to": "planned"})
    notify(french, "status", idea, actor=staff, data={"to": "planned"})
    deliver()
    assert smtp_sink.wait_for(1) and len(smtp_sink.messages) == 1 and smtp_sink.to(french.email)
    refused = db.session.scalar(select(OutgoingEmail).where(OutgoingEmail.user_id == english.id))
    assert refused.skipped_reason == "refused" and "550" in refused.last_error and refused.sent_at is None
    assert outbox.pending_count() == 0


def test_a_batch_of_followers_over_one_connection(app, smtp_sink, make_idea):
    count = 300
    idea = make_idea()
    db.session.execute(User.__table__.insert(), [
        {"email": f"follower{n}@example.com", "display_name": f"Follower {n}", "role": "member"} for n in range(count)])
    user_ids = db.session.scalars(select(User.id).where(User.email.like("follower%"))).all()
    db.session.execute(Notification.__table__.insert(), [
        {"user_id": user_id, "kind": "status", "idea_id": idea.id, "event_id": 7, "data": {"to": "planned"}}
        for user_id in user_ids])
    notifications = db.session.execute(select(Notification.id, Notification.user_id)).all()
    services.queue_emails([{"kind": "notification", "user_id": u, "notification_id": n} for n, u in notifications])
    db.session.commit()
    started = time.monotonic()
    outbox.drain_all(include_scheduled=True)
    elapsed = time.monotonic() - started
    assert smtp_sink.wait_for(count, timeout=5)
    assert len(smtp_sink.counts) == count and max(smtp_sink.counts.values()) == 1
    print(f"\n{count} emails sent in {elapsed:.1f} s: {count / elapsed:.0f} emails/s")


# --- commands ----------------------------------------------------------------------------------

def test_mail_list_and_resend(app, runner, smtp_sink, make_idea, people):
    english, french, staff = people
    idea = make_idea()
    notify(english, "status", idea, actor=staff, data={"to": "planned"})
    notify(french, "status", idea, actor=staff, data={"to": "planned"})
    db.session.commit()
    interrupted, waiting = db.session.scalars(select(OutgoingEmail).order_by(OutgoingEmail.id)).all()
    interrupted.sending_at = interrupted.interrupted_at = idea.created_at  # a worker killed while sending it
    db.session.commit()

    result = runner.invoke(args=["mail", "list"])
    assert result.exit_code == 0 and f"email {interrupted.id}  notification" in result.output
    assert f"email {waiting.id}" in result.output
    result = runner.invoke(args=["mail", "list", "--interrupted"])
    assert f"email {interrupted.id}" in result.output and f"email {waiting.id}" not in result.output

    deliver()
    assert smtp_sink.wait_for(1) and len(smtp_sink.messages) == 1  # not the interrupted one
    result = runner.invoke(args=["mail", "resend", str(interrupted.id)])
    assert result.exit_code == 0, result.output
    deliver()
    assert smtp_sink.wait_for(2)
    assert smtp_sink.to(english.email)[0]["Message-ID"] == interrupted.message_id
    result = runner.invoke(args=["mail", "resend", str(interrupted.id)])
    assert result.exit_code == 1 and "was sent at" in result.output
    assert runner.invoke(args=["mail", "resend", "999999"]).exit_code == 1
    assert runner.invoke(args=["mail", "list"]).output == "No email to show.\n"
