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
    # Redis (none by default): when set, the rate limits live there, shared by every app server
    # (RATELIMIT_STORAGE_URI may point them elsewhere).
    REDIS_URL: str | None = None

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
    # A login session without "Remember me" ends after this many seconds without a request (sliding);
    # one with it lasts REMEMBER_COOKIE_DURATION (below) from its last use, its cookie renewed alike.
    LOGIN_SESSION_IDLE_SECONDS = 24 * 3600
    # How often (seconds) a signed-in browser's "last active" time and expiry are written: not every request.
    LOGIN_SESSION_TOUCH_SECONDS = 300
    # A rotated remember-me secret presented again within this many seconds is refused quietly (one
    # browser sending two requests at once); later it is taken for a stolen copy and ends that login session.
    LOGIN_SESSION_ROTATION_GRACE_SECONDS = 30
    # Days an ended (expired or signed-out) login session is kept before the hourly job deletes it.
    LOGIN_SESSION_RETENTION_DAYS = 7

    # --- Abuse limits (security/limits.py) ---
    # RATELIMIT_ENABLED (above) turns every limit on or off. Where the counts live: None = Redis at
    # REDIS_URL when that is set, else each process's memory; "redis://host:6379/1" shares them
    # across workers and machines. A store that stops answering is logged and each process counts
    # in memory until it is back: never a 500 because of it.
    RATELIMIT_STORAGE_URI: str | None = None
    # Prepended to every key in the store: sites that share one Redis server need different ones.
    RATELIMIT_KEY_PREFIX = "ideastorm"
    # Replaces any rule of the table in security/limits.py by "<set>.<key>", e.g.
    # IDEASTORM_RATELIMITS='{"login.account": "3 per minute; 10 per day", "vote.ip": ""}' ("" turns one off).
    RATELIMITS: dict[str, str] = {}

    # --- Response headers and public address (security/headers.py) ---
    # "https" (IDEASTORM_PREFERRED_URL_SCHEME=https): HSTS on every response, and the session and
    # remember-me cookies are marked Secure whatever their own settings say.
    PREFERRED_URL_SCHEME = "http"
    HSTS_MAX_AGE = 365 * 24 * 3600  # seconds a browser insists on HTTPS after seeing the header
    HSTS_INCLUDE_SUBDOMAINS = False  # only when every subdomain of the site's is HTTPS too
    # The Host names the site answers to (a JSON list: ["ideas.example.com"]); another Host gets a
    # 400. None accepts any (absolute links come from BASE_URL either way).
    TRUSTED_HOSTS: list[str] | None = None
    # Behind a reverse proxy: how many proxies set X-Forwarded-For, -Proto and -Host (werkzeug's
    # ProxyFix). 0 = no proxy: those headers are ignored, as any client could send them.
    PROXY_FIX_X_FOR = 0
    PROXY_FIX_X_PROTO = 0
    PROXY_FIX_X_HOST = 0
    # Hosts Markdown images may load from (and the CSP's img-src allows), e.g. ["images.example.com",
    # "*.cdn.example.com"]; an image from any other host is shown as a link to it.
    MARKDOWN_IMAGE_HOSTS: list[str] = []
    # The largest CSP violation report /csp-report reads (bytes); a larger one answers 413.
    CSP_REPORT_MAX_BYTES = 16 * 1024

    # --- Single sign-on (sso/) ---
    # OpenID Connect providers members may sign in with: a list of dicts (IDEASTORM_OIDC_PROVIDERS
    # is read as JSON), each {"name", "client_id", "client_secret", and "issuer" or
    # "server_metadata_url"; optional "label", "scope", "email_domains", "staff_email_domains",
    # "staff_groups", "groups_claim", "allow_signup", "trust_email", "preset", "tenant"}. The names
    # "google" and "microsoft" need only the client id and secret. Checked when the app starts
    # (sso/providers.py); empty: no "Sign in with" buttons and no /login/sso routes answer.
    OIDC_PROVIDERS: list = []
    # Seconds before a request to a provider (discovery, keys, token, userinfo) is given up (503 page).
    OIDC_TIMEOUT_SECONDS = 10

    # --- Privacy and retention (privacy/) ---
    # Days a vote's network prefix (votes.ip_prefix, from when it was cast) and a member's sign-up
    # network (users.signup_ip_prefix, from the account's creation) are kept for the vote-integrity
    # report; the worker's hourly "retention" job erases older ones.
    VOTE_NETWORK_RETENTION_DAYS = 90

    # --- Vote integrity and moderation ---
    # /admin/integrity, "bursts": an account is NEW when it was created at most this many days before its vote.
    INTEGRITY_NEW_ACCOUNT_DAYS = 7
    # A burst is at least this many votes on one idea from new accounts, all cast within the window below.
    INTEGRITY_BURST_MIN_VOTES = 5
    INTEGRITY_BURST_WINDOW_MINUTES = 60
    # Only votes of the last this many days are looked at for bursts (keeps the report a bounded scan).
    INTEGRITY_BURST_LOOKBACK_DAYS = 90
    # "Networks": a network (IPv4 /24, IPv6 /48) from which at least this many distinct accounts voted on one idea.
    INTEGRITY_NETWORK_MIN_ACCOUNTS = 3
    # ... and a network from which at least this many accounts were registered.
    INTEGRITY_SIGNUP_MIN_ACCOUNTS = 5
    # Each list of the report shows at most this many rows (the largest first).
    INTEGRITY_REPORT_LIMIT = 50

    # --- Health (main/routes.py healthz) ---
    # /healthz says "degraded" (still 200) when the oldest after-commit event not yet delivered is
    # older than this many seconds: the worker is stopped, stuck or far behind.
    HEALTH_OUTBOX_MAX_AGE_SECONDS = 300
    # The Retry-After (seconds) of the 503 answered while the database cannot be reached.
    DATABASE_RETRY_AFTER_SECONDS = 30

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


def as_bool(value) -> bool:
    """A switch from the environment: "false", "False", "0", "no", "off" and "" are off."""
    if isinstance(value, str):
        return value.strip().lower() not in {"", "0", "false", "no", "off"}
    return bool(value)


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
