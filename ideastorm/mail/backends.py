"""The embedded mail backend: each message an ``.eml`` file in MAIL_DIR, for sites with no mail server.

A Flask-Mailman backend like its SMTP one, so the mailer has one sending path whichever is
configured. One file per message, named so a listing sorts by time
(``20261201-151200-42.eml``: UTC time, then the email's id), written to a temporary file and
renamed, so a reader never sees half a message.
"""

from __future__ import annotations

import os
import re
import tempfile

from flask import current_app
from flask_mailman.backends.base import BaseEmailBackend

from ..timeutil import utcnow

_NOT_IN_NAMES = re.compile(r"[^A-Za-z0-9._-]+")


class EmlBackend(BaseEmailBackend):
    def __init__(self, directory: str | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.directory = os.path.abspath(directory or current_app.config["MAIL_DIR"])

    def open(self) -> bool:
        os.makedirs(self.directory, exist_ok=True)
        return True

    def send_messages(self, email_messages) -> int:
        if not email_messages:
            return 0
        self.open()
        sent = 0
        for message in email_messages:
            if not message.recipients():
                continue
            self._write(message)
            sent += 1
        return sent

    def _write(self, message) -> str:
        name = _NOT_IN_NAMES.sub("", str(getattr(message, "outgoing_email_id", "") or "")) or "message"
        stem = f"{utcnow():%Y%m%d-%H%M%S}-{name}"
        data = message.message().as_bytes()
        handle, temporary = tempfile.mkstemp(dir=self.directory, prefix=".", suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(data)
            path = os.path.join(self.directory, f"{stem}.eml")
            n = 1
            while os.path.exists(path):  # the same email again within the second (a resend)
                n += 1
                path = os.path.join(self.directory, f"{stem}-{n}.eml")
            os.replace(temporary, path)
        except BaseException:
            if os.path.exists(temporary):
                os.unlink(temporary)
            raise
        return path
