"""Error pages for people, JSON errors for API clients; never a bare 500 for bad input."""

from __future__ import annotations

import logging

from flask import Flask, current_app, g, jsonify, make_response, render_template, request
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_limiter import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException, InternalServerError

from .domain import DomainError
from .extensions import db
from .security import limits

log = logging.getLogger(__name__)

MESSAGES = {
    400: (_l("Bad request"), _l("The request could not be understood.")),
    401: (_l("Sign-in required"), _l("Please sign in to continue.")),
    403: (_l("Forbidden"), _l("You do not have permission to do that.")),
    404: (_l("Page not found"), _l("There is nothing at this address.")),
    405: (_l("Method not allowed"), _l("This address does not accept that kind of request.")),
    409: (_l("Conflict"), _l("That cannot be done in the current state.")),
    413: (_l("Too large"), _l("What you sent is larger than IdeaStorm accepts.")),
    422: (_l("Invalid input"), _l("Some of what you sent is not valid.")),
    429: (_l("Too many requests"), _l("Please slow down and try again in a moment.")),
    500: (_l("Something went wrong"), _l("An unexpected error occurred; it has been logged.")),
    503: (_l("Temporarily unavailable"), _l("This part of the site is unavailable right now.")),
}
DATABASE_DOWN = (_l("Temporarily unavailable"),
                 _l("IdeaStorm cannot reach its database right now."))
CSRF_MESSAGE = _l("Your form expired or could not be verified. Please submit it again.")


def wants_json() -> bool:
    return request.path.startswith("/api/") or (
        request.accept_mimetypes.best == "application/json"
    )


def error_response(code: int, message: str | None = None, *, error_code: str | None = None):
    title, default_message = MESSAGES.get(code, MESSAGES[500] if code >= 500 else MESSAGES[400])
    message = str(message or default_message)
    if wants_json():
        body = {"error": {"code": error_code or str(title).lower().replace(" ", "_"), "message": message}}
        return jsonify(body), code
    return render_template("errors/error.html", code=code, title=title, message=message), code


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        return error_response(400, str(CSRF_MESSAGE), error_code="csrf_failed")

    @app.errorhandler(RateLimitExceeded)
    def rate_limited(error: RateLimitExceeded):
        # An abuse limit (security/limits.py): when to try again, in the message and in Retry-After.
        seconds, message = limits.refusal(error)
        response = make_response(error_response(429, message, error_code="rate_limited"))
        response.headers["Retry-After"] = str(seconds)
        return response

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if error.code is None or error.code < 400:
            return error
        # A message given to abort(...) by our own code is meant for the user.
        message = error.description if getattr(error, "user_message", False) else None
        response = error_response(error.code, message)
        if error.code == 405 and hasattr(error, "valid_methods") and error.valid_methods:
            response = (response[0], response[1], {"Allow": ", ".join(error.valid_methods)})
        return response

    @app.errorhandler(DomainError)
    def domain_error(error: DomainError):
        # A rule refused an action that has no form to show again: the refused
        # transaction is undone and the rule's message shown with its status.
        db.session.rollback()
        return error_response(error.status, error.message, error_code=error.code)

    @app.errorhandler(InternalServerError)
    def server_error(error: InternalServerError):
        if is_database_outage(getattr(error, "original_exception", None)):
            return database_unavailable(error.original_exception)
        db.session.rollback()
        return error_response(500)

    for outage in (OperationalError, InterfaceError, PoolTimeout):
        app.register_error_handler(outage, database_unavailable)


# What the drivers say when the database is down, restarting, out of connections or locked, as
# opposed to an OperationalError that is a bug or a broken installation ("no such table": the
# migrations were not run), which must stay a logged 500 rather than hide behind "come back later".
OUTAGE_SIGNS = ("connection", "could not connect", "server closed", "terminating", "shutting down",
                "database is locked", "unable to open database", "disk i/o", "too many clients",
                "the database system is starting up", "timeout expired")


def is_database_outage(error: BaseException | None) -> bool:
    """The database cannot be reached or cannot answer now (down, restarting, out of connections, locked)."""
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    if isinstance(error, (InterfaceError, PoolTimeout)):
        return True
    if isinstance(error, OperationalError):
        text = str(getattr(error, "orig", None) or error).lower()
        return any(sign in text for sign in OUTAGE_SIGNS)
    return False


def database_unavailable(error: Exception):
    """503 with Retry-After while the database is unreachable: a page (JSON under /api/ and for /healthz).

    Nothing here may touch the database: the page is rendered without the context processors
    (site settings) and with no signed-in member, whose loading would fail again.
    """
    if not is_database_outage(error):  # a bug or a broken installation: a 500, logged in full
        log.exception("database error during %s %s", request.method, request.path, exc_info=error)
        db.session.rollback()
        return error_response(500)
    log.error("database unavailable during %s %s: %s: %s", request.method, request.path,
              type(error).__name__, str(error).splitlines()[0] if str(error) else "")
    try:
        db.session.rollback()
    except Exception:  # the connection is gone: the session is discarded at the end of the request anyway
        pass
    g._login_user = current_app.login_manager.anonymous_user()  # flask-login's cache: no user loading
    retry_after = int(current_app.config["DATABASE_RETRY_AFTER_SECONDS"])
    title, message = (str(text) for text in DATABASE_DOWN)
    if request.endpoint == "main.healthz":
        response = jsonify(status="error", database={"status": f"error: {type(error).__name__}"},
                           search=None, outbox=None)
    elif wants_json():
        response = jsonify({"error": {"code": "database_unavailable", "message": message}})
    else:
        template = current_app.jinja_env.get_template("errors/unavailable.html")
        response = make_response(template.render(title=title, message=message, retry_after=retry_after,
                                                 locale=str(get_locale() or "en")))
    response.status_code = 503
    response.headers["Retry-After"] = str(retry_after)
    response.headers["Cache-Control"] = "no-store"
    return response


class UserFacingError(HTTPException):
    """An HTTP error whose description is shown to the user as it is."""

    user_message = True

    def __init__(self, code: int, message: str):
        self.code = code
        super().__init__(description=message)
