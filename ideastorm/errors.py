"""Error pages for people, JSON errors for API clients; never a bare 500 for bad input."""

from __future__ import annotations

import logging

from flask import Flask, jsonify, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from .domain import DomainError
from .extensions import db

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
}
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
        db.session.rollback()
        return error_response(500)


class UserFacingError(HTTPException):
    """An HTTP error whose description is shown to the user as it is."""

    user_message = True

    def __init__(self, code: int, message: str):
        self.code = code
        super().__init__(description=message)
