"""Email: composed in the recipient's language, queued in the database, sent by the worker only.

``services.queue_email`` / ``queue_emails`` write the rows (in the caller's transaction);
``sender`` is the outbox subscriber ``mailer`` that sends them after the commit (SMTP, or
``.eml`` files in MAIL_DIR when no MAIL_SERVER is set); ``compose`` builds each message from
``templates/email/``; ``routes`` answers the one-click unsubscribe link.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the mailer (an outbox subscriber of ``email.queued``) and the mail backend."""
    from . import sender

    sender.init_app(app)
