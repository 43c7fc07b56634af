"""The audit log: every staff action is recorded in the transaction that performs it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select

from ..extensions import db
from .models import AuditEntry


def record(actor, action: str, target, *, before: dict[str, Any] | None = None,
           after: dict[str, Any] | None = None) -> AuditEntry:
    """Add an audit entry to the current transaction (the caller commits).

    ``target`` is a model instance (its class names the type: idea, comment, user, category)
    or a ``(type, id)`` pair.
    """
    entry = AuditEntry(
        actor_id=getattr(actor, "id", None),
        action=action,
        target_type=type(target).__name__.lower() if hasattr(target, "__tablename__") else str(target[0]),
        target_id=target.id if hasattr(target, "id") else int(target[1]),
        before=before,
        after=after,
    )
    db.session.add(entry)
    return entry


def entries_query(*, action: str | None = None, actor_id: int | None = None,
                  target_type: str | None = None, target_id: int | None = None) -> Select:
    """Newest first, filtered."""
    query = select(AuditEntry)
    if action:
        query = query.where(AuditEntry.action == action)
    if actor_id:
        query = query.where(AuditEntry.actor_id == actor_id)
    if target_type:
        query = query.where(AuditEntry.target_type == target_type)
    if target_id:
        query = query.where(AuditEntry.target_id == target_id)
    return query.order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())
