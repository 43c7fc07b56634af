from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, NumberRange, Optional, StopValidation

from ..domain import ID_MAX
from ..i18n import STATUS_LABELS
from ..ideas.queries import active_categories
from .services import NOTE_MAX, RESPONSE_MAX

# Fields and their HTML hints; the rules (response and note lengths, what a status may
# become, what may be merged) live in services.py.


def _status_choices(blank=None):
    choices = [SelectChoice("", blank)] if blank else []
    return choices + [SelectChoice(value, label) for value, label in STATUS_LABELS.items() if value != "duplicate"]


class StatusForm(FlaskForm):
    status = SelectField(_l("New status"), validators=[DataRequired()])
    response = TextAreaField(
        _l("Official response"), render_kw={"maxlength": RESPONSE_MAX},
        description=_l("Shown publicly on the idea's timeline. Markdown is supported."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.status.choices = _status_choices()


def _idea_number_in_range(form, field) -> None:
    """Refuse numbers no idea has before NumberRange sees them: it passes them to math.isnan, which
    raises OverflowError for an integer of 309 digits or more (a 500 instead of a message)."""
    if isinstance(field.data, int) and not 1 <= field.data <= ID_MAX:
        raise StopValidation(field.gettext("Number must be between %(min)s and %(max)s.")
                             % {"min": 1, "max": ID_MAX})


class DuplicateForm(FlaskForm):
    original_id = IntegerField(
        _l("Number of the original idea"),
        validators=[DataRequired(), _idea_number_in_range, NumberRange(min=1, max=ID_MAX)],
        description=_l("Its votes move there; a member who voted on both keeps their vote on the original."),
    )
    response = TextAreaField(_l("Official response"), render_kw={"maxlength": RESPONSE_MAX})


class NoteForm(FlaskForm):
    body = TextAreaField(_l("Internal note"), render_kw={"required": True, "maxlength": NOTE_MAX},
                         description=_l("Staff only: never shown to members."))


class BulkForm(FlaskForm):
    status = SelectField(_l("Set status"), validators=[Optional()])
    response = TextAreaField(_l("Shared official response"), render_kw={"maxlength": RESPONSE_MAX})
    category = SelectField(_l("Set category"), validators=[Optional()])
    tag = StringField(_l("Add tag"), validators=[Optional()])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.status.choices = _status_choices(blank=_l("Keep status"))
        self.category.choices = [SelectChoice("", _l("Keep category"))] + [
            SelectChoice(str(c.id), c.label) for c in active_categories()
        ]
