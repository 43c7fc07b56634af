"""How the main pages' response time compares with /healthz's, and whether it grows with the backlog.

    .venv/bin/python bench/pages.py --backend both --sizes 10000,100000

For each backend, seeds the smallest size with `demo seed`, serves the app and times every page,
then adds ideas (and users and votes, in proportion) up to the next size and times them again.
Targets: each page's median within 10× of /healthz's in the same run, and at every size no more
than 1.5× its median at the smallest size. Exits 1 if a target is missed. See bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import BACKENDS, DEFAULT_PG_URL, BenchError, Server, empty_database, running_server, seed  # noqa: E402

BASELINE = "/healthz"
PAGES = [
    "/",
    *(f"/ideas?sort={sort}" for sort in ("trending", "top", "new", "discussed")),
    *(f"/leaderboard?period={period}" for period in ("week", "month", "year", "all")),
    "/stats",
    "/implemented",
    "/roadmap",
]
# Idea pages are found on the running server: the most discussed idea (the longest thread) and
# the newest one (a short page), so that the timed pages hold whatever the seed produced.
IDEA_SOURCES = {"/ideas/<most discussed>": "/ideas?sort=discussed", "/ideas/<newest>": "/ideas?sort=new"}
IDEA_LINK = re.compile(r'href="(/ideas/[0-9]+)[^"?#]*"')
MAX_RATIO_TO_BASELINE = 10.0
MAX_GROWTH = 1.5
USERS_PER_IDEA = 0.2
VOTES_PER_IDEA = 10
BACKEND_NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


@dataclass
class Timing:
    path: str
    cold_ms: float
    median_ms: float
    p90_ms: float
    kib: float


@dataclass
class Run:
    backend: str
    ideas: int
    users: int
    votes: int
    seed_seconds: float
    timings: list[Timing]

    def timing(self, path: str) -> Timing:
        return next(t for t in self.timings if t.path == path)


def measure(server: Server, paths: list[str], rounds: int, warmup: int,
            aliases: dict[str, str] | None = None) -> list[Timing]:
    """Cold time (first request to a fresh server), then ``rounds`` round-robin passes after a warm-up.

    Every pass starts one path further, so no path always runs right after another, and machine
    noise falls on all paths alike. ``aliases`` maps a label in ``paths`` to the URL it stands for.
    """
    url = {path: (aliases or {}).get(path, path) for path in paths}
    cold = {path: server.get_ok(url[path]) for path in paths}
    for _ in range(warmup):
        for path in paths:
            server.get_ok(url[path])
    samples: dict[str, list[float]] = {path: [] for path in paths}
    for round_number in range(rounds):
        shift = round_number % len(paths)
        for path in paths[shift:] + paths[:shift]:
            samples[path].append(server.get_ok(url[path]).seconds)
    return [
        Timing(
            path=path,
            cold_ms=cold[path].seconds * 1000,
            median_ms=statistics.median(samples[path]) * 1000,
            p90_ms=statistics.quantiles(samples[path], n=10, method="inclusive")[-1] * 1000,
            kib=len(cold[path].body) / 1024,
        )
        for path in paths
    ]


def idea_pages(server: Server) -> dict[str, str]:
    """For each label of IDEA_SOURCES, the first idea its list links to."""
    found: dict[str, str] = {}
    for label, source in IDEA_SOURCES.items():
        match = IDEA_LINK.search(server.get_ok(source).body.decode())
        if match is None:
            raise BenchError(f"no idea link on {source}")
        found[label] = match.group(1)
    return found


def bench_backend(backend: str, sizes: list[int], rounds: int, warmup: int, pg_url: str,
                  server_config: dict[str, str]) -> list[Run]:
    """Grow one database through ``sizes`` (ideas), timing the pages at each."""
    runs: list[Run] = []
    seeded = {"ideas": 0, "users": 0, "votes": 0}
    with empty_database(backend, pg_url) as env:
        for step, ideas in enumerate(sizes, start=1):
            target = {"ideas": ideas, "users": max(1, round(ideas * USERS_PER_IDEA)), "votes": ideas * VOTES_PER_IDEA}
            added = {name: target[name] - seeded[name] for name in target}
            log(f"{BACKEND_NAMES[backend]}: seeding {added['ideas']:,} ideas, {added['users']:,} users, "
                f"{added['votes']:,} votes ...")
            seconds = seed(env, **added, seed=step)
            seeded = target
            log(f"  seeded in {seconds:.0f} s; timing {len(PAGES) + len(IDEA_SOURCES) + 1} URLs, {rounds} rounds ...")
            with running_server(env, **server_config) as server:
                ideas_at = idea_pages(server)
                timings = measure(server, [BASELINE, *PAGES, *ideas_at], rounds, warmup, aliases=ideas_at)
            runs.append(Run(backend, ideas, target["users"], target["votes"], seconds, timings))
    return runs


def ratio_to_baseline(run: Run, path: str) -> float:
    return run.timing(path).median_ms / run.timing(BASELINE).median_ms


def growth(run: Run, first: Run, path: str) -> float:
    return run.timing(path).median_ms / first.timing(path).median_ms


def misses(run: Run, first: Run) -> dict[str, list[str]]:
    """Per page, the targets it misses in ``run``; growth is measured against ``first``, the smallest size."""
    found: dict[str, list[str]] = {}
    for path in [*PAGES, *IDEA_SOURCES]:
        ratio, grew = ratio_to_baseline(run, path), growth(run, first, path)
        found[path] = (
            ([f"{ratio:.2f}× {BASELINE}"] if ratio > MAX_RATIO_TO_BASELINE else [])
            + ([f"grew {grew:.2f}×"] if run is not first and grew > MAX_GROWTH else [])
        )
    return found


def all_misses(results: dict[str, list[Run]]) -> list[str]:
    return [
        f"{BACKEND_NAMES[run.backend]}, {run.ideas:,} ideas: `{path}` ({', '.join(why)})"
        for runs in results.values() for run in runs
        for path, why in misses(run, runs[0]).items() if why
    ]


def markdown(results: dict[str, list[Run]], rounds: int, warmup: int, cache_note: str) -> str:
    lines = [
        "# Page benchmark",
        "",
        f"Median and 90th percentile of {rounds} interleaved rounds, after {warmup} warm-up requests per URL "
        f"on a fresh server; {cache_note} *Cold* is the first request to that fresh server (information only). "
        f"Targets: median ≤ {MAX_RATIO_TO_BASELINE:g}× {BASELINE}'s in the same run, and ≤ {MAX_GROWTH:g}× "
        "the page's median at the smallest size.",
    ]
    for runs in results.values():
        first = runs[0]
        for run in runs:
            found = misses(run, first)
            lines += [
                "",
                f"## {BACKEND_NAMES[run.backend]}, {run.ideas:,} ideas",
                "",
                f"{run.users:,} users and {run.votes:,} votes in all; this step seeded in {run.seed_seconds:.0f} s.",
                "",
                f"| page | cold ms | median ms | p90 ms | × {BASELINE} | × at {first.ideas:,} | KiB | targets |",
                "|---|--:|--:|--:|--:|--:|--:|---|",
            ]
            for timing in run.timings:
                if timing.path == BASELINE:
                    ratio, verdict = "", "baseline"
                else:
                    ratio = f"{ratio_to_baseline(run, timing.path):.2f}"
                    verdict = "✗ " + ", ".join(found[timing.path]) if found[timing.path] else "ok"
                grew = "—" if run is first else f"{growth(run, first, timing.path):.2f}"
                lines.append(
                    f"| `{timing.path}` | {timing.cold_ms:.1f} | {timing.median_ms:.2f} | {timing.p90_ms:.2f} "
                    f"| {ratio} | {grew} | {timing.kib:.1f} | {verdict} |"
                )
    missed = all_misses(results)
    lines += ["", "Targets missed:" if missed else "Every target met.", *(f"- {m}" for m in missed)]
    return "\n".join(lines) + "\n"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def parse_sizes(text: str) -> list[int]:
    try:
        sizes = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError("sizes are whole numbers separated by commas, e.g. 10000,100000")
    if not sizes or any(b <= a for a, b in zip(sizes, sizes[1:])) or sizes[0] < 1:
        raise argparse.ArgumentTypeError("sizes must be positive and increasing, e.g. 10000,100000")
    return sizes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=[*BACKENDS, "both"], default="both")
    parser.add_argument("--sizes", type=parse_sizes, default=[10_000, 100_000],
                        help="numbers of ideas, increasing (default 10000,100000)")
    parser.add_argument("--rounds", type=int, default=30, help="timed requests per URL (default 30)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed requests per URL first (default 3)")
    parser.add_argument("--pg-url", default=DEFAULT_PG_URL,
                        help=f"PostgreSQL server; a database of its own is created there and dropped "
                             f"(default {DEFAULT_PG_URL})")
    parser.add_argument("--cache-seconds", type=int,
                        help="AGGREGATE_CACHE_SECONDS for the server (default: the app's, 60); 0 times every "
                             "aggregate computed afresh")
    parser.add_argument("--out", type=Path, help="also write the results here: JSON if it ends in .json, else Markdown")
    args = parser.parse_args(argv)
    if args.rounds < 2 or args.warmup < 0:
        parser.error("--rounds must be at least 2 and --warmup at least 0")

    server_config = {} if args.cache_seconds is None else {"AGGREGATE_CACHE_SECONDS": str(args.cache_seconds)}
    cache_note = (
        "the warm-up fills the aggregate cache (AGGREGATE_CACHE_SECONDS, 60 s by default), so cached figures "
        "are what the rounds mostly time." if args.cache_seconds is None else
        f"AGGREGATE_CACHE_SECONDS={args.cache_seconds}."
    )
    backends = BACKENDS if args.backend == "both" else (args.backend,)
    try:
        results = {backend: bench_backend(backend, args.sizes, args.rounds, args.warmup, args.pg_url, server_config)
                   for backend in backends}
    except BenchError as error:
        log(f"error: {error}")
        return 2
    report = markdown(results, args.rounds, args.warmup, cache_note)
    print(report, end="")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(
            json.dumps({backend: [asdict(run) for run in runs] for backend, runs in results.items()}, indent=2) + "\n"
            if args.out.suffix == ".json" else report
        )
    return 1 if all_misses(results) else 0

if __name__ == "__main__":
    sys.exit(main())
