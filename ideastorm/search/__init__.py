"""Full-text search behind a small interface (see ROADMAP: a second backend comes later)."""

from flask import Flask


def init_app(app: Flask) -> None:
    pass
