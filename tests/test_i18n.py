import re
from pathlib import Path

from babel.messages.pofile import read_po

from ideastorm.extensions import db

ROOT = Path(__file__).resolve().parent.parent
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")


def test_french_catalog_is_complete_and_consistent():
    with open(ROOT / "ideastorm/translations/fr/LC_MESSAGES/messages.po", "rb") as po:
        catalog = read_po(po)
    with open(ROOT / "ideastorm/translations/messages.pot", "rb") as pot:
        template = read_po(pot)
    missing = [m.id for m in template if m.id and m.id not in catalog]
    assert not missing, f"run `make extract-messages` and translate: {missing}"
    for message in catalog:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        assert all(strings), f"untranslated: {message.id!r}"
        assert "fuzzy" not in message.flags, message.id
        assert set(PLACEHOLDER.findall(ids[-1])) == set(PLACEHOLDER.findall(strings[-1])), message.id


def test_every_ui_string_is_extracted():
    """Strings marked in code or templates but absent from the template catalog fail here."""
    import contextlib
    import io
    import tempfile

    from babel.messages.frontend import CommandLineInterface

    with tempfile.TemporaryDirectory() as tmp:
        output = Path(tmp) / "fresh.pot"
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            CommandLineInterface().run([
                "pybabel", "-q", "extract", "-F", str(ROOT / "babel.cfg"), "-k", "_l", "-k", "lazy_gettext",
                "-o", str(output), "--no-location", str(ROOT / "ideastorm"), str(ROOT / "templates"),
            ])
        with open(output, "rb") as fresh, open(ROOT / "ideastorm/translations/messages.pot", "rb") as pot:
            fresh_ids = {m.id for m in read_po(fresh) if m.id}
            known_ids = {m.id for m in read_po(pot) if m.id}
    assert fresh_ids <= known_ids, f"run `make extract-messages`: {sorted(map(str, fresh_ids - known_ids))}"


def test_every_template_string_reaches_the_catalog():
    """Read independently of the extractor: a template it cannot parse (an unknown tag) is skipped
    by it without a word, and its strings stayed English in French pages."""
    marked = re.compile(r"""\b_\(\s*(["'])(.+?)\1\s*[,)]""")
    with open(ROOT / "ideastorm/translations/messages.pot", "rb") as pot:
        known_ids = {m.id for m in read_po(pot) if m.id}
    missing = sorted(
        f"{path.relative_to(ROOT)}: {match.group(2)}"
        for path in sorted([*(ROOT / "templates").rglob("*.html"), *(ROOT / "templates").rglob("*.txt")])
        for match in marked.finditer(path.read_text(encoding="utf-8"))
        if match.group(2) not in known_ids
    )
    assert not missing, missing


def test_french_from_accept_language(client, make_idea):
    idea = make_idea(status="implemented")
    page = client.get("/", headers={"Accept-Language": "fr-FR,fr;q=0.9"}).get_data(as_text=True)
    assert '<html lang="fr">' in page
    assert "1 idée réalisée sur 1 proposées" in page
    assert "Réalisée" in page
    idea_page = client.get(f"/ideas/{idea.id}", headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert "Votes clos" in idea_page


def test_status_labels_in_both_languages(client, make_idea):
    expected = {
        "new": ("New", "Nouvelle"), "under_review": ("Under review", "À l'étude"),
        "planned": ("Planned", "Planifiée"), "in_progress": ("In progress", "En cours"),
        "implemented": ("Implemented", "Réalisée"), "declined": ("Declined", "Refusée"),
        "duplicate": ("Duplicate", "Doublon"),
    }
    for status in expected:
        make_idea(title=f"An idea that is {status}", status=status)
    for language, index in (("en", 0), ("fr", 1)):
        page = client.get("/ideas?sort=new", headers={"Accept-Language": language}).get_data(as_text=True)
        for status, labels in expected.items():
            label = labels[index].replace("'", "&#39;")
            assert f'<span class="status status-{status}">{label}</span>' in page, (language, status)


def test_language_switch_is_remembered(client, make_user, auth):
    response = client.post_form("/locale", {"locale": "fr", "next": "/ideas"})
    assert response.headers["Location"] == "/ideas"
    assert '<html lang="fr">' in client.get("/ideas").get_data(as_text=True)
    user = make_user()
    auth.login(user)
    client.post_form("/locale", {"locale": "en"})
    db.session.refresh(user)
    assert user.locale == "en"
    assert client.post_form("/locale", {"locale": "de"}).status_code == 400


def test_the_sign_in_message_is_in_the_language_of_the_pages_that_follow(client, make_user, auth):
    """A member who saved French, signing in from an English page, reads the message in French."""
    user = make_user()
    user.locale = "fr"
    db.session.commit()
    client.set_cookie("ideastorm_locale", "en")
    auth.login(user)
    page = client.get("/").get_data(as_text=True)
    assert "Vous êtes connecté." in page
    assert "You are signed in." not in page
