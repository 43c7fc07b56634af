"""Roles and their order: a foundation that permissions, models and services all build on."""

from __future__ import annotations

import enum


class Role(str, enum.Enum):
    MEMBER = "member"
    STAFF = "staff"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return ROLE_RANK[self]


ROLE_RANK = {Role.MEMBER: 0, Role.STAFF: 1, Role.ADMIN: 2}
