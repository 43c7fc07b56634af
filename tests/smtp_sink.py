"""A real SMTP server for the mail tests (aiosmtpd on 127.0.0.1), counting what arrives per Message-ID.

``smtp_sink`` starts one on a free port and points the test's app at it (``MAIL_SERVER``,
``MAIL_PORT``); ``stopped_smtp_sink`` only reserves the port, so a test can show the mailer
facing a closed port and then start the server. The sink can answer slowly (``delay`` seconds
after a message arrived and before its "250") and refuse recipients (``refuse``).
Import the fixtures into a test module: ``from tests.smtp_sink import smtp_sink_fixture  # noqa: F401``.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections import Counter
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.sink.refuse:
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        # Recorded first, answered after the delay: a client killed meanwhile has handed the
        # message over without hearing that it was accepted (the window a crash can hit).
        self.sink._record(envelope)
        if self.sink.delay:
            await asyncio.sleep(self.sink.delay)
        return "250 Message accepted"


class SmtpSink:
    """An SMTP server in a thread that keeps every message it receives."""

    def __init__(self, port: int | None = None) -> None:
        self.host = "127.0.0.1"
        self.port = port or free_port()
        self.delay = 0.0
        self.refuse: set[str] = set()
        self.messages: list[EmailMessage] = []
        self.recipients: list[list[str]] = []
        self.counts: Counter[str] = Counter()  # Message-ID → how many times it arrived
        self._arrived = threading.Condition()
        self._controller: Controller | None = None

    def start(self) -> SmtpSink:
        self._controller = Controller(_Handler(self), hostname=self.host, port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    @property
    def running(self) -> bool:
        return self._controller is not None

    def _record(self, envelope) -> None:
        message = message_from_bytes(envelope.content, policy=policy.default)
        with self._arrived:
            self.messages.append(message)
            self.recipients.append(list(envelope.rcpt_tos))
            self.counts[str(message["Message-ID"])] += 1
            self._arrived.notify_all()

    def wait_for(self, count: int, timeout: float = 10.0) -> bool:
        """Wait until at least ``count`` messages arrived; whether they did within ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(self.messages) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._arrived.wait(left)
        return True

    def to(self, address: str) -> list[EmailMessage]:
        """The messages received for ``address``."""
        return [m for m, rcpts in zip(self.messages, self.recipients) if address.lower() in map(str.lower, rcpts)]


def _point_app_at(app, sink: SmtpSink) -> None:
    app.config.update(MAIL_SERVER=sink.host, MAIL_PORT=sink.port, MAIL_TIMEOUT=5)


@pytest.fixture(name="smtp_sink")
def smtp_sink_fixture(app):
    """A running SMTP sink; the test's app sends to it."""
    sink = SmtpSink().start()
    _point_app_at(app, sink)
    yield sink
    sink.stop()


@pytest.fixture(name="stopped_smtp_sink")
def stopped_smtp_sink_fixture(app):
    """A sink not started yet (its port closed); the test's app sends to its port. ``start()`` it."""
    sink = SmtpSink()
    _point_app_at(app, sink)
    yield sink
    sink.stop()
