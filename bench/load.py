"""Load test: 200 members voting and 20 submitting ideas at once against gunicorn on PostgreSQL, bounded.

    .venv/bin/python bench/load.py                       # 60 s per mode, 1 round
    .venv/bin/python bench/load.py --seconds 15          # a quicker check
    .venv/bin/python bench/load.py --rounds 3 --voters 100 --submitters 10

A fresh PostgreSQL database (created on --pg-url's server, dropped at the end), migrated, seeded with
`demo seed` (300 ideas) and --voters + --submitters member accounts with a known password (through
`accounts.services.create_user`). Each round has two modes, each on a freshly started gunicorn
(ideastorm/gunicorn_config.py, 4 workers, rate limits ON, ProxyFix trusting one X-Forwarded-For hop)
and one `flask worker`:

- steady: every member signs in through /login (a cookie jar and an X-Forwarded-For address of its
  own, so the per-address limits see distinct clients), then for --seconds the voters vote on random
  open ideas (value 1, -1 or 0, as htmx posts it with the CSRF token) and the submitters post new
  ideas through the form, each pausing --think seconds (±50%) between two requests;
- kill: the same, with one gunicorn worker killed by SIGKILL halfway through (gunicorn starts
  another). A request in flight on it fails with a connection error: those are counted apart as
  "lost to the kill".

Any answer but 2xx, 3xx and 429 (the limits, intended) is an error, and so is a connection error
outside the kill. After each mode the worker is stopped, `flask worker --once` delivers what is
left, and `flask votes verify` and `flask search verify` must exit 0. The baseline is GET /healthz
throughput (20 clients back to back for 5 s) on the same server just before the load: the ratios
divide by it. Prints a Markdown table (medians over --rounds, the range in brackets); exits 1 when
an error or a difference was found, 2 when the run could not be completed. See bench/README.md.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import signal
import ssl
import statistics
import string
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

from common import (  # noqa: E402
    APP_ROOT, DEFAULT_PG_URL, BenchError, Server, background_flask, empty_database, flask_command,
    open_ideas, running_gunicorn, seed,
)
from pages import log  # noqa: E402
from search_bench import percentile  # noqa: E402

WORKERS = 4
SEED_SIZE = {"ideas": 300, "users": 60, "votes": 3000}
PASSWORD = "load-test-password-" + "x" * 8
REQUEST_TIMEOUT = 60.0
BASELINE_CLIENTS = 20
BASELINE_SECONDS = 5.0
# Cheap password hashing for the accounts of the run (seeding and sign-in alike): the load test
# measures votes and submissions, not Argon2 at 64 MiB per sign-in on a shared machine.
ARGON2 = {"ARGON2_TIME_COST": "1", "ARGON2_MEMORY_COST": "8192", "ARGON2_PARALLELISM": "1"}
SERVER_SETTINGS = {"RATELIMIT_ENABLED": "true", "PROXY_FIX_X_FOR": "1", **ARGON2}
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
CATEGORY_OPTION = re.compile(r'<option value="(\d+)"')
DIFFERENCES = re.compile(r"^(\d+) difference", re.MULTILINE)
_TLS = ssl.create_default_context()  # one for every client (unused on http://)

CREATE_MEMBERS = """
import sys
from ideastorm import create_app
from ideastorm.accounts.services import create_user
from ideastorm.extensions import db

count, password = int(sys.argv[1]), sys.argv[2]
app = create_app()
with app.app_context():
    for n in range(1, count + 1):
        create_user(f"load-member-{n:03d}@example.com", f"Load member {n}", password, confirmed=True)
        if n % 50 == 0:
            db.session.commit()
    db.session.commit()
"""


@dataclass
class Sample:
    kind: str  # "vote", "submit", "healthz"
    started: float
    ended: float
    status: int | None  # None: no answer (a connection error)
    error: str = ""


@dataclass
class Record:
    samples: list[Sample] = field(default_factory=list)
    bodies: dict[str, str] = field(default_factory=dict)  # one sample body per unexpected status

    def add(self, sample: Sample, body: str = "") -> None:
        self.samples.append(sample)  # list.append is atomic under the GIL
        key = f"{sample.kind} {sample.status or sample.error}"
        if (sample.status is None or not (200 <= sample.status < 400 or sample.status == 429)) \
                and key not in self.bodies:
            self.bodies[key] = body[:300]


class Member:
    """One simulated member: a cookie jar, an address of its own (X-Forwarded-For), signed in over HTTP."""

    def __init__(self, base_url: str, number: int, rng: random.Random):
        import httpx

        self.email = f"load-member-{number:03d}@example.com"
        self.address = f"10.{number // 250}.{number % 250}.7"
        self.client = httpx.Client(base_url=base_url, timeout=REQUEST_TIMEOUT, verify=_TLS, follow_redirects=False,
                                   headers={"X-Forwarded-For": self.address})
        self.rng = rng
        self.token = ""

    def close(self) -> None:
        self.client.close()

    def sign_in(self) -> None:
        page = self.client.get("/login")
        found = CSRF_META.search(page.text) if page.status_code == 200 else None
        if not found:
            raise BenchError(f"GET /login answered {page.status_code} without a CSRF token")
        response = self.client.post("/login", data={"email": self.email, "password": PASSWORD,
                                                    "csrf_token": found.group(1), "next": ""})
        if response.status_code not in (302, 303):
            raise BenchError(f"signing in {self.email} answered {response.status_code}:\n{response.text[:500]}")
        home = self.client.get("/")
        if 'action="/logout"' not in home.text:
            raise BenchError(f"{self.email} is not signed in after POST /login")
        self.token = CSRF_META.search(home.text).group(1)

    def _send(self, record: Record, kind: str, method: str, path: str, **options) -> None:
        started = time.perf_counter()
        try:
            response = self.client.request(method, path, **options)
        except Exception as error:  # refused, reset, timed out: counted, never raised
            record.add(Sample(kind, started, time.perf_counter(), None, type(error).__name__), str(error))
            return
        record.add(Sample(kind, started, time.perf_counter(), response.status_code), response.text)

    def vote(self, record: Record, ideas: list[int]) -> None:
        idea, value = self.rng.choice(ideas), self.rng.choice((1, -1, 0))
        self._send(record, "vote", "POST", f"/ideas/{idea}/vote",
                   data={"value": str(value), "csrf_token": self.token},
                   headers={"HX-Request": "true", "HX-Target": f"vote-{idea}", "X-CSRFToken": self.token})

    def submit(self, record: Record, category: str) -> None:
        word = "zq" + "".join(self.rng.choice(string.ascii_lowercase) for _ in range(10))
        self._send(record, "submit", "POST", "/ideas/new", data={
            "title": f"Load test idea {word}", "category": category, "tags": "load",
            "description": f"Submitted by the load test ({word}) to see submissions hold under load.",
            "csrf_token": self.token,
        })


def create_members(env: dict[str, str], count: int) -> None:
    result = subprocess.run([sys.executable, "-c", CREATE_MEMBERS, str(count), PASSWORD], cwd=APP_ROOT,
                            env={**env, **{f"IDEASTORM_{k}": v for k, v in ARGON2.items()}},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=600)
    if result.returncode != 0:
        raise BenchError(f"creating {count} members failed:\n{result.stdout[-3000:]}")


def a_category(member: Member) -> str:
    found = CATEGORY_OPTION.search(member.client.get("/ideas/new").text)
    if not found:
        raise BenchError("the submit form lists no category")
    return found.group(1)


def gunicorn_workers(master: int) -> list[int]:
    """The pids of the gunicorn master's children (its workers), from /proc."""
    children = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                text = Path(entry.path, "stat").read_text()
            except OSError:
                continue
            if int(text[text.rindex(")") + 2:].split()[1]) == master:
                children.append(int(entry.name))
    return children


def baseline(base_url: str) -> dict:
    """GET /healthz back to back from BASELINE_CLIENTS clients: what a cheap request costs this server now."""
    import httpx

    record, stop = Record(), time.perf_counter() + BASELINE_SECONDS

    def run() -> None:
        with httpx.Client(base_url=base_url, timeout=REQUEST_TIMEOUT, verify=_TLS) as client:
            while time.perf_counter() < stop:
                started = time.perf_counter()
                try:
                    status = client.get("/healthz").status_code
                except Exception as error:
                    record.add(Sample("healthz", started, time.perf_counter(), None, type(error).__name__))
                    continue
                record.add(Sample("healthz", started, time.perf_counter(), status))

    threads = [threading.Thread(target=run) for _ in range(BASELINE_CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    latencies = [s.ended - s.started for s in record.samples if s.status == 200]
    return {"rps": len(latencies) / BASELINE_SECONDS, "p50_ms": 1000 * statistics.median(latencies),
            "failed": len(record.samples) - len(latencies)}


def run_load(server: Server, members: list[Member], voters: int, ideas: list[int], category: str,
             seconds: float, think: float, kill: bool) -> tuple[Record, dict]:
    """Every member votes or submits for ``seconds``; with ``kill``, one gunicorn worker is SIGKILLed halfway."""
    record, start = Record(), time.perf_counter()
    stop = start + seconds
    killed: dict = {}

    def member_loop(index: int, member: Member) -> None:
        time.sleep(member.rng.uniform(0, think))  # not all at once
        while time.perf_counter() < stop:
            if index < voters:
                member.vote(record, ideas)
            else:
                member.submit(record, category)
            time.sleep(think * member.rng.uniform(0.5, 1.5))

    threads = [threading.Thread(target=member_loop, args=(i, m), daemon=True) for i, m in enumerate(members)]
    for thread in threads:
        thread.start()
    if kill:
        time.sleep(seconds / 2)
        workers = gunicorn_workers(server.pid)
        if not workers:
            raise BenchError("no gunicorn worker found to kill")
        victim = random.choice(workers)
        killed = {"pid": victim, "at": time.perf_counter()}
        os.kill(victim, signal.SIGKILL)
        log(f"  killed gunicorn worker {victim} at {killed['at'] - start:.1f} s")
    for thread in threads:
        thread.join(REQUEST_TIMEOUT + seconds)
    return record, {"start": start, "stop": stop, "killed": killed}


def summarize(record: Record, start: float, stop: float, killed: dict) -> dict:
    lost = errors = limited = 0
    latencies: list[float] = []
    by_status: dict[str, int] = {}
    kinds: dict[str, int] = {}
    for sample in record.samples:
        kinds[sample.kind] = kinds.get(sample.kind, 0) + 1
        key = str(sample.status) if sample.status is not None else sample.error
        by_status[key] = by_status.get(key, 0) + 1
        if sample.status is None:
            in_flight = killed and sample.started <= killed["at"] <= sample.ended + 0.05
            if in_flight:
                lost += 1
            else:
                errors += 1
            continue
        latencies.append(sample.ended - sample.started)
        if sample.status == 429:
            limited += 1
        elif not 200 <= sample.status < 400:
            errors += 1
    answered = sum(1 for sample in record.samples if sample.status is not None and sample.ended <= stop)
    return {
        # answered within the window, per second of it (those still queued at the end count in "requests")
        "requests": len(record.samples), "rps": answered / (stop - start), "votes": kinds.get("vote", 0),
        "submits": kinds.get("submit", 0),
        "p50_ms": 1000 * percentile(latencies, 0.5) if latencies else None,
        "p95_ms": 1000 * percentile(latencies, 0.95) if latencies else None,
        "limited": limited, "errors": errors, "lost": lost, "statuses": by_status, "samples": dict(record.bodies),
    }


def verify(env: dict[str, str]) -> dict:
    """`flask worker --once` (what the stopped worker left), then both verifications: exit codes and differences."""
    drained = flask_command(env, "worker", "--once", timeout=600)
    results = {"drain_exit": drained.returncode, "drain": drained.stdout.strip().splitlines()[-1:]}
    for name in ("votes", "search"):
        command = flask_command(env, name, "verify", timeout=600)
        found = DIFFERENCES.search(command.stdout)
        differences = int(found.group(1)) if found else (0 if command.returncode == 0 else None)
        if name == "votes" and command.returncode and found is None:  # one line per counter that differs
            differences = sum(1 for line in command.stdout.splitlines() if line.startswith("idea "))
        results[name] = {"exit": command.returncode, "differences": differences,
                         "output": command.stdout[-600:] if command.returncode else ""}
    return results


def run_mode(env: dict[str, str], args: argparse.Namespace, kill: bool, rng: random.Random) -> dict:
    mode = "kill" if kill else "steady"
    log(f"- {mode}: starting gunicorn ({WORKERS} workers) and a worker")
    count = args.voters + args.submitters
    with ExitStack() as stack:
        server = stack.enter_context(running_gunicorn(env, workers=WORKERS, **SERVER_SETTINGS))
        worker = stack.enter_context(background_flask({**env, **{f"IDEASTORM_{k}": v for k, v in ARGON2.items()}},
                                                      "worker"))
        members = [Member(server.base_url, n, random.Random(rng.random())) for n in range(1, count + 1)]
        stack.callback(lambda: [m.close() for m in members])
        signed_in = time.perf_counter()
        with ThreadPoolExecutor(max_workers=WORKERS * 2) as pool:
            list(pool.map(Member.sign_in, members))
        log(f"  {count} members signed in in {time.perf_counter() - signed_in:.1f} s")
        ideas, category = open_ideas(members[0].client, 199), a_category(members[0])
        base = baseline(server.base_url)
        log(f"  baseline: GET /healthz {base['rps']:.0f} req/s, median {base['p50_ms']:.1f} ms")
        record, timing = run_load(server, members, args.voters, ideas, category, args.seconds, args.think, kill)
        worker.check_running()
        figures = summarize(record, timing["start"], timing["stop"], timing["killed"])
        figures["baseline"] = base
        figures["respawned"] = len(gunicorn_workers(server.pid)) if kill else None
        stack.pop_all().close()  # the worker, the clients and the server stop here
    figures["verify"] = verify(env)
    log(f"  {figures['requests']} requests ({figures['rps']:.0f}/s), p50 {figures['p50_ms']:.0f} ms, "
        f"p95 {figures['p95_ms']:.0f} ms, 429: {figures['limited']}, errors: {figures['errors']}, "
        f"lost to the kill: {figures['lost']}; statuses {figures['statuses']}; "
        f"verify votes {figures['verify']['votes']['exit']}, search {figures['verify']['search']['exit']}")
    for key, body in figures["samples"].items():
        log(f"  sample of {key}: {body[:200]!r}")
    return figures


def _median(values: list) -> float | None:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def _cell(rounds: list[dict], pick, fmt: str) -> str:
    values = [pick(r) for r in rounds]
    middle = _median(values)
    if middle is None:
        return "–"
    text = format(middle, fmt)
    known = [v for v in values if v is not None]
    if len(known) > 1 and min(known) != max(known):
        text += f" [{format(min(known), fmt)}–{format(max(known), fmt)}]"
    return text


def markdown(results: dict[str, list[dict]], args: argparse.Namespace) -> str:
    rows = [
        ("requests", lambda r: r["requests"], ".0f"),
        ("votes / submissions", None, ""),
        ("req/s (answered within the window)", lambda r: r["rps"], ".1f"),
        ("p50 latency, ms", lambda r: r["p50_ms"], ".1f"),
        ("p95 latency, ms", lambda r: r["p95_ms"], ".1f"),
        ("429 (limits, intended)", lambda r: r["limited"], ".0f"),
        ("errors", lambda r: r["errors"], ".0f"),
        ("lost to the kill", lambda r: r["lost"], ".0f"),
        ("votes verify: exit / differences", None, ""),
        ("search verify: exit / differences", None, ""),
        ("baseline GET /healthz req/s", lambda r: r["baseline"]["rps"], ".0f"),
        ("baseline GET /healthz p50, ms", lambda r: r["baseline"]["p50_ms"], ".1f"),
        ("req/s ÷ baseline req/s", lambda r: r["rps"] / r["baseline"]["rps"], ".3f"),
        ("p50 ÷ baseline p50", lambda r: r["p50_ms"] / r["baseline"]["p50_ms"], ".1f"),
    ]
    modes = list(results)
    lines = [f"Load test: {args.voters} voters and {args.submitters} submitters for {args.seconds:g} s, "
             f"think {args.think:g} s, gunicorn {WORKERS} workers, PostgreSQL, {args.rounds} round(s) "
             "(medians, range in brackets)", "",
             "| figure | " + " | ".join(modes) + " |", "|---|" + "---:|" * len(modes)]
    for name, pick, fmt in rows:
        cells = []
        for mode in modes:
            rounds = results[mode]
            if name.startswith("votes / "):
                cells.append(f"{_cell(rounds, lambda r: r['votes'], '.0f')} / "
                             f"{_cell(rounds, lambda r: r['submits'], '.0f')}")
            elif "verify" in name:
                part = name.split()[0]
                exits = "/".join(str(r["verify"][part]["exit"]) for r in rounds)
                diffs = "/".join(str(r["verify"][part]["differences"]) for r in rounds)
                cells.append(f"{exits} / {diffs}")
            else:
                cells.append(_cell(rounds, pick, fmt))
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def failed(results: dict[str, list[dict]]) -> list[str]:
    problems = []
    for mode, rounds in results.items():
        for number, figures in enumerate(rounds, 1):
            if figures["errors"]:
                problems.append(f"{mode}, round {number}: {figures['errors']} errors")
            for part in ("votes", "search"):
                if figures["verify"][part]["exit"]:
                    problems.append(f"{mode}, round {number}: `{part} verify` exited "
                                    f"{figures['verify'][part]['exit']}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="length of each mode's load (60)")
    parser.add_argument("--voters", type=int, default=200, help="members voting (200)")
    parser.add_argument("--submitters", type=int, default=20, help="members submitting ideas (20)")
    parser.add_argument("--rounds", type=int, default=1, help="rounds of both modes; medians are reported (1)")
    parser.add_argument("--think", type=float, default=1.0,
                        help="seconds a member pauses between two requests, ±50%% (1.0)")
    parser.add_argument("--pg-url", default=DEFAULT_PG_URL, help=f"PostgreSQL server ({DEFAULT_PG_URL})")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    if args.voters < 1 or args.submitters < 0 or args.rounds < 1 or args.seconds <= 0 or args.think < 0:
        parser.error("--voters and --rounds must be at least 1, --seconds positive, --submitters and --think >= 0")
    rng = random.Random(args.seed)
    results: dict[str, list[dict]] = {"steady": [], "kill": []}
    try:
        with empty_database("postgresql", args.pg_url) as env:
            env = {**env, "IDEASTORM_BASE_URL": "http://127.0.0.1"}
            started = time.perf_counter()
            seed(env, **SEED_SIZE, seed=args.seed)
            create_members(env, args.voters + args.submitters)
            log(f"seeded {SEED_SIZE['ideas']} ideas and {args.voters + args.submitters} members "
                f"in {time.perf_counter() - started:.0f} s")
            for number in range(1, args.rounds + 1):
                log(f"round {number} of {args.rounds}")
                for kill in (False, True):
                    results["kill" if kill else "steady"].append(run_mode(env, args, kill, rng))
    except BenchError as error:
        log(f"the load test could not be completed: {error}")
        return 2
    print(markdown(results, args))
    problems = failed(results)
    for problem in problems:
        print(f"- {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
