"""The one place that says who may do what.

Views call ``require(action, obj)`` (or the ``@login_required_for(action)`` decorator); templates ask
``{% if current_user is allowed('edit_idea', idea) %}``. Nothing else re-derives roles.
"""

from __future__ import annotations

from functools import wraps
from typing import Any, Callable

from flask import abort
from flask_login import current_user

from ..roles import Role
from ..extensions import login_manager


def _is_member(user) -> bool:
    return bool(user and user.is_authenticated and not user.is_banned)


def _is_staff(user) -> bool:
    return _is_member(user) and user.has_role(Role.STAFF)


def _can_view_idea(user, idea) -> bool:
    if not idea.is_hidden or _is_staff(user):
        return True
    # An idea held for approval is shown to its author (marked as waiting), to nobody else.
    return (bool(getattr(idea, "awaiting_approval", False)) and _is_member(user)
            and getattr(idea, "author_id", None) == user.id)


def _can_vote(user, idea) -> bool:
    # Nobody votes on an idea waiting for approval: it is not out yet.
    return _is_member(user) and _can_view_idea(user, idea) and not getattr(idea, "awaiting_approval", False)


def _can_edit_idea(user, idea) -> bool:
    # Authors may edit while nobody has triaged the idea; staff always may.
    if _is_staff(user):
        return True
    return _is_member(user) and idea.author_id == user.id and idea.status == "new"


def _can_comment(user, idea) -> bool:
    if not _is_member(user) or not _can_view_idea(user, idea):
        return False
    return not idea.comments_locked or _is_staff(user)


RULES: dict[str, Callable[[Any, Any], bool]] = {
    "view_idea": _can_view_idea,
    "submit_idea": lambda user, _: _is_member(user),
    "edit_idea": _can_edit_idea,
    "vote": _can_vote,
    "comment": _can_comment,
    "triage": lambda user, _: _is_staff(user),
    "moderate": lambda user, _: _is_staff(user),
    "admin": lambda user, _: _is_member(user) and user.has_role(Role.ADMIN),
}


def can(user, action: str, obj: Any = None) -> bool:
    """True when ``user`` (possibly anonymous) may perform ``action`` on ``obj``."""
    return RULES[action](user, obj)


def require(action: str, obj: Any = None) -> None:
    """Stop the request unless the current user may act: login first, else 403."""
    if can(current_user, action, obj):
        return
    if not current_user.is_authenticated:
        abort(login_manager.unauthorized())
    abort(403)


def login_required_for(action: str) -> Callable:
    """Decorator for views whose permission does not depend on an object."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            require(action)
            return view(*args, **kwargs)

        wrapped.required_action = action  # read by the access-matrix test
        return wrapped

    return decorator


def init_app(app) -> None:
    app.jinja_env.tests["allowed"] = lambda user, action, obj=None: can(user, action, obj)
    app.jinja_env.globals["can"] = can
