from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import TextAreaField

from .services import BODY_MAX


class CommentForm(FlaskForm):
    """The comment box; the rules (not empty, at most BODY_MAX characters) live in services.py."""

    body = TextAreaField(
        _l("Your comment"), id="comment-body",  # not "body": the staff panel's note box has that name too
        render_kw={"required": True, "maxlength": BODY_MAX},
        description=_l("Markdown is supported."),
    )
