"""Following ideas, the inbox at /notifications, the header's unread count, the mention autocomplete."""

from __future__ import annotations

import logging
from dataclasses import replace
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, g, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user
from htmx_flask import request
from sqlalchemy.exc import SQLAlchemyError

from ..domain import DomainError
from ..extensions import db
from ..ideas.models import Idea
from ..ideas.queries import paginate
from ..security.limits import limit
from ..security.permissions import login_required_for, require
from ..web import get_or_404, page_arg, query_arg, record_id, redirect_next, render
from . import services

bp = Blueprint("notifications", __name__)
log = logging.getLogger(__name__)

PER_PAGE = 30
HANDLE_PREFIX_MAX = 40  # longer than any handle (accounts.services.HANDLE_MAX and its suffix)


@bp.app_context_processor
def _header_count():
    # A function, not the number: only pages that draw the header (base.html) pay for the query,
    # and a visitor's costs nothing (services.unread_count answers 0 without asking the database).
    return {"unread_notifications": _unread_for_header}


def _unread_for_header() -> int:
    # Once per request: the inbox page shows the figure beside the header's badge.
    if "unread_notifications" not in g:
        try:
            g.unread_notifications = services.unread_count(current_user)
        except SQLAlchemyError as error:  # an error page for a broken transaction: the header without its count
            log.warning("unread count unavailable: %s", type(error).__name__)
            return 0
    return g.unread_notifications


def _on_inbox() -> bool:
    """Whether the page that asks (htmx names it) is /notifications, where the header's link is the current one."""
    try:
        path = urlsplit(request.headers.get("HX-Current-URL", "")).path
    except ValueError:  # the header is the client's to send: "http://[x/" is no page of ours
        return False
    return path == url_for("notifications.index")


# --- following ------------------------------------------------------------------------------

def _follow_answer(idea: Idea, following: bool):
    """The follow control again for htmx (the idea page's, or a card's compact one), else back where it was."""
    if request.htmx:
        compact = request.form.get("compact") == "1"
        return render("ideas/_follow.html", idea=idea, following=following, compact=compact,
                      follower_count=None if compact else services.follower_count(idea.id))
    flash(_("You follow this idea: you will hear of its news.") if following
          else _("You no longer follow this idea."), "success")
    return redirect_next("ideas.show", idea_id=idea.id)


@bp.post("/ideas/<int:idea_id>/follow")
@login_required_for("submit_idea")  # any member
@limit("write")
def follow(idea_id: int):
    idea = get_or_404(Idea, idea_id)
    services.follow(current_user, idea)  # hidden ideas: 404 for all but staff
    db.session.commit()
    return _follow_answer(idea, True)


@bp.post("/ideas/<int:idea_id>/unfollow")
@login_required_for("submit_idea")
@limit("write")
def unfollow(idea_id: int):
    idea = get_or_404(Idea, idea_id)
    services.unfollow(current_user, idea)  # hidden ideas: 404 for all but staff
    db.session.commit()
    return _follow_answer(idea, False)


# --- the inbox ------------------------------------------------------------------------------

@bp.get("/notifications")
@login_required_for("submit_idea")
def index():
    page = paginate(services.visible_inbox_query(current_user), page_arg(), PER_PAGE)
    page = replace(page, items=services.inbox_items(current_user, page.items))
    return render("notifications/index.html", page=page, unread=_unread_for_header())


def _target_url(item: services.InboxItem) -> str:
    """Where a notification leads: the comment it is about, the original of a merge, else the idea."""
    notification = item.notification
    if notification.kind in ("comment", "mention") and notification.comment_id:
        return url_for("ideas.show", idea_id=notification.idea_id, _anchor=f"comment-{notification.comment_id}")
    if notification.kind == "merge" and item.original is not None:
        return url_for("ideas.show", idea_id=item.original.id)
    if notification.kind == "status":
        return url_for("ideas.show", idea_id=notification.idea_id, _anchor="answer-title")
    return url_for("ideas.show", idea_id=notification.idea_id)


def _own_visible(notification_id: int) -> services.InboxItem:
    """The current member's notification with what it is about; 404 for anyone else's, or hidden content."""
    require("submit_idea")  # visitors: to the login page, then back here
    notification = services.notification_of(current_user, record_id(notification_id))
    items = services.inbox_items(current_user, [notification])
    if not items:  # about content hidden since: as absent as another member's notification
        raise DomainError("notification_not_found", _("There is no such notification."), status=404)
    return items[0]


@bp.get("/notifications/<int:notification_id>")
def open(notification_id: int):  # the endpoint's fixed name; shadows the builtin in this module only
    """Follow a notification: it is read now, and the member lands on what it is about."""
    item = _own_visible(notification_id)
    services.mark_read(current_user, item.notification.id)
    db.session.commit()
    return redirect(_target_url(item))


@bp.post("/notifications/<int:notification_id>/read")
def read(notification_id: int):
    item = _own_visible(notification_id)
    services.mark_read(current_user, item.notification.id)
    db.session.commit()
    if request.htmx:
        # The item without its "Unread" mark, and the header's count beside it (an out-of-band swap).
        return render("notifications/_read.html", item=item, unread=services.unread_count(current_user),
                      on_inbox=_on_inbox())
    return redirect_next("notifications.index")


@bp.post("/notifications/read-all")
@login_required_for("submit_idea")
def read_all():
    done = services.mark_all_read(current_user)
    db.session.commit()
    if done:
        flash(_("All your notifications are marked as read."), "success")
    return redirect_next("notifications.index")


@bp.get("/notifications/count")
def count():
    """The header's notifications link with its unread count, for the page's polling.

    A visitor, which is what a member becomes when their session ends while a page is open,
    gets an empty answer: the link goes away and the polling with it (the login page instead
    would be swapped into the header, and leave a "please sign in" message for later).
    """
    if not current_user.is_authenticated or current_user.is_banned:
        response = current_app.response_class("", 200, mimetype="text/html")
    else:
        response = render("notifications/_badge.html", unread=services.unread_count(current_user),
                          on_inbox=_on_inbox())
    response.headers["Cache-Control"] = "no-store"  # a count of this moment, for this member
    return response


# --- mentions -------------------------------------------------------------------------------

@bp.get("/members/suggest")
def suggest_members():
    """Members whose handle or name starts with ``q``: the listbox the comment box's autocomplete shows."""
    require("submit_idea")
    prefix = query_arg("q", "", max_length=HANDLE_PREFIX_MAX)
    members = services.suggest_members(prefix)
    response = render("notifications/_suggestions.html", members=members)
    response.headers["Cache-Control"] = "private, max-age=60"
    return response

