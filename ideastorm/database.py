"""Engine tuning per backend (SQLite: WAL mode, busy timeout, foreign keys on) and replayable transactions."""

from __future__ import annotations

from typing import Callable, TypeVar

from flask import Flask
from sqlalchemy import event
from sqlalchemy.exc import IntegrityError, OperationalError

from .extensions import db

T = TypeVar("T")


def _sqlite_pragmas(busy_timeout_ms: int):
    def on_connect(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    return on_connect


def init_app(app: Flask) -> None:
    with app.app_context():
        engine = db.engine
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas(app.config["SQLITE_BUSY_TIMEOUT_MS"]))


def is_postgresql() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def insert_ignoring_conflicts(table, rows: list[dict], conflict_columns: list[str] | None = None):
    """INSERT rows, silently skipping those that violate the unique ``conflict_columns`` (None: any unique key)."""
    if not rows:
        return
    if is_postgresql():
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    db.session.execute(insert(table).on_conflict_do_nothing(index_elements=conflict_columns), rows)


class Retry(Exception):
    """Raised by a unit of work whose guarded write found the world changed: replay it."""


def _is_lock_conflict(error: OperationalError) -> bool:
    text = str(error).lower()
    return "locked" in text or "deadlock" in text or "could not serialize" in text


def run_transaction(work: Callable[[], T], *, attempts: int = 8, expire_on_commit: bool = True) -> T:
    """Run ``work`` and commit; replay it from scratch when a concurrent writer got in the way.

    For units of work written to be replayed (they read, then write under a guard and
    raise ``Retry`` when the guard fails): a lost unique-constraint race, a SQLite writer
    that invalidated our snapshot, or a PostgreSQL deadlock rolls back and runs ``work``
    again. A ``DomainError`` rolls back and propagates. Views, commands, the API and the
    worker call this instead of ``db.session.commit()`` for such work.

    ``expire_on_commit=False`` keeps the objects already loaded (the signed-in member) as they
    are after the commit, for work that changes none of them through the ORM: the vote's
    widget is then drawn without loading the member again.
    """
    from flask_babel import gettext as _

    from .domain import DomainError

    last: Exception | None = None
    session = db.session()
    for _attempt in range(attempts):
        try:
            result = work()
            session.expire_on_commit = expire_on_commit
            try:
                session.commit()
            finally:
                session.expire_on_commit = True
            return result
        except (Retry, IntegrityError) as exc:
            db.session.rollback()
            last = exc
        except OperationalError as exc:
            db.session.rollback()
            if not _is_lock_conflict(exc):
                raise
            last = exc
        except DomainError:
            db.session.rollback()
            raise
    raise DomainError("contention", _("Many people are doing this right now; please try again."),
                      status=409) from last
