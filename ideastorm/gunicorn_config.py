"""Production settings for gunicorn: `gunicorn -c python:ideastorm.gunicorn_config app:app`.

The file loads on its own too (`gunicorn -c ideastorm/gunicorn_config.py app:app`): it imports
nothing from the application. Two settings come from the environment:

- ``GUNICORN_BIND``: where to listen, ``HOST:PORT`` or ``unix:/path`` (default ``127.0.0.1:8000``:
  put a reverse proxy in front; it terminates HTTPS and buffers slow clients);
- ``GUNICORN_WORKERS``: how many worker processes (default ``WEB_CONCURRENCY`` if set, else two
  per CPU plus one, at most 12).

Anything else can be given on the command line or in ``GUNICORN_CMD_ARGS``, which take precedence
(``--access-logfile -`` to log every request, for instance).

Workers are gunicorn's synchronous ones, one request at a time each: a request's work is short,
and slow clients are the reverse proxy's business. The application is loaded in every worker, not
before forking, so no database connection or search-index handle is ever shared between processes.
"""

import os


def _default_workers() -> int:
    return min(2 * (os.cpu_count() or 1) + 1, 12)


def _positive_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SystemExit(f"{name} must be a whole number, not {raw!r}") from None
    if value < 1:
        raise SystemExit(f"{name} must be at least 1, not {value}")
    return value


bind = [os.environ.get("GUNICORN_BIND", "").strip() or "127.0.0.1:8000"]
workers = _positive_int("GUNICORN_WORKERS", _positive_int("WEB_CONCURRENCY", _default_workers()))
worker_class = "sync"
preload_app = False

# A request that takes longer than this is stuck: its worker is killed and replaced.
timeout = 30
graceful_timeout = 30
backlog = 2048

# Cap what a client may send before the application sees it (the app caps bodies itself).
limit_request_line = 8190
limit_request_fields = 100

# Heartbeat files on a memory file system where there is one (a container's temporary folder is often on disk).
if os.path.isdir("/dev/shm"):
    worker_tmp_dir = "/dev/shm"

errorlog = "-"
loglevel = "info"
accesslog = None
