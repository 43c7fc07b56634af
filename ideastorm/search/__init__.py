"""Full-text search behind a small interface (see ROADMAP: a second backend comes later).

The rest of IdeaStorm calls ``backend()`` and the types in ``interface``; nothing else
imports Whoosh.
"""

from flask import Flask


def init_app(app: Flask) -> None:
    pass
