"""The one-click unsubscribe (no login: the signed link is the proof).

GET shows what the link would stop and a button; it never changes anything, because mail
scanners and link previews fetch every link of an email. POST applies it. The POST is also the
RFC 8058 one-click target of the ``List-Unsubscribe-Post`` header: a mail client sends
``List-Unsubscribe=One-Click`` with no cookie and no CSRF token, so the view is exempt from the
CSRF check; a forged token changes nothing, and a genuine one can only stop emails.
"""

from __future__ import annotations

from flask import Blueprint, request

from ..accounts.models import User
from ..extensions import csrf, db
from ..notifications.services import stop_emails
from ..web import render
from .compose import unsubscribe_label
from .tokens import read_unsubscribe_token

bp = Blueprint("mail", __name__)


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
@csrf.exempt
def unsubscribe(token: str):
    found = read_unsubscribe_token(token)
    user = db.session.get(User, found[0]) if found else None
    if user is None:
        return render("mail/invalid.html", status=404)
    setting = found[1]
    what = unsubscribe_label(setting)
    if request.method == "GET":
        return render("mail/unsubscribe.html", token=token, what=what)
    stop_emails(user.id, setting)
    db.session.commit()
    return render("mail/unsubscribed.html", what=what)
