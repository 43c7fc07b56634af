"""Configuration layers: these defaults, then instance/config.py, then IDEASTORM_* variables."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# Values that must never be accepted as a production secret.
WEAK_SECRETS = {"", "dev", "development", "secret", "changeme", "change-me", "please-change-me"}


class DefaultConfig:
    SECRET_KEY: str | None = None
    # None means "SQLite file in the instance folder"; see finalize().
    SQLALCHEMY_DATABASE_URI: str | None = None
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    SQLITE_BUSY_TIMEOUT_MS = 15_000
    SEARCH_INDEX_DIR: str | None = None
    # Uploaded files (the site's logo); None means "uploads" in the instance folder.
    UPLOADS_DIR: str | None = None
    SITE_LOGO_MAX_BYTES = 512 * 1024
    # Each process keeps the site settings this long (seconds) before reading them again, so
    # every page does not pay a query for them; a save is seen at once by the process that made
    # it, and by the others within this time. 0 = read once per request.
    SITE_SETTINGS_CACHE_SECONDS = 5
    VENDOR_DIR = str(PROJECT_ROOT / "node_modules")

    LANGUAGES = ("en", "fr")
    BABEL_DEFAULT_LOCALE = "en"
    BABEL_DEFAULT_TIMEZONE = "UTC"

    IDEAS_PER_PAGE = 20
    # Leaderboards by period, contributors and /stats are recomputed at most this often
    # (seconds) per process and shown with the time they were computed; 0 = always exact.
    AGGREGATE_CACHE_SECONDS = 60
    RATELIMIT_ENABLED = True

    # Outbox delivery, for every subscriber that does not set its own: after the n-th failed
    # attempt a delivery waits min(BACKOFF * 2**(n-1), BACKOFF_CAP) seconds, and after
    # MAX_ATTEMPTS it is dead (6 attempts over about an hour). A worker holds what it claimed
    # for LEASE seconds (then another may take it over); on SQLite, an idle worker looks for
    # new work every POLL seconds (PostgreSQL wakes it with NOTIFY).
    OUTBOX_MAX_ATTEMPTS = 6
    OUTBOX_BACKOFF_SECONDS = 120
    OUTBOX_BACKOFF_CAP_SECONDS = 1800
    OUTBOX_LEASE_SECONDS = 300
    OUTBOX_POLL_SECONDS = 0.2
    # A busy worker waits this long between two drains, so a storm of events is delivered in
    # a few large batches (one search-index commit each) instead of one per event.
    OUTBOX_GATHER_SECONDS = 0.25

    # Absolute links outside a request (emails, which the worker composes): the site's public
    # address, scheme and host, without a trailing slash.
    BASE_URL = "http://127.0.0.1:5000"

    # Email. With no MAIL_SERVER (the embedded default) each email is written as an .eml file
    # into MAIL_DIR (None: "mail" in the instance folder) instead of being sent.
    MAIL_SERVER: str | None = None
    MAIL_PORT = 25
    MAIL_USERNAME: str | None = None
    MAIL_PASSWORD: str | None = None
    MAIL_USE_TLS = False  # STARTTLS after connecting
    MAIL_USE_SSL = False  # TLS from the first byte (usually port 465)
    MAIL_DEFAULT_SENDER = "IdeaStorm <noreply@localhost>"
    MAIL_TIMEOUT = 10
    MAIL_DIR: str | None = None
    # The mailer's retry policy: a mail server down for hours loses nothing (about 3 hours of
    # attempts, then the email is kept as dead and `flask outbox replay` sends it).
    MAIL_MAX_ATTEMPTS = 15
    MAIL_BACKOFF_SECONDS = 30
    MAIL_BACKOFF_CAP_SECONDS = 900

    # Notifications: how often an open page asks for the unread count (seconds, only while
    # the tab is visible and someone is signed in); the UTC hour after which the worker sends
    # the previous day's digests.
    NOTIFICATIONS_POLL_SECONDS = 60
    DIGEST_HOUR_UTC = 6
    # Account links: a password reset link lives an hour, an email confirmation link a week.
    PASSWORD_RESET_MAX_AGE = 3600
    EMAIL_CONFIRM_MAX_AGE = 7 * 24 * 3600

    # Requests: a 10,000-character description is far below these; anything
    # larger gets a clear 413 page instead of being parsed.
    MAX_CONTENT_LENGTH = 8 * 1024 * 1024
    MAX_FORM_MEMORY_SIZE = 4 * 1024 * 1024

    # Argon2id password hashing cost: the library's recommended values (RFC 9106's second
    # choice). Tests set them low; production keeps these or raises them.
    ARGON2_TIME_COST = 3
    ARGON2_MEMORY_COST = 64 * 1024  # KiB
    ARGON2_PARALLELISM = 4

    # --- Sessions (accounts/sessions.py) ---

    # --- Abuse limits (security/limits.py) ---

    # --- Response headers and public address (security/headers.py) ---

    # --- Single sign-on (sso/) ---

    # --- Privacy and retention (privacy/) ---

    # --- Vote integrity and moderation ---

    # --- Health (main/routes.py healthz) ---

    WTF_CSRF_TIME_LIMIT = 12 * 3600
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_DURATION = 30 * 24 * 3600


def finalize(config: dict, instance_path: str) -> None:
    """Fill the embedded defaults that depend on the instance folder."""
    if not config.get("SQLALCHEMY_DATABASE_URI"):
        os.makedirs(instance_path, exist_ok=True)
        config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///" + os.path.join(instance_path, "ideastorm.db")
    if not config.get("SEARCH_INDEX_DIR"):
        config["SEARCH_INDEX_DIR"] = os.path.join(instance_path, "search-index")
    if not config.get("UPLOADS_DIR"):
        config["UPLOADS_DIR"] = os.path.join(instance_path, "uploads")
    if not config.get("MAIL_DIR"):
        config["MAIL_DIR"] = os.path.join(instance_path, "mail")
    config["BASE_URL"] = str(config.get("BASE_URL") or "").rstrip("/")
    uri = config["SQLALCHEMY_DATABASE_URI"]
    if uri.startswith("postgres://"):  # the scheme many hosting platforms hand out
        uri = "postgresql://" + uri[len("postgres://"):]
    if uri.startswith("postgresql://"):
        uri = "postgresql+psycopg://" + uri[len("postgresql://"):]
    config["SQLALCHEMY_DATABASE_URI"] = uri
    if uri.startswith("sqlite"):
        options = dict(config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
        connect_args = dict(options.get("connect_args") or {})
        connect_args.setdefault("timeout", config["SQLITE_BUSY_TIMEOUT_MS"] / 1000)
        options["connect_args"] = connect_args
        config["SQLALCHEMY_ENGINE_OPTIONS"] = options


class InsecureConfigError(RuntimeError):
    pass


def check_secret_key(config: dict, debug: bool) -> None:
    """Outside debug mode, refuse to run with a missing or placeholder secret key."""
    key = config.get("SECRET_KEY") or ""
    if isinstance(key, bytes):
        key = key.decode("latin-1")
    if debug or config.get("TESTING"):
        if not key:
            config["SECRET_KEY"] = os.urandom(32).hex()
        return
    if key.strip().lower() in WEAK_SECRETS or len(key) < 16:
        raise InsecureConfigError(
            "IdeaStorm needs a real secret key: set IDEASTORM_SECRET_KEY to a long random value, "
            "e.g. `python -c 'import secrets; print(secrets.token_hex(32))'`."
        )
