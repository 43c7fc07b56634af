from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import TextAreaField

from .services import BODY_MAX


class CommentForm(FlaskForm):
    """The comment box; the rules (not empty, at most BODY_MAX characters) live in services.py."""

    body = TextAreaField(
        _l("Your comment"), render_kw={"required": True, "maxlength": BODY_MAX},
        description=_l("Markdown is supported."),
    )
