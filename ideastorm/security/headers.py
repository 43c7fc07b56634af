"""Response headers that make the browser an ally: a strict CSP with per-request nonces, no framing,
no MIME sniffing, HSTS and Secure cookies over HTTPS; plus the proxy and public-address settings.

* Every response (pages, error pages, static files, feeds, JSON) gets the same headers from one
  ``after_request``; a view that sets a stricter Content-Security-Policy of its own keeps it (the
  uploaded logo answers ``default-src 'none'``).
* Scripts run only from our origin or with this response's nonce: no ``'unsafe-inline'``, no
  ``'unsafe-eval'``. Templates give each ``<script>`` ``nonce="{{ csp_nonce() }}"``; a response
  that never asked for a nonce (JSON, a feed, a fragment) gets a policy without one.
* Styles are ``'self'`` only: pages carry no ``style`` attribute and no ``<style>`` element (the
  accent colour is the ``/brand.css`` stylesheet, chart colours are classes), and htmx is told
  not to inject its indicator ``<style>``. The emails' inline styles never meet this policy.
* Images: our origin, ``data:`` (Pico's icons are data-URI SVGs in its stylesheet) and the hosts of
  ``MARKDOWN_IMAGE_HOSTS``; Markdown renders any other image as a plain link (``ideastorm.markdown``).
* Violations are reported to ``POST /csp-report`` (``report-uri``), which logs them. Not ``report-to``:
  every browser still honours ``report-uri``, and Chromium, which prefers ``report-to`` when both are
  given, holds those reports back for up to a minute; the endpoint reads both formats all the same.
"""

from __future__ import annotations

import json
import logging
import secrets
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Response, g, request
from flask_babel import gettext as _
from werkzeug.exceptions import SecurityError
from werkzeug.middleware.proxy_fix import ProxyFix

from ..config import as_bool
from ..markdown import image_hosts

log = logging.getLogger(__name__)

CSP_REPORT_PATH = "/csp-report"
REPORT_FIELD_MAX = 300  # each logged field is cut there, so a report cannot flood the log
DEFAULT_BASE_URL = "http://127.0.0.1:5000"
PROXY_FIX_SETTINGS = {"x_for": "PROXY_FIX_X_FOR", "x_proto": "PROXY_FIX_X_PROTO", "x_host": "PROXY_FIX_X_HOST"}

# Features no page uses: denied to the page and to anything it might embed.
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=(), browsing-topics=()"


def csp_nonce() -> str:
    """This response's script nonce (made on first use, so responses without scripts carry none)."""
    nonce = g.get("csp_nonce")
    if nonce is None:
        nonce = g.csp_nonce = secrets.token_urlsafe(18)
    return nonce


def content_security_policy(nonce: str | None, image_sources: tuple[str, ...] = ()) -> str:
    """The policy for one response: ``nonce`` (if any) lets that response's own script tags run."""
    scripts = "'self'" + (f" 'nonce-{nonce}'" if nonce else "")
    directives = [
        "default-src 'self'",
        f"script-src {scripts}",
        "style-src 'self'",
        " ".join(("img-src 'self' data:", *image_sources)),
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        f"report-uri {request.script_root + CSP_REPORT_PATH}",
    ]
    return "; ".join(directives)


def https_only(app: Flask) -> bool:
    """True when the site is served over HTTPS (``PREFERRED_URL_SCHEME = "https"``)."""
    return str(app.config.get("PREFERRED_URL_SCHEME", "http")).lower() == "https"


def _add_headers(response: Response, app: Flask) -> Response:
    headers = response.headers
    if "Content-Security-Policy" not in headers:
        headers["Content-Security-Policy"] = content_security_policy(g.get("csp_nonce"), image_hosts())
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
    if https_only(app):
        hsts = f"max-age={int(app.config['HSTS_MAX_AGE'])}"
        if as_bool(app.config.get("HSTS_INCLUDE_SUBDOMAINS")):
            hsts += "; includeSubDomains"
        headers.setdefault("Strict-Transport-Security", hsts)
    return response


def _refuse_unknown_host(error: SecurityError):
    """A Host outside TRUSTED_HOSTS: a plain 400, as no link can be built for a host we do not serve."""
    return Response(_("Bad request: this site does not answer to that host name.") + "\n", status=400,
                    mimetype="text/plain")


def _stop_unknown_host() -> None:
    # Routing failed before any view: end the request before other hooks try to build URLs.
    if isinstance(request.routing_exception, SecurityError):
        raise request.routing_exception


def _wrap_proxy_fix(app: Flask) -> None:
    counts = {argument: int(app.config.get(key) or 0) for argument, key in PROXY_FIX_SETTINGS.items()}
    if any(count > 0 for count in counts.values()):
        app.wsgi_app = ProxyFix(app.wsgi_app, **counts)
        return
    warned = []

    def warn_once_about_a_proxy() -> None:
        # Behind a proxy without ProxyFix every client has the proxy's address: one shared rate
        # limit for the whole site, one network in the integrity report.
        if not warned and "X-Forwarded-For" in request.headers:
            warned.append(True)
            log.warning("requests carry X-Forwarded-For but PROXY_FIX_X_FOR is 0: behind a proxy, set "
                        "IDEASTORM_PROXY_FIX_X_FOR to the number of proxies so limits see each client")

    app.before_request(warn_once_about_a_proxy)


def _check_public_address(app: Flask) -> None:
    if app.debug or app.testing:
        return
    base_url = app.config.get("BASE_URL") or ""
    if base_url == DEFAULT_BASE_URL:
        # Right for `make run` and the commands; wrong as soon as the site is reached by another
        # name: said once per process, at the first such request.
        default_host = urlsplit(base_url).netloc
        warned = []

        def warn_once_about_default() -> None:
            if not warned and request.host != default_host:
                warned.append(True)
                log.warning("BASE_URL is still %s but this site is reached as %s: set IDEASTORM_BASE_URL to "
                            "its public address (canonical links, feeds and emails are built from it)",
                            base_url, request.host)

        app.before_request(warn_once_about_default)
    elif https_only(app) and not base_url.startswith("https://"):
        log.warning("PREFERRED_URL_SCHEME is https but BASE_URL is %s: links will not be https", base_url)


def init_app(app: Flask) -> None:
    """Headers on every response, HTTPS cookies, ProxyFix, unknown hosts refused cleanly."""
    image_hosts(app.config)  # a malformed MARKDOWN_IMAGE_HOSTS stops the start, not a page
    if https_only(app):
        app.config["SESSION_COOKIE_SECURE"] = True
        app.config["REMEMBER_COOKIE_SECURE"] = True
    _wrap_proxy_fix(app)
    _check_public_address(app)
    app.jinja_env.globals["csp_nonce"] = csp_nonce
    app.register_error_handler(SecurityError, _refuse_unknown_host)
    app.before_request_funcs.setdefault(None, []).insert(0, _stop_unknown_host)
    app.after_request(lambda response: _add_headers(response, app))


# --- violation reports ----------------------------------------------------------------------

REPORT_FIELDS = {  # what is logged, under the names of both report formats
    "document": ("document-uri", "documentURL"),
    "directive": ("effective-directive", "effectiveDirective", "violated-directive"),
    "blocked": ("blocked-uri", "blockedURL"),
    "source": ("source-file", "sourceFile"),
    "line": ("line-number", "lineNumber"),
    "sample": ("script-sample", "sample"),
}


class BadReport(ValueError):
    """A body that is not a CSP violation report."""


def read_reports(body: bytes) -> list[dict[str, str]]:
    """The violations in a report body, each cut to the fields worth logging.

    Two formats exist: ``report-uri``'s ``{"csp-report": {...}}`` (application/csp-report) and the
    Reporting API's ``[{"type": "csp-violation", "body": {...}}]`` (application/reports+json).
    """
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise BadReport("not JSON") from None
    if isinstance(data, dict) and isinstance(data.get("csp-report"), dict):
        bodies = [data["csp-report"]]
    elif isinstance(data, list):
        bodies = [item["body"] for item in data if isinstance(item, dict)
                  and item.get("type") == "csp-violation" and isinstance(item.get("body"), dict)]
    else:
        bodies = []
    if not bodies:
        raise BadReport("no CSP violation in the report")
    return [_summary(report) for report in bodies]


def _summary(report: dict[str, Any]) -> dict[str, str]:
    summary = {}
    for name, keys in REPORT_FIELDS.items():
        value = next((report[key] for key in keys if report.get(key) not in (None, "")), "")
        summary[name] = str(value)[:REPORT_FIELD_MAX]
    return summary


def log_violations(reports: list[dict[str, str]]) -> None:
    for report in reports:
        # %r: a report is written by whoever sends it, so its newlines must not forge log lines.
        log.warning("CSP violation: %r blocked %r on %r (source %r line %r, sample %r)",
                    report["directive"], report["blocked"], report["document"], report["source"],
                    report["line"] or "?", report["sample"])
