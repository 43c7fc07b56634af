"""Account forms: fields and their HTML hints. The rules themselves live in services.py."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    PasswordField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.validators import DataRequired, EqualTo, Length
from wtforms.widgets import CheckboxInput, ListWidget

from ..notifications.services import FREQUENCY_LABELS
from .services import EMAIL_MAX, MIN_PASSWORD_LENGTH, NAME_MAX, NAME_MIN, PASSWORD_MAX

_NAME_HINTS = {"required": True, "minlength": NAME_MIN, "maxlength": NAME_MAX}
_NEW_PASSWORD_HINTS = {"required": True, "minlength": MIN_PASSWORD_LENGTH, "maxlength": PASSWORD_MAX}


def _new_password_field(label) -> PasswordField:
    return PasswordField(label, render_kw=_NEW_PASSWORD_HINTS, description=_new_password_hint())


def _new_password_hint():
    return _l("At least %(n)d characters, and not a common or easily guessed password.", n=MIN_PASSWORD_LENGTH)


def _repeat_field(label) -> PasswordField:
    # Typing the password twice is about the form, not a rule of accounts.
    return PasswordField(label, render_kw={"required": True},
                         validators=[EqualTo("password", message=_l("The passwords do not match."))])


class RegisterForm(FlaskForm):
    email = EmailField(_l("Email"), render_kw={"required": True, "maxlength": EMAIL_MAX})
    display_name = StringField(
        _l("Display name"), render_kw=_NAME_HINTS,
        description=_l("Shown next to your ideas and comments."),
    )
    password = _new_password_field(_l("Password"))
    confirm = _repeat_field(_l("Repeat password"))


class LoginForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=EMAIL_MAX)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=PASSWORD_MAX)])
    remember = BooleanField(_l("Remember me"))
    next = HiddenField()


class AccountForm(FlaskForm):
    display_name = StringField(_l("Display name"), render_kw=_NAME_HINTS)
    locale = SelectField(
        _l("Language"),
        choices=[
            SelectChoice("", _l("Same as my browser")),
            SelectChoice("en", "English"),
            SelectChoice("fr", "Français"),
        ],
    )


class PasswordForm(FlaskForm):
    current_password = PasswordField(_l("Current password"),
                                     render_kw={"required": True})
    new_password = PasswordField(_l("New password"), render_kw=_NEW_PASSWORD_HINTS, description=_new_password_hint())
    confirm = PasswordField(
        _l("Repeat new password"), render_kw={"required": True},
        validators=[EqualTo("new_password", message=_l("The passwords do not match."))],
    )


class ForgotPasswordForm(FlaskForm):
    email = EmailField(_l("Email"), render_kw={"required": True, "maxlength": EMAIL_MAX},
                       description=_l("The address you sign in with."))


class ResetPasswordForm(FlaskForm):
    password = _new_password_field(_l("New password"))
    confirm = _repeat_field(_l("Repeat new password"))


class CheckboxListField(SelectMultipleField):
    """A choice of several, as checkboxes (the template lays them out)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


_FREQUENCIES = [SelectChoice(value, label) for value, label in FREQUENCY_LABELS.items()]


class NotificationsForm(FlaskForm):
    """What the member follows automatically and how often they are emailed; two fields are for staff."""

    follow_on_submit = BooleanField(_l("Ideas I submit"))
    follow_on_vote = BooleanField(_l("Ideas I vote on"))
    follow_on_comment = BooleanField(_l("Ideas I comment on"))
    email_status = RadioField(_l("Status changes and merges"), choices=_FREQUENCIES)
    email_comments = RadioField(_l("New comments"), choices=_FREQUENCIES)
    email_mentions = RadioField(_l("Mentions of me"), choices=_FREQUENCIES)
    email_new_ideas = RadioField(_l("New ideas in the categories I watch"), choices=_FREQUENCIES)
    watched_categories = CheckboxListField(_l("Categories I watch"), coerce=int)

    def __init__(self, *args, staff: bool = False, categories=(), **kwargs):
        super().__init__(*args, **kwargs)
        if staff:
            self.watched_categories.choices = [SelectChoice(category.id, category.label) for category in categories]
        else:
            del self.email_new_ideas
            del self.watched_categories
