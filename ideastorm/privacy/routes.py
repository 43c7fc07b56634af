"""``/account/export`` (the member's data as a JSON download) and ``/account/delete`` (erasure, confirmed)."""

from __future__ import annotations

import json

from flask import Blueprint, Response, flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..accounts.sessions import sign_out
from ..security.limits import limit
from ..timeutil import utcnow
from ..web import form_checks_csrf, render, run_form
from . import services
from .forms import deletion_form

bp = Blueprint("privacy", __name__, url_prefix="/account")


@bp.get("/export")
@login_required
def export():
    """A read of one's own data, so a GET: the browser saves it as a file."""
    data = services.export_member(current_user._get_current_object())
    body = json.dumps(data, ensure_ascii=False, indent=2)
    filename = f"ideastorm-export-{utcnow().date().isoformat()}.json"
    return Response(body, mimetype="application/json", headers={
        "Content-Disposition": f'attachment; filename="{filename}"',
        "Cache-Control": "no-store",
    })


@bp.route("/delete", methods=["GET", "POST"])
@login_required
@limit("confirm_password")
@form_checks_csrf
def delete():
    user = current_user._get_current_object()
    form = deletion_form(user)
    outcome = run_form(form, lambda: services.delete_account(user, form.confirmation.data))
    if outcome.done:
        sign_out()
        flash(_("Your account is deleted. Your ideas and comments stay, under “Deleted member”."), "success")
        return redirect(url_for("main.home"))
    return render("privacy/delete.html", status=outcome.status, form=form, has_password=user.password_hash is not None)
