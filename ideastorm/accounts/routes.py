from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from ..security.permissions import is_safe_next
from ..web import form_checks_csrf, form_error_status
from . import services
from .forms import AccountForm, LoginForm, PasswordForm, RegisterForm

bp = Blueprint("accounts", __name__)


def _next_url(default: str = "main.home") -> str:
    target = request.values.get("next")
    return target if is_safe_next(target) else url_for(default)


@bp.route("/register", methods=["GET", "POST"])
@form_checks_csrf
def register():
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = RegisterForm()
    if form.validate_on_submit():
        try:
            user = services.create_user(form.email.data, form.display_name.data, form.password.data)
        except services.AccountError as error:  # lost a race with an identical sign-up
            form.email.errors.append(str(error))
        else:
            login_user(user)
            flash(_("Welcome to IdeaStorm, %(name)s!", name=user.display_name), "success")
            return redirect(_next_url())
    status = form_error_status(form) if form.is_submitted() else 200
    return render_template("accounts/register.html", form=form), status


@bp.route("/login", methods=["GET", "POST"])
@form_checks_csrf
def login():
    if current_user.is_authenticated:
        return redirect(_next_url())
    form = LoginForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        result = services.authenticate(form.email.data, form.password.data)
        if result.user:
            login_user(result.user, remember=form.remember.data)
            flash(_("You are signed in."), "success")
            return redirect(_next_url())
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
        form = profile_form if "profile-display_name" in request.form else password_form
        if form.validate_on_submit():
            try:
                if form is profile_form:
                    services.update_profile(current_user, form.display_name.data, form.locale.data)
                    flash(_("Your profile is saved."), "success")
                else:
                    services.change_password(current_user, form.current_password.data, form.new_password.data)
                    flash(_("Your password is changed."), "success")
                return redirect(url_for("accounts.account"))
            except services.AccountError as error:
                getattr(form, error.field).errors.append(str(error))
        status = form_error_status(form)
    return render_template(
        "accounts/account.html", profile_form=profile_form, password_form=password_form,
    ), status
