from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import refresh
from flask_login import current_user, login_required, login_user, logout_user
from flask_login.config import COOKIE_NAME

from ..domain import DomainError
from ..extensions import db
from ..ideas.queries import active_categories
from ..notifications.services import Preferences, preferences_of, save_preferences
from ..web import form_checks_csrf, form_error_status, redirect_next, render, run_form
from . import services, tokens
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
def register():
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = RegisterForm()
    outcome = run_form(form, lambda: services.register(form.email.data, form.display_name.data,
                                                       form.password.data))
    if outcome.done:
        login_user(outcome.result)
        flash(_("Welcome to IdeaStorm, %(name)s!", name=outcome.result.display_name), "success")
        flash(_("We have emailed you a link to confirm your address."), "info")
        return redirect_next("main.home")
    return render_template("accounts/register.html", form=form), outcome.status


@bp.route("/login", methods=["GET", "POST"])
@form_checks_csrf
def login():
    if current_user.is_authenticated:
        return redirect_next("main.home")
    form = LoginForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        result = services.authenticate(form.email.data, form.password.data)
        db.session.commit()
        if result.user:
            login_user(result.user, remember=form.remember.data)
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
    logout_user()
    flash(_("You are signed out."), "info")
    return redirect(url_for("main.home"))


def _remembered() -> bool:
    """Whether this browser holds a remember-me cookie (kept, renewed, across a password change)."""
    return bool(request.cookies.get(current_app.config.get("REMEMBER_COOKIE_NAME", COOKIE_NAME)))


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
        remember = _remembered()
        outcome = run_form(password_form, lambda: services.change_password(
            current_user, password_form.current_password.data, password_form.new_password.data))
        if outcome.done:
            # The session version moved, signing out every session: this one signs in again with the new one.
            login_user(current_user._get_current_object(), remember=remember)
        message = _("Your password is changed. Every other device where you were signed in is signed out.")
    if sent:
        if outcome.done:
            flash(message, "success")
            return redirect(url_for("accounts.account"))
        status = outcome.status
    return render_template(
        "accounts/account.html", profile_form=profile_form, password_form=password_form,
        notifications_form=notifications_form,
    ), status


# Password reset ------------------------------------------------------------------------


@bp.route("/reset-password", methods=["GET", "POST"])
@form_checks_csrf
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
    login_user(user)  # after the commit, so this session carries the new session version
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
    return render("accounts/confirm_email.html", state="confirmed" if newly else "already", user=user)


@bp.post("/account/confirm-email")
@login_required
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
