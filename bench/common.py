"""Shared by the benchmarks: a throw-away database seeded with `demo seed`, and the app served over HTTP.

    with empty_database("sqlite") as env:
        seconds = seed(env, ideas=10_000, users=2_000, votes=100_000)
        with running_server(env) as server:
            server.get("/ideas?sort=top")

Everything runs through the real commands (`flask --app app db upgrade`, `demo seed`, `run`) in
subprocesses of the Python running the benchmark, so run it with the project's virtualenv.

The code under test is the checkout this Python imports `ideastorm` from (APP_ROOT): the project
itself, unless PYTHONPATH names another checkout, e.g. a `git worktree` of an older commit for a
"before" figure. Its `app.py`, migrations and templates are what the commands and servers run.
"""

from __future__ import annotations

import concurrent.futures
import http.client
import importlib.util
import os
import secrets
import socket
import subprocess
import re
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator
from urllib.parse import urlsplit, urlunsplit

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _code_root() -> Path:
    """Where this Python imports `ideastorm` from, if that checkout has an app.py; else the project."""
    spec = importlib.util.find_spec("ideastorm")
    if spec is not None and spec.origin:
        root = Path(spec.origin).resolve().parent.parent
        if (root / "app.py").is_file():
            return root
    return PROJECT_ROOT


APP_ROOT = _code_root()
BACKENDS = ("sqlite", "postgresql")
DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/"
FLASK = [sys.executable, "-m", "flask", "--app", "app"]
SERVER_START_SECONDS = 60


class BenchError(RuntimeError):
    """Something the benchmark cannot go on without (a command failed, a page did not answer 200)."""


def _flask(env: dict[str, str], *args: str) -> str:
    """Run one `flask --app app` command; its output, or BenchError with that output."""
    result = subprocess.run(
        [*FLASK, *args], cwd=APP_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
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
    pid: int | None = None  # the server process (gunicorn's master), for cpu_seconds()

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
    command = [*FLASK, "run", "--host", "127.0.0.1", "--port", str(port), "--no-reload", "--no-debugger"]
    with _serving(command, server_env, port, stop_seconds=10) as server:
        yield server


@contextmanager
def _serving(command: list[str], env: dict[str, str], port: int, *, stop_seconds: float,
             health_path: str = "/healthz") -> Iterator[Server]:
    """Start ``command`` (a server on ``port``), wait until ``health_path`` answers 200; stop it on exit."""
    with _background(command, env, "server") as (process, log_path):
        server = Server(port, log_path, pid=process.pid)
        try:
            _wait_until_healthy(server, process, health_path)
            yield server
        finally:
            server.close()
            _stop(process, stop_seconds)


@contextmanager
def _background(command: list[str], env: dict[str, str], name: str) -> Iterator[tuple[subprocess.Popen, str]]:
    """``command`` running in APP_ROOT with its output in a log file (deleted on exit); stopped on exit."""
    with tempfile.NamedTemporaryFile("w+", prefix=f"ideastorm-bench-{name}-", suffix=".log", delete=False) as log:
        process = subprocess.Popen(command, cwd=APP_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        yield process, log.name
    finally:
        _stop(process, 10)
        os.unlink(log.name)


def _stop(process: subprocess.Popen, seconds: float) -> None:
    """SIGTERM, then SIGKILL if it is still there after ``seconds`` (a no-op once it has exited)."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _wait_until_healthy(server: Server, process: subprocess.Popen, health_path: str = "/healthz") -> None:
    deadline = time.monotonic() + SERVER_START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BenchError(f"the server exited with {process.returncode}:\n{server.log_tail()}")
        try:
            if server.get(health_path).status == 200:
                return
        except OSError:
            server.close()
        time.sleep(0.2)
    raise BenchError(f"{health_path} did not answer 200 within {SERVER_START_SECONDS} s:\n{server.log_tail()}")


# --- gunicorn, background commands and member accounts (bench/vote_storm.py) ---

GUNICORN_CONFIG = PROJECT_ROOT / "ideastorm" / "gunicorn_config.py"


@contextmanager
def running_gunicorn(env: dict[str, str], app: str = "app:app", *, workers: int = 4,
                     pythonpath: str | None = None, health_path: str = "/healthz", **config: str) -> Iterator[Server]:
    """gunicorn with the production settings (ideastorm/gunicorn_config.py) on a free port; stopped on exit.

    The settings file is this project's, loaded by path, so a checkout of other code (APP_ROOT)
    is served with the same settings. ``app`` is a WSGI target (``module:name`` or
    ``module:factory()``) found in APP_ROOT or in ``pythonpath``; ``config`` as for running_server.
    """
    port = _free_port()
    server_env = {
        **env, **{f"IDEASTORM_{name}": value for name, value in config.items()},
        "GUNICORN_BIND": f"127.0.0.1:{port}", "GUNICORN_WORKERS": str(workers),
    }
    command = [sys.executable, "-m", "gunicorn", "--config", str(GUNICORN_CONFIG),
               "--no-control-socket"]  # no socket in $HOME shared with other servers
    if pythonpath:
        command += ["--pythonpath", pythonpath]
    # gunicorn stops gracefully on SIGTERM: requests in progress get up to its graceful_timeout
    with _serving([*command, app], server_env, port, stop_seconds=40, health_path=health_path) as server:
        yield server


@dataclass
class Background:
    """A long-running command (a worker, say) started by background_flask."""

    process: subprocess.Popen
    log_path: str

    def log_tail(self, characters: int = 3000) -> str:
        return Path(self.log_path).read_text(errors="replace")[-characters:]

    def check_running(self) -> None:
        if self.process.poll() is not None:
            command = " ".join(map(str, self.process.args[len(FLASK):]))
            raise BenchError(f"`flask --app app {command}` exited with {self.process.returncode}:\n{self.log_tail()}")


@contextmanager
def background_flask(env: dict[str, str], *args: str) -> Iterator[Background]:
    """`flask --app app ARGS` running until the block ends (SIGTERM, then SIGKILL after 10 s)."""
    with _background([*FLASK, *args], env, args[0] if args else "flask") as (process, log_path):
        yield Background(process, log_path)


def flask_command(env: dict[str, str], *args: str, input: str | None = None,
                  timeout: float = 600) -> subprocess.CompletedProcess:
    """Run `flask --app app ARGS` and return its result (output and exit code) whatever the code."""
    return subprocess.run(
        [*FLASK, *args], cwd=APP_ROOT, env=env, input=input, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, timeout=timeout,
    )


def has_flask_command(env: dict[str, str], *names: str) -> bool:
    """Whether the code under test has the command `flask --app app NAMES`.

    Yes if its --help exits 0, no if click answers "No such command"; any other failure (the app
    does not load, say) is a BenchError rather than a silent no.
    """
    result = flask_command(env, *names, "--help", timeout=120)
    if result.returncode == 0:
        return True
    if "No such command" in result.stdout:
        return False
    raise BenchError(f"`flask {' '.join(names)} --help` exited with {result.returncode}:\n{result.stdout[-3000:]}")


def create_members(env: dict[str, str], count: int, password: str, *, prefix: str = "bench-member",
                   parallel: int = 2) -> list[str]:
    """``count`` member accounts that can sign in with ``password`` (`users create --password-stdin`).

    Returns their emails, ``<prefix>-001@example.com`` and so on; ``parallel`` commands at a time.
    """
    emails = [f"{prefix}-{n:03d}@example.com" for n in range(1, count + 1)]

    def create(number_and_email: tuple[int, str]) -> None:
        number, email = number_and_email
        result = flask_command(env, "users", "create", "--email", email, "--name", f"Bench member {number}",
                               "--password-stdin", input=password + "\n", timeout=300)
        if result.returncode != 0:
            raise BenchError(f"`users create --email {email}` exited with {result.returncode}:\n"
                             f"{result.stdout[-3000:]}")

    with concurrent.futures.ThreadPoolExecutor(max_workers=parallel) as pool:
        list(pool.map(create, enumerate(emails, start=1)))
    return emails


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) used so far by process ``pid`` and all its descendants (Linux /proc).

    Children that exited count once their parent has waited for them (as gunicorn does for its workers).
    """
    ticks = os.sysconf("SC_CLK_TCK")
    stats: dict[int, tuple[int, list[str]]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            text = Path(entry.path, "stat").read_text()
        except OSError:  # gone meanwhile
            continue
        fields = text[text.rindex(")") + 2:].split()  # after "pid (command) "
        stats[int(entry.name)] = (int(fields[1]), fields)
    family, frontier = set(), {pid}
    while frontier:
        family |= frontier
        frontier = {child for child, (parent, _) in stats.items() if parent in frontier} - family
    # fields[11:15] are utime, stime, cutime, cstime (stat fields 14 to 17)
    return sum(sum(int(v) for v in stats[p][1][11:15]) for p in family if p in stats) / ticks


def machine_cpu_seconds() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, all cores together (Linux /proc/stat).

    Two readings give the share of the machine in use meanwhile, whoever used it.
    """
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    total = sum(fields[:8])  # user nice system idle iowait irq softirq steal (guest time is inside user)
    ticks = os.sysconf("SC_CLK_TCK")
    return (total - idle) / ticks, total / ticks


VOTE_FORM = re.compile(r'hx-post="/ideas/(\d+)/vote"')
IDEA_LINK = re.compile(r'href="/ideas/(\d+)"')


def open_ideas(client, max_pages: int = 1000) -> list[int]:
    """The ideas a signed-in member may vote on, read from the idea list's vote forms, page by page."""
    ideas: set[int] = set()
    for page in range(1, max_pages + 1):
        response = client.get(f"/ideas?sort=new&page={page}")
        if response.status_code != 200 or not IDEA_LINK.search(response.text):
            break
        ideas.update(int(i) for i in VOTE_FORM.findall(response.text))
    if not ideas:
        raise BenchError("the idea list shows no idea open for votes to a signed-in member")
    return sorted(ideas)
