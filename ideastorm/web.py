"""The web layer's shared helpers: query arguments, safe redirects, rendering, forms and domain errors.

Every route reads its query arguments through ``query_arg`` (and ``page_arg``), so bad
input is refused the same way everywhere: a 400 with a message for a value no page
understands, a 404 for a lookup that finds nothing; never a 500.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Collection, Generic, TypeVar

from flask import abort, make_response, redirect, render_template, url_for
from flask_babel import gettext as _
from htmx_flask import request

from .domain import ID_MAX, DomainError
from .errors import UserFacingError
from .extensions import db

T = TypeVar("T")
PAGE_MAX = 100_000
ARG_MAX_LENGTH = 200
_MISSING = object()


CHOICES_LISTED = 10  # a refused choice lists the valid ones when there are at most this many


def _refuse(name: str, raw: str, choices: Collection[str] | None = None):
    message = _("Unknown value for %(name)s: %(value)s", name=name, value=raw[:40])
    if choices is not None and len(choices) <= CHOICES_LISTED:
        message = _("%(message)s. Choose one of: %(choices)s.", message=message, choices=", ".join(choices))
    raise UserFacingError(400, message)


def _whole_number(raw: str) -> int | None:
    """``raw`` as an int if it is ASCII digits with an optional sign (``"²".isdigit()`` is true), else None."""
    digits = raw[1:] if raw[:1] == "-" else raw
    return int(raw) if digits.isascii() and digits.isdigit() else None




def record_id(raw: Any) -> int | None:
    """``raw`` (a form or URL value) as a record id: ASCII digits from 1 to ID_MAX, else None."""
    text = str(raw) if raw is not None else ""
    if not (0 < len(text) <= 10 and text.isascii() and text.isdigit()):
        return None
    number = int(text)
    return number if 0 < number <= ID_MAX else None


def query_arg(name: str, default: Any = None, *, choices: Collection[str] | None = None,
              minimum: int | None = None, maximum: int | None = None,
              lookup: Callable[[str], Any] | None = None, lower: bool = False,
              max_length: int = ARG_MAX_LENGTH, message: str | None = None) -> Any:
    """One query argument, checked; ``default`` when it is absent or empty.

    - text: stripped (``lower`` folds case); a NUL character, which no stored text holds
      and PostgreSQL refuses, or more than ``max_length`` characters answer 400;
    - ``choices``: the value must be one of them (400 otherwise);
    - ``minimum`` / ``maximum``: a whole number in that range (400 otherwise, ``message`` if given);
    - ``lookup``: the value is turned into an object (a category by its slug); None is a 404.
    """
    raw = request.args.get(name, "")
    value = raw.strip()
    if not value:
        return default
    if "\x00" in value or len(value) > max_length:
        _refuse(name, value.replace("\x00", ""))
    if lower:
        value = value.lower()
    if minimum is not None or maximum is not None:
        number = _whole_number(value)
        if number is None or (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
            raise UserFacingError(400, message or _("%(name)s must be a whole number from %(min)s to %(max)s.",
                                                    name=name, min=minimum, max=maximum))
        return number
    if choices is not None and value not in choices:
        _refuse(name, value, choices)
    if lookup is not None:
        found = lookup(value)
        if found is None:
            abort(404)
        return found
    return value


NUL = "\x00"


def _holds_nul(value: Any) -> bool:
    """A NUL anywhere in ``value``: a string, or the strings (keys too) of a JSON document."""
    if isinstance(value, str):
        return NUL in value
    if isinstance(value, dict):
        return any(_holds_nul(key) or _holds_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_holds_nul(item) for item in value)
    return False


def _json_holds_nul() -> bool:
    try:
        return _holds_nul(request.get_json(silent=True))
    except RecursionError:  # nested deeper than any document people send: refused, not a 500
        raise UserFacingError(400, _("The JSON document is nested too deeply.")) from None


def refuse_nul() -> None:
    """Before any view: a NUL character in a form field (or a JSON body) answers 400, and nothing is stored.

    No text people write holds one, PostgreSQL refuses it in text and SQLite would store it
    raw; refusing it here treats both databases alike for every form, present and future.
    Query arguments are checked by ``query_arg`` (a 400 naming the argument); file contents
    (the logo) are bytes and are not looked at.
    """
    found = NUL in request.path
    if not found and request.method not in ("GET", "HEAD", "OPTIONS"):
        found = (any(NUL in key or any(NUL in value for value in values) for key, values in request.form.lists())
                 or any(NUL in (upload.filename or "") for _, uploads in request.files.lists() for upload in uploads)
                 or (request.is_json and _json_holds_nul()))
    if found:
        raise UserFacingError(400, _("What you sent contains a NUL character (code 0), which no text may hold: "
                                     "remove it and send it again."))


def init_app(app) -> None:
    app.before_request(refuse_nul)


def page_arg() -> int:
    """``?page=``: a whole number from 1 (the default)."""
    return query_arg("page", 1, minimum=1, maximum=PAGE_MAX,
                     message=_("The page number must be a whole number from 1."))


def is_safe_next(target: str | None) -> bool:
    """Only same-site relative paths may be followed after a form (login, vote, language)."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return False
    return "\\" not in target and not any(ord(c) < 32 for c in target)


def next_url(default: str, **values: Any) -> str:
    """The request's ``next`` (form or query) when it is a same-site path, else ``url_for(default)``."""
    target = request.values.get("next")
    return target if is_safe_next(target) else url_for(default, **values)


def redirect_next(default: str, **values: Any):
    """Redirect to the safe ``next`` of the request, else to ``default``."""
    return redirect(next_url(default, **values))


def get_or_404(model, ident: Any):
    """Load by primary key, answering 404 for anything that is not a valid id."""
    try:
        ident = int(ident)
    except (TypeError, ValueError):
        abort(404)
    if not 0 < ident <= ID_MAX:
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
    """400 when the CSRF token is missing or forged, else 422 (what every form of the product promises)."""
    csrf_field = getattr(form, "csrf_token", None)
    return 400 if csrf_field is not None and csrf_field.errors else 422


def form_error(form, error: DomainError, *, default_field: str | None = None) -> int:
    """Undo the refused transaction and put the rule's messages beside their fields; the status to answer.

    A message for a field the form does not have goes beside ``default_field`` (or the
    form's first field), so it is never lost.
    """
    db.session.rollback()
    fallback = default_field or next((f.name for f in form if f.name != "csrf_token"), None)
    for name, messages in (error.fields or {fallback: [error.message]}).items():
        field = getattr(form, name or "", None) or getattr(form, fallback or "", None)
        if field is not None:
            field.errors = [*field.errors, *messages]
    return error.status


@dataclass
class FormOutcome(Generic[T]):
    """What became of a form: ``done`` with the work's ``result``, or the ``status`` to show it again with."""

    done: bool = False
    status: int = 200
    result: T | None = None


def run_form(form, work: Callable[[], T], *, default_field: str | None = None) -> FormOutcome[T]:
    """The one way a view turns a posted form into a change.

    Not submitted: nothing happens (status 200). Submitted but invalid as a form (CSRF, the
    HTML-level checks): 400 or 422. Valid: ``work()`` calls the services and the request
    commits once; a ``DomainError`` rolls everything back and puts its messages beside
    their fields (422, or the rule's status).
    """
    if not form.is_submitted():
        return FormOutcome()
    if not form.validate():
        return FormOutcome(status=form_error_status(form))
    try:
        result = work()
        db.session.commit()
    except DomainError as error:
        return FormOutcome(status=form_error(form, error, default_field=default_field))
    return FormOutcome(done=True, result=result)
