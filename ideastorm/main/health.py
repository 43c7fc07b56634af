"""What /healthz reports: the database, the search index compared with it, and the outbox backlog.

One rule decides the answer (see README "Health"): 503 with ``"status": "error"`` when a request
would fail (the database does not answer, the search index is missing, cannot be opened or
cannot be written), 200 with ``"degraded"`` when the site serves but something needs a person
(the index differs from the database, the outbox is old or has dead deliveries), else 200 ``"ok"``.
Degraded stays 200 on purpose: a load balancer keeps the node, which still serves every page
correctly, while monitoring alerts on the status field.

Every figure is read afresh on each probe (a few small indexed queries and a COUNT of visible
ideas): nothing is cached, so nothing reported can be out of date.
"""

from __future__ import annotations

import time

from flask import current_app
from sqlalchemy import text

from ..extensions import db


def _database() -> dict:
    started = time.perf_counter()
    try:
        db.session.execute(text("SELECT 1"))
    except Exception as exc:  # reported, not raised: this is what monitoring reads
        db.session.rollback()
        return {"status": f"error: {type(exc).__name__}: {exc}"[:300]}
    return {"status": "ok", "milliseconds": round((time.perf_counter() - started) * 1000, 2)}


def _outbox() -> dict:
    from .. import outbox

    figures = outbox.health()
    oldest = figures["outbox_oldest_pending_seconds"]
    max_age = current_app.config["HEALTH_OUTBOX_MAX_AGE_SECONDS"]
    report = {"status": "ok", "pending": figures["outbox_pending"], "oldest_seconds": oldest,
              "dead": figures["outbox_dead"], "max_age_seconds": max_age, "problems": []}
    if oldest is not None and oldest > max_age:
        report["problems"].append(f"the oldest pending event waits for {oldest:.0f} s (more than {max_age} s): "
                                  "is a worker (`flask worker`) running?")
    if figures["outbox_dead"]:
        report["problems"].append(f"{figures['outbox_dead']} dead deliveries: `flask outbox list --dead`, "
                                  "then `flask outbox replay`")
    if report["problems"]:
        report["status"] = "degraded"
    return report


def site_health() -> tuple[dict, int]:
    """The /healthz body and its status code."""
    from ..search import health as search_health

    database = _database()
    if database["status"] != "ok":
        return {"status": "error", "database": database, "search": None, "outbox": None}, 503
    search = search_health.report()
    outbox = _outbox()
    statuses = {search["status"], outbox["status"]}
    status = "error" if "error" in statuses else "degraded" if "degraded" in statuses else "ok"
    body = {"status": status, "database": database, "search": search, "outbox": outbox}
    return body, 503 if status == "error" else 200
