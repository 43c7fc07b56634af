from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, Regexp


class CategoryEditForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(min=2, max=80)])
    description = TextAreaField(
        _l("Description"), validators=[Optional(), Length(max=300)],
        description=_l("One line shown to people choosing a category."),
    )


class CategoryForm(CategoryEditForm):
    slug = StringField(
        _l("Address"),
        validators=[
            Optional(), Length(max=60),
            Regexp(r"^[a-z0-9]+(?:-[a-z0-9]+)*$",
                   message=_l("Use lower-case letters, digits and single hyphens.")),
        ],
        description=_l("Used in links, e.g. /ideas?category=store. Leave empty to derive it from the name."),
    )
