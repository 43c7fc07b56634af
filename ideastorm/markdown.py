"""Markdown to safe HTML: markdown-it with raw HTML off, then nh3 (Ammonia) as the allow-list."""

from __future__ import annotations

import functools
import html
import re

import nh3
from markdown_it import MarkdownIt
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


def _render(text: str, heading_shift: int) -> str:
    tokens = _md.parse(text)
    if heading_shift:
        for token in tokens:
            if token.type in ("heading_open", "heading_close"):
                token.tag = f"h{min(6, int(token.tag[1]) + heading_shift)}"
    return _md.renderer.render(tokens, _md.options, {})


# Rendering depends on the text alone, and the same texts are shown again and again (a thread,
# a list's excerpts): each process keeps the latest results for texts of up to CACHED_TEXT_MAX
# characters (most comments and descriptions), so the cache stays within a few MB.
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


@_kept_when_short
def render_markdown(text: str, heading_shift: int = HEADING_SHIFT) -> Markup:
    """Render member-written Markdown; scripts, event handlers and javascript: links never survive.

    Headings move ``heading_shift`` levels down (``#`` is an ``<h3>``, at most ``<h6>``), so a
    member's text never outranks the page it is shown on.
    """
    html = _render(text, heading_shift)
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
