"""The worker: delivers the outbox to its subscribers (``flask --app app worker [--once]``).

It drains every due delivery, then sleeps until there may be more: on PostgreSQL it
``LISTEN``s on ``ideastorm_outbox`` (each emitting transaction sends one ``pg_notify``, so a
commit wakes it within milliseconds) and wakes anyway when the next retry or an expired
lease is due, or every few seconds; on SQLite, which has no notifications, it polls every
``OUTBOX_POLL_SECONDS`` with one cheap indexed read. While busy, it lets
``OUTBOX_GATHER_SECONDS`` pass between two drains, so a storm is delivered in a few large
batches. Several workers may run at once, on one machine or several: each delivery is
claimed by one of them (see ``ideastorm.outbox``).
``stop()`` (SIGINT, SIGTERM) lets the batch in hand finish, then the worker returns.
"""

from __future__ import annotations

import logging
import os
import select
import signal
import threading
import time
from contextlib import contextmanager

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from . import outbox
from .extensions import db
from .timeutil import utcnow

log = logging.getLogger(__name__)

# On PostgreSQL a worker also looks for due work this often, should a notification be missed
# (the listening connection lost and reopened).
LISTEN_FALLBACK_SECONDS = 5.0
# After an unexpected error (the database restarting, say), the worker waits this long and goes on.
ERROR_PAUSE_SECONDS = 2.0


class _Listener:
    """A connection of its own that LISTENs for the outbox's notifications (PostgreSQL)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.connection = None

    def connect(self) -> None:
        import psycopg

        self.close()
        self.connection = psycopg.connect(self.url, autocommit=True)
        self.connection.execute(f"LISTEN {outbox.CHANNEL}")

    def fileno(self) -> int:
        return self.connection.fileno()

    def consume(self) -> None:
        for _notification in self.connection.notifies(timeout=0):
            pass

    def close(self) -> None:
        if self.connection is not None:
            try:
                self.connection.close()
            finally:
                self.connection = None


class Worker:
    """Delivers due outbox deliveries until ``stop()``; safe to run several at once."""

    def __init__(self, app: Flask, name: str | None = None) -> None:
        self.app = app
        self.name = name or outbox.worker_name()
        self.delivered = 0
        self._stopping = threading.Event()
        self._pipe_lock = threading.Lock()
        self._wake_read: int | None = None
        self._wake_write: int | None = None
        self._listener: _Listener | None = None
        self._scheduled_runs: dict = {}  # each scheduled job's last (day, hour) here

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def stop(self) -> None:
        """Finish the batch in hand, then return from ``run()`` (callable from a signal handler or a thread)."""
        self._stopping.set()
        with self._pipe_lock:
            if self._wake_write is not None:
                try:
                    os.write(self._wake_write, b"x")
                except BlockingIOError:  # already woken
                    pass

    def run(self) -> int:
        """Deliver until stopped; returns how many deliveries were made."""
        with self._pipe_lock:
            self._wake_read, self._wake_write = os.pipe()
            os.set_blocking(self._wake_write, False)
        try:
            with self.app.app_context():
                if db.engine.dialect.name == "postgresql":
                    url = db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
                    self._listener = _Listener(url)
                    self._listen()  # before the first round: a commit made meanwhile still wakes us
                poll = float(current_app.config["OUTBOX_POLL_SECONDS"])
                gather = float(current_app.config["OUTBOX_GATHER_SECONDS"])
            while not self.stopping:
                delivered = 0
                try:
                    with self.app.app_context():
                        outbox.run_scheduled_jobs(self._scheduled_runs)
                        delivered = outbox.drain_all(worker=self.name, should_stop=lambda: self.stopping)
                        self.delivered += delivered
                        delay = poll if self._listener is None else self._until_next_due()
                except Exception:
                    log.exception("worker %s: delivering failed; trying again in %s s", self.name, ERROR_PAUSE_SECONDS)
                    delay = ERROR_PAUSE_SECONDS
                if self.stopping:
                    break
                if delivered and gather:
                    # Busy: let what arrives meanwhile gather into the next batch, so a storm of
                    # votes costs a few index commits a second rather than one per vote. A lone
                    # event after a quiet spell is still delivered at once.
                    self._stopping.wait(gather)
                else:
                    self._wait(delay)
        finally:
            if self._listener is not None:
                self._listener.close()
            with self._pipe_lock:
                os.close(self._wake_read)
                os.close(self._wake_write)
                self._wake_read = self._wake_write = None
        return self.delivered

    def _listen(self) -> None:
        try:
            self._listener.connect()
        except Exception:  # the database is down: the fallback wait retries
            log.exception("worker %s: cannot LISTEN on %s", self.name, outbox.CHANNEL)

    def _until_next_due(self) -> float:
        due = outbox.next_due()
        if due is None:
            return LISTEN_FALLBACK_SECONDS
        return min(LISTEN_FALLBACK_SECONDS, max(0.0, (due - utcnow()).total_seconds()))

    def _wait(self, timeout: float) -> None:
        """Sleep up to ``timeout`` seconds, less when a notification arrives or ``stop()`` is called."""
        waiting_on = [self._wake_read]
        listener = self._listener
        if listener is not None and listener.connection is None:
            self._listen()
        if listener is not None and listener.connection is not None:
            waiting_on.append(listener.fileno())
        ready, _, _ = select.select(waiting_on, [], [], timeout)
        if self._wake_read in ready:
            try:
                os.read(self._wake_read, 64)
            except OSError:
                pass
        if listener is not None and listener.connection is not None and listener.fileno() in ready:
            try:
                listener.consume()
            except Exception:
                log.warning("worker %s: the LISTEN connection was lost; reconnecting", self.name)
                listener.close()


@contextmanager
def _stopping_on_signals(worker: Worker):
    """SIGINT and SIGTERM stop the worker after its current batch; a second Ctrl-C stops it at once."""

    def handle(signum, _frame):
        if worker.stopping:
            # A person pressing Ctrl-C again means now; a supervisor's SIGTERM after the SIGINT
            # (`make run` sends both) lets the batch finish.
            if signum == signal.SIGINT:
                raise KeyboardInterrupt
            return
        click.echo(f"{signal.Signals(signum).name}: stopping after the current batch.", err=True)
        worker.stop()

    previous = {signum: signal.signal(signum, handle) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def summary(delivered: int) -> str:
    """One line: what was delivered, what is left."""
    figures = outbox.health()
    return (f"{delivered} delivery(ies) made, {figures['outbox_pending']} still pending, "
            f"{figures['outbox_dead']} dead.")


@click.command("worker")
@click.option("--once", is_flag=True, help="Deliver everything due now, then exit.")
@with_appcontext
def worker_command(once: bool) -> None:
    """Deliver the after-commit work (search indexing, and every other outbox subscriber) until stopped."""
    if once:
        outbox.run_scheduled_jobs({})
        click.echo(summary(outbox.drain_all()))
        return
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = current_app._get_current_object()
    worker = Worker(app)
    wakeup = "LISTEN ideastorm_outbox" if db.engine.dialect.name == "postgresql" else \
        f"polling every {app.config['OUTBOX_POLL_SECONDS']} s"
    click.echo(f"Worker {worker.name} delivering ({wakeup}); Ctrl-C stops it.", err=True)
    started = time.monotonic()
    with _stopping_on_signals(worker):
        delivered = worker.run()
    click.echo(f"Worker {worker.name} stopped after {delivered} delivery(ies) in "
               f"{time.monotonic() - started:.0f} s.", err=True)
