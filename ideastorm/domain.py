"""The one error type of the business rules, and the checks that build it.

Services raise ``DomainError`` whenever a rule refuses an action; each interface maps it
once: the HTML views to a 422 form with the message beside the field (``web.form_error``)
or an error page (``errors.py``), the CLI to a one-line message and exit 1 (``cli.py``),
and the coming JSON API to ``{"error": {"code", "message", "fields"}}``.
"""

from __future__ import annotations

import unicodedata

ID_MAX = 2**31 - 1  # ids are 32-bit integers on every backend: a larger one names no record


class DomainError(Exception):
    """A rule refused the action.

    ``code`` is a stable machine name (``title_too_short``), ``message`` is for the user
    (already translated), ``field`` names the input at fault, ``status`` is the HTTP status
    that fits (422 invalid input, 404 missing, 409 wrong state, 403 not allowed), and
    ``fields`` holds every message per field when several inputs are at fault.
    """

    def __init__(self, code: str, message: str, field: str | None = None, *, status: int = 422,
                 fields: dict[str, list[str]] | None = None):
        super().__init__(message)
        self.code = code
        self.message = str(message)
        self.field = field
        self.status = status
        self.fields = fields if fields is not None else ({field: [self.message]} if field else {})

    def __repr__(self) -> str:
        return f"DomainError({self.code!r}, {self.message!r}, field={self.field!r}, status={self.status})"


class Checks:
    """Collects the refusals of one input so that every field's message is shown at once.

        checks = Checks()
        title = checks.text("title", title, minimum=5, maximum=140, ...)
        checks.done()  # raises one DomainError naming every field at fault
    """

    def __init__(self) -> None:
        self.errors: list[tuple[str, str, str]] = []  # (field, code, message)

    def fail(self, field: str, code: str, message: str) -> None:
        self.errors.append((field, code, str(message)))

    def text(self, field: str, value: str | None, *, maximum: int, minimum: int = 0,
             required: str | None = None, too_short: str | None = None, too_long: str) -> str:
        """``value`` stripped and NFC-normalised, checked for presence and length."""
        value = unicodedata.normalize("NFC", (value or "").strip())
        if not value and required is not None:
            self.fail(field, f"{field}_required", required)
        elif value and len(value) < minimum:
            self.fail(field, f"{field}_too_short", too_short or required or too_long)
        elif len(value) > maximum:
            self.fail(field, f"{field}_too_long", too_long)
        return value

    def __bool__(self) -> bool:
        return bool(self.errors)

    def done(self) -> None:
        """Raise one DomainError for everything collected (the first refusal names it)."""
        if not self.errors:
            return
        fields: dict[str, list[str]] = {}
        for field, _code, message in self.errors:
            fields.setdefault(field, []).append(message)
        field, code, message = self.errors[0]
        raise DomainError(code, message, field, fields=fields)
