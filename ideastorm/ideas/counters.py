"""Counters of the headline ("N ideas implemented out of M submitted"), exact at every moment.

Counting the whole backlog on each request grows with it, and a cached count is wrong right
after a change (a fresh site said "0 out of 0" for a minute). So the services that change
what the counters count move them in the same transaction, with an atomic ``x = x + Δ``:

- ``submitted``: public ideas (not hidden), whatever their status;
- ``implemented``: public ideas whose status is ``implemented``.

``recount()`` sets both from the ideas table (after a bulk load such as ``demo seed``), and
``differences()`` lists any drift, as ``votes verify`` does for vote counters.
"""

from __future__ import annotations

from sqlalchemy import func, select, update

from ..extensions import db
from .models import Idea, SiteCounter, Status

SUBMITTED = "submitted"
IMPLEMENTED = "implemented"
NAMES = (SUBMITTED, IMPLEMENTED)


def adjust(name: str, delta: int) -> None:
    """Move one counter by ``delta`` in the current transaction."""
    if not delta:
        return
    moved = db.session.execute(
        update(SiteCounter).where(SiteCounter.name == name).values(value=SiteCounter.value + delta)
        .execution_options(synchronize_session=False)
    )
    if moved.rowcount == 0:  # no row yet (a database emptied by hand): count what is there now
        recount()


def idea_changed(*, was_public: bool, was_implemented: bool, is_public: bool, is_implemented: bool) -> None:
    """Account for one idea going from one (visibility, status) to another."""
    adjust(SUBMITTED, int(is_public) - int(was_public))
    adjust(IMPLEMENTED, int(is_public and is_implemented) - int(was_public and was_implemented))


def values() -> dict[str, int]:
    """Every counter's value (one indexed read of two rows)."""
    found = dict(db.session.execute(select(SiteCounter.name, SiteCounter.value)).all())
    return {name: int(found.get(name, 0)) for name in NAMES}


def actual() -> dict[str, int]:
    """The counts as the ideas table has them now (reads every idea: for verification)."""
    submitted, implemented = db.session.execute(
        select(func.count(), func.count().filter(Idea.status == Status.IMPLEMENTED.value))
        .where(Idea.is_hidden.is_(False))
    ).one()
    return {SUBMITTED: submitted, IMPLEMENTED: implemented}


def differences() -> dict[str, tuple[int, int]]:
    """{name: (stored, actual)} for every counter that drifted."""
    stored, real = values(), actual()
    return {name: (stored[name], real[name]) for name in NAMES if stored[name] != real[name]}


def recount() -> None:
    """Set every counter from the ideas table (the caller commits)."""
    for name, value in actual().items():
        if db.session.get(SiteCounter, name) is None:
            db.session.add(SiteCounter(name=name, value=value))
        else:
            db.session.execute(update(SiteCounter).where(SiteCounter.name == name).values(value=value)
                               .execution_options(synchronize_session=False))
    db.session.flush()
