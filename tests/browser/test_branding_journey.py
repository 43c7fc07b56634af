"""An administrator brands the site in the browser: name, logo, colour, welcome text; visitors see it."""

from __future__ import annotations

import struct
import zlib

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def logo_png(size: int = 96, colour=(122, 31, 92)) -> bytes:
    """A round badge with a light centre, as an RGBA PNG (made by hand: no imaging library needed)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    rows = []
    centre = (size - 1) / 2
    for y in range(size):
        row = bytearray(b"\x00")
        for x in range(size):
            distance = ((x - centre) ** 2 + (y - centre) ** 2) ** 0.5
            if distance <= size * 0.2:
                row += bytes((255, 214, 102, 255))
            elif distance <= size / 2:
                row += bytes((*colour, 255))
            else:
                row += b"\x00\x00\x00\x00"
        rows.append(bytes(row))
    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"".join(rows)))
            + chunk(b"IEND", b""))


def test_an_administrator_brands_the_site(app, make_user, new_context, log_in, tmp_path):
    app.config["UPLOADS_DIR"] = str(tmp_path / "uploads")
    admin = make_user("admin", name="Ada Lovelace")
    page = new_context(viewport={"width": 1280, "height": 900}).new_page()
    log_in(page, admin)
    page.goto("/admin")
    page.locator("nav.admin-nav").get_by_role("link", name="Site settings").click()
    expect(page).to_have_title("Site settings · Administration · IdeaStorm")

    page.get_by_label("Site name").fill("Acme Ideas")
    page.get_by_label("Accent colour").fill("#ffcc00")  # too light for white button text
    page.get_by_role("button", name="Save the settings").click()
    expect(page.locator("#accent-error")).to_contain_text("#ffcc00 is too light")

    page.get_by_label("Site name").fill("Acme Ideas")
    page.get_by_label("Accent colour").fill("#7a1f5c")
    page.get_by_label("Logo", exact=True).set_input_files(
        files=[{"name": "acme.png", "mimeType": "image/png", "buffer": logo_png()}])
    page.get_by_label("Welcome text in English").fill("# Welcome to Acme\n\nTell us what to build next.")
    page.get_by_role("button", name="Save the settings").click()
    expect(page.locator(".flash-success")).to_contain_text("The site settings are saved.")

    visitor = new_context(viewport={"width": 390, "height": 800}).new_page()
    visitor.goto("/")
    expect(visitor).to_have_title("Ideas from our customers · Acme Ideas")
    expect(visitor.locator("header .brand")).to_have_text("Acme Ideas")
    logo = visitor.locator("header .brand img.brand-logo")
    expect(logo).to_be_visible()
    assert visitor.evaluate("() => document.querySelector('header .brand img').naturalWidth") == 96
    expect(visitor.get_by_role("heading", level=1)).to_have_text("Welcome to Acme")
    button = visitor.locator("main .hero a[role=button]").first
    expect(button).to_have_css("background-color", "rgb(122, 31, 92)")
    assert visitor.evaluate("document.documentElement.scrollWidth <= innerWidth")
