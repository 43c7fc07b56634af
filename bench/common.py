"""Shared by the benchmarks: a throw-away database seeded with `demo seed`, and the app served over HTTP.

    with empty_database("sqlite") as env:
        seconds = seed(env, ideas=10_000, users=2_000, votes=100_000)
        with running_server(env) as server:
            server.get("/ideas?sort=top")

Everything runs through the real commands (`flask --app app db upgrade`, `demo seed`, `run`) in
subprocesses of the Python running the benchmark, so run it with the project's virtualenv.
"""

from __future__ import annotations

import http.client
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator
from urllib.parse import urlsplit, urlunsplit

PROJECT_ROOT = Path(__file__).resolve().parent.parent
BACKENDS = ("sqlite", "postgresql")
DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/"
FLASK = [sys.executable, "-m", "flask", "--app", "app"]
SERVER_START_SECONDS = 60


class BenchError(RuntimeError):
    """Something the benchmark cannot go on without (a command failed, a page did not answer 200)."""


def _flask(env: dict[str, str], *args: str) -> str:
    """Run one `flask --app app` command; its output, or BenchError with that output."""
    result = subprocess.run(
        [*FLASK, *args], cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    if result.returncode != 0:
        raise BenchError(f"`flask {' '.join(args)}` exited with {result.returncode}:\n{result.stdout[-3000:]}")
    return result.stdout


def _base_env(directory: str, database_uri: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLASK_", "IDEASTORM_"))}
    env.update({
        "IDEASTORM_SECRET_KEY": secrets.token_hex(32),
        "IDEASTORM_SQLALCHEMY_DATABASE_URI": database_uri,
        "IDEASTORM_SEARCH_INDEX_DIR": os.path.join(directory, "search-index"),
        "PYTHONUNBUFFERED": "1",
    })
    return env


@contextmanager
def _postgresql_database(pg_url: str) -> Iterator[str]:
    """A fresh database on the server at ``pg_url``, dropped on exit; yields its URL."""
    import psycopg

    parts = urlsplit(pg_url)
    name = f"ideastorm_bench_{os.getpid()}"
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    try:
        with psycopg.connect(admin_url, autocommit=True) as connection:
            connection.execute(f"DROP DATABASE IF EXISTS {name}")
            connection.execute(f"CREATE DATABASE {name}")
    except psycopg.Error as error:
        raise BenchError(f"cannot create a database on {pg_url}: {error}") from error
    try:
        yield urlunsplit(parts._replace(path="/" + name))
    finally:
        with psycopg.connect(admin_url, autocommit=True) as connection:
            connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@contextmanager
def empty_database(backend: str, pg_url: str = DEFAULT_PG_URL) -> Iterator[dict[str, str]]:
    """A migrated, empty database; yields the environment for `flask` commands and the server.

    SQLite lives in a temporary folder; PostgreSQL gets a database of its own on ``pg_url``'s server.
    Both, and the search index, are deleted on exit.
    """
    if backend not in BACKENDS:
        raise BenchError(f"unknown backend {backend!r}: choose from {', '.join(BACKENDS)}")
    with tempfile.TemporaryDirectory(prefix="ideastorm-bench-") as directory:
        if backend == "sqlite":
            env = _base_env(directory, "sqlite:///" + os.path.join(directory, "ideastorm.db"))
            _flask(env, "db", "upgrade")
            yield env
        else:
            with _postgresql_database(pg_url) as url:
                env = _base_env(directory, url)
                _flask(env, "db", "upgrade")
                yield env


def seed(env: dict[str, str], *, ideas: int, users: int, votes: int, seed: int = 1) -> float:
    """Add demo data beside what the database holds (`demo seed`); the seconds it took.

    On PostgreSQL a VACUUM ANALYZE follows (not counted): it leaves the planner statistics that
    autovacuum would, instead of autovacuum doing that work during the measurements.
    """
    started = time.perf_counter()
    _flask(env, "demo", "seed", "--ideas", str(ideas), "--users", str(users), "--votes", str(votes),
           "--seed", str(seed))
    seconds = time.perf_counter() - started
    database_uri = env["IDEASTORM_SQLALCHEMY_DATABASE_URI"]
    if database_uri.startswith("postgresql://"):
        import psycopg

        with psycopg.connect(database_uri, autocommit=True) as connection:
            connection.execute("VACUUM ANALYZE")
    return seconds


@contextmanager
def prepared_database(backend: str, *, ideas: int, users: int, votes: int, seed_value: int = 1,
                      pg_url: str = DEFAULT_PG_URL) -> Iterator[dict[str, str]]:
    """A migrated database holding that much demo data; yields the environment (see empty_database)."""
    with empty_database(backend, pg_url) as env:
        seed(env, ideas=ideas, users=users, votes=votes, seed=seed_value)
        yield env


@dataclass
class Response:
    status: int
    body: bytes
    seconds: float


@dataclass
class Server:
    """The app served over HTTP on 127.0.0.1, with one keep-alive connection for timing requests."""

    port: int
    log_path: str
    _connection: http.client.HTTPConnection | None = field(default=None, repr=False)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def get(self, path: str) -> Response:
        """GET ``path``; ``seconds`` spans sending the request to reading the whole body."""
        for attempt in (1, 2):  # the server may have closed an idle keep-alive connection
            if self._connection is None:
                self._connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=300)
            try:
                started = time.perf_counter()
                self._connection.request("GET", path)
                response = self._connection.getresponse()
                body = response.read()
                seconds = time.perf_counter() - started
            except (ConnectionError, http.client.HTTPException):
                self.close()
                if attempt == 2:
                    raise
                continue
            if response.will_close:
                self.close()
            return Response(response.status, body, seconds)
        raise AssertionError("unreachable")

    def get_ok(self, path: str) -> Response:
        """GET ``path``, raising BenchError unless it answers 200."""
        response = self.get(path)
        if response.status != 200:
            raise BenchError(f"GET {path} answered {response.status}; the server's log ends with:\n{self.log_tail()}")
        return response

    def log_tail(self, characters: int = 3000) -> str:
        return Path(self.log_path).read_text(errors="replace")[-characters:]

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def running_server(env: dict[str, str], **config: str) -> Iterator[Server]:
    """`flask run` (debug off, no reloader) on a free port until /healthz answers; stopped on exit.

    ``config`` adds settings for this server only, e.g. ``AGGREGATE_CACHE_SECONDS="0"``.
    """
    port = _free_port()
    server_env = {**env, **{f"IDEASTORM_{name}": value for name, value in config.items()}}
    with tempfile.NamedTemporaryFile("w+", prefix="ideastorm-bench-server-", suffix=".log", delete=False) as log:
        process = subprocess.Popen(
            [*FLASK, "run", "--host", "127.0.0.1", "--port", str(port), "--no-reload", "--no-debugger"],
            cwd=PROJECT_ROOT, env=server_env, stdout=log, stderr=subprocess.STDOUT,
        )
    server = Server(port, log.name)
    try:
        _wait_until_healthy(server, process)
        yield server
    finally:
        server.close()
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        os.unlink(log.name)


def _wait_until_healthy(server: Server, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + SERVER_START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BenchError(f"the server exited with {process.returncode}:\n{server.log_tail()}")
        try:
            if server.get("/healthz").status == 200:
                return
        except OSError:
            server.close()
        time.sleep(0.2)
    raise BenchError(f"/healthz did not answer 200 within {SERVER_START_SECONDS} s:\n{server.log_tail()}")
