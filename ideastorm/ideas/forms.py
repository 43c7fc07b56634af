"""The idea form: fields and their HTML hints. The rules live in services.py."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectField, StringField, TextAreaField

from .queries import active_categories
from .services import DESCRIPTION_MAX, TAGS_TEXT_MAX, TITLE_MAX, TITLE_MIN


def _int_or_none(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class IdeaForm(FlaskForm):
    title = StringField(
        _l("Title"), render_kw={"required": True, "minlength": TITLE_MIN, "maxlength": TITLE_MAX},
        description=_l("One sentence that says what you would like, %(min)d to %(max)d characters.",
                       min=TITLE_MIN, max=TITLE_MAX),
    )
    description = TextAreaField(
        _l("Description"), render_kw={"required": True, "maxlength": DESCRIPTION_MAX},
        description=_l("Why it matters and how it could work. Markdown is supported."),
    )
    category = SelectField(_l("Category"), coerce=_int_or_none, validate_choice=False,
                           render_kw={"required": True})
    tags = StringField(
        _l("Tags"), render_kw={"maxlength": TAGS_TEXT_MAX},
        description=_l("Up to 5, separated by commas."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.category.choices = [SelectChoice("", _l("Choose a category…"))] + [
            SelectChoice(c.id, c.label) for c in active_categories()
        ]
