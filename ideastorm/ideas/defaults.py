"""The categories a new site starts with (the first migration inserts the same list)."""

DEFAULT_CATEGORIES = [
    ("products", "Products", "Hardware and the software that ships with it."),
    ("support", "Support & services", "Help, warranty, repairs and returns."),
    ("store", "Online store", "Buying, ordering, delivery and billing."),
    ("apps", "Apps & portals", "Our websites, portals and mobile apps."),
    ("business", "Business & IT", "Fleet management and enterprise needs."),
    ("sustainability", "Sustainability", "Packaging, energy, recycling and repair."),
    ("other", "Other", "Anything that fits nowhere else."),
]


def ensure_default_categories() -> None:
    """Insert the default categories into an empty table (the caller commits)."""
    from sqlalchemy import func, select

    from ..extensions import db
    from .models import Category

    if db.session.scalar(select(func.count()).select_from(Category)):
        return
    for position, (slug, name, description) in enumerate(DEFAULT_CATEGORIES):
        db.session.add(Category(slug=slug, name=name, description=description, position=position))
    db.session.flush()
