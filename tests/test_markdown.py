"""Markdown rendering: the per-process cache returns what a fresh rendering would, for short texts only."""

from ideastorm import markdown
from ideastorm.markdown import CACHED_TEXT_MAX, plain_excerpt, render_markdown


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
    monkeypatch.setattr(markdown, "_render", lambda text, shift: calls.append(text) or real(text, shift))
    long_text = "word " * (CACHED_TEXT_MAX // 5 + 1)
    render_markdown(long_text)
    render_markdown(long_text)
    assert len(calls) == 2


def test_empty_and_missing_texts():
    assert render_markdown(None) == "" and render_markdown("") == ""
    assert plain_excerpt(None) == ""
    assert plain_excerpt("**Bold** and *more*", length=220) == "Bold and more"
