"""Vote storm: how many votes get through, and how fast, when 50 signed-in members vote at once.

    .venv/bin/python bench/vote_storm.py              # SQLite and PostgreSQL, 3 rounds, 30 s per mode
    .venv/bin/python bench/vote_storm.py --quick      # SQLite, 1 round, 5 s per mode: a smoke run

For each database: a fresh one, migrated, with `demo seed` data (300 ideas) and 51 member accounts
made with `users create --password-stdin`. Each round serves the app with gunicorn (production
settings, 4 workers) plus `flask --app app worker` when the code has that command, signs every
member in over HTTP (a cookie jar each) and votes as htmx does (`HX-Request`, `X-CSRFToken`):

- hello: a bare Flask route under the same gunicorn settings and client concurrency, requests/s
  with the load client (httpx) and with leaner clients, to show what the server stack can do and
  whether the load client is the limit;
- (a) saturation: 50 members vote back to back for --seconds: votes/s, and votes/s ÷ hello
  requests/s (target at least 10%);
- (b) steady crowd: each member votes once a second on a fixed schedule (open loop, latency counted
  from the scheduled moment, so queueing shows): median (target under 50 ms) and p99 (under
  250 ms); meanwhile a 51st member submits ideas with a unique word and polls /search until each
  appears (commit to searchable);
- after each mode: the after-commit backlog drained (/healthz's outbox pending down to 0, or
  `outbox drain`), then `votes verify` and `search verify` must exit 0. No request may fail.

Medians over --rounds are reported in one table; the raw figures go to JSON (--json, default
bench/results/). Exits 1 if a target is missed, 2 if the run could not be completed. See
bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import http.client
import json
import random
import re
import secrets
import shutil
import ssl
import statistics
import string
import subprocess
import sys
import threading
import time
from collections import Counter
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterator

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

from common import (  # noqa: E402
    APP_ROOT, BACKENDS, DEFAULT_PG_URL, PROJECT_ROOT, Background, BenchError, Server, background_flask, cpu_seconds,
    create_members, empty_database, flask_command, has_flask_command, machine_cpu_seconds, open_ideas,
    running_gunicorn, seed,
)
from pages import BACKEND_NAMES, log  # noqa: E402
from search_bench import percentile  # noqa: E402

MEMBERS = 50
WORKERS = 4
SEED_SIZE = {"ideas": 300, "users": 60, "votes": 3000}
TARGET_RATIO = 0.10           # saturation votes/s ÷ hello requests/s, at least
TARGET_MEDIAN_MS = 50.0       # steady crowd, below
TARGET_P99_MS = 250.0         # steady crowd, below
REQUEST_TIMEOUT = 60.0        # seconds; a request that takes longer counts as an error
WARMUP_SECONDS = 2.0          # untimed votes before saturation: every worker process gets requests
FRESH_TIMEOUT = 60.0          # an idea not searchable after this long counts as never found
FRESH_POLL_SECONDS = 0.1
DRAIN_TIMEOUT = 300.0         # waiting for the outbox backlog after a mode, at most
DRAIN_STALL_SECONDS = 20.0    # ... or until it has not shrunk for this long
LOG_SIGNS = {                 # lines of the server's and worker's logs worth reporting
    "tracebacks": "Traceback (most recent call last)",
    "worker timeouts": "WORKER TIMEOUT",
    "pool exhausted": "QueuePool limit",
    "database locked": "database is locked",
    "outbox failures": "outbox events",
    "outbox drain failed": "outbox drain failed",
}

CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
CATEGORY_OPTION = re.compile(r'<option value="(\d+)"')
WIDGET_CLASS = re.compile(r'class="vote-widget( voted-up| voted-down)?"')
NEXT_VALUE = {0: 1, 1: -1, -1: 0}  # each vote changes the member's vote on that idea: none → up → down → none
# One TLS context for every client: httpx builds one per client otherwise (tens of ms each), unused on http://
_TLS = ssl.create_default_context()


def hello_app():
    """The baseline: a bare Flask route, served by gunicorn with the app's settings (`vote_storm:hello_app()`)."""
    from flask import Flask

    app = Flask("hello")
    app.add_url_rule("/", "hello", lambda: "hello")
    app.add_url_rule("/healthz", "healthz", lambda: "ok")
    return app


# --- load ---


@dataclass
class Load:
    """What one mode's requests did: successes within the window, every latency, every failure."""

    seconds: float
    ok: int = 0                                           # successful requests answered within the window
    answered: int = 0                                     # successful requests, whenever answered
    latencies: list[float] = field(default_factory=list)   # seconds, successful requests
    errors: Counter = field(default_factory=Counter)      # "HTTP 500 vote" -> count
    samples: list[str] = field(default_factory=list)      # a few failing responses, for the report
    client_cpu: float = 0.0                               # the load client's CPU time ÷ wall time (1 = one core)
    scheduled: int = 0                                    # open loop: votes due in the window
    behind: int = 0                                       # open loop: due in the window, never sent
    late: int = 0                                         # open loop: answered after the window closed

    def merge(self, other: Load) -> None:
        self.ok += other.ok
        self.answered += other.answered
        self.latencies += other.latencies
        self.errors.update(other.errors)
        self.samples += other.samples[: max(0, 5 - len(self.samples))]
        self.scheduled += other.scheduled
        self.behind += other.behind
        self.late += other.late

    def fail(self, kind: str, detail: str = "") -> None:
        self.errors[kind] += 1
        if detail and len(self.samples) < 5:
            self.samples.append(f"{kind}: {detail[:300]}")

    @property
    def rate(self) -> float:
        return self.ok / self.seconds

    def latency_ms(self) -> dict[str, float | None]:
        if not self.latencies:
            return {"median": None, "p90": None, "p99": None, "max": None}
        ms = [value * 1000 for value in self.latencies]
        return {"median": statistics.median(ms), "p90": percentile(ms, 0.90), "p99": percentile(ms, 0.99),
                "max": max(ms)}

    def summary(self) -> dict:
        return {
            "seconds": self.seconds, "ok": self.ok, "answered": self.answered, "per_second": self.rate,
            "latency_ms": self.latency_ms(),
            "errors": dict(self.errors), "error_samples": self.samples, "client_cpu": self.client_cpu,
            "scheduled": self.scheduled, "behind_at_end": self.behind, "answered_late": self.late,
        }


def _client(base_url: str):
    import httpx

    return httpx.Client(base_url=base_url, timeout=REQUEST_TIMEOUT, verify=_TLS, follow_redirects=False)


class Member:
    """A signed-in member with a cookie jar of their own, voting as the page's htmx does."""

    def __init__(self, base_url: str, email: str, rng: random.Random):
        self.email = email
        self.client = _client(base_url)
        self.token = ""
        self.rng = rng
        self.votes: dict[int, int] = {}  # idea -> this member's vote as the server last showed it

    def close(self) -> None:
        self.client.close()

    def token_from(self, path: str) -> str:
        response = self.client.get(path)
        found = CSRF_META.search(response.text) if response.status_code == 200 else None
        if not found:
            raise BenchError(f"GET {path} as {self.email} answered {response.status_code} without a CSRF token")
        return found.group(1)

    def sign_in(self, password: str) -> None:
        token = self.token_from("/login")
        response = self.client.post("/login", data={"email": self.email, "password": password, "csrf_token": token,
                                                    "next": ""})
        if response.status_code not in (302, 303):
            raise BenchError(f"signing in {self.email} answered {response.status_code}:\n{response.text[:500]}")
        home = self.client.get("/")
        if 'action="/logout"' not in home.text:
            raise BenchError(f"{self.email} is not signed in after POST /login")
        self.token = CSRF_META.search(home.text).group(1)

    def vote(self, ideas: list[int], load: Load, started: float | None = None) -> float | None:
        """One vote on a random idea that changes this member's vote there; its latency, or None on failure.

        The latency runs from ``started`` (the scheduled moment) when given, else from sending.
        """
        idea = self.rng.choice(ideas)
        value = NEXT_VALUE[self.votes.get(idea, 0)]
        sent = time.perf_counter()
        try:
            response = self.client.post(
                f"/ideas/{idea}/vote", data={"value": str(value), "csrf_token": self.token},
                headers={"HX-Request": "true", "HX-Target": f"vote-{idea}", "X-CSRFToken": self.token},
            )
        except Exception as error:  # timeouts, refused or reset connections: all count
            load.fail(f"{type(error).__name__} vote", str(error))
            return None
        done = time.perf_counter()
        if not 200 <= response.status_code < 300:
            load.fail(f"HTTP {response.status_code} vote", response.text)
            return None
        shown = WIDGET_CLASS.search(response.text)
        if not shown or f'id="vote-{idea}"' not in response.text:
            load.fail("vote answered without the widget", response.text)
            return None
        now = {" voted-up": 1, " voted-down": -1}.get(shown.group(1) or "", 0)
        self.votes[idea] = now
        if now != value:
            load.fail("vote not taken", f"idea {idea}: asked {value}, the widget shows {now}")
            return None
        return done - (started if started is not None else sent)


def _together(count: int, body: Callable[[int, float, Load], None], seconds: float) -> Load:
    """Run ``body(i, start, load_i)`` in ``count`` threads released at once; merge their loads.

    ``start`` is the common starting moment (perf_counter); the client's CPU share is measured
    from then until the last thread ends.
    """
    loads = [Load(seconds) for _ in range(count)]
    ready = threading.Barrier(count + 1)
    start_box: list[float] = []

    def run(index: int) -> None:
        ready.wait()
        try:
            body(index, start_box[0], loads[index])
        except Exception as error:  # a bug in the client must show, not hang the run
            loads[index].fail(f"client {type(error).__name__}", repr(error))

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(count)]
    for thread in threads:
        thread.start()
    cpu = time.process_time()
    start_box.append(time.perf_counter() + 0.05)
    ready.wait()
    for thread in threads:
        thread.join(seconds + 2 * REQUEST_TIMEOUT + FRESH_TIMEOUT)
    wall = time.perf_counter() - start_box[0]
    total = Load(seconds)
    for load in loads:
        total.merge(load)
    total.client_cpu = (time.process_time() - cpu) / wall
    if any(thread.is_alive() for thread in threads):
        total.fail("client thread still running at the end")
    return total


def closed_loop(count: int, seconds: float, request: Callable[[int, Load], float | None]) -> Load:
    """``count`` clients, each sending its next request as soon as the previous one is answered.

    Requests answered within the window count (``ok``, latencies); any failure counts whenever it happens.
    """
    def body(index: int, start: float, load: Load) -> None:
        time.sleep(max(0.0, start - time.perf_counter()))
        deadline = start + seconds
        while time.perf_counter() < deadline:
            latency = request(index, load)
            if latency is not None:
                load.answered += 1
                if time.perf_counter() <= deadline:
                    load.ok += 1
                    load.latencies.append(latency)

    return _together(count, body, seconds)


def open_loop(members: list[Member], ideas: list[int], seconds: float, interval: float,
              rng: random.Random) -> Load:
    """Each member votes every ``interval`` seconds from a random phase, on schedule, for ``seconds``.

    A vote due while the member's previous one is still unanswered goes as soon as that one is;
    its latency still counts from when it was due. Votes due in the window but not yet sent when
    it closes are counted as ``behind`` and enter the latencies with the wait so far (a lower bound);
    ``ok`` counts the votes answered within the window, ``late`` those answered after it.
    """
    phases = [rng.uniform(0, interval) for _ in members]

    def body(index: int, start: float, load: Load) -> None:
        member, due = members[index], start + phases[index]
        deadline = start + seconds
        while due < deadline:
            load.scheduled += 1
            now = time.perf_counter()
            if now < due:
                time.sleep(due - now)
            elif now >= deadline:  # behind schedule when the window closed
                load.behind += 1
                load.latencies.append(now - due)
                due += interval
                continue
            latency = member.vote(ideas, load, started=due)
            if latency is not None:
                load.latencies.append(latency)
                load.answered += 1
                if time.perf_counter() <= deadline:
                    load.ok += 1
                else:
                    load.late += 1
            due += interval

    return _together(len(members), body, seconds)


def httpx_hello(base_url: str, count: int, seconds: float) -> Load:
    clients = [_client(base_url) for _ in range(count)]

    def request(index: int, load: Load) -> float | None:
        sent = time.perf_counter()
        try:
            response = clients[index].get("/")
        except Exception as error:
            load.fail(f"{type(error).__name__} hello", str(error))
            return None
        if response.status_code != 200:
            load.fail(f"HTTP {response.status_code} hello", response.text)
            return None
        return time.perf_counter() - sent

    try:
        return closed_loop(count, seconds, request)
    finally:
        for client in clients:
            client.close()


def raw_hello(port: int, count: int, seconds: float) -> Load:
    """The same closed loop with a minimal HTTP/1.1 client on asyncio streams: a cheaper client to compare."""
    request = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"

    async def one(load: Load, deadline: float) -> None:
        reader = writer = None
        while time.perf_counter() < deadline:
            sent = time.perf_counter()
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.write(request)
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), REQUEST_TIMEOUT)
                lines = head.split(b"\r\n")
                status, length, close = int(lines[0].split()[1]), 0, False
                for line in lines[1:]:
                    name, _, value = line.partition(b":")
                    name = name.strip().lower()
                    if name == b"content-length":
                        length = int(value)
                    elif name == b"connection":
                        close = value.strip().lower() == b"close"
                await asyncio.wait_for(reader.readexactly(length), REQUEST_TIMEOUT)
            except Exception as error:
                load.fail(f"{type(error).__name__} hello", str(error))
                if writer is not None:
                    writer.close()
                reader = writer = None
                continue
            if close:
                writer.close()
                reader = writer = None
            if status != 200:
                load.fail(f"HTTP {status} hello")
                continue
            load.answered += 1
            if time.perf_counter() <= deadline:
                load.ok += 1
                load.latencies.append(time.perf_counter() - sent)
        if writer is not None:
            writer.close()

    async def run() -> Load:
        loads = [Load(seconds) for _ in range(count)]
        cpu, start = time.process_time(), time.perf_counter()
        await asyncio.gather(*(one(load, start + seconds) for load in loads))
        total = Load(seconds)
        for load in loads:
            total.merge(load)
        total.client_cpu = (time.process_time() - cpu) / (time.perf_counter() - start)
        return total

    return asyncio.run(run())


def wrk_hello(port: int, count: int, seconds: float) -> dict | None:
    """wrk, if installed: a C client whose own cost is negligible."""
    wrk = shutil.which("wrk")
    if not wrk:
        return None
    whole = max(1, round(seconds))
    result = subprocess.run(
        [wrk, f"-t{min(2, count)}", f"-c{count}", f"-d{whole}s", "--timeout", f"{int(REQUEST_TIMEOUT)}s",
         f"http://127.0.0.1:{port}/"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=whole + REQUEST_TIMEOUT + 30,
    )
    rate = re.search(r"Requests/sec:\s+([\d.]+)", result.stdout)
    if result.returncode != 0 or not rate:
        return {"per_second": None, "errors": {"wrk failed": 1}, "output": result.stdout[-1000:]}
    errors = {}
    if found := re.search(r"Non-2xx or 3xx responses: (\d+)", result.stdout):
        errors["non-2xx"] = int(found.group(1))
    if found := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", result.stdout):
        for kind, number in zip(("connect", "read", "write", "timeout"), found.groups()):
            if int(number):
                errors[f"socket {kind}"] = int(number)
    requests = re.search(r"(\d+) requests in", result.stdout)
    return {"per_second": float(rate.group(1)), "answered": int(requests.group(1)) if requests else None,
            "errors": errors}


# --- one round ---


def database_pids(env: dict[str, str]) -> list[int]:
    """The PostgreSQL server processes serving this benchmark's database (none on SQLite)."""
    url = env["IDEASTORM_SQLALCHEMY_DATABASE_URI"]
    if not url.startswith("postgresql://"):
        return []
    import psycopg

    with psycopg.connect(url, autocommit=True) as connection:
        rows = connection.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                                  "AND pid <> pg_backend_pid()").fetchall()
    return [pid for (pid,) in rows]


def metered(pids: list[int], run: Callable[[], Load | dict | None],
            database: Callable[[], list[int]] = list) -> tuple[Load | dict | None, dict]:
    """``run()``, and the CPU used meanwhile: by the processes ``pids`` (with their children), by the
    database server's processes for this database (``database()``, read before and after: a
    connection opened meanwhile counts whole, one closed meanwhile is missed), and by the whole
    machine (whoever used it: other work on the machine shows there)."""
    before = [cpu_seconds(pid) for pid in pids]
    database_before = {pid: cpu_seconds(pid) for pid in database()}
    busy, total = machine_cpu_seconds()
    started = time.perf_counter()
    result = run()
    wall = time.perf_counter() - started
    used = [cpu_seconds(pid) - was for pid, was in zip(pids, before)]
    busy_after, total_after = machine_cpu_seconds()
    database_after = database()
    database_used = sum(cpu_seconds(pid) - database_before.get(pid, 0.0) for pid in database_after)
    answered = result.answered if isinstance(result, Load) else (result or {}).get("answered")
    measured_database = bool(database_before or database_after)
    return result, {
        "cores_used": [u / wall for u in used],  # per process given: cores' worth of CPU, 1 = one core
        "database_cores_used": database_used / wall if measured_database else None,
        "machine_busy": (busy_after - busy) / max(1e-9, total_after - total),  # share of all cores
        "cpu_ms_per_request": sum(used) * 1000 / answered if answered else None,
        "database_cpu_ms_per_request": database_used * 1000 / answered if answered and measured_database else None,
    }


def measure_hello(env: dict[str, str], count: int, seconds: float) -> dict:
    with running_gunicorn(env, "vote_storm:hello_app()", workers=WORKERS, pythonpath=str(BENCH_DIR)) as server:
        raw_hello(server.port, count, 1.0)  # warm-up: every worker has answered
        results = {}
        for name, run in (("httpx", lambda: httpx_hello(server.base_url, count, seconds)),
                          ("raw", lambda: raw_hello(server.port, count, seconds)),
                          ("wrk", lambda: wrk_hello(server.port, count, seconds))):
            load, cpu = metered([server.pid], run)
            if isinstance(load, Load):
                results[name] = {**load.summary(), **cpu}
            else:  # wrk's figures, or None without wrk
                results[name] = {**load, **cpu} if load else None
    rates = [r["per_second"] for r in results.values() if r and r.get("per_second")]
    results["best_per_second"] = max(rates)
    return results


@contextmanager
def app_servers(env: dict[str, str], with_worker: bool) -> Iterator[tuple[Server, Background | None]]:
    """gunicorn serving the app, plus `flask worker` when the code has it."""
    config = {"RATELIMIT_ENABLED": "false"}  # the documented setting for load tests
    with ExitStack() as stack:
        worker = None
        if with_worker:
            worker = stack.enter_context(
                background_flask({**env, **{f"IDEASTORM_{k}": v for k, v in config.items()}}, "worker"))
        server = stack.enter_context(running_gunicorn(env, workers=WORKERS, **config))
        if worker:
            worker.check_running()
        yield server, worker


def healthz(server: Server) -> dict:
    try:
        response = server.get("/healthz")
    except (OSError, http.client.HTTPException) as error:
        raise BenchError(f"/healthz did not answer ({error}); the server's log ends with:\n"
                         f"{server.log_tail()}") from None
    try:
        return json.loads(response.body)
    except ValueError:
        return {}


def settle(server: Server, env: dict[str, str], worker: Background | None) -> dict:
    """Wait for the after-commit backlog to drain (/healthz's outbox_pending), else `outbox drain` it."""
    started = last_change = time.monotonic()
    first = last = None
    drained = False
    while True:
        health = healthz(server)
        outbox = health.get("outbox") or {}  # {"outbox": {"pending", "dead"}}; older code: flat outbox_* keys
        pending = outbox.get("pending", health.get("outbox_pending"))
        if pending is None:  # /healthz does not report it
            break
        first = pending if first is None else first
        if pending == 0:
            drained = True
            break
        if last is None or pending < last:
            last_change = time.monotonic()
        last = pending
        now = time.monotonic()
        if now - started > DRAIN_TIMEOUT or now - last_change > DRAIN_STALL_SECONDS:
            break
        time.sleep(0.25)
    result = {"pending_at_start": first, "seconds": time.monotonic() - started, "drained_by_itself": drained,
              "left_pending": None if drained else last, "outbox_drain": None,
              "dead": outbox.get("dead", health.get("outbox_dead"))}  # deliveries out of attempts
    if worker is not None and worker.process.poll() is not None:
        result["worker_exited"] = worker.process.returncode
        result["worker_log"] = worker.log_tail()
    if not drained:
        command = flask_command(env, "outbox", "drain", timeout=600)
        result["outbox_drain"] = {"exit": command.returncode, "output": command.stdout[-1000:]}
    return result


def verify(env: dict[str, str]) -> dict:
    results = {}
    for name in ("votes", "search"):
        command = flask_command(env, name, "verify", timeout=600)
        results[name] = {"exit": command.returncode, "output": command.stdout[-2000:]}
    return results


def unique_word(rng: random.Random) -> str:
    return "zq" + "".join(rng.choice(string.ascii_lowercase) for _ in range(12))


def freshness(member: Member, category: str, count: int, seconds: float, start: float,
              rng: random.Random) -> dict:
    """During the steady crowd: submit ``count`` ideas through the form, spread over the window,
    and time each from its submission being answered (committed) to /search listing it."""
    delays: list[float] = []
    submits: list[float] = []
    load = Load(seconds)
    for number in range(count):
        due = start + (number + 0.5) * seconds / count
        time.sleep(max(0.0, due - time.perf_counter()))
        word = unique_word(rng)
        sent = time.perf_counter()
        try:
            response = member.client.post("/ideas/new", data={
                "title": f"Storm check {word} for fresh search", "category": category, "tags": "",
                "description": f"Submitted by the vote storm benchmark to time search freshness: {word}.",
                "csrf_token": member.token,
            })
        except Exception as error:
            load.fail(f"{type(error).__name__} submit", str(error))
            continue
        committed = time.perf_counter()
        location = response.headers.get("location", "")
        found = re.search(r"/ideas/(\d+)", location)
        if response.status_code not in (302, 303) or not found:
            load.fail(f"HTTP {response.status_code} submit", response.text)
            continue
        submits.append(committed - sent)
        link = f'href="/ideas/{found.group(1)}"'
        while True:
            try:
                result = member.client.get("/search", params={"q": word})
            except Exception as error:
                load.fail(f"{type(error).__name__} search", str(error))
                result = None
            if result is not None and result.status_code != 200:
                load.fail(f"HTTP {result.status_code} search", result.text)
            elif result is not None and link in result.text:
                delays.append(time.perf_counter() - committed)
                break
            if time.perf_counter() - committed > FRESH_TIMEOUT:
                load.fail(f"not searchable within {FRESH_TIMEOUT:g} s")
                break
            time.sleep(FRESH_POLL_SECONDS)
    ms = [d * 1000 for d in delays]
    return {
        "submitted": len(submits), "found": len(delays), "delays_ms": ms,
        "median_ms": statistics.median(ms) if ms else None, "max_ms": max(ms) if ms else None,
        "submit_ms": [s * 1000 for s in submits], "errors": dict(load.errors), "error_samples": load.samples,
    }


def log_signs(text: str) -> dict[str, int]:
    return {name: text.count(sign) for name, sign in LOG_SIGNS.items() if sign in text}


def run_round(env: dict[str, str], emails: list[str], password: str, args: argparse.Namespace,
              with_worker: bool, rng: random.Random) -> dict:
    figures: dict = {}
    log(f"  hello: {args.hello_seconds:g} s per client ...")
    figures["hello"] = measure_hello(env, args.members, args.hello_seconds)
    with app_servers(env, with_worker) as (server, worker):
        members = [Member(server.base_url, email, random.Random(rng.random())) for email in emails]
        try:
            log(f"  signing in {len(members)} members ...")
            for member in members:
                member.sign_in(password)
            voters, reporter = members[:args.members], members[args.members]
            ideas = open_ideas(reporter.client)
            new_form = reporter.client.get("/ideas/new")
            category = CATEGORY_OPTION.search(new_form.text)
            if new_form.status_code != 200 or not category:
                raise BenchError(f"GET /ideas/new answered {new_form.status_code} without a category to choose")
            figures["open_ideas"] = len(ideas)

            def vote(index: int, load: Load) -> float | None:
                return voters[index].vote(ideas, load)

            figures["warmup"] = closed_loop(len(voters), WARMUP_SECONDS, vote).summary()
            log(f"  (a) saturation: {len(voters)} members voting back to back for {args.seconds:g} s ...")
            pids = [server.pid] + ([worker.process.pid] if worker else [])
            database = functools.partial(database_pids, env)
            load, cpu = metered(pids, lambda: closed_loop(len(voters), args.seconds, vote), database)
            figures["saturation"] = {**load.summary(), **cpu}
            figures["saturation_settle"] = settle(server, env, worker)
            figures["saturation_verify"] = verify(env)

            log(f"  (b) steady crowd: {len(voters)} members voting every {args.interval:g} s for {args.seconds:g} s, "
                f"{args.fresh_ideas} fresh ideas ...")
            fresh: dict = {}
            fresh_start = time.perf_counter() + 0.05

            def fresh_thread() -> None:
                try:
                    fresh.update(freshness(reporter, category.group(1), args.fresh_ideas, args.seconds, fresh_start,
                                           random.Random(rng.random())))
                except Exception as error:
                    fresh.update({"errors": {f"client {type(error).__name__}": 1}, "error_samples": [repr(error)]})

            thread = threading.Thread(target=fresh_thread, daemon=True)
            thread.start()
            load, cpu = metered(pids, lambda: open_loop(voters, ideas, args.seconds, args.interval, rng), database)
            figures["steady"] = {**load.summary(), **cpu}
            thread.join(args.seconds + FRESH_TIMEOUT + 2 * REQUEST_TIMEOUT)
            figures["freshness"] = fresh
            figures["steady_settle"] = settle(server, env, worker)
            figures["steady_verify"] = verify(env)
        finally:
            for member in members:
                member.close()
        figures["server_log"] = log_signs(Path(server.log_path).read_text(errors="replace"))
        if worker:
            figures["worker_log"] = log_signs(Path(worker.log_path).read_text(errors="replace"))
        if has_problems(figures):
            figures["server_log_tail"] = server.log_tail(4000)
            if worker:
                figures["worker_log_tail"] = worker.log_tail(4000)
    hello = figures["hello"]["best_per_second"]
    figures["ratio"] = figures["saturation"]["per_second"] / hello if hello else None
    return figures


def error_count(figures: dict) -> int:
    return sum(sum(figures[part].get("errors", {}).values())
               for part in ("warmup", "saturation", "steady", "freshness") if part in figures)


def verify_clean(figures: dict) -> bool:
    return all(check["exit"] == 0 for part in ("saturation_verify", "steady_verify") if part in figures
               for check in figures[part].values())


def has_problems(figures: dict) -> bool:
    return bool(error_count(figures) or not verify_clean(figures) or figures.get("server_log")
                or figures.get("worker_log"))


# --- a database, its rounds, the report ---


def bench_backend(backend: str, args: argparse.Namespace, rng: random.Random) -> dict:
    with empty_database(backend, args.pg_url) as env:
        log(f"{BACKEND_NAMES[backend]}: seeding {args.ideas} ideas, creating {args.members + 1} members ...")
        ideas = args.ideas
        seed(env, ideas=ideas, users=max(10, ideas // 5), votes=ideas * 10, seed=1)
        password = secrets.token_urlsafe(12)
        emails = create_members(env, args.members + 1, password, prefix="storm-member")
        with_worker = has_flask_command(env, "worker")
        log(f"  `flask --app app worker`: {'found, started beside gunicorn' if with_worker else 'not in this code'}")
        rounds = []
        for number in range(1, args.rounds + 1):
            log(f"{BACKEND_NAMES[backend]}, round {number} of {args.rounds}:")
            figures = run_round(env, emails, password, args, with_worker, rng)
            rounds.append(figures)
            report_round(backend, number, figures)
    return {"worker": with_worker, "rounds": rounds, "median": medians(rounds)}


def _median(values: list) -> float | None:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def medians(rounds: list[dict]) -> dict:
    def each(pick: Callable[[dict], float | None]) -> float | None:
        return _median([pick(r) for r in rounds])

    return {
        "hello_httpx": each(lambda r: r["hello"]["httpx"]["per_second"]),
        "hello_raw": each(lambda r: r["hello"]["raw"]["per_second"]),
        "hello_wrk": each(lambda r: (r["hello"]["wrk"] or {}).get("per_second")),
        "hello_best": each(lambda r: r["hello"]["best_per_second"]),
        "hello_httpx_cpu": each(lambda r: r["hello"]["httpx"]["client_cpu"]),
        "votes_per_second": each(lambda r: r["saturation"]["per_second"]),
        "ratio": each(lambda r: r["ratio"]),
        "saturation_median_ms": each(lambda r: r["saturation"]["latency_ms"]["median"]),
        "saturation_p99_ms": each(lambda r: r["saturation"]["latency_ms"]["p99"]),
        "saturation_cpu": each(lambda r: r["saturation"]["client_cpu"]),
        "steady_per_second": each(lambda r: r["steady"]["per_second"]),
        "steady_median_ms": each(lambda r: r["steady"]["latency_ms"]["median"]),
        "steady_p99_ms": each(lambda r: r["steady"]["latency_ms"]["p99"]),
        "steady_behind": each(lambda r: r["steady"]["behind_at_end"]),
        "steady_cpu": each(lambda r: r["steady"]["client_cpu"]),
        "fresh_median_ms": each(lambda r: r["freshness"].get("median_ms")),
        "fresh_max_ms": each(lambda r: r["freshness"].get("max_ms")),
        "drain_after_saturation_s": each(lambda r: r["saturation_settle"]["seconds"]),
        "drain_after_steady_s": each(lambda r: r["steady_settle"]["seconds"]),
        "errors": sum(error_count(r) for r in rounds),
    }


def misses(result: dict) -> list[str]:
    m, rounds = result["median"], result["rounds"]
    found = []
    if m["ratio"] is None or m["ratio"] < TARGET_RATIO:
        found.append(f"saturation: votes/s ÷ hello = {_pct(m['ratio'])} (target ≥ {TARGET_RATIO:.0%})")
    if m["steady_median_ms"] is None or m["steady_median_ms"] >= TARGET_MEDIAN_MS:
        found.append(f"steady crowd: median {_ms(m['steady_median_ms'])} ms (target < {TARGET_MEDIAN_MS:g} ms)")
    if m["steady_p99_ms"] is None or m["steady_p99_ms"] >= TARGET_P99_MS:
        found.append(f"steady crowd: p99 {_ms(m['steady_p99_ms'])} ms (target < {TARGET_P99_MS:g} ms)")
    if m["errors"]:
        found.append(f"{m['errors']} failed request(s)")
    if not all(verify_clean(r) for r in rounds):
        found.append("`votes verify` or `search verify` not clean")
    if any(r["freshness"].get("found", 0) < r["freshness"].get("submitted", 0) or not r["freshness"].get("submitted")
           for r in rounds):
        found.append("a fresh idea was not submitted or not found by search")
    return found


def _fixed(places: int) -> Callable[[float | None], str]:
    return lambda value: "—" if value is None else f"{value:.{places}f}"


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


def _ms(value: float | None) -> str:
    return "—" if value is None else (f"{value:.0f}" if value >= 100 else f"{value:.1f}")


def _rate(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def _spread(rounds: list[dict], pick: Callable[[dict], float | None], fmt: Callable[[float | None], str]) -> str:
    values = [v for v in (pick(r) for r in rounds) if v is not None]
    if len(values) < 2:
        return ""
    return f" ({fmt(min(values))}–{fmt(max(values))})"


def _worker_cores(figures: dict, part: str) -> float | None:
    cores = figures[part]["cores_used"]
    return cores[1] if len(cores) > 1 else None


def report_round(backend: str, number: int, figures: dict) -> None:
    """A few lines per round on stderr, with every failure spelt out."""
    sat, steady, fresh = figures["saturation"], figures["steady"], figures["freshness"]
    log(f"  → hello {_rate(figures['hello']['best_per_second'])}/s; (a) {_rate(sat['per_second'])} votes/s "
        f"({_pct(figures['ratio'])}); (b) median {_ms(steady['latency_ms']['median'])} ms, "
        f"p99 {_ms(steady['latency_ms']['p99'])} ms; fresh median {_ms(fresh.get('median_ms'))} ms; "
        f"errors {error_count(figures)}; verify {'clean' if verify_clean(figures) else 'NOT CLEAN'}")
    for client in ("httpx", "raw", "wrk"):
        for kind, count in (figures["hello"][client] or {}).get("errors", {}).items():
            log(f"    hello ({client}, not counted in the targets): {count} × {kind}")
    for part in ("warmup", "saturation", "steady", "freshness"):
        for kind, count in figures[part].get("errors", {}).items():
            log(f"    {part}: {count} × {kind}")
        for sample in figures[part].get("error_samples", []):
            log(f"      e.g. {sample}")
    for part in ("saturation_verify", "steady_verify"):
        for name, check in figures[part].items():
            if check["exit"]:
                log(f"    {part}: `{name} verify` exited {check['exit']}:\n{check['output']}")
    for part in ("saturation_settle", "steady_settle"):
        settled = figures[part]
        if not settled["drained_by_itself"]:
            log(f"    {part}: backlog {settled['left_pending']} not drained by itself after "
                f"{settled['seconds']:.0f} s; `outbox drain`: {settled['outbox_drain']}")
        if settled.get("dead"):
            log(f"    {part}: /healthz reports {settled['dead']} dead outbox deliveries")
        if "worker_exited" in settled:
            log(f"    the worker exited with {settled['worker_exited']}:\n{settled['worker_log']}")
    for name in ("server_log", "worker_log"):
        if figures.get(name):
            log(f"    {name.replace('_', ' ')}: " + ", ".join(f"{n} × {k}" for k, n in figures[name].items()))
    if figures.get("server_log_tail"):
        log("    the server's log ends with:\n" + figures["server_log_tail"])


def markdown(results: dict[str, dict], args: argparse.Namespace, code: dict) -> str:
    backends = list(results)
    worker_note = ", ".join(f"{BACKEND_NAMES[b]}: {'with' if results[b]['worker'] else 'no'} `flask worker`"
                            for b in backends)
    lines = [
        "# Vote storm",
        "",
        f"Code: {code['commit']}{' with uncommitted changes' if code['modified'] else ''} ({worker_note}). "
        f"gunicorn, {WORKERS} workers; {args.members} members; {args.seconds:g} s per mode; "
        f"median of {args.rounds} round(s){', (min–max) in brackets' if args.rounds > 1 else ''}.",
        "",
        "| | " + " | ".join(BACKEND_NAMES[b] for b in backends) + " |",
        "|---|" + "--:|" * len(backends),
    ]

    def row(label: str, pick: Callable[[dict], float | None], fmt: Callable[[float | None], str],
            median_key: str | None = None) -> None:
        cells = []
        for b in backends:
            value = results[b]["median"][median_key] if median_key else _median([pick(r) for r in results[b]["rounds"]])
            cells.append(fmt(value) + _spread(results[b]["rounds"], pick, fmt))
        lines.append(f"| {label} | " + " | ".join(cells) + " |")

    row("hello req/s, httpx (the load client)", lambda r: r["hello"]["httpx"]["per_second"], _rate)
    row("hello req/s, raw asyncio client", lambda r: r["hello"]["raw"]["per_second"], _rate)
    row("hello req/s, wrk", lambda r: (r["hello"]["wrk"] or {}).get("per_second"), _rate)
    row("(a) votes/s", lambda r: r["saturation"]["per_second"], _rate)
    row(f"(a) votes/s ÷ best hello req/s (target ≥ {TARGET_RATIO:.0%})", lambda r: r["ratio"], _pct)
    row("(a) vote latency median ms", lambda r: r["saturation"]["latency_ms"]["median"], _ms)
    row("(a) vote latency p99 ms", lambda r: r["saturation"]["latency_ms"]["p99"], _ms)
    row("(b) votes/s answered within the window", lambda r: r["steady"]["per_second"], _rate)
    row(f"(b) vote latency median ms (target < {TARGET_MEDIAN_MS:g})",
        lambda r: r["steady"]["latency_ms"]["median"], _ms)
    row(f"(b) vote latency p99 ms (target < {TARGET_P99_MS:g})", lambda r: r["steady"]["latency_ms"]["p99"], _ms)
    row("(b) votes still due when the window closed", lambda r: r["steady"]["behind_at_end"], _fixed(0))
    row("fresh idea → searchable, median ms", lambda r: r["freshness"].get("median_ms"), _ms)
    row("fresh idea → searchable, max ms", lambda r: r["freshness"].get("max_ms"), _ms)
    row("fresh idea: the submission answered, median ms",
        lambda r: _median(r["freshness"].get("submit_ms") or [None]), _ms)
    row("backlog drained after (a), s", lambda r: r["saturation_settle"]["seconds"], _fixed(1))
    row("backlog drained after (b), s", lambda r: r["steady_settle"]["seconds"], _fixed(1))
    row("server CPU ms per hello request (wrk run)",
        lambda r: (r["hello"]["wrk"] or r["hello"]["raw"]).get("cpu_ms_per_request"), _ms)
    row("(a) server CPU ms per vote (gunicorn + worker)", lambda r: r["saturation"]["cpu_ms_per_request"], _ms)
    row("(a) database server CPU ms per vote (PostgreSQL's processes)",
        lambda r: r["saturation"].get("database_cpu_ms_per_request"), _ms)
    row("(a) cores used by gunicorn + worker", lambda r: sum(r["saturation"]["cores_used"]), _fixed(2))
    row("(a) cores used by the worker alone", lambda r: _worker_cores(r, "saturation"), _fixed(2))
    row("(b) cores used by gunicorn + worker", lambda r: sum(r["steady"]["cores_used"]), _fixed(2))
    row("(b) cores used by the worker alone", lambda r: _worker_cores(r, "steady"), _fixed(2))
    row("(a) cores used by the database server", lambda r: r["saturation"].get("database_cores_used"),
        _fixed(2))
    row("(a) load client CPU, share of one core", lambda r: r["saturation"]["client_cpu"], _pct)
    row("(a) machine busy, all cores, anyone", lambda r: r["saturation"]["machine_busy"], _pct)
    row("(b) machine busy, all cores, anyone", lambda r: r["steady"]["machine_busy"], _pct)
    lines.append("| failed requests (target 0) | "
                 + " | ".join(str(results[b]["median"]["errors"]) for b in backends) + " |")
    lines.append("| `votes verify`, `search verify` after every mode | "
                 + " | ".join("clean" if all(verify_clean(r) for r in results[b]["rounds"]) else "**not clean**"
                              for b in backends) + " |")
    missed = [f"{BACKEND_NAMES[b]}: {m}" for b in backends for m in misses(results[b])]
    lines += ["", "Targets missed:" if missed else "Every target met.", *(f"- {m}" for m in missed)]
    return "\n".join(lines) + "\n"


def code_under_test() -> dict:
    def git(*args: str) -> str:
        result = subprocess.run(["git", "--no-optional-locks", "-C", str(APP_ROOT), *args],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        return result.stdout.strip() if result.returncode == 0 else ""

    return {"commit": git("rev-parse", "--short", "HEAD") or "unknown",
            "modified": bool(git("status", "--porcelain", "--untracked-files=no")),
            "project_itself": APP_ROOT == PROJECT_ROOT}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=[*BACKENDS, "both"], help="default both (sqlite with --quick)")
    parser.add_argument("--seconds", type=float, help="length of each mode (default 30, 5 with --quick)")
    parser.add_argument("--rounds", type=int, help="rounds per database (default 3, 1 with --quick)")
    parser.add_argument("--hello-seconds", type=float, help="per hello client (default 10, 3 with --quick)")
    parser.add_argument("--quick", action="store_true", help="a smoke run: SQLite, one round, 5 s per mode")
    parser.add_argument("--members", type=int, default=MEMBERS, help=f"voting members (default {MEMBERS})")
    parser.add_argument("--interval", type=float, default=1.0,
                        help="steady crowd: seconds between one member's votes (default 1)")
    parser.add_argument("--fresh-ideas", type=int, help="ideas submitted per steady crowd (default 5, 2 with --quick)")
    parser.add_argument("--ideas", type=int, default=SEED_SIZE["ideas"],
                        help=f"demo ideas seeded (default {SEED_SIZE['ideas']}, with a fifth as many users and "
                             "ten votes per idea)")
    parser.add_argument("--pg-url", default=DEFAULT_PG_URL,
                        help=f"PostgreSQL server; a database of its own is created there and dropped "
                             f"(default {DEFAULT_PG_URL})")
    parser.add_argument("--json", type=Path,
                        help="where to write the figures (default bench/results/vote_storm-<time>.json)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the random choices (default 1)")
    args = parser.parse_args(argv)
    quick = args.quick
    args.backend = args.backend or ("sqlite" if quick else "both")
    args.seconds = args.seconds or (5.0 if quick else 30.0)
    args.rounds = args.rounds or (1 if quick else 3)
    args.hello_seconds = args.hello_seconds or (3.0 if quick else 10.0)
    args.fresh_ideas = args.fresh_ideas if args.fresh_ideas is not None else (2 if quick else 5)
    if not (1 <= args.seconds <= 600 and 1 <= args.hello_seconds <= 120 and 1 <= args.rounds <= 20
            and 1 <= args.members <= 200 and 0.1 <= args.interval <= 10 and 1 <= args.fresh_ideas <= 50
            and 10 <= args.ideas <= 100_000):
        parser.error("out of range: --seconds 1-600, --hello-seconds 1-120, --rounds 1-20, --members 1-200, "
                     "--interval 0.1-10, --fresh-ideas 1-50, --ideas 10-100000")

    code = code_under_test()
    log(f"code under test: {APP_ROOT} at {code['commit']}{' (modified)' if code['modified'] else ''}")
    rng = random.Random(args.seed)
    backends = BACKENDS if args.backend == "both" else (args.backend,)
    started = datetime.now(timezone.utc)
    try:
        results = {backend: bench_backend(backend, args, rng) for backend in backends}
    except BenchError as error:
        log(f"error: {error}")
        return 2
    report = markdown(results, args, code)
    print(report, end="")
    path = args.json or PROJECT_ROOT / "bench" / "results" / f"vote_storm-{started:%Y%m%d-%H%M%S}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    settings = {name: getattr(args, name) for name in ("backend", "seconds", "rounds", "hello_seconds", "members",
                                                       "interval", "fresh_ideas", "ideas", "seed", "quick")}
    path.write_text(json.dumps({
        "benchmark": "vote_storm", "started": started.isoformat(timespec="seconds"), "code": code,
        "settings": {**settings, "workers": WORKERS}, "targets": {
            "ratio_min": TARGET_RATIO, "steady_median_ms_max": TARGET_MEDIAN_MS, "steady_p99_ms_max": TARGET_P99_MS},
        "results": results, "misses": {b: misses(r) for b, r in results.items()},
    }, indent=2) + "\n")
    log(f"figures written to {path}")
    return 1 if any(misses(r) for r in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
