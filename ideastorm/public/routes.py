from flask import Blueprint

bp = Blueprint("public", __name__)


# Placeholders replaced by the issue-5 work.
@bp.get("/leaderboard")
def leaderboard():
    return ""


@bp.get("/roadmap")
def roadmap():
    return ""


@bp.get("/implemented")
def implemented():
    return ""
