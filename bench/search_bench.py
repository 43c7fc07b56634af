"""Search benchmark: rebuild time, index size, query latency and freshness on demo data.

    .venv/bin/python bench/search_bench.py --sizes 10000,100000 [--backend sqlite|postgresql] [--queries 300]

For each size: a fresh database seeded with `flask demo seed` (which fills the index), then,
in this process, `search rebuild` timed, the index's size on disk, `query()` latency over
1-3 word queries drawn from the demo corpus's vocabulary, each with a status filter (median
and p95, after a warm-up), and freshness: from posting a new idea through the web app, with an
outbox worker running beside it (a thread, as `flask worker` runs it), to finding it with `query()`.
Targets: p95 under 100 ms at 100,000 ideas, fresh within 1 s.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import BACKENDS, DEFAULT_PG_URL, empty_database, seed  # noqa: E402

STATUSES = ("new", "under_review", "planned", "in_progress", "implemented", "declined")


def vocabulary() -> list[str]:
    from ideastorm.demo import corpus

    words: set[str] = set()
    for name in dir(corpus):
        value = getattr(corpus, name)
        if isinstance(value, (list, tuple)):
            for text in value:
                if isinstance(text, str):
                    words.update(w.lower() for w in re.findall(r"[^\W\d_]{4,}", text.replace("{s}", "")))
    return sorted(words)


def folder_size(path: str) -> int:
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file())


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def measure(env: dict[str, str], queries: int, rng: random.Random) -> dict[str, float]:
    os.environ.update(env)
    from sqlalchemy import select

    from ideastorm import create_app, search
    from ideastorm.accounts.models import User
    from ideastorm.extensions import db
    from ideastorm.ideas.models import Category
    from ideastorm.search.maintenance import rebuild_index
    from ideastorm.search.interface import SearchQuery

    app = create_app({"RATELIMIT_ENABLED": False, "WTF_CSRF_ENABLED": False})
    figures: dict[str, float] = {}
    with app.app_context():
        started = time.perf_counter()
        figures["ideas"] = rebuild_index()
        figures["rebuild_s"] = time.perf_counter() - started
        backend = search.backend()
        figures["index_mb"] = folder_size(os.path.join(backend.root, backend.health()["generation"])) / 1e6

        words = vocabulary()
        texts = [(" ".join(rng.sample(words, rng.randint(1, 3))), rng.choice(STATUSES)) for _ in range(queries)]
        for text, status in texts[:20]:  # warm-up: first searcher, caches
            backend.query(SearchQuery(text, status=status))
        timings, totals = [], []
        for text, status in texts:
            started = time.perf_counter()
            results = backend.query(SearchQuery(text, status=status))
            timings.append((time.perf_counter() - started) * 1000)
            totals.append(results.total)
        figures["query_median_ms"] = statistics.median(timings)
        figures["query_p95_ms"] = percentile(timings, 0.95)
        figures["query_max_ms"] = max(timings)
        figures["hits_median"] = statistics.median(totals)

        # Freshness: a member posts an idea through the web app; how soon can search find it?
        user = User(email="bench-freshness@example.com", display_name="Bench", role="member",
                    password_hash=None)
        db.session.add(user)
        db.session.commit()
        category_id = db.session.scalar(select(Category.id).limit(1))
        from ideastorm.accounts import services as account_services, sessions

        row, secret = account_services.open_login_session(user)
        db.session.commit()
        client = app.test_client()
        with client.session_transaction() as session:
            session["_user_id"] = sessions.make_token(user.id, row.id, secret)
            session["_fresh"] = True
        from ideastorm.worker import Worker

        worker = Worker(app, name="bench-worker")
        worker_thread = threading.Thread(target=worker.run, name="bench-worker", daemon=True)
        worker_thread.start()
        delays = []
        for n in range(10):
            marker = f"zq{n}freshness{rng.randrange(10**6)}"
            started = time.perf_counter()
            response = client.post("/ideas/new", data={"title": f"Bench idea {marker}", "description": marker,
                                                       "category": category_id, "tags": ""}, buffered=True)
            assert response.status_code in (302, 303), response.status_code
            while not backend.query(SearchQuery(marker)).total:
                if time.perf_counter() - started > 10:
                    raise RuntimeError("the new idea was not searchable within 10 s")
                time.sleep(0.005)
            delays.append((time.perf_counter() - started) * 1000)
        worker.stop()
        worker_thread.join(timeout=30)
        figures["fresh_median_ms"] = statistics.median(delays)
        figures["fresh_max_ms"] = max(delays)
        db.session.remove()
        db.engine.dispose()
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000", help="idea counts, comma-separated")
    parser.add_argument("--backend", choices=BACKENDS, default="sqlite")
    parser.add_argument("--pg-url", default=DEFAULT_PG_URL)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    try:
        sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    except ValueError:
        parser.error("--sizes takes numbers separated by commas, e.g. 10000,100000")
    rows = []
    for size in sizes:
        with empty_database(args.backend, args.pg_url) as env:
            print(f"[{args.backend} {size}] seeding (demo seed fills the index too)…", file=sys.stderr, flush=True)
            seconds = seed(env, ideas=size, users=max(50, size // 10), votes=size * 5, seed=args.seed)
            print(f"[{args.backend} {size}] seeded in {seconds:.0f} s; measuring…", file=sys.stderr, flush=True)
            figures = measure(env, args.queries, random.Random(args.seed))
            rows.append((size, seconds, figures))
    header = ("ideas", "seed+index s", "rebuild s", "index MB", "query median ms", "query p95 ms",
              "query max ms", "median hits", "fresh median ms", "fresh max ms")
    print(f"\nSearch on {args.backend}, {args.queries} queries of 1-3 words with a status filter\n")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for size, seconds, f in rows:
        print(f"| {size:,} | {seconds:.0f} | {f['rebuild_s']:.1f} | {f['index_mb']:.0f} | {f['query_median_ms']:.1f} "
              f"| {f['query_p95_ms']:.1f} | {f['query_max_ms']:.1f} | {f['hits_median']:.0f} "
              f"| {f['fresh_median_ms']:.0f} | {f['fresh_max_ms']:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
