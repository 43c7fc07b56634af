"""Configuration, schema and the behaviour every page shares."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from ideastorm import create_app
from ideastorm.config import InsecureConfigError
from ideastorm.extensions import db


@pytest.mark.parametrize("secret", [None, "", "dev", "changeme", "short"])
def test_refuses_to_start_without_a_real_secret_outside_debug(tmp_path, secret):
    with pytest.raises(InsecureConfigError, match="IDEASTORM_SECRET_KEY"):
        create_app({"SECRET_KEY": secret, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.db"})


def test_configuration_from_prefixed_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("IDEASTORM_SECRET_KEY", "an-environment-secret-key")
    monkeypatch.setenv("IDEASTORM_IDEAS_PER_PAGE", "7")
    monkeypatch.setenv("IDEASTORM_SQLALCHEMY_DATABASE_URI", f"sqlite:///{tmp_path}/env.db")
    app = create_app()
    assert app.config["IDEAS_PER_PAGE"] == 7
    assert app.config["SECRET_KEY"] == "an-environment-secret-key"
    assert app.config["SEARCH_INDEX_DIR"].endswith("search-index")
    with app.app_context():
        db.engine.dispose()


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(app, backend):
    if backend != "sqlite":
        pytest.skip("SQLite pragmas")
    assert db.session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    assert db.session.execute(text("PRAGMA busy_timeout")).scalar() == 15000
    assert db.session.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_migrations_match_the_models(app):
    with db.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), db.metadata)
    assert diff == []


def test_healthz_and_vendor_assets(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json["database"]["status"] == "ok"
    for name, mimetype in (("htmx.min.js", "text/javascript"), ("pico.min.css", "text/css")):
        with client.get(f"/vendor/{name}") as asset:
            assert asset.status_code == 200 and asset.mimetype == mimetype
            assert "max-age" in asset.headers["Cache-Control"]
    assert client.get("/vendor/package.json").status_code == 404


def test_error_pages(client):
    missing = client.get("/no/such/page")
    assert missing.status_code == 404 and "Page not found" in missing.get_data(as_text=True)
    assert client.delete("/ideas").status_code == 405
    api = client.get("/api/v1/nothing")
    assert api.status_code == 404 and api.json["error"]["code"] == "page_not_found"


def test_oversized_request_gets_413_page(client):
    response = client.post("/register", data={"email": "x" * (9 * 1024 * 1024)})
    assert response.status_code == 413 and "larger than IdeaStorm accepts" in response.get_data(as_text=True)


def test_pages_have_titles_labels_and_a_skip_link(client, make_idea):
    idea = make_idea()
    for url in ("/", "/ideas", f"/ideas/{idea.id}", "/login", "/register"):
        page = client.get(url).get_data(as_text=True)
        assert 'class="skip-link" href="#main"' in page and '<main id="main"' in page, url
        assert "<title>" in page and " · IdeaStorm</title>" in page, url
    register = client.get("/register").get_data(as_text=True)
    for field in ("email", "display_name", "password", "confirm"):
        assert f'<label for="{field}">' in register
