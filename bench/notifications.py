"""Fan-out: the status change of an idea with 1,000 followers, in the request and in the worker.

    .venv/bin/python bench/notifications.py                  # SQLite and PostgreSQL, 5 rounds
    .venv/bin/python bench/notifications.py --backend sqlite --rounds 3 --followers 1000

For each database: a fresh one, migrated; one staff member, an idea followed by --followers
members (each emailed "at once") and an idea followed by nobody. In the same process:

1. The request. A staff member signed in through the test client (the whole Flask stack, no
   network) changes the status of each idea with an official response, --changes times per round,
   alternating the two ideas; the medians per round of the two ideas and their ratio. The
   followers are not read in the request: the change writes one outbox event whatever the number
   of followers, so the ratio should stay about 1.
2. The worker. One status change of the followed idea, then `outbox.drain_all()` as the worker
   runs it: the fan-out (1,000 notifications and 1,000 queued emails in one transaction), then
   the mailer sending every email over one SMTP connection to a real SMTP server on loopback
   (aiosmtpd, in this process, as the tests use). Emails per second, from the drain's start to
   the last message received, fan-out included.
3. The baseline of (2) in the same run: the same number of messages, composed beforehand, sent
   with Flask-Mailman over one connection to the same server, with no database and no template:
   what the SMTP round trips alone allow. The worker's rate is quoted as a ratio to it.

Medians over --rounds; the raw figures go to JSON (--json, default bench/results/).
"""

from __future__ import annotations

import argparse
import json
import re
import secrets
import socket
import statistics
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

from common import BACKENDS, DEFAULT_PG_URL, BenchError, empty_database  # noqa: E402

CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
PASSWORD = "bench password for staff"


class Sink:
    """A real SMTP server on loopback that counts what it accepts."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        sink = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                with sink.lock:
                    sink.received += 1
                return "250 OK"

        self.lock = threading.Lock()
        self.received = 0
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> Sink:
        self.controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.controller.stop()

    def wait_for(self, count: int, seconds: float = 120) -> None:
        deadline = time.monotonic() + seconds
        while self.received < count:
            if time.monotonic() > deadline:
                raise BenchError(f"the SMTP server got {self.received} of {count} messages")
            time.sleep(0.01)


def make_app(env: dict[str, str], sink: Sink):
    from ideastorm import create_app

    return create_app({
        "SECRET_KEY": secrets.token_hex(32),
        "SQLALCHEMY_DATABASE_URI": env["IDEASTORM_SQLALCHEMY_DATABASE_URI"],
        "SEARCH_INDEX_DIR": env["IDEASTORM_SEARCH_INDEX_DIR"],
        "MAIL_DIR": env["IDEASTORM_SEARCH_INDEX_DIR"] + "-mail",
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": sink.port,
        "RATELIMIT_ENABLED": False,
        "ARGON2_TIME_COST": 1, "ARGON2_MEMORY_COST": 8, "ARGON2_PARALLELISM": 1,
    })


def populate(app, followers: int) -> tuple[int, int]:
    """The staff member, the followed idea and the idea nobody follows; their ids."""
    from sqlalchemy import insert, select

    from ideastorm.accounts.auth import hash_password
    from ideastorm.accounts.models import User
    from ideastorm.accounts.services import create_user
    from ideastorm.extensions import db
    from ideastorm.ideas.defaults import ensure_default_categories
    from ideastorm.ideas.models import Category
    from ideastorm.ideas.services import submit_idea
    from ideastorm.notifications.models import Follow

    with app.app_context():
        ensure_default_categories()
        create_user("staff@bench.example", "Bench Staff", PASSWORD, "staff")
        author = create_user("author@bench.example", "Bench Author", None)
        db.session.flush()
        author.follow_on_submit = False
        category = db.session.scalar(select(Category.id).limit(1))
        followed = submit_idea(author, "An idea a thousand members follow", "Everybody wants it.", category)
        lonely = submit_idea(author, "An idea nobody follows", "Nobody has seen it yet.", category)
        hashed = hash_password(secrets.token_hex(8))
        ids = db.session.scalars(insert(User).returning(User.id, sort_by_parameter_order=True), [
            {"email": f"follower{n}@bench.example", "display_name": f"Follower {n}", "handle": f"follower-{n}",
             "password_hash": hashed, "role": "member", "locale": "fr" if n % 2 else "en"}
            for n in range(followers)
        ]).all()
        db.session.execute(insert(Follow), [{"user_id": i, "idea_id": followed.id, "reason": "manual"} for i in ids])
        db.session.commit()
        result = followed.id, lonely.id
    _deliver(app)  # the ideas' own events (indexing)
    return result


def _deliver(app) -> None:
    from ideastorm import outbox

    with app.app_context():
        outbox.drain_all(include_scheduled=True)


def signed_in_client(app):
    client = app.test_client()
    token = CSRF.search(client.get("/login").get_data(as_text=True)).group(1)
    answer = client.post("/login", data={"email": "staff@bench.example", "password": PASSWORD, "csrf_token": token})
    if answer.status_code != 302:
        raise BenchError(f"the staff member could not sign in: {answer.status_code}")
    token = CSRF.search(client.get("/").get_data(as_text=True)).group(1)
    return client, token


def time_requests(app, followed: int, lonely: int, changes: int) -> dict[str, float]:
    """Median ms of a status change on each idea, alternating them."""
    client, token = signed_in_client(app)
    timings = {followed: [], lonely: []}
    statuses = ("under_review", "planned")
    for n in range(changes * 2):
        idea_id = (followed, lonely)[n % 2]
        data = {"status": statuses[(n // 2) % 2], "response": f"Official response number {n}.", "csrf_token": token}
        started = time.perf_counter()
        answer = client.post(f"/ideas/{idea_id}/status", data=data)
        timings[idea_id].append((time.perf_counter() - started) * 1000)
        if answer.status_code not in (302, 303):
            raise BenchError(f"status change answered {answer.status_code}: {answer.get_data(as_text=True)[:300]}")
    return {"followed_ms": statistics.median(timings[followed]), "lonely_ms": statistics.median(timings[lonely])}


def skip_pending(app) -> None:
    """Mark what the timed requests left in the outbox as delivered: (2) measures one change alone."""
    from sqlalchemy import update

    from ideastorm.extensions import db
    from ideastorm.outbox import OutboxDelivery
    from ideastorm.timeutil import utcnow

    with app.app_context():
        db.session.execute(update(OutboxDelivery).where(OutboxDelivery.delivered_at.is_(None))
                           .values(delivered_at=utcnow()))
        db.session.commit()


def time_worker(app, sink: Sink, followed: int, followers: int, n: int) -> dict[str, float]:
    from sqlalchemy import func, select

    from ideastorm import outbox
    from ideastorm.accounts.models import User
    from ideastorm.extensions import db
    from ideastorm.ideas.models import Idea
    from ideastorm.mail.models import OutgoingEmail
    from ideastorm.triage.services import change_status

    with app.app_context():
        staff = db.session.scalar(select(User).where(User.email == "staff@bench.example"))
        idea = db.session.get(Idea, followed)
        change_status(staff, idea, ("under_review", "planned")[n % 2], f"Worker round {n}.")
        db.session.commit()
        before = sink.received
        started = time.perf_counter()
        outbox.drain_all()
        sink.wait_for(before + followers)
        seconds = time.perf_counter() - started
        sent = db.session.scalar(select(func.count()).select_from(OutgoingEmail).where(
            OutgoingEmail.sent_at.is_not(None)))
    return {"seconds": seconds, "emails": sink.received - before, "emails_per_second": followers / seconds,
            "sent_total": sent}


def time_bare_smtp(app, sink: Sink, count: int) -> float:
    """Messages per second through Flask-Mailman alone, over one connection to the same server."""
    from flask_mailman import EmailMultiAlternatives

    with app.app_context():
        messages = []
        for n in range(count):
            message = EmailMultiAlternatives(f"Baseline {n}", "Plain text body.\n" * 20, "bench@localhost",
                                             [f"follower{n}@bench.example"])
            message.attach_alternative("<p>HTML body.</p>" * 20, "text/html")
            messages.append(message)
        from ideastorm.mail.sender import open_connection

        connection = open_connection()
        before = sink.received
        started = time.perf_counter()
        connection.open()
        connection.send_messages(messages)
        connection.close()
        sink.wait_for(before + count)
        return count / (time.perf_counter() - started)


def bench_backend(backend: str, args) -> dict:
    with empty_database(backend, args.pg_url) as env, Sink() as sink:
        app = make_app(env, sink)
        followed, lonely = populate(app, args.followers)
        signed_in_client(app)  # warm the templates
        rounds = []
        for n in range(args.rounds):
            figures = time_requests(app, followed, lonely, args.changes)
            skip_pending(app)
            figures.update(time_worker(app, sink, followed, args.followers, n))
            figures["bare_emails_per_second"] = time_bare_smtp(app, sink, args.followers)
            rounds.append(figures)
            print(f"  {backend} round {n + 1}: request {figures['followed_ms']:.2f} ms (1,000 followers) vs "
                  f"{figures['lonely_ms']:.2f} ms (none); worker {figures['emails_per_second']:.0f} emails/s, "
                  f"bare SMTP {figures['bare_emails_per_second']:.0f}/s", file=sys.stderr)
    medians = {key: statistics.median(r[key] for r in rounds)
               for key in ("followed_ms", "lonely_ms", "emails_per_second", "bare_emails_per_second", "seconds")}
    medians["request_ratio"] = statistics.median(r["followed_ms"] / r["lonely_ms"] for r in rounds)
    medians["worker_to_bare"] = statistics.median(r["emails_per_second"] / r["bare_emails_per_second"] for r in rounds)
    return {"rounds": rounds, "medians": medians}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=[*BACKENDS, "both"], default="both")
    parser.add_argument("--followers", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--changes", type=int, default=15, help="status changes per idea per round")
    parser.add_argument("--pg-url", default=DEFAULT_PG_URL)
    parser.add_argument("--json", type=Path, default=BENCH_DIR / "results" / "notifications.json")
    args = parser.parse_args(argv)
    backends = BACKENDS if args.backend == "both" else (args.backend,)
    results = {}
    try:
        for backend in backends:
            results[backend] = bench_backend(backend, args)
    except BenchError as error:
        print(f"bench failed: {error}", file=sys.stderr)
        return 2
    print(f"\n{args.followers} followers, medians of {args.rounds} rounds ({args.changes} changes per idea each)\n")
    print("| database | status change, followed (ms) | no followers (ms) | ratio | worker emails/s "
          "| bare SMTP msgs/s | worker ÷ bare |")
    print("|---|--:|--:|--:|--:|--:|--:|")
    for backend, result in results.items():
        m = result["medians"]
        print(f"| {backend} | {m['followed_ms']:.2f} | {m['lonely_ms']:.2f} | {m['request_ratio']:.2f} "
              f"| {m['emails_per_second']:.0f} | {m['bare_emails_per_second']:.0f} | {m['worker_to_bare']:.2f} |")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"when": datetime.now(timezone.utc).isoformat(), "args": vars(args) | {
        "json": str(args.json)}, "results": results}, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
