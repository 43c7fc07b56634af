"""Category forms: fields and their HTML hints; the rules (lengths, address format) live in services.py."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField

from ..ideas.services import SLUG_MAX
from .services import CATEGORY_DESCRIPTION_MAX, CATEGORY_NAME_MAX, CATEGORY_NAME_MIN


class CategoryEditForm(FlaskForm):
    name = StringField(_l("Name"), render_kw={"required": True, "minlength": CATEGORY_NAME_MIN,
                                               "maxlength": CATEGORY_NAME_MAX})
    description = TextAreaField(
        _l("Description"), render_kw={"maxlength": CATEGORY_DESCRIPTION_MAX},
        description=_l("One line shown to people choosing a category."),
    )


class CategoryForm(CategoryEditForm):
    slug = StringField(
        _l("Address"), render_kw={"maxlength": SLUG_MAX, "pattern": "[a-z0-9]+(-[a-z0-9]+)*"},
        description=_l("Used in links, e.g. /ideas?category=store. Leave empty to derive it from the name."),
    )
