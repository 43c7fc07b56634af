"""Text rules through the real routes: invisible and bidirectional characters, visible text, names
that imitate the team, NUL characters; on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from ideastorm.accounts.models import User
from ideastorm.comments.models import Comment
from ideastorm.extensions import db
from ideastorm.ideas.models import Category, Idea
from ideastorm.text import clean_text, imitates_staff, visible_length
from tests.conftest import PASSWORD

RLO, PDF, ZWSP, ZWJ = "\u202e", "\u202c", "\u200b", "\u200d"
NUL_MESSAGE = "What you sent contains a NUL character (code 0)"
TEAM_MESSAGE = "This name could be taken for the site&#39;s team"


def _category_id() -> int:
    return db.session.scalar(select(Category.id).where(Category.slug == "products"))


def _submit(client, title: str, description: str = "Why it matters, in a few words.", tags: str = ""):
    return client.post_form("/ideas/new", {"title": title, "description": description,
                                           "category": _category_id(), "tags": tags})


def _rename(client, name: str, locale: str = ""):
    """The profile form of /account (a prefixed form: its CSRF token is prefixed too)."""
    return client.post_form("/account", {"profile-display_name": name, "profile-locale": locale,
                                         "profile-csrf_token": client.csrf_token()})


def _only_idea() -> Idea:
    db.session.expire_all()
    return db.session.scalars(select(Idea)).one()


# --- the rules themselves (no database) ---------------------------------------------------------

@pytest.mark.parametrize("raw, single, multiline", [
    (f"Export {RLO}fdp.exe{PDF} please", "Export fdp.exe please", "Export fdp.exe please"),
    (f"a{ZWSP}b\u2060c\ufeffd\u00ade\u180ef\u2066g\u2069\u200e\u200f\u061ch", "abcdefgh", "abcdefgh"),
    ("one\r\ntwo\rthree\u2028four\tfive", "one two three four five", "one\ntwo\nthree\nfour\tfive"),
    ("bell\x07 del\x7f c1\x9b nul\x00", "bell del c1 nul", "bell del c1 nul"),
    ("e\u0301te\u0301", "\u00e9t\u00e9", "\u00e9t\u00e9"),  # NFC
    ("\u3164\u3164 \U000e0041\U000e0042", " ", " "),  # Hangul fillers, tag characters
    # kept: scripts, emoji and the joiners that build them
    ("Idée d’été: مرحبا שלום 你好 こんにちは", "Idée d’été: مرحبا שלום 你好 こんにちは",
     "Idée d’été: مرحبا שלום 你好 こんにちは"),
    (f"👩{ZWJ}💻 🏳️{ZWJ}🌈 👍🏽", f"👩{ZWJ}💻 🏳️{ZWJ}🌈 👍🏽", f"👩{ZWJ}💻 🏳️{ZWJ}🌈 👍🏽"),
    ("می\u200cخواهم", "می\u200cخواهم", "می\u200cخواهم"),  # Persian needs its non-joiner
    ("Ad\u200cm\u200din", "Admin", "Admin"),  # between Latin letters they only hide things
    ("Z" + "\u0336" * 60 + "algo", "Z" + "\u0336" * 4 + "algo", "Z" + "\u0336" * 4 + "algo"),  # Zalgo
    ("Tiếng Việt नमस्ते", "Tiếng Việt नमस्ते", "Tiếng Việt नमस्ते"),  # marks a language needs stay
])
def test_clean_text(raw, single, multiline):
    assert clean_text(raw) == single
    assert clean_text(raw, multiline=True) == multiline


@pytest.mark.parametrize("text, visible", [
    ("Hello", 5), ("a b c", 3), (f"{ZWSP * 9}a", 1), ("\u3164\u3164ab", 2), ("\u2800\u2800", 0),
    ("¿Qué?", 5), ("日本", 2), ("👍", 1),
])
def test_visible_length(text, visible):
    assert visible_length(text) == visible


# Decided: a member's name is refused when it is, starts or ends like the team. "Staffan" and
# "Administration Smith" are the price (refused); short reserved words ("mod", "rd", "team", "root")
# count only as whole words, so "Modeste" and "Rootes" pass.
@pytest.mark.parametrize("name, refused", [
    ("Admin", True), (f"Admin{ZWSP}", True), ("Staff", True), ("St4ff", True), ("\u0410dmin", True),
    ("The IdeaStorm Team", True), ("A d m i n", True), ("R&D", True), ("Marie (Staff)", True),
    ("AdminBob", True), ("admin_bob", True), ("Ｓｔａｆｆ", True), ("𝐀𝐝𝐦𝐢𝐧", True), ("Modérateur", True),
    ("Équipe support", True), ("Administrator2", True), ("r00t", True), ("Official Acme", True),
    ("Staffan Lindberg", True), ("Administration Smith", True),
    ("Marie Dupont", False), ("Élodie Martin", False), ("Modeste Ngono", False), ("Rootes", False),
    ("Teamster Joe", False), ("محمد علي", False), ("李小龙", False), ("Jo", False),
])
def test_names_that_imitate_the_team(name, refused):
    assert imitates_staff(name, site_name="IdeaStorm") is refused


def test_the_sites_own_name_is_reserved_too():
    assert imitates_staff("Acme Ideas Help", site_name="Acme Ideas")
    assert not imitates_staff("Acme Ideas Help", site_name="IdeaStorm")


# --- ideas ---------------------------------------------------------------------------------------

def test_bidirectional_overrides_are_stripped_from_what_is_stored_and_shown(client, member):
    title = f"Export reports as {RLO}fdp.exe{PDF} files"
    description = f"Line one{ZWSP}\r\nLine{RLO} two\twith a tab"
    response = _submit(client, title, description, tags=f"dark{ZWSP}mode, {RLO}pdf")
    assert response.status_code == 302
    idea = _only_idea()
    assert idea.title == "Export reports as fdp.exe files"
    assert idea.description == "Line one\nLine two\twith a tab"
    assert sorted(tag.name for tag in idea.tags) == ["darkmode", "pdf"]
    html = client.get(f"/ideas/{idea.id}").get_data(as_text=True)
    assert "Export reports as fdp.exe files" in html
    assert RLO not in html and ZWSP not in html


@pytest.mark.parametrize("title", [ZWSP * 10 + "a", ZWSP * 12, f"{RLO}\u2066\u2069{ZWSP}\u2060 ", "a   b"])
def test_a_title_without_five_visible_characters_is_refused_and_kept(client, member, title):
    response = _submit(client, title, "A description that is kept as typed.")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "The title needs at least 5 visible characters." in html
    assert f'value="{title}"' in html  # what was typed comes back in the field
    assert "A description that is kept as typed." in html
    assert db.session.scalar(select(func.count()).select_from(Idea)) == 0


def test_a_plainly_short_title_keeps_its_length_message(client, member):
    html = _submit(client, "abcd").get_data(as_text=True)
    assert "A title has at least 5 characters." in html


def test_text_in_every_script_is_kept_intact(client, member, make_idea):
    title = "Idée d’été: مرحبا שלום 你好 👩\u200d💻"
    body = "Très bien 👍🏽\nالعربية · 日本語 · می\u200cخواهم"
    assert _submit(client, title, body).status_code == 302
    idea = _only_idea()
    assert (idea.title, idea.description) == (title, body)
    assert client.post_form(f"/ideas/{idea.id}/comments", {"body": body}).status_code == 302
    assert db.session.scalars(select(Comment.body)).one() == body
    html = client.get(f"/ideas/{idea.id}").get_data(as_text=True)
    assert title.replace("’", "&rsquo;") in html or title in html
    assert "Très bien 👍🏽" in html and "می\u200cخواهم" in html


def test_a_comment_loses_its_invisible_characters_silently(client, member, make_idea):
    idea = make_idea()
    assert client.post_form(f"/ideas/{idea.id}/comments", {"body": f"Agreed{ZWSP}{RLO}!\r\nReally."}).status_code == 302
    assert db.session.scalars(select(Comment.body)).one() == "Agreed!\nReally."
    invisible = client.post_form(f"/ideas/{idea.id}/comments", {"body": ZWSP * 5})
    assert invisible.status_code == 422 and "A comment cannot be empty." in invisible.get_data(as_text=True)


# --- display names -------------------------------------------------------------------------------

TEAM_NAMES = [f"Admin{ZWSP}", "Staff", "St4ff", "\u0410dmin", "The IdeaStorm Team"]


@pytest.mark.parametrize("name", TEAM_NAMES)
def test_names_imitating_the_team_are_refused_at_registration(client, name):
    response = client.post_form("/register", {"email": "eve@example.com", "display_name": name,
                                              "password": PASSWORD, "confirm": PASSWORD})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert TEAM_MESSAGE in html
    assert 'value="eve@example.com"' in html
    assert db.session.scalar(select(func.count()).select_from(User)) == 0


@pytest.mark.parametrize("name", TEAM_NAMES)
def test_names_imitating_the_team_are_refused_on_the_account_page(client, member, name):
    response = _rename(client, name)
    assert response.status_code == 422
    assert TEAM_MESSAGE in response.get_data(as_text=True)
    db.session.refresh(member)
    assert member.display_name == "Member 1"


@pytest.mark.parametrize("name, message", [
    (ZWSP * 4, "A display name needs at least 2 visible characters."),
    ("\u3164\u3164\u3164", "A display name needs at least 2 visible characters."),
    (f"A{ZWSP}", "A display name needs at least 2 visible characters."),
])
def test_a_name_needs_two_visible_characters(client, member, name, message):
    response = _rename(client, name)
    assert response.status_code == 422 and message in response.get_data(as_text=True)


def test_names_are_cleaned_and_people_keep_their_own(client, member):
    response = _rename(client, f" Zoë {RLO}Ng\u200buyen ")
    assert response.status_code == 302
    db.session.refresh(member)
    assert member.display_name == "Zoë Nguyen"
    for name in ("Modeste Ngono", "محمد علي", "李小龙"):
        assert _rename(client, name).status_code == 302


def test_the_team_may_carry_a_team_name(client, make_user, auth):
    staff = make_user("staff")
    auth.login(staff)
    assert _rename(client, "R&D Team").status_code == 302
    db.session.refresh(staff)
    assert staff.display_name == "R&D Team"


def test_a_name_kept_as_it_is_is_never_refused(client, make_user, auth):
    # A staff member named "Support" who became a member again can still change their language.
    former = make_user(name="Support")
    auth.login(former)
    assert _rename(client, "Support", "fr").status_code == 302


def test_the_command_line_obeys_the_same_rule_for_members(runner):
    result = runner.invoke(args=["users", "create", "--email", "eve@example.com", "--name", "St4ff",
                                 "--password-stdin"], input="a long enough password\n")
    assert result.exit_code != 0 and "site's team" in result.output
    ok = runner.invoke(args=["users", "create", "--email", "ops@example.com", "--name", "Support",
                             "--role", "staff", "--password-stdin"], input="a long enough password\n")
    assert ok.exit_code == 0, ok.output


# --- staff texts, categories, site settings ------------------------------------------------------

def test_staff_texts_categories_and_settings_are_cleaned(client, make_user, auth, make_idea):
    from ideastorm.ideas.models import StatusChange
    from ideastorm.settings.services import site_settings
    from ideastorm.triage.models import StaffNote

    auth.login(make_user("admin"))
    idea = make_idea()
    response = f"Planned{RLO} for May\r\n{ZWSP}"
    assert client.post_form(f"/ideas/{idea.id}/status", {"status": "planned", "response": response}).status_code == 302
    assert client.post_form(f"/ideas/{idea.id}/notes", {"body": f"Ask{ZWSP} legal\r\nfirst"}).status_code == 302
    assert client.post_form("/admin/categories", {"name": f"Mo{RLO}bile{ZWSP}", "slug": ""}).status_code == 302
    refused = client.post_form("/admin/categories", {"name": ZWSP * 6, "slug": ""})
    assert refused.status_code == 422
    assert "A category name needs at least 2 visible characters." in refused.get_data(as_text=True)
    assert client.post_form("/admin/settings", {"name": f"Acme{ZWSP} Ideas{RLO}", "accent": "#0172ad",
                                                "welcome_en": f"# Hello{ZWSP}\r\nWelcome"}).status_code == 302
    db.session.expire_all()
    assert db.session.scalars(select(StatusChange.response)).one() == "Planned for May"
    assert db.session.scalars(select(StaffNote.body)).one() == "Ask legal\nfirst"
    assert db.session.scalar(select(Category.name).where(Category.slug == "mobile")) == "Mobile"
    brand = site_settings()
    assert (brand.name, brand.welcome_en) == ("Acme Ideas", "# Hello\nWelcome")


# --- NUL -----------------------------------------------------------------------------------------

def _row_counts() -> dict[str, int]:
    db.session.expire_all()
    return {table.name: db.session.scalar(select(func.count()).select_from(table))
            for table in db.metadata.sorted_tables}


NUL_FORMS = [
    ("register", "anonymous", "/register",
     {"email": "nul@example.com", "display_name": "Nul\x00Name", "password": PASSWORD, "confirm": PASSWORD}),
    ("login email", "anonymous", "/login", {"email": "member1@example.com\x00", "password": PASSWORD}),
    ("login password", "anonymous", "/login", {"email": "member1@example.com", "password": PASSWORD + "\x00"}),
    ("idea title", "admin", "/ideas/new", {"title": "A title\x00 with NUL", "description": "Fine.", "category": "1"}),
    ("idea description", "admin", "/ideas/new", {"title": "A fine title", "description": "x\x00", "category": "1"}),
    ("idea tags", "admin", "/ideas/new", {"title": "A fine title", "description": "Fine.", "tags": "a\x00b"}),
    ("idea edit", "admin", "/ideas/{idea}/edit", {"title": "A fine title\x00", "description": "Fine."}),
    ("comment", "admin", "/ideas/{idea}/comments", {"body": "Agreed\x00"}),
    ("display name", "admin", "/account", {"profile-display_name": "Ann\x00", "profile-locale": ""}),
    ("official response", "admin", "/ideas/{idea}/status", {"status": "planned", "response": "Soon\x00"}),
    ("staff note", "admin", "/ideas/{idea}/notes", {"body": "Note\x00"}),
    ("bulk tag", "admin", "/triage/bulk", {"ids": "{idea}", "tag": "t\x00"}),
    ("category", "admin", "/admin/categories", {"name": "Cat\x00egory", "slug": ""}),
    ("site name", "admin", "/admin/settings", {"name": "Acme\x00", "accent": "#0172ad"}),
    ("welcome text", "admin", "/admin/settings", {"name": "Acme", "accent": "#0172ad", "welcome_en": "Hi\x00"}),
    ("a field's name", "admin", "/ideas/new", {"ti\x00tle": "A fine title", "description": "Fine."}),
    ("next", "anonymous", "/login", {"email": "member1@example.com", "password": PASSWORD, "next": "/\x00"}),
]


@pytest.mark.parametrize("what, role, url, data", NUL_FORMS, ids=[case[0] for case in NUL_FORMS])
def test_nul_in_any_form_field_answers_400_and_stores_nothing(client, make_user, auth, make_idea,
                                                              what, role, url, data):
    make_user(email="member1@example.com")
    idea = make_idea()
    if role != "anonymous":
        auth.login(make_user(role))
    before = _row_counts()
    response = client.post_form(url.format(idea=idea.id), {key: value.format(idea=idea.id) if key == "ids" else value
                                                           for key, value in data.items()})
    assert response.status_code == 400, what
    assert NUL_MESSAGE in response.get_data(as_text=True)
    assert _row_counts() == before
    assert client.get("/").status_code == 200


def test_nul_in_a_json_body_or_the_path_answers_400(client, member):
    response = client.post("/ideas/new", json={"title": "ok", "tags": ["a", {"b": "c\x00"}]})
    assert response.status_code == 400 and NUL_MESSAGE in response.get_data(as_text=True)
    assert client.get("/reset-password/abc%00def").status_code == 400
    assert db.session.scalar(select(func.count()).select_from(Idea)) == 0
