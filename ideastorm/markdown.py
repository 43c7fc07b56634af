"""Markdown to safe HTML: markdown-it with raw HTML off, then nh3 (Ammonia) as the allow-list.

Images load only from the site itself and the hosts an operator allowed (``MARKDOWN_IMAGE_HOSTS``,
which the Content-Security-Policy's ``img-src`` lists too): any other image is shown as a plain
link to it, so reading a page never calls a stranger's server (a tracking pixel, an IP logger).
"""

from __future__ import annotations

import functools
import html
import re
from collections.abc import Mapping
from urllib.parse import urlsplit

import nh3
from flask import current_app, has_app_context
from markdown_it import MarkdownIt
from markdown_it.token import Token
from markupsafe import Markup

_md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable(
    ["table", "strikethrough"]
)

ALLOWED_TAGS = {
    "a", "p", "br", "hr", "strong", "em", "del", "s", "code", "pre", "blockquote",
    "ul", "ol", "li", "h1", "h2", "h3", "h4", "h5", "h6",
    "table", "thead", "tbody", "tr", "th", "td", "img",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "ol": {"start"},
    "th": {"align"},
    "td": {"align"},
    "code": {"class"},
}
ALLOWED_SCHEMES = {"http", "https", "mailto"}


HEADING_SHIFT = 2  # a member's "# Title" is an <h3>: below the page's own <h1> and section <h2>s


# An allowed image host: a name (``images.example.com``), or ``*.`` and a name for its subdomains
# (as in CSP), with an optional port. Nothing else, as each goes into the CSP header as it is.
_HOST = re.compile(r"(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*(:[0-9]{1,5})?")


def image_hosts(config: Mapping | None = None) -> tuple[str, ...]:
    """The hosts Markdown images may load from, besides relative addresses: BASE_URL's, then MARKDOWN_IMAGE_HOSTS.

    ``config`` defaults to the current app's (none outside an app: only relative images load).
    Raises ValueError for an entry that is not a host name.
    """
    if config is None:
        if not has_app_context():
            return ()
        config = current_app.config
    listed = config.get("MARKDOWN_IMAGE_HOSTS") or ()
    if isinstance(listed, str):  # IDEASTORM_MARKDOWN_IMAGE_HOSTS=a.example,b.example (not JSON)
        listed = listed.replace(",", " ").split()
    return _image_hosts(str(config.get("BASE_URL") or ""), tuple(str(host) for host in listed))


@functools.lru_cache(maxsize=32)
def _image_hosts(base_url: str, listed: tuple[str, ...]) -> tuple[str, ...]:
    own = urlsplit(base_url).netloc.lower()
    hosts = [own] if _HOST.fullmatch(own) else []  # 'self' covers the usual case; this, a page served elsewhere
    for entry in listed:
        host = entry.strip().lower()
        if not _HOST.fullmatch(host):
            raise ValueError(f"MARKDOWN_IMAGE_HOSTS: {entry!r} is not a host name (like images.example.com)")
        if host not in hosts:
            hosts.append(host)
    return tuple(hosts)


def image_allowed(src: str, hosts: tuple[str, ...]) -> bool:
    """True if an image at ``src`` may load: a relative address, or http(s) on one of ``hosts``."""
    try:
        parts = urlsplit(src.strip())
        port = str(parts.port or "")
    except ValueError:  # a malformed port or IPv6 address
        return False
    if not parts.scheme and not parts.netloc:
        return True  # a path on our own server
    if parts.scheme not in ("", "http", "https") or not parts.hostname:
        return False
    return any(_host_matches(parts.hostname, port, host) for host in hosts)


def _host_matches(hostname: str, port: str, allowed: str) -> bool:
    """CSP's host-source rule: ``*.name`` is any subdomain of name, and a port must be named to be allowed."""
    name, _, allowed_port = allowed.partition(":")
    if port != allowed_port:
        return False
    return hostname.endswith(name[1:]) if name.startswith("*.") else hostname == name


def _images_as_links(inline: Token, hosts: tuple[str, ...]) -> None:
    """Replace each image not allowed to load by a link to it (by its text alone inside a link)."""
    children, depth = [], 0
    for token in inline.children or []:
        depth += {"link_open": 1, "link_close": -1}.get(token.type, 0)
        if token.type != "image" or image_allowed(token.attrGet("src") or "", hosts):
            children.append(token)
            continue
        src = str(token.attrGet("src") or "")
        label = _md.renderer.renderInlineAsText(token.children or [], _md.options, {}) or src
        text = Token("text", "", 0, content=label)
        if depth:  # an image inside a link: a link cannot hold another
            children.append(text)
            continue
        attrs = {"href": src, **({"title": token.attrGet("title")} if token.attrGet("title") else {})}
        children += [Token("link_open", "a", 1, attrs=attrs), text, Token("link_close", "a", -1)]
    inline.children = children


def _render(text: str, heading_shift: int, hosts: tuple[str, ...] = ()) -> str:
    tokens = _md.parse(text)
    for token in tokens:
        if heading_shift and token.type in ("heading_open", "heading_close"):
            token.tag = f"h{min(6, int(token.tag[1]) + heading_shift)}"
        elif token.type == "inline":
            _images_as_links(token, hosts)
    return _md.renderer.render(tokens, _md.options, {})


# Rendering depends on the text alone (and the image hosts, part of the key), and the same texts are
# shown again and again (a thread, a list's excerpts): each process keeps the latest results for
# texts of up to CACHED_TEXT_MAX characters (most comments and descriptions), so the cache stays
# within a few MB.
RENDER_CACHE_SIZE = 2048
CACHED_TEXT_MAX = 2000


def _kept_when_short(function):
    """``function(text, ...)`` kept per process (LRU) when the text has at most CACHED_TEXT_MAX characters."""
    cached = functools.lru_cache(maxsize=RENDER_CACHE_SIZE)(function)

    @functools.wraps(function)
    def call(text: str | None, *args, **kwargs):
        text = text or ""
        return (cached if len(text) <= CACHED_TEXT_MAX else function)(text, *args, **kwargs)

    return call


def render_markdown(text: str | None, heading_shift: int = HEADING_SHIFT) -> Markup:
    """Render member-written Markdown; scripts, event handlers and javascript: links never survive.

    Headings move ``heading_shift`` levels down (``#`` is an ``<h3>``, at most ``<h6>``), so a
    member's text never outranks the page it is shown on. Images from a host not in
    ``image_hosts()`` become links.
    """
    return _render_safe(text, heading_shift, image_hosts())


@_kept_when_short
def _render_safe(text: str, heading_shift: int, hosts: tuple[str, ...]) -> Markup:
    html = _render(text, heading_shift, hosts)
    clean = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=ALLOWED_SCHEMES,
        link_rel="nofollow noopener noreferrer ugc",
        strip_comments=True,
    )
    return Markup(clean)


_BLOCK_TAG = re.compile(r"</?(?:p|li|ul|ol|h[1-6]|br|hr|blockquote|pre|table|tr|td|th)\b[^>]*>")
_INLINE_TAG = re.compile(r"<[^>]+>")


@_kept_when_short
def plain_excerpt(text: str, length: int = 220) -> str:
    """A short plain-text summary of Markdown, for lists and meta tags."""
    flat = " ".join(html.unescape(_INLINE_TAG.sub("", _BLOCK_TAG.sub(" ", _md.render(text)))).split())
    if len(flat) <= length:
        return flat
    return flat[: length - 1].rsplit(" ", 1)[0] + "…"
