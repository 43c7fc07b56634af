"""Markdown rendering: the per-process cache returns what a fresh rendering would, for short texts only;
images load only from the site and the allowed hosts."""

from ideastorm import markdown
from ideastorm.markdown import CACHED_TEXT_MAX, _render_safe, image_allowed, image_hosts, plain_excerpt, render_markdown


def test_a_short_text_is_rendered_once_and_stays_sanitized():
    text = "## Title\n\n<script>alert(1)</script> **bold** [x](javascript:alert(1))"
    first, second = render_markdown(text), render_markdown(text)
    assert first is second  # kept: the same object
    assert "<script>" not in first and "&lt;script&gt;" in first  # shown as text, never run
    assert 'href="javascript' not in first
    assert "<h4>Title</h4>" in first and "<strong>bold</strong>" in first
    assert render_markdown(text, heading_shift=0) != first  # the arguments are part of the key
    assert "<h2>Title</h2>" in render_markdown(text, heading_shift=0)


def test_long_texts_are_not_kept(monkeypatch):
    calls = []
    real = markdown._render
    monkeypatch.setattr(markdown, "_render", lambda text, *args: calls.append(text) or real(text, *args))
    long_text = "word " * (CACHED_TEXT_MAX // 5 + 1)
    render_markdown(long_text)
    render_markdown(long_text)
    assert len(calls) == 2


def test_empty_and_missing_texts():
    assert render_markdown(None) == "" and render_markdown("") == ""
    assert plain_excerpt(None) == ""
    assert plain_excerpt("**Bold** and *more*", length=220) == "Bold and more"


# --- images: only from the site and the allowed hosts ---------------------------------------

LINK_REL = 'rel="nofollow noopener noreferrer ugc"'


def test_an_image_from_an_unknown_host_becomes_a_link_to_it():
    html = render_markdown('![A *chart*](https://tracker.example/p.gif "Sales") and ![](http://x.example/i.png)')
    assert f'<a href="https://tracker.example/p.gif" title="Sales" {LINK_REL}>A chart</a>' in html
    assert f'<a href="http://x.example/i.png" {LINK_REL}>http://x.example/i.png</a>' in html  # no alt: the URL
    assert "<img" not in html


def test_relative_images_load():
    assert '<img src="/logo/a.png" alt="logo">' in render_markdown("![logo](/logo/a.png)")
    assert '<img src="pic.png" alt="x">' in render_markdown("![x](pic.png)")


def test_an_image_inside_a_link_becomes_the_link_text():
    html = render_markdown("[![badge](https://tracker.example/b.svg)](https://example.com/project)")
    assert html == f'<p><a href="https://example.com/project" {LINK_REL}>badge</a></p>\n'


def test_protocol_relative_data_and_odd_addresses_do_not_load():
    for src in ("//tracker.example/p.gif", "data:image/png;base64,AAAA", "https://[::1/x.png",
                "https://images.example.com:99999/a.png"):
        assert "<img" not in _render_safe(f"![x]({src})", 2, ("images.example.com",)), src


def test_allowed_hosts_match_like_csp_host_sources():
    hosts = ("ideastorm.test", "images.example.com", "*.cdn.example.net", "media.example.org:8443")
    assert image_allowed("https://images.example.com/a.png", hosts)
    assert image_allowed("http://IMAGES.example.com/a.png", hosts)
    assert image_allowed("//images.example.com/a.png", hosts)
    assert image_allowed("https://eu.cdn.example.net/a.png", hosts)
    assert not image_allowed("https://cdn.example.net/a.png", hosts)  # *. means a subdomain
    assert not image_allowed("https://evilcdn.example.net/a.png", hosts)
    assert not image_allowed("https://images.example.com.evil.example/a.png", hosts)
    assert not image_allowed("https://images.example.com:8080/a.png", hosts)  # another port
    assert image_allowed("https://media.example.org:8443/a.png", hosts)
    assert not image_allowed("https://media.example.org/a.png", hosts)
    assert not image_allowed("ftp://images.example.com/a.png", hosts)
    assert image_allowed("http://ideastorm.test/static/a.png", hosts)


def test_image_hosts_come_from_the_configuration():
    assert image_hosts() == ()  # outside an app: relative images only
    config = {"BASE_URL": "https://ideas.example.com", "MARKDOWN_IMAGE_HOSTS": ["Images.Example.com", "*.cdn.example"]}
    assert image_hosts(config) == ("ideas.example.com", "images.example.com", "*.cdn.example")
    assert image_hosts({"BASE_URL": "", "MARKDOWN_IMAGE_HOSTS": "a.example, b.example"}) == ("a.example", "b.example")
    for bad in ("a.example b.example;", "https://a.example", "a.example/x", "*", "'self'"):
        try:
            image_hosts({"MARKDOWN_IMAGE_HOSTS": [bad]})
        except ValueError as error:
            assert "MARKDOWN_IMAGE_HOSTS" in str(error)
        else:
            raise AssertionError(f"{bad!r} was accepted")


def test_the_image_hosts_are_part_of_the_cache_key():
    text = "![a](https://images.example.com/a.png)"
    assert "<img" not in _render_safe(text, 2, ())
    assert "<img" in _render_safe(text, 2, ("images.example.com",))
    assert "<img" not in _render_safe(text, 2, ())
