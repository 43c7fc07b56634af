"""The site's own settings: one row (id 1), absent until an administrator saves something."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, DateTime, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..timeutil import utcnow


class SiteSettings(db.Model):
    __tablename__ = "site_settings"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(60))
    # The stored file's name in the instance's uploads folder, e.g. logo-3f2a….png; None: no logo.
    logo_file: Mapped[str | None] = mapped_column(String(80))
    accent: Mapped[str] = mapped_column(String(7))  # "#rrggbb", lower case
    welcome_en: Mapped[str | None] = mapped_column(Text)  # Markdown; None: the default text
    welcome_fr: Mapped[str | None] = mapped_column(Text)
    # When on, a member must confirm their email address before they may post, comment or vote.
    require_verified_email: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    # When on, a member's ideas wait in the moderation queue until staff have approved a first one.
    hold_first_ideas: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    # Moved by every change: the brand stylesheet's URL carries it, so browsers fetch the new one.
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    def __repr__(self) -> str:
        return f"<SiteSettings {self.name!r} v{self.version}>"
