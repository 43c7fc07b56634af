"""One queued email becomes a message: plain text and HTML, in the recipient's language.

The worker composes with an app context only (no request, no signed-in member), so the
templates under ``templates/email/`` extend layouts of their own (``_layout.txt`` and
``_layout.html``), never ``base.html``, and every link is absolute (``links.absolute``, from
BASE_URL). The language is the recipient's (``user.locale``, else the default), forced around
the rendering and the subject with ``flask_babel.force_locale``: outside a request the app's
locale selector always answers the default. The site's name and accent colour come from the
saved site settings, read again for each email, so a worker that runs for weeks follows a change.

Unsubscribing: a notification email's link turns off the setting of its kind (a status change
or a merge: ``email_status``; a comment: ``email_comments``; a mention: ``email_mentions``; a new
idea: ``email_new_ideas``). The digest's link stops the digest: every setting that is "daily"
becomes "never", and the settings that email at once are left alone. Account emails (password
reset, address confirmation, a sign-up with a taken address) carry no unsubscribe link and no
``List-Unsubscribe`` header: they answer a request made with the member's address, not a subscription.

What should no longer be sent raises ``NotSent`` with the reason kept on the row: the member is
gone or banned, turned that kind of email off meanwhile, or the idea or comment was hidden.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from email.header import Header
from email.utils import formataddr, parseaddr

from flask import current_app, render_template
from flask_babel import force_locale, format_date, ngettext
from flask_babel import gettext as _
from flask_mailman import EmailMultiAlternatives
from sqlalchemy import select

from ..accounts import tokens as account_tokens
from ..accounts.models import User
from ..comments.models import Comment
from ..extensions import db
from ..i18n import status_label
from ..ideas.models import Idea
from ..markdown import plain_excerpt, render_markdown
from ..notifications.models import Notification
from ..notifications.services import EMAIL_SETTING_OF_KIND, original_id_of
from ..settings.services import site_settings
from .links import absolute
from .models import OutgoingEmail
from .tokens import DIGEST, make_unsubscribe_token

EXCERPT_LENGTH = 300


class NotSent(Exception):
    """This email is not to be sent (any more); ``reason`` is kept on its row."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Message(EmailMultiAlternatives):
    """Flask-Mailman's message, with a non-ASCII subject encoded knowing its header's name.

    Encoded without it, the subject's first line is left empty and folded, which mail readers
    show as a subject starting with a space.
    """

    def message(self):
        message = super().message()
        if not self.subject.isascii():
            message.replace_header("Subject", Header(self.subject, "utf-8", header_name="Subject"))
        return message


@dataclass
class Item:
    """One notification as an email tells it (alone, or as a line of the digest)."""

    kind: str
    idea: Idea
    idea_url: str
    actor: str = ""
    url: str = ""  # where "Read more" goes: the idea, or the comment on its page
    excerpt: str = ""
    from_status: str = ""
    to_status: str = ""
    response: str | None = None
    response_html: str | None = None
    original: Idea | None = None
    category: str = ""


@dataclass
class Content:
    template: str
    subject: str
    context: dict = field(default_factory=dict)
    unsubscribe: str | None = None  # the setting the unsubscribe link turns off (tokens.SETTINGS)


def recipient_locale(user: User) -> str:
    config = current_app.config
    return user.locale if user.locale in config["LANGUAGES"] else config["BABEL_DEFAULT_LOCALE"]


def compose(email: OutgoingEmail) -> Message:
    """The message for this row, ready for a Flask-Mailman connection; raises ``NotSent``."""
    user = db.session.get(User, email.user_id) if email.user_id else None
    if user is None:
        raise NotSent("recipient_gone")
    if user.is_banned:
        raise NotSent("banned")
    locale = recipient_locale(user)
    brand = site_settings()
    with force_locale(locale):
        content = BUILDERS[email.kind](email, user, locale)
        unsubscribe_url = (absolute("mail.unsubscribe", token=make_unsubscribe_token(user.id, content.unsubscribe))
                           if content.unsubscribe else None)
        context = {
            **content.context, "user": user, "brand": brand, "site_name": brand.name, "accent": brand.accent,
            "locale": locale, "subject": content.subject, "home_url": absolute("main.home"),
            "settings_url": absolute("accounts.account"), "unsubscribe_url": unsubscribe_url,
            "unsubscribe_what": unsubscribe_label(content.unsubscribe) if content.unsubscribe else None,
        }
        text = render_template(f"email/{content.template}.txt", **context)
        html = render_template(f"email/{content.template}.html", **context)
        subject = " ".join(f"[{brand.name}] {content.subject}".split())  # a header holds no line break
    headers = {"Message-ID": email.message_id, "Auto-Submitted": "auto-generated", "Content-Language": locale}
    if unsubscribe_url:
        # RFC 8058: a mail client offers its own "Unsubscribe" button and POSTs to this URL.
        headers["List-Unsubscribe"] = f"<{unsubscribe_url}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message = Message(subject, text, sender(brand.name), [formataddr((user.display_name, user.email))],
                                     headers=headers)
    message.attach_alternative(html, "text/html")
    message.outgoing_email_id = email.id  # names the .eml file (backends.EmlBackend)
    return message


def sender(site_name: str) -> str:
    """``"<site name> <address>"``: the address of MAIL_DEFAULT_SENDER under the site's current name."""
    address = parseaddr(current_app.config["MAIL_DEFAULT_SENDER"] or "")[1] or "noreply@localhost"
    return formataddr((site_name, address))


def unsubscribe_label(setting: str) -> str:
    """What following an unsubscribe link stops, as the email and the confirmation page say it."""
    labels = {
        "email_status": _("status changes of the ideas you follow"),
        "email_comments": _("new comments on the ideas you follow"),
        "email_mentions": _("mentions of you in comments"),
        "email_new_ideas": _("new ideas in the categories you watch"),
        DIGEST: _("the daily digest"),
    }
    return labels[setting]


# --- notifications ---------------------------------------------------------------------------

def _actor_name(actor_id: int | None) -> str:
    actor = db.session.get(User, actor_id) if actor_id else None
    return actor.display_name if actor is not None else _("A former member")


def _item(notification: Notification, locale: str) -> Item:
    """How ``notification`` reads; raises ``NotSent("hidden")`` when what it tells of is hidden now."""
    idea = db.session.get(Idea, notification.idea_id)
    if idea is None or idea.is_hidden:
        raise NotSent("hidden")
    item = Item(kind=notification.kind, idea=idea, idea_url=absolute("ideas.show", idea_id=idea.id))
    item.url = item.idea_url
    data = notification.data or {}
    if notification.kind in ("comment", "mention"):
        comment = db.session.get(Comment, notification.comment_id) if notification.comment_id else None
        if comment is None or comment.is_hidden:
            raise NotSent("hidden")
        item.actor = _actor_name(notification.actor_id or comment.author_id)
        item.excerpt = plain_excerpt(comment.body, EXCERPT_LENGTH)
        item.url = absolute("ideas.show", idea_id=idea.id, _anchor=f"comment-{comment.id}")
    elif notification.kind == "status":
        item.actor = _actor_name(notification.actor_id)
        item.from_status = status_label(data.get("from") or "new")
        item.to_status = status_label(data.get("to") or idea.status)
        item.response = (data.get("response") or "").strip() or None
        item.response_html = render_markdown(item.response) if item.response else None
    elif notification.kind == "merge":
        original = db.session.get(Idea, original_id_of(notification) or idea.duplicate_of_id or 0)
        if original is None or original.is_hidden:
            raise NotSent("hidden")
        item.original = original
        item.url = absolute("ideas.show", idea_id=original.id)
    elif notification.kind == "new_idea":
        item.actor = _actor_name(notification.actor_id or idea.author_id)
        item.category = idea.category.display_name(locale) if idea.category is not None else _("No category")
        item.excerpt = plain_excerpt(idea.description, EXCERPT_LENGTH)
    return item


def _subject_of(item: Item) -> str:
    title = item.idea.title
    if item.kind == "status":
        return _("“%(title)s” is now %(status)s", title=title, status=item.to_status)
    if item.kind == "comment":
        return _("%(name)s commented on “%(title)s”", name=item.actor, title=title)
    if item.kind == "merge":
        return _("“%(title)s” was merged into “%(original)s”", title=title, original=item.original.title)
    if item.kind == "mention":
        return _("%(name)s mentioned you on “%(title)s”", name=item.actor, title=title)
    return _("New idea in %(category)s: “%(title)s”", category=item.category, title=title)


def _notification(email: OutgoingEmail, user: User, locale: str) -> Content:
    notification = db.session.get(Notification, email.notification_id) if email.notification_id else None
    if notification is None or notification.user_id != user.id:
        raise NotSent("notification_gone")
    setting = EMAIL_SETTING_OF_KIND[notification.kind]
    if getattr(user, setting) == "never":
        raise NotSent("unsubscribed")
    item = _item(notification, locale)
    return Content(template="notification", subject=_subject_of(item), context={"item": item},
                   unsubscribe=setting)


def _digest(email: OutgoingEmail, user: User, locale: str) -> Content:
    notifications = db.session.scalars(
        select(Notification).where(Notification.user_id == user.id, Notification.digest_day == email.digest_day)
        .order_by(Notification.id)
    ).all()
    groups: dict[int, list[Item]] = {}
    for notification in notifications:
        if getattr(user, EMAIL_SETTING_OF_KIND[notification.kind]) == "never":
            continue  # turned off since: the digest leaves it out
        try:
            item = _item(notification, locale)
        except NotSent:
            continue
        groups.setdefault(item.idea.id, []).append(item)
    count = sum(len(items) for items in groups.values())
    if not count:
        raise NotSent("empty")
    subject = ngettext("Your daily digest: %(num)d update", "Your daily digest: %(num)d updates", count)
    day = format_date(email.digest_day, "long") if email.digest_day else ""
    return Content(template="digest", subject=subject, unsubscribe=DIGEST,
                   context={"groups": list(groups.values()), "count": count, "day": day})


# --- account emails ----------------------------------------------------------------------------

def _password_reset(email: OutgoingEmail, user: User, locale: str) -> Content:
    hours = max(1, round(int(current_app.config["PASSWORD_RESET_MAX_AGE"]) / 3600))
    return Content(template="password_reset", subject=_("Reset your password"), context={
        "url": absolute("accounts.reset_password", token=account_tokens.make_reset_token(user)),
        "validity": ngettext("The link is valid for %(num)d hour and works once.",
                             "The link is valid for %(num)d hours and works once.", hours),
    })


def _verify_email(email: OutgoingEmail, user: User, locale: str) -> Content:
    days = max(1, round(int(current_app.config["EMAIL_CONFIRM_MAX_AGE"]) / 86400))
    return Content(template="verify_email", subject=_("Confirm your email address"), context={
        "url": absolute("accounts.confirm_email", token=account_tokens.make_confirm_token(user)),
        "validity": ngettext("The link is valid for %(num)d day.", "The link is valid for %(num)d days.", days),
    })


def _account_exists(email: OutgoingEmail, user: User, locale: str) -> Content:
    """Someone registered with this member's address: sign in instead, or reset the password (if it has one)."""
    hours = max(1, round(int(current_app.config["PASSWORD_RESET_MAX_AGE"]) / 3600))
    reset_url = (absolute("accounts.reset_password", token=account_tokens.make_reset_token(user))
                 if user.password_hash else None)
    return Content(template="account_exists", subject=_("Someone tried to sign up with your email address"), context={
        "login_url": absolute("accounts.login"), "reset_url": reset_url,
        "forgot_url": absolute("accounts.forgot_password"),
        "validity": ngettext("The password link is valid for %(num)d hour and works once.",
                             "The password link is valid for %(num)d hours and works once.", hours),
    })


BUILDERS: dict[str, Callable[[OutgoingEmail, User, str], Content]] = {
    "notification": _notification,
    "digest": _digest,
    "password_reset": _password_reset,
    "verify_email": _verify_email,
    "account_exists": _account_exists,
}
