"""Category and site settings forms: fields and their HTML hints; the rules live in services.py."""

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, StringField, TextAreaField
from wtforms.fields import ColorField

from ..ideas.services import SLUG_MAX
from ..settings.services import NAME_MAX, NAME_MIN, WELCOME_MAX
from .services import CATEGORY_DESCRIPTION_MAX, CATEGORY_NAME_MAX, CATEGORY_NAME_MIN


class CategoryEditForm(FlaskForm):
    name = StringField(_l("Name"), render_kw={"required": True, "minlength": CATEGORY_NAME_MIN,
                                               "maxlength": CATEGORY_NAME_MAX})
    description = TextAreaField(
        _l("Description"), render_kw={"maxlength": CATEGORY_DESCRIPTION_MAX},
        description=_l("One line shown to people choosing a category."),
    )
    name_fr = StringField(_l("Name in French"), render_kw={"maxlength": CATEGORY_NAME_MAX, "lang": "fr"},
                          description=_l("Leave empty to show the English name to French readers."))
    description_fr = TextAreaField(_l("Description in French"),
                                   render_kw={"maxlength": CATEGORY_DESCRIPTION_MAX, "lang": "fr"})


class CategoryForm(CategoryEditForm):
    slug = StringField(
        _l("Address"), render_kw={"maxlength": SLUG_MAX, "pattern": "[a-z0-9]+(-[a-z0-9]+)*"},
        description=_l("Used in links, e.g. /ideas?category=store. Leave empty to derive it from the name."),
    )


class SiteSettingsForm(FlaskForm):
    name = StringField(_l("Site name"), render_kw={"required": True, "minlength": NAME_MIN, "maxlength": NAME_MAX},
                       description=_l("Shown in the header, in every page's title and in the feeds."))
    logo = FileField(_l("Logo"), render_kw={"accept": "image/png,image/jpeg,image/webp"})
    remove_logo = BooleanField(_l("Remove the logo"))
    accent = ColorField(_l("Accent colour"),
                        description=_l("Buttons and links. White text must stay readable on it (contrast 4.5:1)."))
    welcome_en = TextAreaField(_l("Welcome text in English"), render_kw={"maxlength": WELCOME_MAX, "rows": 4},
                               description=_l("Markdown, shown at the top of the home page. Start with a "
                                              "# heading line. Empty: the standard text."))
    welcome_fr = TextAreaField(_l("Welcome text in French"),
                               render_kw={"maxlength": WELCOME_MAX, "rows": 4, "lang": "fr"},
                               description=_l("Shown to French readers; empty: the English text."))
    require_verified_email = BooleanField(
        _l("Members must confirm their email address before they post, comment or vote"),
        description=_l("Off by default. A member whose address is not confirmed then sees a notice on every "
                       "page, with a button that emails the link again; reading stays open to everyone."),
    )
    hold_first_ideas = BooleanField(
        _l("Hold new members' first ideas for approval"),
        description=_l("Off by default. A member's ideas then stay hidden until the team approves one of them "
                       "(Triage, \"Waiting for approval\"); after that their ideas are published at once. "
                       "Staff are never held."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.logo.description = _("A PNG, JPEG or WebP image of at most %(n)d KB, shown beside the name.",
                                  n=current_app.config["SITE_LOGO_MAX_BYTES"] // 1024)
