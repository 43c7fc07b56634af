from flask import Blueprint

bp = Blueprint("stats", __name__)


@bp.get("/stats")
def index():
    return ""  # placeholder replaced by the issue-5 work
