"""The rules every piece of text people write obeys, whichever way it comes in (web, CLI, API, worker).

- ``clean_text``: what is stored is what is seen. Characters that show nothing but change how
  text reads (zero-width spaces and joiners, bidirectional overrides and isolates, the soft
  hyphen, Hangul fillers, tag characters, control characters) are removed, line ends become
  ``\\n``, and the text is NFC-normalised. Letters of every script, accents and emoji stay.
- ``visible_length``: how many characters actually show; titles and names need a few.
- ``imitates_staff``: a member's name that reads as the site's team ("Admin", "St4ff",
  "Аdmin" in Cyrillic, "The IdeaStorm Team").
- ``checked``: ``Checks.text`` with the two above, for the services.

Stripped silently: invisible characters inside text that has visible content (a zero-width
space in a comment hurts nobody once gone). Refused: a title or name whose visible part is too
short once they are gone, and a NUL character anywhere in a request (``web.refuse_nul``): no
stored text may hold one, PostgreSQL refuses it, and a form that sends one is not a person typing.
"""

from __future__ import annotations

import re
import unicodedata

ZWNJ, ZWJ = "\u200c", "\u200d"
EMOJI_PRESENTATION = "\ufe0f"
# Letters that draw nothing, used to make names look empty or to pad them.
_INVISIBLE_LETTERS = frozenset("\u115f\u1160\u3164\uffa0")
# Shown as a blank but counted as a symbol by Unicode.
_BLANK_SYMBOLS = frozenset("\u2800")
_LINE_SEPARATORS = frozenset("\u2028\u2029\x85")  # in multi-line text: a line break
_NEWLINES = re.compile(r"\r\n?")
# Combining marks kept on one character: enough for every language (Vietnamese stacks two,
# Indic and Thai scripts a few), not for "Zalgo" text whose hundreds of marks cover the lines around.
MAX_COMBINING_MARKS = 4


def _is_emoji(char: str) -> bool:
    """Pictographs (So) and skin-tone modifiers (Sk, U+1F3FB-1F3FF): what a ZWJ sequence is made of."""
    return unicodedata.category(char) == "So" or "\U0001f3fb" <= char <= "\U0001f3ff"


def _keeps_joiner(joiner: str, before: str, after: str) -> bool:
    """A joiner that builds something stays: ZWJ inside an emoji sequence (👩‍💻), ZWNJ between two
    letters of a script that needs it (Persian ``می‌خواهم``, Hindi). Between Latin letters (``Ad\u200cmin``)
    they only hide things, so they go."""
    if not before or not after:
        return False
    if joiner == ZWJ:
        return (_is_emoji(before) or before == EMOJI_PRESENTATION) and _is_emoji(after)
    return (not before.isascii() and not after.isascii()
            and unicodedata.category(before)[0] in "LM" and unicodedata.category(after)[0] in "LM")


def clean_text(value: str | None, *, multiline: bool = False) -> str:
    """``value`` without invisible formatting, bidirectional or control characters, NFC-normalised.

    Multi-line text (descriptions, comments, responses, notes) keeps its line breaks (``\\r\\n``
    and the Unicode line separators become ``\\n``) and tabs; in one-line text (titles, names,
    tags) a tab or a line break becomes a space. Every other control character (C0, C1, DEL,
    NUL) and every format character (Unicode category Cf: U+200B-U+200F, U+202A-U+202E,
    U+2060-U+2064, U+2066-U+2069, U+061C, U+FEFF, U+180E, U+00AD, tag characters) is
    removed, as are Hangul fillers and lone surrogates; ZWJ and ZWNJ stay only where they
    join (see ``_keeps_joiner``); a character keeps at most ``MAX_COMBINING_MARKS`` combining marks. Outer spaces are left to the caller (``Checks.text`` strips).
    """
    text = _NEWLINES.sub("\n", value or "")
    kept: list[str] = []
    marks = 0  # combining marks in a row, on the last character kept
    for index, char in enumerate(text):
        if char in "\n\t" or char in _LINE_SEPARATORS:
            kept.append("\n" if multiline and char != "\t" else ("\t" if multiline else " "))
            marks = 0
            continue
        category = unicodedata.category(char)
        if category in ("Cc", "Cs") or char in _INVISIBLE_LETTERS:
            continue
        if category in ("Mn", "Me"):
            marks += 1
            if marks > MAX_COMBINING_MARKS:
                continue
        elif category != "Cf":
            marks = 0
        if category == "Cf":
            if char in (ZWJ, ZWNJ):
                after = text[index + 1] if index + 1 < len(text) else ""
                if _keeps_joiner(char, kept[-1] if kept else "", after):
                    kept.append(char)
            continue
        kept.append(char)
    return unicodedata.normalize("NFC", "".join(kept))


def visible_length(value: str | None) -> int:
    """How many characters show: letters, digits, symbols and punctuation; not spaces, combining
    marks, format or control characters, nor the characters that draw nothing (Hangul fillers,
    the blank Braille pattern)."""
    return sum(
        1 for char in value or ""
        if unicodedata.category(char)[0] in "LNSP" and char not in _INVISIBLE_LETTERS and char not in _BLANK_SYMBOLS
    )


# --- names that read as the site's team -----------------------------------------------------

# Reserved words, written without accents, spaces or punctuation (names are compared that way).
RESERVED_NAMES = frozenset({
    "admin", "administrator", "administrateur", "staff", "moderator", "moderateur", "mod", "support",
    "official", "officiel", "team", "equipe", "ideastorm", "rd", "root", "system", "systeme",
    # what a deleted account's ideas and comments are shown under
    "deletedmember", "membresupprime",
})
# A word this long or longer is also refused at the start of the first word or the end of the last
# ("Adminbob", "bobstaff"); shorter ones ("mod", "rd", "team", "root") only as a whole word, else
# "Modeste" or "Rootes" would be refused.
_AFFIX_MIN = 5
# Characters drawn like a Latin letter: digits and signs used as letters, Cyrillic and Greek
# look-alikes (after case folding). Small on purpose: it catches the usual tricks, not every font.
_LOOKALIKES = str.maketrans({
    "0": "o", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "|": "l", "!": "i",
    "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "х": "x", "у": "y", "і": "i", "ј": "j", "ѕ": "s",
    "к": "k", "м": "m", "т": "t", "ԁ": "d", "һ": "h", "α": "a", "ο": "o", "ι": "i", "ν": "v", "ρ": "p",
    "τ": "t", "κ": "k", "ε": "e",
})
_CAMEL_CASE = re.compile(r"(?<=[a-z])(?=[A-Z])")
_WORD_JOINERS = re.compile(r"[&'’]")  # "R&D" is one word, "rd"


def _skeletons(name: str) -> set[str]:
    """``name`` as its words would be read: folded, accents off, look-alikes mapped; "1" read as l or i."""
    text = unicodedata.normalize("NFKC", clean_text(name))
    text = _CAMEL_CASE.sub(" ", text).casefold()
    text = "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")
    text = _WORD_JOINERS.sub("", text).translate(_LOOKALIKES)
    return {text.replace("1", letter) for letter in "li"}


def _words(skeleton: str) -> list[str]:
    return re.findall(r"[^\W_]+", skeleton)


def imitates_staff(name: str | None, *, site_name: str | None = None) -> bool:
    """True when ``name`` could be taken for the site's own team.

    Refused: a name that is a reserved word once squeezed ("A d m i n", "St4ff", "R&D"); whose
    first or last word is one ("Staff Marie", "Marie (Support)", "The IdeaStorm Team",
    "AdminBob"); whose first word starts with, or last word ends with, a reserved word of five
    letters or more ("Administrator2", "Marieadmin"); or that contains the site's name.
    The price: a few genuine names are refused too ("Staffan", "Administration Smith").
    """
    reserved = set(RESERVED_NAMES)
    brand = {"".join(_words(s)) for s in _skeletons(site_name or "")} - {""}
    for skeleton in _skeletons(name or ""):
        words = _words(skeleton)
        if not words:
            continue
        squeezed = "".join(words)
        if squeezed in reserved or any(b in squeezed for b in brand if len(b) >= 3):
            return True
        if words[0] in reserved or words[-1] in reserved:
            return True
        long_words = [word for word in reserved if len(word) >= _AFFIX_MIN]
        if any(words[0].startswith(word) or words[-1].endswith(word) for word in long_words):
            return True
    return False


# --- in the services --------------------------------------------------------------------------

def checked(checks, field: str, value: str | None, *, multiline: bool = False, min_visible: int = 0,
            not_visible: str | None = None, **limits) -> str:
    """``value`` cleaned (``clean_text``), then checked by ``Checks.text`` with ``limits``.

    With ``min_visible``, a text that shows fewer characters than that is refused with
    ``not_visible`` (code ``<field>_not_visible``) when invisible characters were removed from
    it or its length alone would pass: "​​​​a" or "a   b" as a title. A plainly short text
    keeps the length rule's own message.
    """
    raw = unicodedata.normalize("NFC", (value or "").strip())
    cleaned = clean_text(value, multiline=multiline).strip()
    if min_visible and raw and visible_length(cleaned) < min_visible:
        if cleaned != raw or len(cleaned) >= limits.get("minimum", 0):
            checks.fail(field, f"{field}_not_visible", not_visible or limits.get("too_short"))
            return cleaned
    return checks.text(field, cleaned, **limits)
