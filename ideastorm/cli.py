"""What every command shares: a refused rule is one line on standard error and exit 1."""

from __future__ import annotations

import functools

import click

from .domain import DomainError
from .extensions import db


def domain_command(function):
    """Wrap a command's body: commit when it succeeds; on a ``DomainError``, undo and fail in one line."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        try:
            result = function(*args, **kwargs)
            db.session.commit()
            return result
        except DomainError as error:
            db.session.rollback()
            where = f" ({error.field})" if error.field else ""
            raise click.ClickException(f"{error.message}{where}") from None

    return wrapper
