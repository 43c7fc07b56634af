"""Form pieces shared by every feature."""

from flask_wtf import FlaskForm


class ActionForm(FlaskForm):
    """A button that only needs a CSRF token (vote, log out, ...)."""
