"""Every business rule holds in its service, called without a request, on both databases;
the HTML forms show the service's refusal beside the field (422, input kept); the CLI fails
in one line. A refused unit of work leaves nothing behind, even after other services ran."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from ideastorm.accounts import services as accounts
from ideastorm.accounts.models import User
from ideastorm.admin import services as admin
from ideastorm.comments import services as comments
from ideastorm.comments.models import Comment
from ideastorm.domain import DomainError
from ideastorm.extensions import db
from ideastorm.ideas import counters
from ideastorm.ideas import services as ideas
from ideastorm.ideas.models import Category, Idea
from ideastorm.triage import services as triage
from ideastorm.votes import services as votes

GOOD_DESCRIPTION = "It would help everyone who works at night."


def _category_id(slug: str = "products") -> int:
    return db.session.scalar(select(Category.id).where(Category.slug == slug))


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _refused(call, code: str, field: str | None):
    with pytest.raises(DomainError) as caught:
        call()
    db.session.rollback()
    assert caught.value.code == code, caught.value
    assert caught.value.field == field
    assert caught.value.message and caught.value.message == str(caught.value)
    return caught.value


# Ideas ---------------------------------------------------------------------------------


@pytest.mark.parametrize("title, code", [
    ("", "title_required"), ("   ", "title_required"), ("x", "title_too_short"), ("abcd", "title_too_short"),
    ("x" * 141, "title_too_long"), ("x" * 500, "title_too_long"),
])
def test_submit_refuses_bad_titles(app, make_user, title, code):
    author = make_user()
    _refused(lambda: ideas.submit_idea(author, title, GOOD_DESCRIPTION, _category_id()), code, "title")
    assert _count(Idea) == 0


@pytest.mark.parametrize("description, code", [
    ("", "description_required"), (" \n ", "description_required"), ("x" * 10_001, "description_too_long"),
])
def test_submit_refuses_bad_descriptions(app, make_user, description, code):
    author = make_user()
    _refused(lambda: ideas.submit_idea(author, "A fine title", description, _category_id()), code, "description")


@pytest.mark.parametrize("tags, code", [
    ("a, b, c, d, e, f", "too_many_tags"), ("x" * 31, "tag_too_long"), ("a," * 200, "tags_too_long"),
])
def test_submit_refuses_bad_tags(app, make_user, tags, code):
    author = make_user()
    _refused(lambda: ideas.submit_idea(author, "A fine title", GOOD_DESCRIPTION, _category_id(), tags), code, "tags")


def test_submit_refuses_missing_and_archived_categories(app, make_user):
    author = make_user()
    archived = db.session.get(Category, _category_id("other"))
    archived.is_archived = True
    db.session.commit()
    for category_id in (None, 0, 99_999, archived.id):
        _refused(lambda: ideas.submit_idea(author, "A fine title", GOOD_DESCRIPTION, category_id),
                 "category_invalid", "category")


def test_every_field_at_fault_is_named_at_once(app, make_user):
    author = make_user()
    error = _refused(lambda: ideas.submit_idea(author, "x", "", None, "a,b,c,d,e,f"), "title_too_short", "title")
    assert set(error.fields) == {"title", "description", "category", "tags"}


def test_submit_and_update_keep_the_rules(app, make_user):
    author = make_user()
    idea = ideas.submit_idea(author, "  A fine title  ", GOOD_DESCRIPTION, _category_id(), "UX, Dark mode,ux")
    db.session.commit()
    assert (idea.title, sorted(t.name for t in idea.tags)) == ("A fine title", ["dark-mode", "ux"])
    _refused(lambda: ideas.update_idea(idea, "no", GOOD_DESCRIPTION, _category_id()), "title_too_short", "title")
    assert db.session.get(Idea, idea.id).title == "A fine title"


def test_slugs_transliterate_every_script():
    assert ideas.slugify("Idée géniale : l'export PDF !") == "idee-geniale-l-export-pdf"
    japanese, greek = ideas.slugify("日本の製品"), ideas.slugify("Προϊόντα")
    assert japanese not in ("", "idea") and japanese.isascii()
    assert greek not in ("", "idea", japanese) and greek.isascii()
    assert len(ideas.slugify("word " * 40)) <= ideas.SLUG_MAX
    assert ideas.slugify("!!!") == "idea"


# Comments ------------------------------------------------------------------------------


@pytest.mark.parametrize("body, code", [("", "body_required"), ("  \n\t ", "body_required"),
                                         ("x" * 5_001, "body_too_long")])
def test_comment_rules(app, make_user, make_idea, body, code):
    idea = make_idea()
    _refused(lambda: comments.add_comment(make_user(), idea, body), code, "body")
    assert _count(Comment) == 0
    assert db.session.get(Idea, idea.id).comment_count == 0


# Accounts ------------------------------------------------------------------------------

GOOD_PASSWORD = "a long enough password"


@pytest.mark.parametrize("email, name, password, code, field", [
    ("ann@example.com", "", GOOD_PASSWORD, "display_name_required", "display_name"),
    ("ann@example.com", "   ", GOOD_PASSWORD, "display_name_required", "display_name"),
    ("ann@example.com", "A", GOOD_PASSWORD, "display_name_too_short", "display_name"),
    ("ann@example.com", "A" * 61, GOOD_PASSWORD, "display_name_too_long", "display_name"),
    ("ann@example.com", "Ann", "12345", "password_too_short", "password"),
    ("ann@example.com", "Ann", "x" * 201, "password_too_long", "password"),
    ("ann.lee@example.com", "Ann", "Ann.Lee@example.com", "password_is_email", "password"),
    ("not-an-email", "Ann", GOOD_PASSWORD, "email_invalid", "email"),
    ("", "Ann", GOOD_PASSWORD, "email_required", "email"),
    ("a" * 250 + "@example.com", "Ann", GOOD_PASSWORD, "email_too_long", "email"),
])
def test_create_user_rules(app, email, name, password, code, field):
    _refused(lambda: accounts.create_user(email, name, password), code, field)
    assert _count(User) == 0


def test_create_user_refuses_a_taken_email_in_any_case_and_an_unknown_role(app, make_user):
    make_user(email="taken@example.com")
    _refused(lambda: accounts.create_user(" TAKEN@Example.com ", "Dup", GOOD_PASSWORD), "email_taken", "email")
    _refused(lambda: accounts.create_user("new@example.com", "New", GOOD_PASSWORD, "god"), "role_unknown", "role")
    assert _count(User) == 1


def test_profile_and_password_rules(app, make_user):
    from tests.conftest import PASSWORD

    user = make_user()
    _refused(lambda: accounts.update_profile(user, " ", None), "display_name_required", "display_name")
    _refused(lambda: accounts.update_profile(user, "Fine name", "de"), "locale_unknown", "locale")
    _refused(lambda: accounts.change_password(user, "wrong one", GOOD_PASSWORD), "password_wrong", "current_password")
    _refused(lambda: accounts.change_password(user, PASSWORD, "short"), "password_too_short", "new_password")
    accounts.change_password(user, PASSWORD, GOOD_PASSWORD)
    db.session.commit()
    assert accounts.authenticate(user.email, GOOD_PASSWORD).user == user


# Categories ----------------------------------------------------------------------------


@pytest.mark.parametrize("name, slug, description, code, field", [
    ("", None, None, "name_required", "name"),
    ("X", None, None, "name_too_short", "name"),
    ("X" * 81, None, None, "name_too_long", "name"),
    ("Printers", "Bad Slug", None, "slug_invalid", "slug"),
    ("Printers", "double--hyphen", None, "slug_invalid", "slug"),
    ("Printers", "a" * 61, None, "slug_invalid", "slug"),
    ("Printers", None, "x" * 301, "description_too_long", "description"),
    ("PRODUCTS", "new-products", None, "name_taken", "name"),
    ("Printers", "products", None, "slug_taken", "slug"),
])
def test_category_rules(app, make_user, name, slug, description, code, field):
    actor = make_user("admin")
    before = _count(Category)
    _refused(lambda: admin.create_category(actor, name, slug, description), code, field)
    assert _count(Category) == before


def test_categories_named_in_other_scripts_get_their_own_addresses(app, make_user):
    actor = make_user("admin")
    first = admin.create_category(actor, "日本の製品")
    second = admin.create_category(actor, "中国の製品")
    db.session.commit()
    assert first.slug != second.slug and "idea" not in (first.slug, second.slug)


# Triage and votes -------------------------------------------------------------------------


def test_triage_rules(app, make_user, make_idea):
    staff, idea = make_user("staff"), make_idea()
    _refused(lambda: triage.change_status(staff, idea, "bogus"), "status_unknown", "status")
    _refused(lambda: triage.change_status(staff, idea, "planned", "x" * 10_001), "response_too_long", "response")
    _refused(lambda: triage.add_note(staff, idea, "  "), "note_length", "body")
    _refused(lambda: triage.mark_duplicate(staff, idea, idea), "duplicate_of_itself", "original_id")
    assert db.session.get(Idea, idea.id).status == "new"


@pytest.mark.parametrize("value", ["2", "one", "", None, True, 1.5])
def test_vote_values(app, make_user, make_idea, value):
    idea = make_idea()
    _refused(lambda: votes.cast_vote(make_user().id, idea.id, value), "vote_invalid", "value")


# One transaction per request ------------------------------------------------------------


def test_services_compose_in_one_transaction_and_a_refusal_leaves_nothing(app, make_user):
    author = make_user()
    idea = ideas.submit_idea(author, "A fine title", GOOD_DESCRIPTION, _category_id())
    comments.add_comment(author, idea, "First!")
    with pytest.raises(DomainError):
        comments.add_comment(author, idea, "")
    db.session.rollback()  # what every view and command does with a refusal
    assert (_count(Idea), _count(Comment)) == (0, 0)
    assert counters.values() == {"submitted": 0, "implemented": 0}


# Through the HTML forms and the CLI ------------------------------------------------------


def test_the_idea_form_shows_every_refusal_beside_its_field(client, member):
    response = client.post_form("/ideas/new", {"title": "x", "description": "", "category": "", "tags": "a,b,c,d,e,f"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    for message in ("A title has at least 5 characters.", "A description is required: say why it matters.",
                    "Choose one of the categories.", "An idea can have at most 5 tags."):
        assert message in page
    assert 'id="title-error"' in page and 'value="x"' in page and 'value="a,b,c,d,e,f"' in page


def test_a_500_character_title_is_a_message_not_a_server_error(client, member):
    response = client.post_form("/ideas/new", {"title": "x" * 500, "description": GOOD_DESCRIPTION,
                                               "category": str(_category_id())})
    assert response.status_code == 422
    assert "A title has at most 140 characters." in response.get_data(as_text=True)
    assert _count(Idea) == 0


def test_registration_shows_the_service_rules(client):
    response = client.post_form("/register", {"email": "ann@example.com", "display_name": " ",
                                              "password": "12345", "confirm": "12345"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "A display name is required." in page and "A password has at least 10 characters." in page
    assert 'value="ann@example.com"' in page
    assert _count(User) == 0


def test_account_form_refuses_an_empty_name(client, member):
    response = client.post_form("/account", {"profile-display_name": "  ", "profile-locale": "",
                                             "profile-csrf_token": client.csrf_token()})
    assert response.status_code == 422
    assert "A display name is required." in response.get_data(as_text=True)
    assert db.session.get(User, member.id).display_name == member.display_name


def test_an_empty_comment_is_refused_beside_the_box(client, member, make_idea):
    idea = make_idea()
    response = client.post_form(f"/ideas/{idea.id}/comments", {"body": "   "})
    assert response.status_code == 422
    assert 'id="comment-body-error"' in response.get_data(as_text=True)


def test_the_category_form_shows_the_slug_rule(client, make_user, auth):
    auth.login(make_user("admin"))
    response = client.post_form("/admin/categories", {"name": "Printers", "slug": "Bad Slug", "description": ""})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Use lower-case letters, digits and single hyphens" in page and 'value="Bad Slug"' in page


@pytest.mark.parametrize("args, stdin, message", [
    (["--name", " "], "a long enough password\n", "A display name is required. (display_name)"),
    (["--name", "Ann"], "12345\n", "A password has at least 10 characters. (password)"),
    (["--name", "Ann", "--email", "nope"], "a long enough password\n", "This is not a valid email address. (email)"),
])
def test_users_create_fails_in_one_line(runner, args, stdin, message):
    full = ["users", "create", "--email", "ann@example.com", "--password-stdin", *args]
    result = runner.invoke(args=full, input=stdin)
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert lines == [f"Error: {message}"]
    assert _count(User) == 0
