"""Site settings: the brand an administrator gives the site (name, logo, accent colour, welcome text),
as every page, the feeds and the brand stylesheet show it; and categories in both languages."""

from __future__ import annotations

import html
import io
import re
import struct
import time
import zlib

import feedparser
import pytest
from sqlalchemy import select

from ideastorm.audit.models import AuditEntry
from ideastorm.extensions import db
from ideastorm.ideas.models import Category
from ideastorm.settings.models import SiteSettings
from ideastorm.settings.services import (
    DEFAULT_ACCENT,
    DEFAULT_BRAND,
    Brand,
    DEFAULT_NAME,
    brand_stylesheet,
    contrast,
    save_settings,
    site_settings,
)

TITLE = re.compile(r"<title>(.*?)</title>", re.S)
FIX_FIELDS = "Please correct the highlighted fields."


def png_bytes(width: int = 2, height: int = 1) -> bytes:
    """A real (tiny) PNG."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + b"\x01\x72\xad" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 64 + b"\xff\xd9"
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 28
SVG = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


@pytest.fixture
def uploads(app, tmp_path):
    folder = tmp_path / "uploads"
    app.config["UPLOADS_DIR"] = str(folder)
    return folder


@pytest.fixture
def admin(make_user, auth, uploads):
    user = make_user("admin", name="Ada Admin")
    auth.login(user)
    return user


def _form(**changes) -> dict:
    data = {"name": "Acme Ideas", "accent": "#7a1f5c", "welcome_en": "", "welcome_fr": ""}
    data.update(changes)
    return data


def _save(client, **changes):
    data = _form(**changes)
    data["csrf_token"] = client.csrf_token()
    return client.post("/admin/settings", data=data, content_type="multipart/form-data")


def _stored() -> SiteSettings | None:
    db.session.expire_all()
    return db.session.get(SiteSettings, 1)


def _title(body: str) -> str:
    return TITLE.search(body).group(1).strip()


# Access ---------------------------------------------------------------------------------


def test_admin_sees_the_settings_page_with_the_defaults(client, admin):
    response = client.get("/admin/settings")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert _title(page) == "Site settings · Administration · IdeaStorm"
    assert 'value="IdeaStorm"' in page and f'value="{DEFAULT_ACCENT}"' in page
    assert 'enctype="multipart/form-data"' in page and 'name="logo"' in page
    assert 'href="/admin/settings" aria-current="page"' in page  # the admin navigation's link
    assert "/admin/settings" in client.get("/admin").get_data(as_text=True)


@pytest.mark.parametrize("role", ["member", "staff"])
def test_members_and_staff_are_forbidden(client, make_user, auth, role):
    auth.login(make_user(role))
    assert client.get("/admin/settings").status_code == 403
    assert client.post_form("/admin/settings", _form()).status_code == 403
    assert _stored() is None


def test_visitor_is_sent_to_login(client):
    response = client.get("/admin/settings")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login?next=")
    assert client.post_form("/admin/settings", _form()).status_code == 302
    assert _stored() is None


def test_a_forged_token_changes_nothing(client, admin):
    response = client.post("/admin/settings", data={**_form(), "csrf_token": "forged"})
    assert response.status_code == 400
    assert "Your form expired" in response.get_data(as_text=True)
    assert _stored() is None


# Saving ---------------------------------------------------------------------------------


def test_saving_brands_every_page_and_is_audited(client, admin):
    response = _save(client, welcome_en="# Welcome to Acme\n\nTell us **what to build**.")
    assert response.status_code == 302 and response.headers["Location"] == "/admin/settings"
    stored = _stored()
    assert (stored.name, stored.accent, stored.version) == ("Acme Ideas", "#7a1f5c", 1)
    [entry] = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "site.settings")).all()
    assert entry.actor_id == admin.id and entry.target_type == "site_settings"
    assert entry.before["name"] == "IdeaStorm" and entry.after["name"] == "Acme Ideas"
    assert entry.after["accent"] == "#7a1f5c" and "welcome_fr" not in entry.after  # only what changed

    assert "The site settings are saved." in client.get("/admin/settings").get_data(as_text=True)
    home = client.get("/").get_data(as_text=True)
    assert _title(home).endswith(" · Acme Ideas")
    assert 'class="brand"><strong>Acme Ideas</strong></a>' in home
    assert '<link rel="stylesheet" href="/brand.css?v=1">' in home
    assert "<h1>Welcome to Acme</h1>" in home and "<strong>what to build</strong>" in home
    assert "Shape what we build next" not in home

    # Saving the same values again is no change: no new version, no audit entry.
    assert _save(client, welcome_en="# Welcome to Acme\n\nTell us **what to build**.").status_code == 302
    assert _stored().version == 1
    assert len(db.session.scalars(select(AuditEntry).where(AuditEntry.action == "site.settings")).all()) == 1


def test_the_site_name_is_in_the_feed_titles(client, admin):
    _save(client)
    for url, title in (("/feeds/ideas.atom", "New ideas on Acme Ideas"),
                       ("/feeds/implemented.atom", "Implemented ideas on Acme Ideas")):
        feed = feedparser.parse(client.get(url).get_data())
        assert not feed.bozo and feed.feed.title == title


BAD_INPUTS = [
    ({"name": "A"}, "name", "The site's name has at least 2 characters."),
    ({"name": "   "}, "name", "The site needs a name."),
    ({"name": "x" * 61}, "name", "The site's name has at most 60 characters."),
    ({"accent": "red"}, "accent", "Give the colour as # and six hexadecimal digits"),
    ({"accent": "#12345g"}, "accent", "Give the colour as # and six hexadecimal digits"),
    ({"accent": "#ffcc00"}, "accent", "#ffcc00 is too light: white text on it has a contrast of 1.51:1"),
    ({"accent": "#2f81f7"}, "accent", "contrast of 3.7"),  # a mid blue, just below 4.5:1
    ({"welcome_fr": "x" * 5001}, "welcome_fr", "A welcome text has at most 5000 characters."),
]


@pytest.mark.parametrize(("changes", "field", "message"), BAD_INPUTS)
def test_bad_inputs_are_refused_and_keep_what_is_stored(client, admin, changes, field, message):
    assert _save(client, name="Stored Name", accent="#1f5c3a").status_code == 302
    response = _save(client, **{"name": "Other Name", **changes})
    page = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 422
    assert FIX_FIELDS in page and f'id="{field}-error"' in page and message in page
    stored = _stored()
    assert (stored.name, stored.accent, stored.version) == ("Stored Name", "#1f5c3a", 1)
    assert " · Stored Name</title>" in page  # the page still shows the stored brand


def _save_logo(client, data: bytes, filename: str, **changes):
    form = _form(**changes)
    form["csrf_token"] = client.csrf_token()
    form["logo"] = (io.BytesIO(data), filename)
    return client.post("/admin/settings", data=form, content_type="multipart/form-data")


@pytest.mark.parametrize(("data", "filename", "extension", "mimetype"), [
    (png_bytes(), "logo.png", "png", "image/png"),
    (png_bytes(), "logo.jpg", "png", "image/png"),  # a PNG named .jpg is a PNG
    (JPEG, "logo.jpeg", "jpg", "image/jpeg"),
    (WEBP, "logo.webp", "webp", "image/webp"),
])
def test_a_logo_is_stored_by_its_hash_and_served_with_its_type(client, admin, uploads, data, filename,
                                                              extension, mimetype):
    assert _save_logo(client, data, filename).status_code == 302
    name = _stored().logo_file
    assert re.fullmatch(rf"logo-[0-9a-f]{{16}}\.{extension}", name)
    assert (uploads / name).read_bytes() == data

    home = client.get("/").get_data(as_text=True)
    assert f'<img src="/logo/{name}" alt="" class="brand-logo"><strong>Acme Ideas</strong>' in home
    with client.get(f"/logo/{name}") as response:
        assert response.status_code == 200 and response.mimetype == mimetype
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert "max-age=31536000" in response.headers["Cache-Control"]
        assert response.get_data() == data


def test_the_logo_can_be_removed_and_is_then_not_served(client, admin):
    _save_logo(client, png_bytes(), "logo.png")
    name = _stored().logo_file
    page = client.get("/admin/settings").get_data(as_text=True)
    assert f'src="/logo/{name}"' in page and 'name="remove_logo"' in page
    assert _save(client, remove_logo="y").status_code == 302
    assert _stored().logo_file is None
    assert "brand-logo" not in client.get("/").get_data(as_text=True)
    assert client.get(f"/logo/{name}").status_code == 404


def test_only_the_current_logo_name_is_served(client, admin):
    assert client.get("/logo/logo-0123456789abcdef.png").status_code == 404
    assert client.get("/logo/..%2Fideastorm.db").status_code == 404
    assert client.get("/logo/config.py").status_code == 404


@pytest.mark.parametrize(("data", "filename", "message"), [
    (b"just some text, not an image", "notes.png", "notes.png is not a PNG, JPEG or WebP image."),
    (b"GIF89a\x01\x00\x01\x00", "anim.gif", "anim.gif is not a PNG, JPEG or WebP image."),
    (b"", "empty.png", "empty.png is not a PNG, JPEG or WebP image."),  # a file chosen, no bytes
    (SVG, "logo.svg", "SVG logos are not accepted"),
    (SVG, "logo.png", "SVG logos are not accepted"),  # an SVG by any other name
    (png_bytes() + b"\x00" * (20 * 1024), "big.png", "The logo is 21 KB; at most 20 KB is accepted."),
])
def test_bad_logos_are_refused_and_keep_what_is_stored(app, client, admin, uploads, data, filename, message):
    assert app.config["SITE_LOGO_MAX_BYTES"] == 512 * 1024
    app.config["SITE_LOGO_MAX_BYTES"] = 20 * 1024  # small, so the test's upload stays in memory
    assert _save(client, name="Stored Name").status_code == 302
    response = _save_logo(client, data, filename, name="Other Name")
    page = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 422
    assert 'id="logo-error"' in page and message in page
    stored = _stored()
    assert (stored.name, stored.logo_file) == ("Stored Name", None)
    assert not uploads.exists() or not any(uploads.iterdir())


def test_every_refusal_is_shown_at_once(client, admin):
    response = _save_logo(client, b"text", "a.png", name="A", accent="#ffffff")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    for field in ("name", "accent", "logo"):
        assert f'id="{field}-error"' in page, field


# Welcome text in each language -------------------------------------------------------------


def test_welcome_text_in_the_readers_language_with_fallbacks(client, admin):
    french = {"Accept-Language": "fr"}
    # Nothing saved: the standard text, in both languages.
    assert "Shape what we build next" in client.get("/").get_data(as_text=True)
    _save(client, welcome_en="# Hello customers", welcome_fr="# Bonjour clients")
    auth_free = client.application.test_client()
    assert "<h1>Hello customers</h1>" in auth_free.get("/").get_data(as_text=True)
    page = auth_free.get("/", headers=french).get_data(as_text=True)
    assert "<h1>Bonjour clients</h1>" in page and "Hello customers" not in page
    # No French text: French readers get the English one.
    _save(client, welcome_en="# Hello customers", welcome_fr="")
    assert "<h1>Hello customers</h1>" in auth_free.get("/", headers=french).get_data(as_text=True)
    # A text without a heading gets the site's name as the page heading.
    _save(client, welcome_en="Just a paragraph.")
    page = auth_free.get("/").get_data(as_text=True)
    assert "<h1>Acme Ideas</h1>" in page and "<p>Just a paragraph.</p>" in page


def test_a_welcome_text_at_the_limit_with_line_breaks_is_accepted(client, admin):
    """A browser sends each line break as two characters; it counted one against maxlength."""
    lines = ["x" * 99] * 50  # 50 lines of 99 characters: 4,999 with the line breaks
    text = "\r\n".join(lines)
    assert len(text.replace("\r\n", "\n")) == 4999 and len(text) > 5000
    assert _save(client, welcome_en=text).status_code == 302
    assert _stored().welcome_en == "\n".join(lines)


def test_welcome_text_is_sanitized(client, admin):
    _save(client, welcome_en="# Hi\n\n<script>alert(1)</script> [x](javascript:alert(1)) <img src=x onerror=alert(1)>")
    page = client.get("/").get_data(as_text=True)
    assert "<h1>Hi</h1>" in page and "&lt;script&gt;alert(1)" in page  # shown as text, never run
    assert "<script>alert" not in page and 'href="javascript' not in page and "<img" not in page


# The brand stylesheet -------------------------------------------------------------------


def test_the_brand_stylesheet_carries_the_colour(client, admin):
    with client.get("/brand.css?v=0") as default:
        assert default.mimetype == "text/css" and "--pico-primary" not in default.get_data(as_text=True)
    _save(client, accent="#7A1F5C")
    assert _stored().accent == "#7a1f5c"
    with client.get("/brand.css?v=1") as response:
        css = response.get_data(as_text=True)
        assert response.status_code == 200 and response.mimetype == "text/css"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert "immutable" in response.headers["Cache-Control"]
    assert "--pico-primary: #7a1f5c;" in css and "--pico-primary-background: #7a1f5c;" in css
    assert "--pico-primary-hover-background:" in css and "--pico-primary-focus:" in css
    assert "prefers-color-scheme: dark" in css and "[data-theme=dark]" in css
    with client.get("/brand.css?v=0") as stale:  # an old version's URL is not cached for ever
        assert stale.headers["Cache-Control"] == "no-cache"


@pytest.mark.parametrize("accent", ["#7a1f5c", "#0b3d91", "#1f5c3a", "#595959", "#000000", "#c2410c", "#767676"])
def test_every_accepted_colour_is_readable_in_both_themes(app, accent):
    css = brand_stylesheet(Brand(accent=accent))
    light, dark = css.split("@media", 1)
    light_primary = re.search(r"--pico-primary: (#[0-9a-f]{6});", light).group(1)
    dark_primary = re.search(r"--pico-primary: (#[0-9a-f]{6});", dark).group(1)
    button = re.search(r"--pico-primary-hover-background: (#[0-9a-f]{6});", light).group(1)
    background = re.search(r"--pico-primary-background: (#[0-9a-f]{6});", light).group(1)
    assert background == accent and contrast(background, "#ffffff") >= 4.5  # white text on buttons
    assert contrast(button, "#ffffff") >= 4.5  # a hovered button
    assert contrast(light_primary, (251, 251.5, 252.25)) >= 4.5  # links on every light surface
    assert contrast(dark_primary, (26, 30.5, 40.25)) >= 4.5  # links on every dark surface


# Reading the settings -------------------------------------------------------------------


def test_site_settings_defaults_then_the_saved_row(app, make_user, uploads):
    assert site_settings() == DEFAULT_BRAND and DEFAULT_BRAND.name == DEFAULT_NAME
    brand = save_settings(make_user("admin"), name="  Acme \t Ideas\x00 ", accent="#0B3D91")
    db.session.commit()
    assert (brand.name, brand.accent, brand.version) == ("Acme Ideas", "#0b3d91", 1)
    assert site_settings() == brand
    with app.test_request_context("/"):
        assert site_settings() == brand  # read once, then kept for the request
        save_settings(None, name="Renamed", accent="#0b3d91")
        assert site_settings().name == "Renamed"  # a change drops what the request kept
        assert site_settings().version == 2
    db.session.rollback()


def test_a_change_is_seen_by_the_next_request_once_nothing_is_kept(app, client, make_user, uploads):
    """With no process copy (the tests' setting), the row is read at each request."""
    assert " · IdeaStorm</title>" in client.get("/").get_data(as_text=True)
    save_settings(make_user("admin"), name="Changed Elsewhere", accent=DEFAULT_ACCENT)
    db.session.commit()
    assert " · Changed Elsewhere</title>" in client.get("/").get_data(as_text=True)


def test_each_process_keeps_the_settings_a_few_seconds(app, client, make_user, uploads, monkeypatch):
    """Another process's save shows once this process's copy is older than the setting; a save
    made in this process shows at its next request."""
    import ideastorm.settings.services as services

    app.config["SITE_SETTINGS_CACHE_SECONDS"] = 5
    now = [1000.0]
    monkeypatch.setattr(services.time, "monotonic", lambda: now[0])
    assert " · IdeaStorm</title>" in client.get("/").get_data(as_text=True)
    # Another web process saves: the row changes, this process is not told.
    db.session.add(SiteSettings(id=1, name="Elsewhere", accent=DEFAULT_ACCENT))
    db.session.commit()
    now[0] += 4
    assert " · IdeaStorm</title>" in client.get("/").get_data(as_text=True)
    now[0] += 2
    assert " · Elsewhere</title>" in client.get("/").get_data(as_text=True)
    # A save here is seen at once, whatever the copy's age.
    save_settings(make_user("admin"), name="Here", accent=DEFAULT_ACCENT)
    db.session.commit()
    assert " · Here</title>" in client.get("/").get_data(as_text=True)


# Categories in both languages --------------------------------------------------------------


def _category(slug: str) -> Category:
    db.session.expire_all()
    return db.session.scalar(select(Category).where(Category.slug == slug))


def test_category_french_name_is_edited_in_admin_and_shown_to_french_readers(client, admin, make_idea):
    category = _category("store")
    prefix = f"category-{category.id}"
    response = client.post(f"/admin/categories/{category.id}", data={
        f"{prefix}-name": "Online store", f"{prefix}-description": "Buying online.",
        f"{prefix}-name_fr": "Boutique en ligne", f"{prefix}-description_fr": "Acheter en ligne.",
        f"{prefix}-csrf_token": client.csrf_token(),
    })
    assert response.status_code == 302
    category = _category("store")
    assert (category.name_fr, category.description_fr) == ("Boutique en ligne", "Acheter en ligne.")
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "category.update")).one()
    assert entry.before["name_fr"] is None and entry.after["name_fr"] == "Boutique en ligne"
    page = client.get("/admin/categories").get_data(as_text=True)
    assert 'value="Boutique en ligne"' in page

    visitor = client.application.test_client()
    store_link = '<a href="/ideas?category=store">{}</a>'
    english = visitor.get("/").get_data(as_text=True)
    assert store_link.format("Online store") in english and "Boutique en ligne" not in english
    french = visitor.get("/", headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert store_link.format("Boutique en ligne") in french
    # A category without a French name shows its English name to French readers.
    assert '<a href="/ideas?category=products">Products</a>' in french


def test_category_french_name_in_the_feed(client, make_idea):
    category = _category("products")
    category.name_fr = "Produits"
    db.session.commit()
    make_idea(category="products")
    english = client.get("/feeds/ideas.atom").get_data(as_text=True)
    french = client.get("/feeds/ideas.atom", headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert 'label="Products"' in english and 'label="Produits"' in french


def test_a_new_category_can_have_a_french_name_and_the_rules_apply(client, admin):
    response = client.post_form("/admin/categories", {"name": "Hardware", "name_fr": "Matériel",
                                                      "description_fr": "Les appareils."})
    assert response.status_code == 302
    assert (_category("hardware").name_fr, _category("hardware").description_fr) == ("Matériel", "Les appareils.")
    response = client.post_form("/admin/categories", {"name": "Shipping", "name_fr": "M"})
    assert response.status_code == 422
    assert 'id="name_fr-error"' in response.get_data(as_text=True)
    response = client.post_form("/admin/categories", {"name": "Shipping", "name_fr": "matériel"})
    assert response.status_code == 422 and "Another category is already named" in response.get_data(as_text=True)


def test_display_name_falls_back_to_english(app):
    category = Category(slug="x", name="Hardware", description="Devices.", name_fr=None)
    assert category.display_name("fr") == "Hardware" and category.display_description("fr") == "Devices."
    category.name_fr, category.description_fr = "Matériel", "Appareils."
    assert category.display_name("fr") == "Matériel" and category.display_name("fr_CA") == "Matériel"
    assert category.display_name("en") == "Hardware" and category.display_description("fr") == "Appareils."


def test_demo_seed_gives_the_default_categories_french_names(app):
    from ideastorm.demo.seed import add_french_category_names

    add_french_category_names()
    db.session.commit()
    assert _category("support").name_fr == "Assistance et services"
    assert _category("other").description_fr
