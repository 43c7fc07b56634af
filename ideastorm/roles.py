"""Roles and their order: a foundation that permissions, models and services all build on."""

from __future__ import annotations

import enum

from flask_babel import lazy_gettext as _l


class Role(str, enum.Enum):
    MEMBER = "member"
    STAFF = "staff"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return ROLE_RANK[self]

    @property
    def label(self) -> str:
        """The role's name as shown to people, in the current language."""
        return str(ROLE_LABELS[self])


ROLE_RANK = {Role.MEMBER: 0, Role.STAFF: 1, Role.ADMIN: 2}

ROLE_LABELS = {Role.MEMBER: _l("Member"), Role.STAFF: _l("Staff"), Role.ADMIN: _l("Administrator")}
