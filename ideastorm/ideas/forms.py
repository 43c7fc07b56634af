from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, ValidationError

from .queries import active_categories
from .services import DESCRIPTION_MAX, TITLE_MAX, TITLE_MIN, IdeaError, normalize_tags


def _int_or_none(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class IdeaForm(FlaskForm):
    title = StringField(
        _l("Title"),
        validators=[DataRequired(), Length(min=TITLE_MIN, max=TITLE_MAX)],
        description=_l("One sentence that says what you would like, %(min)d to %(max)d characters.",
                       min=TITLE_MIN, max=TITLE_MAX),
    )
    description = TextAreaField(
        _l("Description"),
        validators=[DataRequired(), Length(max=DESCRIPTION_MAX)],
        description=_l("Why it matters and how it could work. Markdown is supported."),
    )
    category = SelectField(_l("Category"), coerce=_int_or_none)
    tags = StringField(
        _l("Tags"), validators=[Length(max=300)],
        description=_l("Up to 5, separated by commas."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.category.choices = [SelectChoice("", _l("Choose a category…"))] + [
            SelectChoice(c.id, c.name) for c in active_categories()
        ]

    def validate_category(self, field):
        if field.data is None:
            raise ValidationError(_l("Choose one of the categories."))

    def validate_tags(self, field):
        try:
            normalize_tags(field.data)
        except IdeaError as error:
            raise ValidationError(str(error)) from None
