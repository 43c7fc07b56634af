"""Small helpers shared by the views."""

from __future__ import annotations

from typing import Any

from flask import abort, make_response, render_template
from htmx_flask import request

from .extensions import db


def text_arg(name: str) -> str:
    """A query argument as typed, stripped; "" when absent. NUL characters, which no stored text
    contains and PostgreSQL refuses in a query, make it a 404 (nothing can match it)."""
    value = request.args.get(name, "").strip()
    if "\x00" in value:
        abort(404)
    return value


def whole_number(raw: str) -> int | None:
    """``raw`` as a non-negative int if it is ASCII digits only (``"²".isdigit()`` is true), else None."""
    return int(raw) if raw.isascii() and raw.isdigit() else None


def get_or_404(model, ident: Any):
    """Load by primary key, answering 404 for anything that is not a valid id."""
    try:
        ident = int(ident)
    except (TypeError, ValueError):
        abort(404)
    if not 0 < ident < 2**31:  # ids are 32-bit integers on every backend
        abort(404)
    return db.session.get(model, ident) or abort(404)


def render(template: str, *, status: int = 200, fragment: str | None = None, **context):
    """Render the page, or only ``fragment`` (a template the page includes) for htmx.

    The fragment is the same file the full page includes, so there is one source of truth;
    ``Vary: HX-Request`` keeps caches from mixing the two answers.
    """
    name = fragment if (fragment and request.htmx) else template
    response = make_response(render_template(name, **context), status)
    response.vary.add("HX-Request")
    return response


def form_checks_csrf(view):
    """Mark a view whose FlaskForm validates the CSRF token itself.

    The global check would answer a bare 400 page; the form instead shows the page
    again with what the user typed and a message (still 400, see form_error_status).
    """
    from .extensions import csrf

    csrf.exempt(view)
    return view


def form_error_status(form) -> int:
    """400 when the CSRF token is missing or forged, else 422 (SPEC)."""
    csrf_field = getattr(form, "csrf_token", None)
    return 400 if csrf_field is not None and csrf_field.errors else 422
