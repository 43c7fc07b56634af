"""Fuzzing with Hypothesis: every query argument of every GET route, every field of every form.

Nothing here is listed by hand that the app can tell us itself. The GET routes come from the route
table, each with the query arguments its view reads (found in its source: ``query_arg("…")``,
``page_arg()``, ``request.args.get("…")``), plus ``next`` and names nobody reads. The forms are
read from the pages that show them, as the role that sees them: their action, their fields, the
choices of their selects and buttons. Values are drawn from what breaks parsers: Unicode of every
plane, NUL, huge texts, negative and enormous numbers, digits that are not ASCII, markup.

What must hold: no answer is a 500, and a refused form (any 4xx) leaves every stored row exactly
as it was (the whole database is compared, table by table, before and after).
"""

from __future__ import annotations

import inspect
import io
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urlsplit

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from ideastorm import search
from ideastorm.accounts import tokens as account_tokens
from ideastorm.comments.services import add_comment
from ideastorm.extensions import db
from ideastorm.ideas.models import Category
from ideastorm.notifications.models import Notification
from tests.conftest import Auth, Client

_SETTINGS = {"deadline": None, "database": None,
             "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]}
# Examples per route and per form: with the fixed nasty values tried per argument, each database's
# run stays within a minute, and every run draws new ones.
FUZZ_ROUTE = settings(max_examples=5, **_SETTINGS)
FUZZ_FORM = settings(max_examples=10, **_SETTINGS)

# Values that have broken parsers somewhere ("1" * 400 is an int no float holds, 2147483648 no id column).
# The first eight are sent to every argument of every GET route; all of them are drawn for forms.
NASTY = [
    "", "a\x00b", "-1", "99999999999999999999", "1" * 400, "²", "x" * 5000, "\u202e\u200bx",
    " ", "\x00", "0", "-0", "2147483648", "-99999999999999999999", "1e309", "١٢٣", "NaN", "%00",
    "../../etc/passwd", "<script>alert(1)</script>", "' OR 1=1 --", "😀" * 50, "\ufeff", "[]", "{}",
]
_char = st.characters(blacklist_categories=("Cs",))  # surrogates cannot be sent as UTF-8
_text = st.text(_char, max_size=60)


def _repeat(character: str, times: int) -> str:
    return character * times


def _path_text(text: str) -> bool:
    return bool(text.strip("./"))  # "", "." and ".." are not path segments a route receives


# Named functions, not lambdas: Hypothesis reads a lambda's source to describe it, for every test.
VALUES = st.one_of(
    st.sampled_from(NASTY),
    _text,
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.builds(_repeat, _char, st.integers(1000, 3000)),
)
ARG_NAMES = st.text(st.characters(min_codepoint=33, max_codepoint=0x2FFF, blacklist_categories=("Cs",)),
                    min_size=1, max_size=12)

_READS = re.compile(r"""(?:query_arg|request\.args\.get)\(\s*["']([^"']+)["']""")
# Path variables that are not ids: a sample each (fuzzed as well).
SAMPLE_TEXT = {"token": "not-a-token", "slug": "an-idea", "name": "pico.min.css", "filename": "app.css",
               "provider": "nowhere"}


def _names_read_by(view) -> list[str]:
    try:
        source = inspect.getsource(inspect.unwrap(view))
    except (OSError, TypeError):
        return []
    names = set(_READS.findall(source))
    if "page_arg()" in source:
        names.add("page")
    return sorted(names)


@dataclass
class World:
    """What the fuzzing runs against: a few of everything, made once per test."""

    admin: object
    staff: object
    member: object
    other: object
    idea: object
    own_idea: object
    comment: object
    others_comment: object
    notification_id: int
    category_id: int
    reset_token: str = ""

    def ids(self) -> dict[str, int]:
        return {"idea_id": self.idea.id, "comment_id": self.comment.id, "user_id": self.other.id,
                "notification_id": self.notification_id, "category_id": self.category_id}


def _world(make_user, make_idea) -> World:
    admin, staff, member, other = make_user("admin"), make_user("staff"), make_user(), make_user(name="Other One")
    idea = make_idea(other, title="Label printer for the warehouse", tags="hardware, labels")
    own_idea = make_idea(member, title="My idea about exports")
    comment = add_comment(member, idea, "My comment on the printer idea")
    others_comment = add_comment(other, idea, "Another comment, which staff may hide")
    db.session.flush()
    notification = Notification(user_id=member.id, kind="comment", idea_id=idea.id, comment_id=comment.id,
                                event_id=1, data={})
    db.session.add(notification)
    db.session.commit()
    category_id = db.session.scalar(select(Category.id).where(Category.slug == "other"))
    search.sync()  # the index exists and holds the ideas, as beside a running worker
    return World(admin, staff, member, other, idea, own_idea, comment, others_comment, notification.id, category_id)


def _client(app, user=None) -> Client:
    app.test_client_class = Client
    client = app.test_client()
    if user is not None:
        assert Auth(client).login(user).status_code == 302
    return client


def _snapshot() -> dict[str, list]:
    """Every stored row, per table, read on a connection of its own (a fresh view of the database)."""
    state = {}
    with db.engine.connect() as connection:
        for table in db.metadata.sorted_tables:
            if table.name in VOLATILE_TABLES:
                continue
            order = list(table.primary_key.columns) or list(table.columns)
            state[table.name] = connection.execute(select(table).order_by(*order)).all()
    return state


# Written by every request, whatever it asks: a signed-in browser's last use slides its expiry.
VOLATILE_TABLES = {"login_sessions"}


def _changed(before: dict, after: dict) -> list[str]:
    return [name for name in before if before[name] != after.get(name)]


# GET routes ------------------------------------------------------------------------------------


def _get_routes(app) -> list[tuple[str, object, list[str]]]:
    """(endpoint, rule, argument names) of every GET route."""
    routes = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods:
            continue
        names = _names_read_by(app.view_functions[rule.endpoint])
        routes.append((rule.endpoint, rule, names))
    return sorted(routes, key=lambda r: r[1].rule)


def _build(rule, ids: dict[str, int], texts: dict[str, str]) -> str:
    values = {}
    for name in rule.arguments:
        values[name] = ids.get(name, 1) if _is_int(rule, name) else texts.get(name, SAMPLE_TEXT.get(name, "x"))
    return rule.build(values, append_unknown=False)[1]


def _is_int(rule, name: str) -> bool:
    converter = rule._converters.get(name)
    return converter is not None and type(converter).__name__ in ("IntegerConverter", "NumberConverter")


# The health check answers 503 on purpose when something it watches is down (the tests have no worker).
MAY_BE_UNAVAILABLE = {"main.healthz"}


def _check_get(client, url: str, query: dict, where: str, endpoint: str) -> None:
    response = client.get(url, query_string=query)
    status = response.status_code
    assert status < 500 or (status == 503 and endpoint in MAY_BE_UNAVAILABLE), (
        f"{where}: GET {url} {query!r} answered {status}")


def _fuzz_get_routes(app, world: World, user) -> None:
    client = _client(app, user)
    ids = world.ids()
    for endpoint, rule, names in _get_routes(app):
        url = _build(rule, ids, {})
        where = f"{getattr(user, 'role', 'visitor')} {endpoint}"
        for name in names:  # each argument the view reads, with each nasty value alone
            for value in NASTY[:8]:
                _check_get(client, url, {name: value}, where, endpoint)
        text_vars = [name for name in rule.arguments if not _is_int(rule, name)]
        known = [*names, "next", "page"]

        @FUZZ_ROUTE
        @given(query=st.dictionaries(st.one_of(st.sampled_from(known), ARG_NAMES), VALUES, max_size=4),
               path=st.fixed_dictionaries({name: _text.filter(_path_text) for name in text_vars}))
        def fuzz(query, path):
            _check_get(client, _build(rule, ids, path) if path else url, query, where, endpoint)

        fuzz()


def test_every_query_argument_of_every_get_route(app, make_user, make_idea):
    world = _world(make_user, make_idea)
    for user in (None, world.admin):
        _fuzz_get_routes(app, world, user)


# Forms -------------------------------------------------------------------------------------------


@dataclass
class Field:
    name: str
    kind: str  # input type, "textarea", "select" or "button"
    value: str = ""
    options: list[str] = field(default_factory=list)


@dataclass
class Form:
    action: str
    fields: dict[str, Field] = field(default_factory=dict)

    def add(self, name: str, kind: str, value: str = "") -> None:
        existing = self.fields.get(name)
        if existing is None:
            self.fields[name] = Field(name, kind, value, [value] if value else [])
        elif value and value not in existing.options:
            existing.options.append(value)  # radios, checkboxes and buttons sharing a name


class _Forms(HTMLParser):
    """The POST forms of a page: action and fields (inputs, textareas, selects and their options)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self.current: Form | None = None
        self.select: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = {key: value or "" for key, value in attrs}
        if tag == "form" and attrs.get("method", "get").lower() == "post":
            self.current = Form(attrs.get("action", ""))
            self.forms.append(self.current)
        if self.current is None:
            return
        if tag == "option" and self.select:
            self.current.add(self.select, "select", attrs.get("value", ""))
        name = attrs.get("name")
        if not name:
            return
        if tag == "input":
            self.current.add(name, attrs.get("type", "text").lower(), attrs.get("value", ""))
        elif tag == "textarea":
            self.current.add(name, "textarea")
        elif tag == "button":
            self.current.add(name, "button", attrs.get("value", ""))
        elif tag == "select":
            self.current.add(name, "select")
            self.select = name

    def handle_endtag(self, tag):
        if tag == "form":
            self.current = None
        elif tag == "select":
            self.select = None


def _forms_on(client, page: str) -> list[Form]:
    response = client.get(page)
    assert response.status_code == 200, f"GET {page}: {response.status_code}"
    parser = _Forms()
    parser.feed(response.get_data(as_text=True))
    return parser.forms


# Forms that would end the fuzzing client's own session rather than test a rule.
_LEAVES = re.compile(r"^/(logout|account/sessions)|sign-?out")

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 32


def _upload(body: bytes, filename: str) -> tuple:
    return io.BytesIO(body), filename


def _field_strategy(f: Field):
    if f.name.endswith("csrf_token"):
        return st.just(f.value)
    choices = [value for value in f.options if value]
    if f.kind == "file":
        return st.builds(_upload,
                         st.one_of(st.binary(max_size=2000), st.just(PNG), st.just(b"<svg onload=alert(1)>")),
                         st.sampled_from(["logo.png", "logo.svg", "", "../../x.png", "\u202e.png"]))
    if choices:
        return st.one_of(st.sampled_from(choices), VALUES)
    return VALUES


def _form_data(form: Form):
    required = {name: _field_strategy(f) for name, f in form.fields.items() if name.endswith("csrf_token")}
    optional = {name: _field_strategy(f) for name, f in form.fields.items() if not name.endswith("csrf_token")}
    return st.fixed_dictionaries(required, optional=optional)


# Sent in every field of every form at once (WTForms and the services check every field together).
EVERY_FIELD = ["1" * 400, "2147483648", "a\x00b", "x" * 12_000]


def _fuzz_form(client, form: Form, where: str) -> None:
    # Nothing else writes between two posts: the state after one is the state before the next.
    last = {"state": _snapshot()}

    def post(data: dict) -> None:
        before = last["state"]
        response = client.post(form.action, data=data)
        status = response.status_code
        last["state"] = after = _snapshot()
        assert status < 500, f"{where}: POST {form.action} {_short(data)} answered {status}"
        if 400 <= status < 500:
            changed = _changed(before, after)
            assert not changed, f"{where}: POST {form.action} {_short(data)} was refused ({status}), changed {changed}"

    csrf = {name: f.value for name, f in form.fields.items() if name.endswith("csrf_token")}
    for value in EVERY_FIELD:
        post({**{name: value for name, f in form.fields.items() if f.kind != "file"}, **csrf})

    @FUZZ_FORM
    @given(data=_form_data(form))
    def fuzz(data):
        post(data)

    fuzz()


def _short(data: dict) -> dict:
    return {key: (value[:80] + f"…({len(value)})" if isinstance(value, str) and len(value) > 80 else value)
            for key, value in data.items()}


def _pages(world: World) -> dict[str, list[str]]:
    """The pages whose forms each role fuzzes, the ones that take things away last."""
    idea, own, comment = world.idea.id, world.own_idea.id, world.comment.id
    return {
        "visitor": ["/register", "/login", "/reset-password", f"/reset-password/{world.reset_token}"],
        "member": ["/ideas/new", f"/ideas/{own}/edit", f"/ideas/{idea}", f"/comments/{comment}/edit", "/account",
                   "/notifications", "/account/delete", f"/comments/{comment}/delete"],
        "staff": [f"/ideas/{idea}", "/triage", f"/ideas/{idea}/merge/confirm?into={own}",
                  f"/ideas/{idea}/moderate", f"/comments/{world.others_comment.id}/hide"],
        "admin": ["/admin/settings", "/admin/categories", "/admin/users", "/admin/integrity/void-banned"],
    }


def test_every_form_refuses_bad_input_without_changing_anything(app, make_user, make_idea):
    world = _world(make_user, make_idea)
    world.reset_token = account_tokens.make_reset_token(world.other)
    actors = {"visitor": None, "member": world.member, "staff": world.staff, "admin": world.admin}
    seen: set[tuple[str, str, tuple]] = set()
    fuzzed = 0
    for role, pages in _pages(world).items():
        client = _client(app, actors[role])
        for page in pages:
            for form in _forms_on(client, page):
                action = urlsplit(form.action).path or page
                form.action = form.action or page
                own_row = actors[role] is not None and f"/users/{actors[role].id}/" in action
                key = (role, re.sub(r"\d+", "N", action), tuple(sorted(re.sub(r"\d+", "N", f) for f in form.fields)))
                if _LEAVES.search(action) or own_row or key in seen:
                    continue
                seen.add(key)
                _fuzz_form(client, form, f"{role} on {page}")
                fuzzed += 1
    assert fuzzed >= 20, f"only {fuzzed} forms found: did the pages change?"
