"""The account-deletion form: one field, the member's password (or email address); the rule is in services.py."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import Length

from ..accounts.services import EMAIL_MAX, PASSWORD_MAX


class DeletePasswordForm(FlaskForm):
    """For an account with a password: the password proves it is the member at the keyboard."""

    confirmation = PasswordField(_l("Your password"), render_kw={"required": True, "maxlength": PASSWORD_MAX},
                                 validators=[Length(max=PASSWORD_MAX)])


class DeleteEmailForm(FlaskForm):
    """For an account without a password (single sign-on, made by an operator): its email address, typed."""

    confirmation = StringField(_l("Your email address"), render_kw={"required": True, "maxlength": EMAIL_MAX,
                                                                    "autocomplete": "off"},
                               validators=[Length(max=EMAIL_MAX)])


def deletion_form(user) -> FlaskForm:
    return DeletePasswordForm() if user.password_hash is not None else DeleteEmailForm()
