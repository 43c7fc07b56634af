from flask import Blueprint

bp = Blueprint("feeds", __name__)


@bp.get("/feeds/ideas.atom")
def ideas():
    return ""  # placeholder


@bp.get("/feeds/implemented.atom")
def implemented():
    return ""  # placeholder
