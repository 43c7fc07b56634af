from flask import Blueprint

bp = Blueprint("search", __name__)


@bp.get("/search")
def search():
    return ""  # placeholder replaced by the search pages
