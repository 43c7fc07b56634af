from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import refresh
from flask_login import current_user, login_required

from ..domain import DomainError
from ..extensions import db
from ..ideas.queries import active_categories
from ..notifications.services import Preferences, preferences_of, save_preferences
from ..security.limits import limit
from ..security.network import network_prefix
from ..web import form_checks_csrf, form_error_status, record_id, redirect_next, render, run_form
from . import services, sessions, tokens
from .forms import (
    AccountForm,
    ForgotPasswordForm,
    LoginForm,
    NotificationsForm,
    PasswordForm,
    RegisterForm,
    ResetPasswordForm,
)

bp = Blueprint("accounts", __name__)


@bp.route("/register", methods=["GET", "POST"])
@form_checks_csrf
@limit("register")
def register():
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = RegisterForm()
    outcome = run_form(form, lambda: services.register(form.email.data, form.display_name.data,
                                                       form.password.data,
                                                       ip_prefix=network_prefix(request.remote_addr)))
    if outcome.done:
        # The same page whether the address was new or had an account: the email says which.
        return render("accounts/registered.html", email=outcome.result)
    return render_template("accounts/register.html", form=form), outcome.status


@bp.route("/login", methods=["GET", "POST"])
@form_checks_csrf
@limit("login")
def login():
    if current_user.is_authenticated:
        return redirect_next("main.home")
    form = LoginForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        result = services.authenticate(form.email.data, form.password.data)
        db.session.commit()
        if result.user:
            sessions.sign_in(result.user, remember=form.remember.data)
            refresh()  # the member's own language from now on, this message included
            flash(_("You are signed in."), "success")
            return redirect_next("main.home")
        if result.banned:
            form.email.errors.append(_("This account has been suspended."))
        else:
            form.password.errors.append(_("Wrong email or password."))
        return render_template("accounts/login.html", form=form), 422 if not result.banned else 403
    status = form_error_status(form) if form.is_submitted() else 200
    return render_template("accounts/login.html", form=form), status


@bp.route("/logout", methods=["POST"])
def logout():
    sessions.sign_out()
    flash(_("You are signed out."), "info")
    return redirect(url_for("main.home"))


def _notifications_form(posted: bool) -> NotificationsForm:
    staff = current_user.is_staff
    preferences = preferences_of(current_user)
    return NotificationsForm(
        # Read from the request only when it is this form that was sent: another form's post
        # would otherwise untick every box of this one on the page shown again.
        **({} if posted else {"formdata": None}),
        prefix="notifications", staff=staff, categories=active_categories() if staff else (),
        data={**vars(preferences), "watched_categories": list(preferences.watched_category_ids)},
    )


def _save_notifications(form: NotificationsForm) -> None:
    staff = "watched_categories" in form
    save_preferences(current_user, Preferences(
        follow_on_submit=form.follow_on_submit.data,
        follow_on_vote=form.follow_on_vote.data,
        follow_on_comment=form.follow_on_comment.data,
        email_status=form.email_status.data,
        email_comments=form.email_comments.data,
        email_mentions=form.email_mentions.data,
        email_new_ideas=form.email_new_ideas.data if staff else None,
        watched_category_ids=tuple(form.watched_categories.data or ()) if staff else (),
    ))


@bp.route("/account", methods=["GET", "POST"])
@login_required
@form_checks_csrf
def account():
    # The three forms post to this one address; their prefix tells them apart.
    sent = ""
    if request.method == "POST":
        if "profile-display_name" in request.form:
            sent = "profile"
        elif any(key.startswith("notifications-") for key in request.form):
            sent = "notifications"
        else:
            sent = "password"
    profile_form = AccountForm(obj=current_user, prefix="profile")
    password_form = PasswordForm(prefix="password")
    notifications_form = _notifications_form(sent == "notifications")
    status = 200
    if sent == "profile":
        outcome = run_form(profile_form, lambda: services.update_profile(
            current_user, profile_form.display_name.data, profile_form.locale.data))
        message = _("Your profile is saved.")
    elif sent == "notifications":
        outcome = run_form(notifications_form, lambda: _save_notifications(notifications_form))
        message = _("Your notification settings are saved.")
    elif sent == "password":
        here = sessions.current_login_session()
        outcome = run_form(password_form, lambda: services.change_password(
            current_user, password_form.current_password.data, password_form.new_password.data))
        if outcome.done:
            _sign_in_again(here)
        message = _("Your password is changed. Every other device where you were signed in is signed out.")
    if sent:
        if outcome.done:
            flash(message, "success")
            return redirect(url_for("accounts.account"))
        status = outcome.status
    return render_template(
        "accounts/account.html", profile_form=profile_form, password_form=password_form,
        notifications_form=notifications_form, login_sessions=_login_sessions(),
    ), status


# Where the member is signed in -----------------------------------------------------------


def _login_sessions() -> list[sessions.SessionView]:
    here = sessions.current_login_session()
    rows = services.active_login_sessions(current_user)
    views = [sessions.describe(row, current=here is not None and row.id == here.id) for row in rows]
    return sorted(views, key=lambda view: not view.current)  # this browser first, then the latest used


@bp.post("/account/sessions/<session_id>/sign-out")
@login_required
def sign_out_session(session_id: str):
    """Sign one browser out (one of the member's own; another's answers 404)."""
    number = record_id(session_id)
    if number is None:
        abort(404)
    here = sessions.current_login_session()
    if here is not None and here.id == number:
        sessions.sign_out()
        flash(_("You are signed out."), "info")
        return redirect(url_for("main.home"))
    services.revoke_login_session(current_user, number)
    db.session.commit()
    flash(_("That browser is signed out."), "success")
    return redirect(url_for("accounts.account", _anchor="sessions-title"))


def _sign_in_again(here) -> None:
    """After every login session of the member ended: this browser alone signs in again, on a new one.

    A new session rather than keeping this one: a copy of this browser's cookies, the likeliest
    reason to change a password or sign the others out, is signed out too.
    """
    sessions.sign_in(current_user._get_current_object(), remember=bool(here and here.remember),
                     method=here.method if here is not None else "password")


@bp.post("/account/sessions/sign-out-others")
@login_required
def sign_out_other_sessions():
    here = sessions.current_login_session()
    services.revoke_login_sessions(current_user)
    db.session.commit()
    _sign_in_again(here)
    flash(_("Every other browser where you were signed in is signed out."), "success")
    return redirect(url_for("accounts.account", _anchor="sessions-title"))


@bp.post("/account/sessions/sign-out-all")
@login_required
def sign_out_all_sessions():
    services.revoke_login_sessions(current_user)
    db.session.commit()
    sessions.sign_out()
    flash(_("You are signed out everywhere, this browser included."), "info")
    return redirect(url_for("main.home"))


# Password reset ------------------------------------------------------------------------


@bp.route("/reset-password", methods=["GET", "POST"])
@form_checks_csrf
@limit("password_reset")
def forgot_password():
    form = ForgotPasswordForm()
    outcome = run_form(form, lambda: services.request_password_reset(form.email.data))
    if outcome.done:
        # The same answer whether or not the address has an account.
        flash(_("If an account exists for %(email)s, we have emailed a link to choose a new password. "
                "It works for an hour.", email=services.normalize_email(form.email.data)), "info")
        return redirect(url_for("accounts.forgot_password"))
    return render("accounts/forgot_password.html", status=outcome.status, form=form)


@bp.route("/reset-password/<token>", methods=["GET", "POST"])
@form_checks_csrf
def reset_password(token: str):
    user = tokens.user_for_reset_token(token)
    if user is None:
        return render("accounts/reset_invalid.html", status=400)
    form = ResetPasswordForm()
    outcome = run_form(form, lambda: services.reset_password(user, form.password.data))
    if not outcome.done:
        return render("accounts/reset_password.html", status=outcome.status, form=form, user=user, token=token)
    sessions.sign_in(user, method="reset")  # every former login session ended with the reset
    refresh()  # the member's own language from now on, this message included
    flash(_("Your new password is set and you are signed in. Every other device where you were signed in "
            "is signed out."), "success")
    return redirect(url_for("main.home"))


# Email confirmation --------------------------------------------------------------------


@bp.get("/confirm-email/<token>")
def confirm_email(token: str):
    user = tokens.user_for_confirm_token(token)
    if user is None:
        return render("accounts/confirm_email.html", status=400, state="invalid")
    newly = services.confirm_email(user)
    db.session.commit()
    signed_in = False
    if newly and not current_user.is_authenticated:
        # The link reached the mailbox: it finishes the sign-up and signs this browser in, once (a
        # second click only says it is done, so a link found later in the mailbox opens nothing).
        signed_in = sessions.sign_in(user, method="confirm") is not None
        refresh()
    return render("accounts/confirm_email.html", state="confirmed" if newly else "already", user=user,
                  signed_in=signed_in)


@bp.post("/account/confirm-email")
@login_required
@limit("resend_confirmation")
def resend_confirmation():
    try:
        services.resend_confirmation(current_user)
        db.session.commit()
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "info")
    else:
        flash(_("We have emailed a new confirmation link to %(email)s.", email=current_user.email), "success")
    return redirect_next("accounts.account")
