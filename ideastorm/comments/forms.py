from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import TextAreaField
from wtforms.validators import DataRequired, Length

from .services import BODY_MAX


class CommentForm(FlaskForm):
    body = TextAreaField(
        _l("Your comment"), validators=[DataRequired(), Length(max=BODY_MAX)],
        description=_l("Markdown is supported."),
    )
