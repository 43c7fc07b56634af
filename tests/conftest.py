"""Fixtures: every test runs on SQLite and, when IDEASTORM_TEST_DATABASE_URL names one, on PostgreSQL.

The schema comes from the real migrations (run once per session per backend); each test then
starts from an empty database holding only the default categories. CSRF stays on: the
``client`` fixture sends the token the way a browser form or htmx would.
"""

from __future__ import annotations

import contextvars
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import create_engine, make_url, text

from ideastorm import create_app
from ideastorm.extensions import db

PASSWORD = "correct horse battery staple"
PG_URL_VARIABLE = "IDEASTORM_TEST_DATABASE_URL"
_CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


def _base_config(database_url: str, tmp_path: Path) -> dict:
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key-that-is-long-enough",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SEARCH_INDEX_DIR": str(tmp_path / "search-index"),
        "MAIL_DIR": str(tmp_path / "mail"),
        "BASE_URL": "http://ideastorm.test",
        "RATELIMIT_ENABLED": False,  # on only where a test turns it on (tests/security/test_limits.py)
        "AGGREGATE_CACHE_SECONDS": 0,
        "SITE_SETTINGS_CACHE_SECONDS": 0,
        "SERVER_NAME": None,
        # Argon2 at its full cost makes every sign-in take most of a second.
        "ARGON2_TIME_COST": 1,
        "ARGON2_MEMORY_COST": 8,
        "ARGON2_PARALLELISM": 1,
    }


def _migrate(database_url: str, tmp_path: Path) -> None:
    from flask_migrate import upgrade

    app = create_app(_base_config(database_url, tmp_path))
    with app.app_context():
        upgrade()
        db.engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """A migrated SQLite database file, copied for each test."""
    folder = tmp_path_factory.mktemp("sqlite-template")
    path = folder / "template.db"
    _migrate(f"sqlite:///{path}", folder)
    return path


@pytest.fixture(scope="session")
def postgres_url(tmp_path_factory):
    """A database of this run's own on the given server, migrated once, dropped at the end."""
    url = os.environ.get(PG_URL_VARIABLE)
    if not url:
        pytest.skip(f"PostgreSQL: set {PG_URL_VARIABLE} (e.g. postgresql://postgres@127.0.0.1:5432/test)")
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    name = f"ideastorm_test_{os.getpid()}"
    server = create_engine(url, isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        connection.execute(text(f"CREATE DATABASE {name}"))
    own_url = make_url(url).set(database=name).render_as_string(hide_password=False)
    try:
        _migrate(own_url, tmp_path_factory.mktemp("pg-migrate"))
        yield own_url
    finally:
        with server.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        server.dispose()


def _truncate_all(url: str) -> None:
    engine = create_engine(url)
    tables = ", ".join(t.name for t in db.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request) -> str:
    return request.param


@pytest.fixture
def database_url(request, backend, tmp_path) -> str:
    if backend == "sqlite":
        path = tmp_path / "ideastorm.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("postgres_url")
    _truncate_all(url)
    return url


@pytest.fixture
def app_config() -> dict:
    """Settings a test module changes over the base ones (override this fixture; e.g. limits on)."""
    return {}


@pytest.fixture
def app(database_url, tmp_path, app_config):
    from ideastorm.ideas.defaults import ensure_default_categories

    app = create_app({**_base_config(database_url, tmp_path), **app_config})
    with app.app_context():
        ensure_default_categories()
        db.session.commit()
        yield app
        db.session.remove()
        db.engine.dispose()


class Client(FlaskClient):
    """A test client that sends the CSRF token like the app's own forms do.

    Each request runs in a fresh context, as in a real server: the test's own app
    context (and its database session and ``g``) is not shared with the request.
    """

    def open(self, *args, **kwargs):
        return contextvars.Context().run(super().open, *args, **kwargs)

    def csrf_token(self) -> str:
        page = self.get("/").get_data(as_text=True)
        return _CSRF_META.search(page).group(1)

    def post_form(self, url: str, data: dict | None = None, **kwargs):
        data = dict(data or {})
        data.setdefault("csrf_token", self.csrf_token())
        return self.post(url, data=data, **kwargs)

    def htmx_post(self, url: str, data: dict | None = None, **kwargs):
        headers = {"HX-Request": "true", "X-CSRFToken": self.csrf_token(), **kwargs.pop("headers", {})}
        return self.post(url, data=data or {}, headers=headers, **kwargs)


@pytest.fixture
def client(app) -> Client:
    app.test_client_class = Client
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def password_hash(app) -> str:
    from ideastorm.accounts.auth import hash_password

    return hash_password(PASSWORD)


@pytest.fixture
def make_user(app, password_hash):
    from ideastorm.accounts.models import User
    from ideastorm.accounts.services import unique_handle

    counter = iter(range(1, 10_000))

    def make(role: str = "member", *, email: str | None = None, name: str | None = None,
             banned: bool = False, **settings) -> User:
        n = next(counter)
        display_name = name or f"{role.title()} {n}"
        user = User(
            email=email or f"{role}{n}@example.com", display_name=display_name, handle=unique_handle(display_name),
            password_hash=password_hash, role=role, is_banned=banned, **settings,
        )
        db.session.add(user)
        db.session.commit()
        return user

    return make


@pytest.fixture
def make_idea(app, make_user):
    from sqlalchemy import select

    from ideastorm.ideas import counters
    from ideastorm.ideas.models import Category
    from ideastorm.ideas.services import submit_idea

    def make(author=None, *, title: str = "Add a dark mode to the support app",
             description: str = "It would be **easier** on the eyes at night.",
             category: str = "products", tags: str = "", status: str = "new", hidden: bool = False):
        author = author or make_user()
        category_id = db.session.scalar(select(Category.id).where(Category.slug == category))
        idea = submit_idea(author, title, description, category_id, tags)
        if status != "new" or hidden:
            # A shortcut past triage for tests; the headline counters are recounted to match.
            idea.status, idea.is_hidden = status, hidden
            counters.recount()
        db.session.commit()
        return idea

    return make


@dataclass
class Auth:
    client: Client

    def login(self, user_or_email, password: str = PASSWORD, remember: bool = False):
        email = getattr(user_or_email, "email", user_or_email)
        data = {"email": email, "password": password}
        if remember:
            data["remember"] = "y"
        return self.client.post_form("/login", data)

    def logout(self):
        return self.client.post_form("/logout")


@pytest.fixture
def auth(client) -> Auth:
    return Auth(client)


@pytest.fixture
def member(make_user, auth):
    """A member signed in on ``client``."""
    user = make_user()
    auth.login(user)
    return user
