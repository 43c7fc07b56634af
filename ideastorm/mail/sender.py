"""The mailer: the outbox subscriber of ``email.queued`` that sends queued emails, never twice.

SMTP cannot be exactly once: a worker killed between handing a message to the server and
recording it cannot tell whether the server kept it. We choose never twice. Each email is
marked ``sending_at`` and committed before its SMTP conversation starts, and marked sent (and
committed) after it; an email found still "sending" by a later attempt was cut off by a crash,
so it is not sent again but recorded as interrupted (``interrupted_at``, a warning in the log),
listed by ``flask mail list --interrupted`` and sent again on purpose by ``flask mail resend ID``
(with the same Message-ID, so a receiver that got the first copy can tell).

A batch shares one connection (Flask-Mailman's SMTP backend, or the ``.eml`` backend when no
MAIL_SERVER is configured). When the server cannot be reached (down, refusing, timing out), the
email in hand goes back to waiting, the error is recorded on it, and the handler raises: the
outbox tries the batch again after the mailer's backoff, and what was sent meanwhile is skipped
then. A server that refuses one recipient for good (5xx) only ends that email (``refused``).
Emails whose recipient is gone or banned, who turned that kind off, or whose idea was hidden
meanwhile, are skipped with the reason on the row.
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Iterable

from flask import Flask, current_app
from flask_mailman import Mail
from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm.attributes import set_committed_value

from .. import outbox
from ..accounts.models import User
from ..comments.models import Comment
from ..extensions import db
from ..ideas.models import Idea
from ..notifications.models import Notification
from ..notifications.services import original_id_of
from ..settings.services import holding_site_settings
from ..timeutil import utcnow
from .backends import EmlBackend
from .compose import NotSent, compose
from .models import OutgoingEmail
from .services import TOPIC

log = logging.getLogger(__name__)

SUBSCRIBER = "mailer"
LOAD_CHUNK = 200  # emails read per query; a fan-out to 1,000 followers is one event naming 1,000
mailman = Mail()


def init_app(app: Flask) -> None:
    state = mailman.init_app(app)
    # Flask-Mailman would pick its in-memory backend under TESTING: the choice is ours.
    state.backend = "smtp" if app.config.get("MAIL_SERVER") else EmlBackend
    config = app.config
    outbox.subscribe(app, SUBSCRIBER, [TOPIC], handle, batch=True, max_attempts=int(config["MAIL_MAX_ATTEMPTS"]),
                     backoff=float(config["MAIL_BACKOFF_SECONDS"]),
                     backoff_cap=float(config["MAIL_BACKOFF_CAP_SECONDS"]))


def open_connection():
    """A connection of the configured backend, read from the settings now (SMTP, else ``.eml`` files)."""
    config = current_app.config
    if config.get("MAIL_SERVER"):
        return mailman.get_connection(
            backend="smtp", host=config["MAIL_SERVER"], port=int(config["MAIL_PORT"]),
            username=config.get("MAIL_USERNAME") or "", password=config.get("MAIL_PASSWORD") or "",
            use_tls=bool(config.get("MAIL_USE_TLS")), use_ssl=bool(config.get("MAIL_USE_SSL")),
            timeout=config.get("MAIL_TIMEOUT"),
        )
    return mailman.get_connection(backend=EmlBackend, directory=config["MAIL_DIR"])


def handle(events: list[outbox.Event]) -> None:
    """Send every email these events name, in id order, over one connection."""
    ids = sorted({int(email_id) for event in events for email_id in (event.payload or {}).get("email_ids", ())})
    if ids:
        send_emails(ids)


def send_emails(ids: Iterable[int]) -> None:
    ids = sorted(set(ids))
    mailer = _Mailer()
    session = db.session()
    # One commit per email, and most emails of a batch tell of the same idea and actor: kept
    # loaded across those commits, they are read once per batch instead of once per email. The
    # rows' own state is guarded by the claim's UPDATE, not by what was loaded.
    expire_on_commit, session.expire_on_commit = session.expire_on_commit, False
    try:
        with holding_site_settings():  # the brand of every email of the batch, read once
            for start in range(0, len(ids), LOAD_CHUNK):
                chunk = ids[start:start + LOAD_CHUNK]
                emails = db.session.scalars(
                    select(OutgoingEmail).where(OutgoingEmail.id.in_(chunk)).order_by(OutgoingEmail.id)).all()
                held = _load_what_they_tell(emails)  # noqa: F841  (alive while the chunk is composed)
                for email in emails:
                    mailer.deliver(email)
        db.session.commit()
    except BaseException:
        _keep_progress()
        raise
    finally:
        session.expire_on_commit = expire_on_commit
        mailer.close()


def _load_what_they_tell(emails: list[OutgoingEmail]) -> None:
    """Everything these emails tell of, in a few queries whatever their number: the rows returned.

    ``compose`` finds them with ``db.session.get``, in the session's identity map, which holds
    rows only while something else does: the caller keeps this list for as long as it composes.
    """
    user_ids = {email.user_id for email in emails if email.user_id}
    notification_ids = {email.notification_id for email in emails if email.notification_id}
    digests = [(email.user_id, email.digest_day) for email in emails if email.digest_day]
    held: list = []
    if user_ids:
        held += db.session.scalars(select(User).where(User.id.in_(user_ids))).all()
    notifications = []
    if notification_ids:
        notifications += db.session.scalars(select(Notification).where(Notification.id.in_(notification_ids))).all()
    if digests:
        notifications += db.session.scalars(select(Notification).where(or_(*(
            and_(Notification.user_id == user_id, Notification.digest_day == day) for user_id, day in digests)))).all()
    held += notifications
    idea_ids = {n.idea_id for n in notifications} | {original_id_of(n) for n in notifications} - {None}
    comment_ids = {n.comment_id for n in notifications if n.comment_id}
    if idea_ids:
        held += db.session.scalars(select(Idea).where(Idea.id.in_(idea_ids))).all()
    if comment_ids:
        held += db.session.scalars(select(Comment).where(Comment.id.in_(comment_ids))).all()
    actor_ids = {n.actor_id for n in notifications if n.actor_id}
    actor_ids |= {row.author_id for row in held if isinstance(row, Comment)}
    if actor_ids - user_ids:
        held += db.session.scalars(select(User).where(User.id.in_(actor_ids - user_ids))).all()
    return held


def _keep_progress() -> None:
    """After a failure: commit what was recorded (sent, skipped), unless the database itself failed."""
    try:
        db.session.commit()
    except SQLAlchemyError:
        log.warning("mail: could not record the batch's progress; the emails sent stay marked as being sent")
        db.session.rollback()


class _Mailer:
    def __init__(self) -> None:
        self.connection = None

    def close(self) -> None:
        if self.connection is not None:
            try:
                self.connection.close()
            except (OSError, smtplib.SMTPException) as exc:  # already gone: nothing to say goodbye to
                log.debug("mail: closing the connection: %s", exc)
            self.connection = None

    def deliver(self, email: OutgoingEmail) -> None:
        if email.sent_at or email.skipped_reason or email.interrupted_at:
            return
        if email.sending_at is not None:
            email.interrupted_at = utcnow()
            log.warning("mail: email %s (%s, %s) was cut off while being sent at %s; it may have reached the "
                        "server, so it is not sent again (`flask mail resend %s` sends it)",
                        email.id, email.kind, email.message_id, email.sending_at, email.id)
            return
        try:
            message = compose(email)
        except NotSent as reason:
            email.skipped_reason = reason.reason
            return
        except SQLAlchemyError:
            raise  # the database, not the email: the batch is tried again
        except Exception as exc:
            log.exception("mail: email %s (%s) could not be composed; skipped", email.id, email.kind)
            email.skipped_reason, email.last_error = "compose_failed", _describe(exc)
            return
        if not self._claim(email):
            return
        try:
            if self.connection is None:
                self.connection = open_connection()
                self.connection.open()
            sent = self.connection.send_messages([message])
        except smtplib.SMTPRecipientsRefused as exc:
            if all(code >= 500 for code, _ in exc.recipients.values()):
                self._refused(email, exc)
                return
            self._failed(email, exc)
            raise
        except smtplib.SMTPDataError as exc:
            if exc.smtp_code >= 500:  # this message refused for good (content, policy, size)
                self._refused(email, exc)
                return
            self._failed(email, exc)
            raise
        except Exception as exc:  # the server unreachable, refusing us, timing out, or gone mid-way
            self.close()
            self._failed(email, exc)
            raise
        email.sending_at = None
        if sent:
            email.sent_at, email.last_error = utcnow(), None
        else:
            email.skipped_reason = "no_address"
        # Committed with the next email's claim, or at the end of the batch: one commit per email.

    def _claim(self, email: OutgoingEmail) -> bool:
        """Mark it being sent and commit (with what the batch recorded before); False if another worker has it."""
        now = utcnow()
        claimed = db.session.execute(
            update(OutgoingEmail).where(
                OutgoingEmail.id == email.id, OutgoingEmail.sending_at.is_(None), OutgoingEmail.sent_at.is_(None),
                OutgoingEmail.interrupted_at.is_(None), OutgoingEmail.skipped_reason.is_(None),
            ).values(sending_at=now, attempts=OutgoingEmail.attempts + 1).returning(OutgoingEmail.attempts)
            .execution_options(synchronize_session=False)
        ).scalar_one_or_none()
        db.session.commit()
        if claimed is None:
            return False
        # What the UPDATE wrote, as the loaded row's state: clearing ``sending_at`` later is a change.
        set_committed_value(email, "sending_at", now)
        set_committed_value(email, "attempts", claimed)
        return True

    def _refused(self, email: OutgoingEmail, exc: Exception) -> None:
        log.warning("mail: the server refused email %s (%s) for good: %s", email.id, email.kind, exc)
        email.sending_at, email.skipped_reason, email.last_error = None, "refused", _describe(exc)

    def _failed(self, email: OutgoingEmail, exc: Exception) -> None:
        # Not sent: it waits for the next attempt of the batch, with the error recorded on it.
        email.sending_at, email.last_error = None, _describe(exc)
        db.session.commit()


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:2000]
