from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import refresh
from flask_login import current_user, login_required, login_user, logout_user

from ..extensions import db
from ..web import form_checks_csrf, form_error_status, redirect_next, run_form
from . import services
from .forms import AccountForm, LoginForm, PasswordForm, RegisterForm

bp = Blueprint("accounts", __name__)


@bp.route("/register", methods=["GET", "POST"])
@form_checks_csrf
def register():
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = RegisterForm()
    outcome = run_form(form, lambda: services.create_user(form.email.data, form.display_name.data,
                                                          form.password.data))
    if outcome.done:
        login_user(outcome.result)
        flash(_("Welcome to IdeaStorm, %(name)s!", name=outcome.result.display_name), "success")
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


@bp.route("/account", methods=["GET", "POST"])
@login_required
@form_checks_csrf
def account():
    profile_form = AccountForm(obj=current_user, prefix="profile")
    password_form = PasswordForm(prefix="password")
    status = 200
    if request.method == "POST":
        if "profile-display_name" in request.form:
            outcome = run_form(profile_form, lambda: services.update_profile(
                current_user, profile_form.display_name.data, profile_form.locale.data))
            message = _("Your profile is saved.")
        else:
            outcome = run_form(password_form, lambda: services.change_password(
                current_user, password_form.current_password.data, password_form.new_password.data))
            message = _("Your password is changed.")
        if outcome.done:
            flash(message, "success")
            return redirect(url_for("accounts.account"))
        status = outcome.status
    return render_template(
        "accounts/account.html", profile_form=profile_form, password_form=password_form,
    ), status
