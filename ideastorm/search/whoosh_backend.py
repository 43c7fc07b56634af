"""The embedded search backend: a Whoosh index in a folder beside the database.

Layout: ``<SEARCH_INDEX_DIR>/CURRENT`` names the generation folder in use (``gen-…``);
``rebuild`` builds a new generation beside it and swaps the pointer atomically, so readers
never see a half-built index. Whoosh allows one writer per index: writers take its lock with
a short blocking wait, and a writer that finds the pointer moved while it waited starts again
on the new generation, so no write lands in an index that was just replaced.

Bilingual analysis: words are lower-cased, then each position holds the word's English and
French stems, of the word as written and of the word accent-folded, every stem accent-folded
(each distinct form once): ``idée``, ``idee`` and ``idées`` all reach ``ide``; ``exporting``
and ``exportations`` both reach ``export``. Stemming only after folding is not enough, as the
French stemmer reads accents (``améliorées`` gives ``amélior``, ``ameliorees`` gives
``ameliore``): a word typed without its accents is stemmed like the folded form of the
written one, and the written one also keeps the stems of its accents. A query word looks for
any of its forms, so one posting list per form serves both languages (less work than a field
per language). Matching uses one ``text`` field (title included); a title match then counts
extra in the ranking. No stop words are removed from the index, so phrases stay exact; a few
function words are left out of the free words of a query instead. An unstemmed (folded)
``words`` field feeds "did you mean".
"""

from __future__ import annotations

import fcntl
import heapq
import logging
import os
import re
import shutil
import threading
import time
import unicodedata
from bisect import bisect_left
from collections import Counter
from collections.abc import Callable, Collection, Iterable
from contextlib import contextmanager
from dataclasses import asdict
from datetime import datetime, timezone
from functools import lru_cache
from itertools import chain

from flask_babel import gettext as _
from markupsafe import Markup, escape
from whoosh import index as whoosh_index
from whoosh import query as wq
from whoosh.analysis import CharsetFilter, Filter, LowercaseFilter, RegexTokenizer
from whoosh.fields import ID, KEYWORD, NUMERIC, STORED, TEXT, Schema
from whoosh.index import EmptyIndexError, LockError
from whoosh.lang import stemmer_for_language
from whoosh.qparser import AndGroup, OrGroup, PlusMinusPlugin, QueryParser
from whoosh.qparser import plugins as qplugins
from whoosh.reading import ReaderClosed
from whoosh.scoring import BM25F
from whoosh.searching import Searcher
from whoosh.support.charset import accent_map

from ..markdown import plain_excerpt
from .interface import IdeaDocument, IndexBusy, SearchHit, SearchQuery, SearchResults, SearchUnavailable
from .ranking import final_score

log = logging.getLogger(__name__)

POINTER = "CURRENT"
MARKER = "INDEXED_THROUGH"  # in each generation folder: the highest outbox event id its writes reflect
WRITE_LOCK = "WRITELOCK"  # the name of Whoosh's write lock (ix.lock)...
LOCK_FILE = "MAIN_WRITELOCK"  # ...and its file in each generation folder ("<index name>_WRITELOCK")
MAX_QUERY_CHARS = 200
MAX_FREE_WORDS = 16
SNIPPET_CHARS = 220
STORED_COMMENTS_CHARS = 4000
LOCK_TIMEOUT = 2.0  # seconds a writer waits for another process's commit
TITLE_BOOST = 3.0
SCORE_DIRECTLY = 500  # at most this many matches are scored one by one (see _ranked)
TITLE_BONUS = 4.0  # added to a match's score per query word in its title
TERM_CACHE = 64  # posting lists kept as sets per index generation
# Left out of a query's free words (never out of the index or of "phrases"): they match
# nearly every idea and carry no meaning on their own.
STOP_WORDS = frozenset("""
a an and are as at be by for from in is of on or the to with
au aux d de des du en et l la le les un une pour par sur dans que qui
""".split())
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_WORD = re.compile(r"\w+", re.UNICODE)
_FREE_WORD = re.compile(r'(?<![\w"])([-+]?)(\w+)', re.UNICODE)
_OPERATORS = {"AND", "OR", "NOT", "ANDNOT", "ANDMAYBE"}


_STEMMERS = {lang: stemmer_for_language(lang) for lang in ("en", "fr")}


def _unaccent(text: str) -> str:
    """Accent folding, as ``CharsetFilter(accent_map)`` does it (``é`` → ``e``, ``ç`` → ``c``)."""
    return text.translate(accent_map)


@lru_cache(maxsize=200_000)
def _stems(word: str) -> tuple[str, ...]:
    """The index forms of one lower-cased word: the English and French stems of the word as
    written and of the word accent-folded, each stem folded, each distinct form once (the
    stems of the folded word first). A word without accents has just its English and French
    stems, as when only folded words were stemmed; one with accents may add up to two more."""
    folded = _unaccent(word)
    forms = [_unaccent(_STEMMERS[lang](folded)) for lang in ("en", "fr")]
    if folded != word:
        forms += [_unaccent(_STEMMERS[lang](word)) for lang in ("en", "fr")]
    return tuple(dict.fromkeys(forms))


class BilingualStemFilter(Filter):
    """Indexes each lower-cased word's forms (see ``_stems``) at the word's position, so one
    posting list per form serves both languages and phrases keep their positions."""

    def __call__(self, tokens):
        for token in tokens:
            if token.stopped:
                yield token
                continue
            for stem in _stems(token.text):
                token.text = stem
                yield token


LOWER = RegexTokenizer() | LowercaseFilter()
FOLD = LOWER | CharsetFilter(accent_map)
BILINGUAL = LOWER | BilingualStemFilter()  # folding happens in the stem filter (see _stems)
FACET_FIELDS = {"status": "status", "category": "category", "tag": "tag"}
# Queries are parsed on lower-cased words (accents kept, so that they can be stemmed as
# written too), then each word becomes its forms (see _stemmed): the same ones as the index.
_QUERY_SCHEMA = Schema(text=TEXT(analyzer=LOWER, multitoken_query="and"))


def make_schema() -> Schema:
    return Schema(
        id=ID(stored=True, unique=True),
        title=TEXT(analyzer=BILINGUAL),  # only to rank title matches higher
        text=TEXT(analyzer=BILINGUAL),  # title, description, tags, category, status, author, comments
        words=TEXT(analyzer=FOLD, phrase=False, spelling=True),  # unstemmed: "did you mean"
        status=ID(),
        category=ID(),
        tag=KEYWORD(commas=True),
        score=NUMERIC(int, bits=64, signed=True, sortable=True),
        created=NUMERIC(int, bits=64, signed=False, sortable=True),
        doc=STORED(),
    )


def edit_distance(a: str, b: str) -> int:
    """Optimal-string-alignment distance: insertions, deletions, substitutions, transpositions."""
    previous, current = None, list(range(len(b) + 1))
    for i, char_a in enumerate(a, 1):
        before, previous, current = previous, current, [i] + [0] * len(b)
        for j, char_b in enumerate(b, 1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char_a != char_b))
            if before and i > 1 and j > 1 and char_a == b[j - 2] and a[i - 2] == char_b:
                current[j] = min(current[j], before[j - 2] + 1)
    return current[-1]


def _epoch(moment: datetime) -> int:
    return int(moment.replace(tzinfo=timezone.utc).timestamp() * 1_000_000)


def _fields(document: IdeaDocument) -> dict:
    """The Whoosh fields of one document; ``doc`` stores what a hit and ``verify`` need."""
    body = plain_excerpt(document.description, length=20_000)
    searchable = "\n".join([
        document.title, body, " ".join(document.tags), " ".join(t.replace("-", " ") for t in document.tags),
        document.category_name, document.status.replace("_", " "), document.author_name, document.comments,
    ])
    stored = asdict(document)
    stored.update(
        body=body, comments=document.comments[:STORED_COMMENTS_CHARS], fingerprint=document.fingerprint(),
        created_at=document.created_at.isoformat(), updated_at=document.updated_at.isoformat(),
    )
    del stored["description"]
    return dict(
        id=str(document.id), title=document.title, text=searchable, words=f"{document.title}\n{body}",
        status=document.status, category=document.category_slug or "-", tag=",".join(document.tags),
        score=document.score, created=_epoch(document.created_at), doc=stored,
    )


def _any_form(word: str, field: str, boost: float = 1.0):
    terms = [wq.Term(field, form, boost=boost) for form in _stems(word)]
    return terms[0] if len(terms) == 1 else wq.Or(terms)


def _stemmed(node, field: str = "text"):
    """The parsed (lower-cased) query with every word replaced by its forms, on ``field``."""
    if isinstance(node, wq.Term):
        return _any_form(node.text, field, node.boost)
    if isinstance(node, wq.Phrase):
        forms = [_stems(word) for word in node.words]
        if all(len(word_forms) == 1 for word_forms in forms):
            return wq.Phrase(field, [word_forms[0] for word_forms in forms], slop=node.slop, boost=node.boost)
        # Every position of the index holds all the forms of its word: the phrase matches when
        # each of its positions holds one of the forms of the phrase's word there, whichever.
        return wq.Sequence([_any_form(word, field) for word in node.words], slop=node.slop, boost=node.boost)
    return node.apply(lambda child: _stemmed(child, field))


def _positive_words(node) -> list[str]:
    """The lower-cased words a query looks for (excluded words are neither highlighted nor boosted)."""
    if isinstance(node, wq.Not):
        return []
    if isinstance(node, wq.Term):
        return [node.text]
    if isinstance(node, wq.Phrase):
        return list(node.words)
    if isinstance(node, wq.AndNot):
        return _positive_words(node.a)
    return [word for child in node.children() for word in _positive_words(child)]


def _positive_stems(parsed) -> set[str]:
    return {stem for word in _positive_words(parsed) for stem in _stems(word)} if parsed is not None else set()


class PopularBM25F(BM25F):
    """BM25F raised by the idea's votes (``ranking.final_score``), through Whoosh's ``final`` hook.

    ``votes`` maps the searcher's document numbers to vote scores (``_Generation.votes``).
    """

    use_final = True

    def __init__(self, votes, **options):
        super().__init__(**options)
        self.votes = votes

    def final(self, searcher, docnum, score):
        return final_score(score, self.votes[docnum])


def _ranking(parsed, matching):
    """Title matches count extra: an optional part of the ranking query (it matches nothing by itself)."""
    stems = sorted(_positive_stems(parsed))
    if not stems:
        return matching
    return wq.AndMaybe(matching, wq.Or([wq.Term("title", stem, boost=TITLE_BOOST) for stem in stems]))


def _posting_ids(matcher) -> list[int]:
    """Every document id of one term's postings, a block at a time (Whoosh's own all_ids() steps
    one posting at a time). Ids of deleted documents are included: callers intersect."""
    leaf = getattr(matcher, "child", matcher)  # under the filter Whoosh adds for deletions
    if not hasattr(leaf, "_read_ids"):
        return list(matcher.all_ids())
    ids: list[int] = []
    while leaf.is_active():
        if leaf._ids is None:
            leaf._read_ids()
        ids.extend(leaf._ids[leaf._i:leaf._blocklength])
        leaf._i = leaf._blocklength - 1
        leaf.next()
    return ids


@lru_cache(maxsize=200_000)
def _fold(word: str) -> str:
    return next((t.text for t in FOLD(word)), "")


def _scores(searcher, ranking, docnums: Collection[int]) -> dict[int, float]:
    """The ranking scores of exactly these documents: the matcher skips to each one in turn,
    instead of stepping through every document the words match (most fail the filters)."""
    scores: dict[int, float] = {}
    context = searcher.context(needs_current=True)
    ordered = sorted(docnums)
    for leaf, offset in searcher.leaf_searchers():
        end = offset + leaf.doc_count_all()
        local = [d - offset for d in ordered[bisect_left(ordered, offset):bisect_left(ordered, end)]]
        if not local:
            continue
        matcher = ranking.matcher(leaf, context)
        for docnum in local:
            if not matcher.is_active():
                break
            if matcher.id() < docnum:
                matcher.skip_to(docnum)
            if matcher.is_active() and matcher.id() == docnum:
                scores[docnum + offset] = matcher.score()
    return scores


def _matches(text: str, stems: set[str]) -> list[tuple[int, int]]:
    """The spans of the words of ``text`` whose forms (as the index has them) include one of ``stems``."""
    spans = []
    for match in _WORD.finditer(text):
        if not stems.isdisjoint(_stems(match.group().lower())):
            spans.append(match.span())
    return spans


def _mark(text: str, spans: list[tuple[int, int]], start: int = 0, end: int | None = None) -> Markup:
    end = len(text) if end is None else end
    parts, position = [], start
    for span_start, span_end in spans:
        if span_start < start or span_end > end:
            continue
        parts.append(escape(text[position:span_start]))
        parts.append(Markup("<mark>%s</mark>") % text[span_start:span_end])
        position = span_end
    parts.append(escape(text[position:end]))
    return Markup("").join(parts)


def _snippet(text: str, spans: list[tuple[int, int]]) -> Markup:
    """About SNIPPET_CHARS characters around the first match (or the beginning), cut at spaces."""
    if len(text) <= SNIPPET_CHARS:
        return _mark(text, spans)
    first = spans[0][0] if spans else 0
    start = max(0, first - SNIPPET_CHARS // 4)
    if start:
        space = text.find(" ", start, first)
        start = space + 1 if space != -1 else start
    end = min(len(text), start + SNIPPET_CHARS)
    if end < len(text):
        space = text.rfind(" ", start, end)
        end = space if space > first else end
    marked = _mark(text, spans, start, end)
    return Markup("%s%s%s") % ("…" if start else "", marked, "…" if end < len(text) else "")


def clean_text(text: str) -> tuple[str, str | None]:
    """Control characters out, NFC, at most MAX_QUERY_CHARS; a message when the text was shortened."""
    text = unicodedata.normalize("NFC", _CONTROL.sub(" ", text or "")).strip()
    if len(text) > MAX_QUERY_CHARS:
        cut = text[:MAX_QUERY_CHARS].rsplit(" ", 1)[0] or text[:MAX_QUERY_CHARS]
        return cut, _("Your search was too long: only its first %(n)d characters were used.", n=len(cut))
    return text, None


def _without_stop_words(text: str) -> str:
    """Drop function words from the free (unquoted) words, unless nothing else would remain."""
    outside = text.split('"')[::2]
    free = [w for part in outside for _sign, w in _FREE_WORD.findall(part)]
    if all(w.lower() in STOP_WORDS or w in _OPERATORS for w in free):
        return text
    pieces = text.split('"')
    for i in range(0, len(pieces), 2):
        pieces[i] = _FREE_WORD.sub(
            lambda m: "" if not m.group(1) and m.group(2).lower() in STOP_WORDS else m.group(0), pieces[i]
        )
    if len(pieces) % 2 == 0:  # an unclosed quote: the rest is a phrase
        pieces.append("")
    return '"'.join(pieces)


def _parser(group) -> QueryParser:
    parser = QueryParser("text", _QUERY_SCHEMA, group=group)
    for plugin in (qplugins.WildcardPlugin, qplugins.FieldsPlugin, qplugins.RangePlugin,
                   qplugins.SingleQuotePlugin, qplugins.BoostPlugin, qplugins.EveryPlugin):
        parser.remove_plugin_class(plugin)
    parser.add_plugin(PlusMinusPlugin())
    return parser


def _hit(stored: dict, stems: set[str]) -> SearchHit:
    body_spans = _matches(stored["body"], stems)
    source, spans = stored["body"], body_spans
    if not body_spans and stored["comments"]:
        comment_spans = _matches(stored["comments"], stems)
        if comment_spans:
            source, spans = stored["comments"], comment_spans
    return SearchHit(
        id=stored["id"], title=stored["title"],
        title_html=_mark(stored["title"], _matches(stored["title"], stems)),
        snippet_html=_snippet(source, spans), status=stored["status"],
        category_slug=stored["category_slug"], category_name=stored["category_name"], tags=tuple(stored["tags"]),
        author_id=stored["author_id"], author_name=stored["author_name"], score=stored["score"],
        promote_count=stored["promote_count"], demote_count=stored["demote_count"],
        comment_count=stored["comment_count"], created_at=datetime.fromisoformat(stored["created_at"]),
    )


def _segment_key(reader):
    """Segments never change once written (deletions aside, which never match): cache by their id."""
    segment = reader.segment() if hasattr(reader, "segment") else None
    return segment.segment_id() if segment is not None else id(reader)


class _Generation:
    """Per searcher generation: docnum sets per filter value and sort keys, built from per-segment caches."""

    def __init__(self, searcher, segments: dict):
        self.searcher = searcher
        self.leaves = [(s.reader(), offset) for s, offset in (searcher.leaf_searchers())]
        self.segments = segments
        self.sets: dict[tuple[str, str], set[int]] = {}
        self.keys: dict[str, list[int]] = {}
        self.values_by_doc: dict[str, list] = {}
        self.terms: dict[tuple[str, str], set[int]] = {}
        self.everything: set[int] | None = None

    def _segment(self, reader) -> dict:
        key = _segment_key(reader)
        if key not in self.segments:
            self.segments[key] = {"sets": {}, "keys": {}, "per_doc": {}}
        return self.segments[key]

    def _segment_sets(self, reader, field: str) -> dict[str, set[int]]:
        cache = self._segment(reader)["sets"]
        if field not in cache:
            cache[field] = {
                value.decode() if isinstance(value, bytes) else value:
                    set(reader.postings(field, value).all_ids())
                for value in reader.lexicon(field)
            }
        return cache[field]

    def docs_with(self, field: str, value: str) -> set[int]:
        if (field, value) not in self.sets:
            docs: set[int] = set()
            for reader, offset in self.leaves:
                local = self._segment_sets(reader, field).get(value, ())
                docs.update(local if offset == 0 else (d + offset for d in local))
            self.sets[field, value] = docs
        return self.sets[field, value]

    def term_docs(self, field: str, text: str) -> set[int]:
        """Documents holding one term (cached for this generation, a bounded number of terms)."""
        key = (field, text)
        if key not in self.terms:
            docs: set[int] = set()
            for reader, offset in self.leaves:
                if (field, text) in reader:
                    ids = _posting_ids(reader.postings(field, text))
                    docs.update(ids if offset == 0 else (d + offset for d in ids))
            if len(self.terms) >= TERM_CACHE:
                self.terms.pop(next(iter(self.terms)))
            self.terms[key] = docs
        return self.terms[key]

    def all_docs(self) -> set[int]:
        if self.everything is None:
            self.everything = set(self.searcher.docs_for_query(wq.Every()))
        return self.everything

    def docs_for(self, node) -> set[int]:
        """The documents a query matches, with set operations on whole posting lists (much faster
        in Python than stepping Whoosh's compound matchers); phrases are left to Whoosh."""
        if isinstance(node, wq.Term):
            return self.term_docs(node.fieldname, node.text)
        if isinstance(node, wq.Or):
            return set().union(*(self.docs_for(child) for child in node.subqueries))
        if isinstance(node, wq.And):
            positive = [c for c in node.subqueries if not isinstance(c, wq.Not)]
            sets = sorted((self.docs_for(c) for c in positive), key=len) or [self.all_docs()]
            docs = set(sets[0]).intersection(*sets[1:])
            for excluded in (c for c in node.subqueries if isinstance(c, wq.Not)):
                docs -= self.docs_for(excluded.query)
            return docs
        if isinstance(node, wq.Not):
            return self.all_docs() - self.docs_for(node.query)
        if isinstance(node, wq.AndNot):
            return self.docs_for(node.a) - self.docs_for(node.b)
        if isinstance(node, wq.AndMaybe):
            return set(self.docs_for(node.a))
        if isinstance(node, wq.Every):
            return set(self.all_docs())
        return set(self.searcher.docs_for_query(node))

    def sort_key(self, field: str) -> list[int]:
        if field not in self.keys:
            combined: list[int] = []
            for reader, _offset in self.leaves:
                cache = self._segment(reader)["keys"]
                if field not in cache and not reader.has_column("created"):
                    cache[field] = [0] * reader.doc_count_all()  # an empty index has no columns
                if field not in cache:
                    created = list(reader.column_reader("created"))
                    if field == "votes":
                        cache[field] = list(reader.column_reader("score"))
                    elif field == "score":
                        scores = list(reader.column_reader("score"))
                        cache[field] = [s * (1 << 64) + c for s, c in zip(scores, created)]
                    else:
                        cache[field] = created
                combined.extend(cache[field])
            self.keys[field] = combined
        return self.keys[field]

    def votes(self) -> list[int]:
        """docnum -> the idea's vote score, as indexed."""
        return self.sort_key("votes")

    def per_doc(self, field: str) -> list:
        """docnum -> the field's value (a tuple of values for tags), for counting facets in one pass."""
        if field not in self.values_by_doc:
            combined: list = []
            for reader, _offset in self.leaves:
                cache = self._segment(reader)["per_doc"]
                if field not in cache:
                    values: list = [() if field == "tag" else None] * reader.doc_count_all()
                    for value, docs in self._segment_sets(reader, field).items():
                        for docnum in docs:
                            values[docnum] = (*values[docnum], value) if field == "tag" else value
                    cache[field] = values
                combined.extend(cache[field])
            self.values_by_doc[field] = combined
        return self.values_by_doc[field]

    def facet(self, field: str, docs: set[int]) -> list[tuple[str, int]]:
        values = map(self.per_doc(field).__getitem__, docs)
        counts = Counter(chain.from_iterable(values) if field == "tag" else values)
        return sorted(((v, n) for v, n in counts.items() if v not in (None, "-")), key=lambda item: (-item[1], item[0]))


class WhooshBackend:
    """``SearchBackend`` on a Whoosh index; one instance per app per process, safe across threads.

    ``may_create()`` says whether a missing index may be created empty on first use (the site
    has no idea to index). Otherwise a missing index raises ``SearchUnavailable``: an index deleted
    while the site has ideas must not come back empty, answering "no results" to every search.
    Without it, a missing index is always created (scripts and tests that build their own).
    """

    def __init__(self, root: str, may_create: Callable[[], bool] | None = None):
        self.root = root
        self._may_create = may_create
        self._lock = threading.RLock()
        self._generation_dir: str | None = None
        self._ix = None
        self._searcher = None
        self._view: _Generation | None = None
        self._segments: dict = {}
        self._schema = make_schema()
        self._and_parser = _parser(AndGroup)
        self._or_parser = _parser(OrGroup)

    # -- the folder and its pointer ------------------------------------------------------
    def _pointer(self) -> str | None:
        try:
            with open(os.path.join(self.root, POINTER), encoding="utf-8") as handle:
                return handle.read().strip() or None
        except FileNotFoundError:
            return None
        except NotADirectoryError:
            raise SearchUnavailable(f"the search index folder {self.root} is not a folder") from None

    def _set_pointer(self, name: str) -> None:
        temporary = os.path.join(self.root, f".{POINTER}.{os.getpid()}.{threading.get_ident()}")
        with open(temporary, "w", encoding="utf-8") as handle:
            handle.write(name)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, os.path.join(self.root, POINTER))

    @contextmanager
    def _folder_lock(self, name: str = ".swap.lock"):
        """Serialises creating the first index and swapping generations (or, by name, rebuilds), across processes."""
        os.makedirs(self.root, exist_ok=True)
        with open(os.path.join(self.root, name), "a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _new_generation(self) -> str:
        name = f"gen-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}-{time.monotonic_ns() % 1_000_000}"
        path = os.path.join(self.root, name)
        os.makedirs(path)
        whoosh_index.create_in(path, self._schema)
        return name

    def ensure(self) -> None:
        """Create an empty index on first use."""
        if self._pointer() is None:
            with self._folder_lock():
                if self._pointer() is None:
                    self._set_pointer(self._new_generation())

    def _require(self) -> None:
        """Create a missing index when that is allowed (see the class), else raise SearchUnavailable."""
        if self._pointer() is None:
            if self._may_create is not None and not self._may_create():
                self._forget()
                raise SearchUnavailable(f"the search index is missing from {self.root}", missing=True)
            self.ensure()

    def _open(self):
        """The current index (reopened when a rebuild swapped the pointer)."""
        self._require()
        name = self._pointer()
        if name is None:  # deleted between the two reads
            raise SearchUnavailable(f"the search index is missing from {self.root}", missing=True)
        if name != self._generation_dir or self._ix is None:
            try:
                ix = whoosh_index.open_dir(os.path.join(self.root, name))
            except (EmptyIndexError, FileNotFoundError):
                self._forget()
                raise SearchUnavailable(f"the search index {name} is missing from {self.root}", missing=True) from None
            if self._searcher is not None:
                self._searcher.close()
            self._ix, self._generation_dir, self._searcher, self._view = ix, name, None, None
            self._segments = {}
        return self._ix

    def _current(self) -> _Generation:
        """A searcher reused until the index changes, with its caches."""
        ix = self._open()
        if self._searcher is None:
            self._searcher = ix.searcher()
        elif not self._searcher.up_to_date():
            try:
                self._searcher = self._searcher.refresh()
            except (ReaderClosed, OSError):
                # Whoosh 2.7 retries opening a reader when a writer's clean-up deleted a segment
                # file under it, but its retry closes the reused segment readers a second time
                # (ReaderClosed). A searcher opened afresh, reusing nothing, has no such retry bug.
                self._searcher = ix.searcher()
        if self._view is None or self._view.searcher is not self._searcher:
            live = {_segment_key(s.reader()) for s, _offset in self._searcher.leaf_searchers()}
            self._segments = {k: v for k, v in self._segments.items() if k in live}
            self._view = _Generation(self._searcher, self._segments)
        return self._view

    def _forget(self) -> None:
        """Drop the open index and searcher (their files are gone)."""
        if self._searcher is not None:
            try:
                self._searcher.close()
            except Exception:  # its files may be gone
                pass
        self._ix = self._searcher = self._view = None
        self._generation_dir = None

    # -- the generation marker -------------------------------------------------------------
    def _marker_path(self, name: str) -> str:
        return os.path.join(self.root, name, MARKER)

    def _read_marker(self, name: str) -> int | None:
        try:
            with open(self._marker_path(name), encoding="ascii") as handle:
                fcntl.flock(handle, fcntl.LOCK_SH)  # never half-written (see _raise_marker)
                return int(handle.read().strip() or 0) or None
        except (FileNotFoundError, ValueError):
            return None

    def _raise_marker(self, name: str, through: int | None) -> None:
        """Keep the highest event id ever given for this generation (under a lock of its own, across processes)."""
        if not through:
            return
        with open(self._marker_path(name), "a+", encoding="ascii") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                handle.seek(0)
                text = handle.read().strip()
                current = int(text) if text.isdigit() else 0
                if through > current:
                    handle.seek(0)
                    handle.truncate()
                    handle.write(str(through))
                    handle.flush()
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _writable(self, name: str) -> bool:
        """Whether a writer could lock and write this generation now (a few system calls, nothing written)."""
        folder = os.path.join(self.root, name)
        lock = os.path.join(folder, LOCK_FILE)
        if not (os.access(self.root, os.W_OK | os.X_OK) and os.access(folder, os.W_OK | os.X_OK)):
            return False
        return not os.path.lexists(lock) or (os.path.isfile(lock) and os.access(lock, os.W_OK))

    # -- writing ---------------------------------------------------------------------------
    @contextmanager
    def _writer(self, through: int | None = None, **options):
        """The write lock of the current generation (IndexBusy after LOCK_TIMEOUT); on success raises the
        generation's marker to ``through`` and commits."""
        deadline = time.monotonic() + LOCK_TIMEOUT
        while True:
            with self._lock:
                ix = self._open()
                name = self._generation_dir
            try:
                writer = ix.writer(timeout=max(0.0, deadline - time.monotonic()), delay=0.02, **options)
            except LockError:
                raise IndexBusy("the search index is busy") from None
            if self._pointer() == name:
                break
            writer.cancel()  # a rebuild swapped generations while we waited: write to the new one
        try:
            yield writer
            # Raised while the write lock is held, so a rebuild swapping generations reads it complete. If
            # the commit then fails, the delivery fails and is tried again: the marker never hides a lost write.
            self._raise_marker(name, through)
        except BaseException:
            writer.cancel()  # its files closed and removed, whatever failed (the generation deleted meanwhile)
            raise
        writer.commit()

    def apply(self, idea_ids: Collection[int], load: Callable[[Collection[int]], Iterable[IdeaDocument]],
              through: int | None = None) -> None:
        """Index what ``load(idea_ids)`` returns and remove the other ids, in one commit.

        ``load`` runs while this process holds the write lock, so two processes can never
        write an older version of an idea over a newer one.
        """
        with self._writer(through) as writer:
            found = set()
            for document in load(idea_ids):
                writer.update_document(**_fields(document))
                found.add(document.id)
            for idea_id in set(idea_ids) - found:
                writer.delete_by_term("id", str(idea_id))

    def index(self, documents: Iterable[IdeaDocument]) -> None:
        with self._writer() as writer:
            for document in documents:
                writer.update_document(**_fields(document))

    def remove(self, idea_ids: Iterable[int]) -> None:
        with self._writer() as writer:
            for idea_id in idea_ids:
                writer.delete_by_term("id", str(idea_id))

    def rebuild(self, documents: Iterable[IdeaDocument], total: int,
                progress: Callable[[int], None] | None = None, through: int | None = None,
                only_if_missing: bool = False) -> bool:
        # One at a time: a rebuild's clean-up would delete another's generation while it is written.
        with self._folder_lock(".rebuild.lock"):
            if only_if_missing and self._pointer() is not None:
                return False
            self._rebuild(documents, total, progress, through)
            return True

    def _rebuild(self, documents: Iterable[IdeaDocument], total: int,
                 progress: Callable[[int], None] | None, through: int | None) -> None:
        name = self._new_generation()
        ix = whoosh_index.open_dir(os.path.join(self.root, name))
        writer = ix.writer(limitmb=256)
        try:
            for count, document in enumerate(documents, 1):
                writer.add_document(**_fields(document))
                if progress and count % 500 == 0:
                    progress(500)
            if progress and total % 500:
                progress(total % 500)
            writer.commit(optimize=True)
        except BaseException:
            writer.cancel()
            shutil.rmtree(os.path.join(self.root, name), ignore_errors=True)
            raise
        self._raise_marker(name, through)
        with self._folder_lock():
            previous = self._pointer()
            if previous and os.path.isdir(os.path.join(self.root, previous)):
                # wait for a writer that is committing to the old generation
                old = whoosh_index.open_dir(os.path.join(self.root, previous))
                lock = old.lock(WRITE_LOCK)
                lock.acquire(blocking=True)
                # what workers wrote to the old index meanwhile is written again after the swap
                self._raise_marker(name, self._read_marker(previous))
                self._set_pointer(name)
                lock.release()
            else:
                self._set_pointer(name)
            self._prune(keep={name, previous})

    def _prune(self, keep: set) -> None:
        """Delete generations older than the previous one (readers may still have that one open)."""
        for entry in os.listdir(self.root):
            if entry.startswith("gen-") and entry not in keep:
                shutil.rmtree(os.path.join(self.root, entry), ignore_errors=True)

    # -- reading ---------------------------------------------------------------------------
    def _parse(self, text: str, parser) -> tuple[wq.Query | None, str | None]:
        try:
            parsed = parser.parse(text)
        except Exception:  # the parser is not meant to fail, but a query must never raise
            log.info("unparsable search %r", text, exc_info=True)
            words = " ".join(_WORD.findall(text))
            try:
                parsed = parser.parse(words.lower())
            except Exception:
                return None, _("This search could not be understood; try plain words.")
        if parsed is None or parsed is wq.NullQuery:
            return None, _("Type one or more words to search for.")
        return parsed, None

    def _words_query(self, text: str, parser):
        """(folded query as parsed, the same on the index's stems) or (None, message)."""
        parsed, problem = self._parse(text, parser)
        return (parsed, _stemmed(parsed)) if parsed is not None else (None, problem)

    def _suggestion(self, view: _Generation, text: str) -> str | None:
        """"Did you mean": unknown free words replaced by the closest word of titles and descriptions."""
        reader = view.searcher.reader()
        corrector = None
        changed = False

        def known(word: str) -> bool:
            folded = _fold(word)
            if not folded or reader.doc_frequency("words", folded):
                return True
            return any(reader.doc_frequency("text", form) for form in _stems(word.lower()))

        def replace(match: re.Match) -> str:
            nonlocal corrector, changed
            word = match.group(2)
            if word in _OPERATORS or word.isdigit() or len(word) < 3 or known(word):
                return match.group(0)
            corrector = corrector or view.searcher.corrector("words")
            folded = _fold(word)
            # Whoosh ranks candidates within the distance by frequency alone ("batery" would
            # become "later"); the closest spelling wins here, then the most frequent.
            # Function words are never offered: "roof" is not a misspelt "of".
            candidates = [c for c in corrector.suggest(folded, limit=10, maxdist=2) if c not in STOP_WORDS]
            if not candidates:
                return match.group(0)
            best = min(candidates, key=lambda candidate: edit_distance(folded, candidate))
            changed = True
            return match.group(1) + best

        suggestion = _FREE_WORD.sub(replace, text)
        if not changed:
            return None
        # A suggestion that finds nothing either would only lead to another empty page.
        parsed, matching = self._words_query(_without_stop_words(suggestion), self._and_parser)
        if parsed is None or not view.docs_for(matching) & view.all_docs():
            return None
        return suggestion

    def _read(self, work):
        """Run ``work(view)`` on an up-to-date searcher, once more on a fresh one if files vanished."""
        with self._lock:
            for attempt in (1, 2):
                try:
                    return work(self._current())
                except OSError:  # segments merged away by another process between two reads
                    if attempt == 2:
                        raise
                    self._searcher, self._view = None, None

    def query(self, query: SearchQuery) -> SearchResults:
        return self._read(lambda view: self._query(view, query))

    def _query(self, view: _Generation, query: SearchQuery) -> SearchResults:
        text, message = clean_text(query.text)
        page, per_page = max(1, query.page), max(1, min(query.per_page, 100))
        searcher = view.searcher
        if text:
            parsed, matching = self._words_query(_without_stop_words(text), self._and_parser)
            if parsed is None:
                return SearchResults(query=query, hits=[], total=0, message=matching or message)
            matched = view.docs_for(matching) & view.all_docs()  # posting lists still hold deleted docs
        else:
            parsed = None
            matched = set(view.all_docs())
        # Each facet counts the results under the *other* filters, so that a member who picked
        # "planned" still sees how many "new" or "declined" ideas the words find.
        chosen = {"status": query.status, "category": query.category, "tag": query.tag}
        narrowing = {name: view.docs_with(FACET_FIELDS[name], value) for name, value in chosen.items() if value}

        def filtered(skip: str | None = None) -> set[int]:
            docs = matched
            for name, docs_with_value in narrowing.items():
                if name != skip:
                    docs = docs & docs_with_value
            return docs

        facets = {name: view.facet(field, filtered(name)) for name, field in FACET_FIELDS.items()}
        matched = filtered()
        total = len(matched)
        wanted = page * per_page
        start = (page - 1) * per_page
        if start >= total:
            docnums = []
        elif query.sort == "relevance" and parsed is not None:
            docnums = self._ranked(view, parsed, matching, matched, wanted)[start:]
        else:
            key = view.sort_key("score" if query.sort == "score" else "created")
            docnums = heapq.nlargest(wanted, matched, key=key.__getitem__)[start:]
        stems = _positive_stems(parsed)
        hits = [_hit(searcher.stored_fields(d)["doc"], stems) for d in docnums]
        suggestion = self._suggestion(view, text) if text else None
        return SearchResults(query=query, hits=hits, total=total, facets=facets,
                             suggestion=suggestion, message=message)

    def _ranked(self, view: _Generation, parsed, matching, matched: set[int], wanted: int) -> list[int]:
        """Relevance: BM25 over the text plus TITLE_BONUS for each query word in the title, raised
        by the idea's votes (``ranking.final_score``: the same formula for every backend).

        Scoring runs the matcher document by document, so it is kept to SCORE_DIRECTLY
        candidates: when more match, those with the most title words (then the most votes) go on.
        """
        title_sets = [
            set().union(*(view.term_docs("title", stem) for stem in _stems(word)))
            for word in dict.fromkeys(_positive_words(parsed))
        ]

        def title_hits(docnum: int) -> int:
            return sum(docnum in docs for docs in title_sets)

        candidates = matched
        votes = view.sort_key("score")

        def prefilter(docnum: int) -> tuple[int, int]:
            return title_hits(docnum), votes[docnum]

        if len(matched) > SCORE_DIRECTLY:
            candidates = heapq.nlargest(SCORE_DIRECTLY, matched, key=prefilter)
        scores = _scores(view.searcher, matching, candidates)
        popular = view.votes()
        for docnum in scores:
            scores[docnum] = final_score(scores[docnum] + TITLE_BONUS * title_hits(docnum), popular[docnum])
        ranked = heapq.nlargest(wanted, scores, key=lambda d: (scores[d], -d))
        if len(ranked) < wanted and len(matched) > len(scores):
            # Pages beyond the scored matches go on with the others in the pre-filter's order,
            # so that every one of `total` results can be reached.
            rest = matched.difference(scores)
            ranked += heapq.nlargest(wanted - len(ranked), rest, key=lambda d: (*prefilter(d), -d))
        return ranked

    def similar(self, text: str, limit: int = 5, exclude_id: int | None = None) -> list[SearchHit]:
        text, _message = clean_text(text)
        words = [w.lower() for w in _WORD.findall(text) if w.lower() not in STOP_WORDS][:MAX_FREE_WORDS]
        parsed, matching = self._words_query(" ".join(words), self._or_parser) if words else (None, None)
        if parsed is None:
            return []
        ranking, stems = _ranking(parsed, matching), _positive_stems(parsed)

        def work(view: _Generation) -> list[SearchHit]:
            searcher = Searcher(view.searcher.reader(), weighting=PopularBM25F(view.votes()), closereader=False)
            return [_hit(hit["doc"], stems) for hit in searcher.search(ranking, limit=limit + 1)]

        return [hit for hit in self._read(work) if hit.id != exclude_id][:limit]

    # -- checking --------------------------------------------------------------------------
    def fingerprints(self) -> dict[int, str]:
        with self._lock:
            reader = self._current().searcher.reader()
            return {fields["doc"]["id"]: fields["doc"]["fingerprint"] for _docnum, fields in reader.iter_docs()}

    def document_count(self) -> int:
        with self._lock:
            return self._current().searcher.doc_count()

    def health(self) -> dict:
        report = {"status": "ok", "documents": None, "writable": None, "indexed_through": None, "generation": None}
        try:
            with self._lock:
                view = self._current()
                name = self._generation_dir
                report.update(documents=view.searcher.doc_count(), generation=name,
                              writable=self._writable(name), indexed_through=self._read_marker(name))
        except SearchUnavailable as exc:  # reported, not raised: monitoring reads this
            report["status"] = "missing" if exc.missing else f"error: {exc}"[:200]
        except Exception as exc:
            report["status"] = f"error: {type(exc).__name__}: {exc}"[:200]
        return report

    def close(self) -> None:
        with self._lock:
            self._forget()
