"""Engine tuning per backend: SQLite runs in WAL mode with a busy timeout and foreign keys on."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import event

from .extensions import db


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


def insert_ignoring_conflicts(table, rows: list[dict], conflict_columns: list[str]):
    """INSERT rows, silently skipping those that violate the unique ``conflict_columns``."""
    if not rows:
        return
    if is_postgresql():
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    db.session.execute(insert(table).on_conflict_do_nothing(index_elements=conflict_columns), rows)
