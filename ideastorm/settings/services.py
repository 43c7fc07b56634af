"""The site's brand (name, logo, accent colour, welcome text), its rules for members, and how they change.

``site_settings()`` is the one way other code reads them (pages, feeds, emails): one primary-key
read per request (cached in ``g`` for the rest of it), so every web worker sees a change at its
next request. Without a row, or while the database cannot answer, the defaults apply.
``save_settings`` checks every field at once, records an audit entry in the same transaction,
flushes and never commits.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import re
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, replace

from flask import current_app, g, has_app_context, has_request_context
from flask_babel import get_locale
from flask_babel import gettext as _
from markupsafe import Markup
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from ..audit.services import record
from ..domain import Checks, DomainError
from ..extensions import db
from ..markdown import render_markdown
from ..text import checked
from .models import SiteSettings

log = logging.getLogger(__name__)

DEFAULT_NAME = "IdeaStorm"
DEFAULT_ACCENT = "#0172ad"  # Pico's own primary colour (light theme, and buttons in both)
NAME_MIN, NAME_MAX = 2, 60
WELCOME_MAX = 5000
MIN_CONTRAST = 4.5  # WCAG AA for normal text: white button text on the accent colour
ACCENT_PATTERN = re.compile(r"^#[0-9a-fA-F]{6}$")
LOGO_NAME = re.compile(r"^logo-[0-9a-f]{16}\.(png|jpg|webp)$")
LOGO_TYPES = {"png": "image/png", "jpg": "image/jpeg", "webp": "image/webp"}
# The lightest surface of Pico's dark theme (a card's header), and the darkest of its light theme:
# links in the accent colour must stay readable on every background of their theme.
DARK_BACKGROUND = (26, 30.5, 40.25)
LIGHT_BACKGROUND = (251, 251.5, 252.25)
WHITE = (255, 255, 255)
BLACK = (0, 0, 0)
_G_KEY = "_site_settings"
_PROCESS_KEY = "ideastorm.site_settings"  # in app.extensions: (monotonic expiry, Brand)


@dataclass(frozen=True)
class Brand:
    """What the pages need of the settings: a plain snapshot, safe to keep after the session ends."""

    name: str = DEFAULT_NAME
    accent: str = DEFAULT_ACCENT
    logo_file: str | None = None
    welcome_en: str | None = None
    welcome_fr: str | None = None
    # Members must confirm their email address before they post, comment or vote.
    require_verified_email: bool = False
    # A member's ideas wait for the team's approval until one of them is approved (staff never wait).
    hold_first_ideas: bool = False
    version: int = 0  # 0: nothing saved yet

    @property
    def logo_type(self) -> str | None:
        return LOGO_TYPES.get(self.logo_file.rsplit(".", 1)[-1]) if self.logo_file else None

    @property
    def custom_accent(self) -> bool:
        return self.accent != DEFAULT_ACCENT

    def welcome(self, locale: str | None = None) -> str | None:
        """The welcome text (Markdown) in ``locale``, else the English one; None: the default text."""
        if locale is None and has_app_context():
            locale = str(get_locale() or "")
        if locale and str(locale).startswith("fr") and self.welcome_fr:
            return self.welcome_fr
        return self.welcome_en or None


DEFAULT_BRAND = Brand()


def welcome_html(brand: Brand | None = None, locale: str | None = None) -> Markup | None:
    """The welcome text as sanitized HTML (its ``#`` heading is the page's ``<h1>``); None: the default."""
    text = (brand or site_settings()).welcome(locale)
    if not text:
        return None
    return render_markdown(text, heading_shift=0)


def _snapshot(row: SiteSettings | None) -> Brand:
    if row is None:
        return DEFAULT_BRAND
    return Brand(name=row.name, accent=row.accent, logo_file=row.logo_file, welcome_en=row.welcome_en,
                 welcome_fr=row.welcome_fr, require_verified_email=bool(row.require_verified_email),
                 hold_first_ideas=bool(row.hold_first_ideas),
                 version=row.version)


def site_settings() -> Brand:
    """The site's settings: the defaults when none are saved.

    In a request: the process's copy while it is younger than SITE_SETTINGS_CACHE_SECONDS,
    else read once for the request. Outside a request (the worker, commands) each call reads
    the row again, so a long-running process never keeps an old brand, unless a block holds
    them (``holding_site_settings``: a batch of emails reads them once).
    """
    cached = g.get(_G_KEY) if has_app_context() else None
    if cached is not None:
        return cached
    if has_request_context():
        kept = current_app.extensions.get(_PROCESS_KEY)
        if kept is not None and kept[0] > time.monotonic():
            setattr(g, _G_KEY, kept[1])
            return kept[1]
    try:
        with db.session.no_autoflush:
            brand = _snapshot(db.session.get(SiteSettings, 1))
    except SQLAlchemyError as error:  # an error page for a broken transaction, or no table yet
        log.warning("site settings unavailable, using the defaults: %s", type(error).__name__)
        return DEFAULT_BRAND
    if has_request_context():
        setattr(g, _G_KEY, brand)
        lifetime = current_app.config["SITE_SETTINGS_CACHE_SECONDS"]
        if lifetime > 0:
            current_app.extensions[_PROCESS_KEY] = (time.monotonic() + lifetime, brand)
    return brand


@contextmanager
def holding_site_settings():
    """Within the block, every ``site_settings()`` of this app context gives the same snapshot."""
    held = g.get(_G_KEY)
    setattr(g, _G_KEY, held or site_settings())
    try:
        yield
    finally:
        if held is None:
            g.pop(_G_KEY, None)


def forget_cached() -> None:
    """After a save: this request and this process read the settings again."""
    if has_app_context():
        g.pop(_G_KEY, None)
        current_app.extensions.pop(_PROCESS_KEY, None)


# Colours --------------------------------------------------------------------------------


def _rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def _hex(rgb) -> str:
    return "#" + "".join(f"{max(0, min(255, round(c))):02x}" for c in rgb)


def _luminance(rgb) -> float:
    def channel(c: float) -> float:
        c = c / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g_, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g_ + 0.0722 * b


def contrast(a, b) -> float:
    """WCAG contrast ratio of two colours (hex strings or RGB tuples), from 1 to 21."""
    la, lb = (_luminance(_rgb(c) if isinstance(c, str) else c) for c in (a, b))
    high, low = max(la, lb), min(la, lb)
    return (high + 0.05) / (low + 0.05)


def _mix(rgb, other, amount: float):
    return tuple(c + (o - c) * amount for c, o in zip(rgb, other))


def _readable(rgb, background, towards, ratio: float = MIN_CONTRAST):
    """``rgb`` mixed with ``towards`` (white or black) just enough to reach ``ratio`` on ``background``."""
    for step in range(41):
        candidate = _mix(rgb, towards, step / 40)
        if contrast(_hex(candidate), background) >= ratio:
            return candidate
    return towards


def _rgba(rgb, alpha: float) -> str:
    r, g_, b = (round(c) for c in rgb)
    return f"rgba({r}, {g_}, {b}, {alpha})"


def brand_stylesheet(brand: Brand) -> str:
    """Pico's primary colours from the accent, for the light and the dark theme.

    Buttons keep white text on the accent (refused below 4.5:1, so readable); hovering darkens
    them. Links use the accent on the light background and a lightened accent, readable at
    4.5:1 or more, on the dark one.
    """
    if not brand.custom_accent:
        return "/* The site uses Pico's own colours. */\n"
    accent = _rgb(brand.accent)
    darker = _mix(accent, BLACK, 0.18)
    light_link = _readable(accent, LIGHT_BACKGROUND, BLACK)
    dark_link = _readable(accent, DARK_BACKGROUND, WHITE)
    dark_hover = _readable(_mix(dark_link, WHITE, 0.3), DARK_BACKGROUND, WHITE)
    common = {
        "--pico-primary-background": _hex(accent),
        "--pico-primary-border": "var(--pico-primary-background)",
        "--pico-primary-hover-background": _hex(darker),
        "--pico-primary-hover-border": "var(--pico-primary-hover-background)",
        "--pico-primary-inverse": "#fff",
    }
    light = {
        "--pico-primary": _hex(light_link),
        "--pico-primary-underline": _rgba(accent, 0.5),
        "--pico-primary-hover": _hex(_mix(light_link, BLACK, 0.18)),
        "--pico-primary-hover-underline": "var(--pico-primary-hover)",
        "--pico-primary-focus": _rgba(accent, 0.5),
        "--pico-text-selection-color": _rgba(accent, 0.25),
        **common,
    }
    dark = {
        "--pico-primary": _hex(dark_link),
        "--pico-primary-underline": _rgba(dark_link, 0.5),
        "--pico-primary-hover": _hex(dark_hover),
        "--pico-primary-hover-underline": "var(--pico-primary-hover)",
        "--pico-primary-focus": _rgba(dark_link, 0.375),
        "--pico-text-selection-color": _rgba(dark_link, 0.1875),
        **common,
    }

    def block(selector: str, values: dict, indent: str = "") -> str:
        body = "".join(f"{indent}  {name}: {value};\n" for name, value in values.items())
        return f"{indent}{selector} {{\n{body}{indent}}}\n"

    return (
        f"/* {brand.accent}: the site's accent colour. */\n"
        + block(":root:not([data-theme=dark]), [data-theme=light]", light)
        + "@media only screen and (prefers-color-scheme: dark) {\n"
        + block(":root:not([data-theme])", dark, "  ")
        + "}\n"
        + block("[data-theme=dark]", dark)
    )


# Logo -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Upload:
    """An uploaded file as the service sees it: no request object."""

    filename: str
    data: bytes


def _image_kind(data: bytes) -> str | None:
    """The image type by its first bytes (the name and the browser's claim are not trusted)."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


def _looks_like_svg(upload: Upload) -> bool:
    head = upload.data[:2048].lstrip().lower()
    name = upload.filename.lower()
    return name.endswith((".svg", ".svgz")) or b"<svg" in head or (
        head.startswith(b"<?xml") and b"svg" in upload.data[:8192].lower()
    )


def uploads_dir() -> str:
    return current_app.config["UPLOADS_DIR"]


def logo_path(name: str) -> str | None:
    """The stored logo's path for a name the site could have given it; None for any other name."""
    if not LOGO_NAME.match(name or ""):
        return None
    return os.path.join(uploads_dir(), name)


def _check_logo(checks: Checks, upload: Upload) -> str | None:
    limit = current_app.config["SITE_LOGO_MAX_BYTES"]
    kind = _image_kind(upload.data)
    if kind is None and _looks_like_svg(upload):
        checks.fail("logo", "logo_svg", _(
            "SVG logos are not accepted, as they can carry scripts: upload a PNG, JPEG or WebP image."))
    elif kind is None:
        checks.fail("logo", "logo_not_image", _(
            "%(file)s is not a PNG, JPEG or WebP image.", file=upload.filename[:80] or _("The file")))
    elif len(upload.data) > limit:
        checks.fail("logo", "logo_too_big", _(
            "The logo is %(size)d KB; at most %(max)d KB is accepted.",
            size=math.ceil(len(upload.data) / 1024), max=limit // 1024))
    return kind


def _store_logo(data: bytes, kind: str) -> str:
    """Write the logo under a name made of its content's hash (so its URL can be cached for ever)."""
    name = f"logo-{hashlib.sha256(data).hexdigest()[:16]}.{kind}"
    folder = uploads_dir()
    os.makedirs(folder, exist_ok=True)
    target = os.path.join(folder, name)
    if not os.path.exists(target):
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=".upload-")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
            os.replace(temporary, target)
        except BaseException:
            if os.path.exists(temporary):
                os.unlink(temporary)
            raise
    return name


# Changes --------------------------------------------------------------------------------


def _clean_accent(checks: Checks, accent: str | None) -> str:
    accent = (accent or "").strip()
    if not ACCENT_PATTERN.match(accent):
        checks.fail("accent", "accent_invalid", _("Give the colour as # and six hexadecimal digits, e.g. #0172ad."))
        return DEFAULT_ACCENT
    accent = accent.lower()
    ratio = contrast(accent, WHITE)
    if ratio < MIN_CONTRAST:
        checks.fail("accent", "accent_low_contrast", _(
            "%(colour)s is too light: white text on it has a contrast of %(ratio)s:1, and at least "
            "%(minimum)s:1 is needed. Choose a darker colour.",
            colour=accent, ratio=f"{math.floor(ratio * 100) / 100:.2f}", minimum=MIN_CONTRAST))
    return accent


def _state(brand: Brand) -> dict:
    return {"name": brand.name, "accent": brand.accent, "logo": brand.logo_file,
            "welcome_en": brand.welcome_en, "welcome_fr": brand.welcome_fr,
            "require_verified_email": brand.require_verified_email, "hold_first_ideas": brand.hold_first_ideas}


def save_settings(actor, *, name: str, accent: str, welcome_en: str | None = None,
                  welcome_fr: str | None = None, logo: Upload | None = None,
                  remove_logo: bool = False, require_verified_email: bool | None = None,
                  hold_first_ideas: bool | None = None) -> Brand:
    """Change the site's settings; every field is checked before anything changes.

    Name 2-60 characters; accent ``#rrggbb`` giving white text 4.5:1 or more; welcome texts
    Markdown up to 5,000 characters each (empty: the default text); logo a PNG, JPEG or WebP
    (by its bytes, not its name) up to ``SITE_LOGO_MAX_BYTES``, SVG refused. A new logo wins
    over ``remove_logo``. ``require_verified_email``, ``hold_first_ideas``: None keeps the stored choice.
    """
    checks = Checks()
    name = " ".join(checked(
        checks, "name", name, min_visible=NAME_MIN, minimum=NAME_MIN, maximum=NAME_MAX,
        not_visible=_("The site's name needs at least %(n)d visible characters.", n=NAME_MIN),
        required=_("The site needs a name."),
        too_short=_("The site's name has at least %(n)d characters.", n=NAME_MIN),
        too_long=_("The site's name has at most %(n)d characters.", n=NAME_MAX),
    ).split())
    accent = _clean_accent(checks, accent)
    texts = {}
    for field, value in (("welcome_en", welcome_en), ("welcome_fr", welcome_fr)):
        # Line breaks are stored as one character (browsers send two, and count one for maxlength).
        texts[field] = checked(
            checks, field, value, multiline=True, maximum=WELCOME_MAX,
            too_long=_("A welcome text has at most %(n)d characters.", n=WELCOME_MAX),
        ) or None
    kind = _check_logo(checks, logo) if logo is not None else None  # an empty file is no image
    checks.done()

    row = db.session.get(SiteSettings, 1)
    before = _snapshot(row)
    logo_file = before.logo_file
    if kind is not None:
        logo_file = _store_logo(logo.data, kind)
    elif remove_logo:
        logo_file = None
    if require_verified_email is None:
        require_verified_email = before.require_verified_email
    if hold_first_ideas is None:
        hold_first_ideas = before.hold_first_ideas
    after = replace(before, name=name, accent=accent, logo_file=logo_file,
                    require_verified_email=bool(require_verified_email), hold_first_ideas=bool(hold_first_ideas),
                    **texts)
    if after == before:
        return before
    if row is None:
        row = SiteSettings(id=1, version=0)
        db.session.add(row)
    row.name, row.accent, row.logo_file = after.name, after.accent, after.logo_file
    row.welcome_en, row.welcome_fr = after.welcome_en, after.welcome_fr
    row.require_verified_email = after.require_verified_email
    row.hold_first_ideas = after.hold_first_ideas
    # Atomic, so two saves at once still give two versions (and two stylesheet URLs).
    row.version = 1 if before.version == 0 else SiteSettings.version + 1
    old, new = _state(before), _state(after)
    changed = [key for key in new if old[key] != new[key]]
    record(actor, "site.settings", ("site_settings", 1),
           before={key: old[key] for key in changed}, after={key: new[key] for key in changed})
    try:
        with db.session.begin_nested():  # two administrators saving the very first settings at once
            db.session.flush()
    except IntegrityError:
        raise DomainError("settings_conflict", _("The settings were saved by someone else at the same "
                                                 "moment: look at them and save again."), status=409) from None
    db.session.refresh(row, ["version"])
    forget_cached()
    return replace(after, version=row.version)
