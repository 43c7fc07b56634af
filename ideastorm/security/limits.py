"""Abuse limits: every named limit set in one table, applied to a view with ``@limit(name)``.

A set is a few rules, each counted against one key:

- ``ip``: the client's address (``request.remote_addr``, the client behind a proxy once ProxyFix
  is configured); IPv6 addresses count per /64, the block one subscriber gets, or one machine
  could change address at every request;
- ``member``: the signed-in member (``flask_login.current_user``, which the API's token sign-in
  sets too, so a member's budget is the same on the pages and through the API); a visitor who
  is not signed in counts by address;
- ``account``: the email address typed in the form (normalised, then hashed so the store holds
  no address), so guessing one account's password from many addresses is still stopped.

A rule's limit is a string such as ``"5 per minute; 10 per 15 minutes"``: every part must hold.
Rules marked ``failures_only`` are checked before the view and counted after it, only when it
refused (a wrong password): successful sign-ins cost nothing. Only writes are counted (POST, PUT,
PATCH, DELETE), so showing a form is never limited. The rules of one set share one budget across
every route that applies the set, the future API's included.

Breaching any rule answers 429 with ``Retry-After`` (seconds): the error page with a message
saying when to try again, or the JSON error under ``/api/``. The counts live in memory (one
process) unless ``RATELIMIT_STORAGE_URI`` or ``REDIS_URL`` names a Redis server, which every
worker and machine then shares. If that server does not answer, each process counts in its own
memory meanwhile (a warning is logged, and the server is tried again every few seconds): never a
500 because of the limits.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import math
import time
import unicodedata
from dataclasses import dataclass
from datetime import timedelta
from typing import Callable

from flask import Flask, current_app, request
from flask_babel import format_timedelta
from flask_babel import lazy_gettext as _l
from flask_limiter import Limiter, RateLimitExceeded
from flask_login import current_user
from limits import parse_many

from ..config import as_bool

log = logging.getLogger(__name__)

WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
IPV6_BLOCK = 64
DEFAULT_RETRY_AFTER = 60  # seconds, when the store cannot say (it just went down)


@dataclass(frozen=True)
class Rule:
    key: str  # "ip", "member" or "account"
    limits: str  # the default; RATELIMITS["<set>.<key>"] replaces it ("" turns the rule off)
    failures_only: bool = False  # counted only when the view refused (a 4xx other than 429)


# The numbers follow what public boards use (Discourse: 6 sign-ins a minute and 30 an hour per
# address, 3 new accounts per address per day; Fider throttles sign-in emails) and what a real
# member does: a few ideas a day, a comment every few seconds at most, votes in quick bursts
# while browsing a list. Per-address rules are looser than per-member ones, as a company's
# customers often share one office address.
LIMITS: dict[str, tuple[Rule, ...]] = {
    # Every post counts (typos included): a script creating accounts is stopped within minutes;
    # a workshop signing up together behind one address raises it.
    # Per address typed too: signing up with a taken address emails its owner, which must not
    # become a way to flood someone's inbox.
    "register": (Rule("ip", "10 per hour; 30 per day"), Rule("account", "3 per hour; 10 per day")),
    # Wrong passwords only. Per account the tiers act as a backoff: after 5 misses wait a
    # minute, after 10 a quarter of an hour, after 20 until the next day. That is 20 guesses a
    # day against a 10+ character password that is not a common one; the owner can still get in
    # at once through "Forgot your password?", which signs in without this form.
    "login": (
        Rule("ip", "10 per minute; 50 per hour", failures_only=True),
        Rule("account", "5 per minute; 10 per 15 minutes; 20 per day", failures_only=True),
    ),
    # Each request may send an email: a few per address typed keep anyone's inbox from being
    # flooded; per client address, the page cannot be used to mail many people.
    "password_reset": (
        Rule("ip", "10 per hour; 50 per day"),
        Rule("account", "3 per hour; 10 per day"),
    ),
    "resend_confirmation": (
        Rule("ip", "10 per hour; 50 per day"),
        Rule("member", "3 per hour; 10 per day"),
    ),
    # A member posts a few ideas a day; 30 in 5 seconds is a script.
    "submit": (
        Rule("member", "5 per 10 minutes; 30 per day"),
        Rule("ip", "20 per hour; 100 per day"),
    ),
    # A reply every dozen seconds is a lively discussion; more is flooding.
    "comment": (
        Rule("member", "5 per minute; 60 per hour; 300 per day"),
        Rule("ip", "20 per minute; 300 per hour"),
    ),
    # Generous: members vote on many ideas quickly while going down a list.
    "vote": (
        Rule("member", "60 per minute; 600 per hour"),
        Rule("ip", "300 per minute; 3000 per hour"),
    ),
    # A password typed to confirm an act by someone already signed in (deleting the account):
    # wrong ones only, with the sign-in's backoff, so a borrowed session cannot guess it.
    "confirm_password": (Rule("member", "5 per minute; 10 per 15 minutes; 20 per day", failures_only=True),),
    # Every other write (editing an idea or a comment, deleting one, following) and the API's.
    "write": (
        Rule("member", "30 per minute; 300 per hour"),
        Rule("ip", "120 per minute; 1200 per hour"),
    ),
}

# What the 429 says, per set; "%(when)s" is "in 5 minutes".
MESSAGES = {
    "login": _l("Too many sign-in attempts. Please try again %(when)s, or choose a new password "
                "with \u201cForgot your password?\u201d."),
}
DEFAULT_MESSAGE = _l("You have done this too many times in a short while. Please try again %(when)s.")


# --- keys ---------------------------------------------------------------------------------------


def ip_key() -> str:
    """The client's address; an IPv6 address by its /64 block."""
    address = request.remote_addr or ""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return f"ip:{address[:64] or 'unknown'}"
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    if ip.version == 6:
        return "ip:" + str(ipaddress.ip_network(f"{ip}/{IPV6_BLOCK}", strict=False))
    return f"ip:{ip}"


def member_key() -> str:
    """The signed-in member (by page session or API token), else the client's address."""
    if current_user and current_user.is_authenticated:
        return f"member:{current_user.id}"  # not get_id(): that names the login session and holds its secret
    return ip_key()


def account_key() -> str:
    """The account the request names: the email typed in the form (or the JSON body), hashed.

    Folded at least as far as accounts fold addresses (NFKC, case, spaces), so no spelling of
    an address that reaches the account escapes its count.
    """
    email = request.form.get("email")
    if email is None:
        try:
            body = request.get_json(silent=True)
        except RecursionError:  # refused with a 400 before any view
            body = None
        email = body.get("email") if isinstance(body, dict) else None
    folded = unicodedata.normalize("NFKC", str(email or "")).strip().casefold()
    return "account:" + hashlib.sha256(folded.encode()).hexdigest()[:32]


KEYS: dict[str, Callable[[], str]] = {"ip": ip_key, "member": member_key, "account": account_key}


def _refused(response) -> bool:
    """A refused attempt (a wrong password, a banned account); not one the limits refused."""
    return 400 <= response.status_code < 500 and response.status_code != 429


# --- the limiter and the decorator --------------------------------------------------------------

# One instance for the process, bound by create_app. Memory counting keeps a window of exact
# timestamps ("moving window"), so Retry-After says when the oldest attempt expires.
limiter = Limiter(
    key_func=ip_key,
    strategy="moving-window",
    swallow_errors=True,  # a failing store is logged and the request served
    in_memory_fallback_enabled=True,  # ... while each process counts in memory
    headers_enabled=False,  # Retry-After on the 429 only (errors.py writes it)
)


def _limit_string(name: str, rule: Rule) -> Callable[[], str]:
    def current() -> str:
        return (current_app.config.get("RATELIMITS") or {}).get(f"{name}.{rule.key}", rule.limits)

    return current


def limit(name: str) -> Callable:
    """Apply the named limit set of ``LIMITS`` to a view (below ``@bp.route`` and the permission check)."""
    rules = LIMITS[name]

    def decorator(view):
        for rule in reversed(rules):
            view = limiter.shared_limit(
                _limit_string(name, rule), scope=f"{name}.{rule.key}", key_func=KEYS[rule.key],
                methods=list(WRITE_METHODS), deduct_when=_refused if rule.failures_only else None,
            )(view)
        view.limit_set = name  # read by the tests and the route table
        return view

    return decorator


# --- the 429 answer -----------------------------------------------------------------------------


def retry_after_seconds() -> int:
    """Seconds until the breached limit lets one more request through."""
    try:
        breached = limiter.current_limit
        if breached is not None:
            return max(1, math.ceil(breached.reset_at - time.time()))
    except Exception:  # the store went down in the meantime
        log.warning("rate limit store unreachable while computing Retry-After", exc_info=True)
    return DEFAULT_RETRY_AFTER


def _when(seconds: int) -> str:
    """"in 40 seconds", "in 15 minutes", "in 83 minutes", "dans 5 heures": the nearest minute (Retry-After is exact).

    Past an hour, minutes are kept until two hours (and hours until two days), so an hour and
    a half is not rounded to "in 2 hours" or "in 1 hour".
    """
    threshold = 1 if seconds < 3600 else 2
    if seconds > 60:
        seconds = round(seconds / 60) * 60
    return format_timedelta(timedelta(seconds=seconds), add_direction=True, threshold=threshold)


def refusal(error: RateLimitExceeded) -> tuple[int, str]:
    """What a 429 says: the seconds for Retry-After, and the message that says when to try again."""
    seconds = retry_after_seconds()
    scope = getattr(error.limit, "scope", None)
    name = scope.split(".")[0] if isinstance(scope, str) else ""
    return seconds, str(MESSAGES.get(name, DEFAULT_MESSAGE)) % {"when": _when(seconds)}


# --- configuration ------------------------------------------------------------------------------


def storage_uri(config) -> str:
    """RATELIMIT_STORAGE_URI if set, else REDIS_URL if set, else this process's memory."""
    return config.get("RATELIMIT_STORAGE_URI") or config.get("REDIS_URL") or "memory://"



def _check_overrides(config) -> None:
    """A typo in RATELIMITS stops the start with a clear message instead of silently not limiting."""
    overrides = config.get("RATELIMITS") or {}
    if not isinstance(overrides, dict):
        raise ValueError("RATELIMITS must be a mapping such as {\"login.account\": \"5 per minute\"}")
    known = {f"{name}.{rule.key}" for name, rules in LIMITS.items() for rule in rules}
    for key, value in overrides.items():
        if key not in known:
            raise ValueError(f"RATELIMITS: unknown limit {key!r}; known: {', '.join(sorted(known))}")
        try:
            if value:
                parse_many(value)
        except (TypeError, ValueError) as error:
            raise ValueError(f"RATELIMITS[{key!r}]: {value!r} is not a limit such as '5 per minute'") from error


def _start_afresh() -> None:
    """Forget what an app built earlier in this process left on the shared instance.

    Flask-Limiter keeps a few settings on the instance rather than per app: a server process
    builds one app, but the tests build many in turn.
    """
    limiter._key_prefix = ""
    limiter._storage_options = {}
    limiter._storage_dead = False


def init_app(app: Flask) -> None:
    config = app.config
    config["RATELIMIT_ENABLED"] = as_bool(config.get("RATELIMIT_ENABLED", True))
    uri = config["RATELIMIT_STORAGE_URI"] = storage_uri(config)
    if uri.startswith("memory") and config["RATELIMIT_ENABLED"] and not (app.debug or app.testing):
        log.info("rate limits are counted in this process's memory: with several workers or servers, "
                 "set IDEASTORM_REDIS_URL (or IDEASTORM_RATELIMIT_STORAGE_URI) so they share one count")
    if uri.startswith(("redis", "rediss", "valkey")):
        # A store that stopped answering must not hold a request for long: fail over quickly.
        options = {"socket_connect_timeout": 1, "socket_timeout": 1}
        config["RATELIMIT_STORAGE_OPTIONS"] = {**options, **(config.get("RATELIMIT_STORAGE_OPTIONS") or {})}
    _check_overrides(config)
    _start_afresh()
    limiter.init_app(app)  # errors.py answers its RateLimitExceeded with refusal()
