import pytest
from sqlalchemy import func, select

from ideastorm.accounts.models import User
from ideastorm.audit.models import AuditEntry
from ideastorm.extensions import db
from ideastorm.ideas.models import Category

ADMIN_PAGES = ["/admin", "/admin/users", "/admin/categories", "/admin/settings", "/admin/audit"]


@pytest.fixture
def admin(make_user, auth):
    user = make_user("admin", name="Ada Admin")
    auth.login(user)
    return user


def _entries(action: str) -> list[AuditEntry]:
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))


def _reload(model, ident):
    db.session.expire_all()
    return db.session.get(model, ident)


def _edit(client, category, name, description=""):
    prefix = f"category-{category.id}"
    return client.post(f"/admin/categories/{category.id}", data={
        f"{prefix}-name": name, f"{prefix}-description": description, f"{prefix}-csrf_token": client.csrf_token(),
    })


def _category(slug: str) -> Category:
    db.session.expire_all()
    return db.session.scalar(select(Category).where(Category.slug == slug))


# Access ---------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ADMIN_PAGES)
def test_visitor_is_sent_to_login(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


@pytest.mark.parametrize("role", ["member", "staff"])
@pytest.mark.parametrize("url", ADMIN_PAGES)
def test_members_and_staff_are_forbidden(client, make_user, auth, role, url):
    auth.login(make_user(role))
    assert client.get(url).status_code == 403


@pytest.mark.parametrize("url", ADMIN_PAGES)
def test_admin_sees_every_page(client, admin, url):
    response = client.get(url)
    assert response.status_code == 200
    assert "Administration" in response.get_data(as_text=True)


def test_staff_cannot_post_admin_actions(client, make_user, auth):
    member = make_user()
    auth.login(make_user("staff"))
    assert client.post_form(f"/admin/users/{member.id}/role", {"role": "admin"}).status_code == 403
    assert client.post_form("/admin/categories", {"name": "Nope"}).status_code == 403
    assert _reload(User, member.id).role == "member"


def test_dashboard_links_and_counts(client, admin, make_user):
    make_user("staff")
    page = client.get("/admin").get_data(as_text=True)
    for link in ("/admin/users", "/admin/categories", "/admin/audit"):
        assert f'href="{link}"' in page
    assert "<title>Administration · IdeaStorm</title>" in page


# Users ----------------------------------------------------------------------------------


def test_search_by_email_or_name_and_filter_by_role(client, admin, make_user):
    make_user(email="alice@example.com", name="Alice Martin")
    make_user("staff", email="bob@corp.example", name="Bob ALICEson")
    make_user(email="carol@example.com", name="Carol")

    page = client.get("/admin/users?q=alice").get_data(as_text=True)
    assert "alice@example.com" in page and "bob@corp.example" in page and "carol@example.com" not in page

    page = client.get("/admin/users?q=ALICE&role=staff").get_data(as_text=True)
    assert "bob@corp.example" in page and "alice@example.com" not in page

    page = client.get("/admin/users?role=admin").get_data(as_text=True)
    assert admin.email in page and "carol@example.com" not in page

    page = client.get("/admin/users?q=%25").get_data(as_text=True)  # a literal %, not a wildcard
    assert "No account matches." in page

    assert client.get("/admin/users?role=overlord").status_code == 400
    assert client.get("/admin/users?page=0").status_code == 400


def test_users_are_listed_newest_first_and_paginated(app, client, admin, make_user):
    app.config["IDEAS_PER_PAGE"] = 2
    users = [make_user(name=f"Person {n}") for n in range(3)]
    first = client.get("/admin/users").get_data(as_text=True)
    assert first.index("Person 2") < first.index("Person 1")
    assert "Person 0" not in first and 'rel="next"' in first
    second = client.get("/admin/users?page=2").get_data(as_text=True)
    assert users[0].email in second


def test_change_role_is_audited(client, admin, make_user):
    member = make_user()
    response = client.post_form(f"/admin/users/{member.id}/role",
                                {"role": "staff", "next": "/admin/users?role=member"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/users?role=member"
    assert _reload(User, member.id).role == "staff"
    [entry] = _entries("user.role")
    assert (entry.actor_id, entry.target_type, entry.target_id) == (admin.id, "user", member.id)
    assert (entry.before, entry.after) == ({"role": "member"}, {"role": "staff"})
    assert "is now staff" in client.get("/admin/users").get_data(as_text=True)


def test_unsafe_next_is_ignored(client, admin, make_user):
    member = make_user()
    response = client.post_form(f"/admin/users/{member.id}/role", {"role": "staff", "next": "//evil.example"})
    assert response.headers["Location"] == "/admin/users"


def test_unknown_role_is_refused(client, admin, make_user):
    member = make_user()
    response = client.post_form(f"/admin/users/{member.id}/role", {"role": "overlord"})
    assert response.status_code == 422
    assert "Unknown role: overlord" in response.get_data(as_text=True)
    assert _reload(User, member.id).role == "member"
    assert _entries("user.role") == []


def test_the_last_admin_cannot_step_down(client, admin):
    response = client.post_form(f"/admin/users/{admin.id}/role", {"role": "member"})
    assert response.status_code == 409
    assert "last administrator" in response.get_data(as_text=True)
    assert _reload(User, admin.id).role == "admin"
    assert _entries("user.role") == []


def test_a_banned_admin_does_not_count(client, admin, make_user):
    make_user("admin", banned=True)
    response = client.post_form(f"/admin/users/{admin.id}/role", {"role": "staff"})
    assert response.status_code == 409
    assert _reload(User, admin.id).role == "admin"


def test_an_admin_can_step_down_when_another_remains(client, admin, make_user):
    other = make_user("admin")
    response = client.post_form(f"/admin/users/{admin.id}/role", {"role": "staff"})
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert _reload(User, admin.id).role == "staff"
    assert client.get("/admin").status_code == 403
    # The other admin is now the last one.
    from ideastorm.admin.services import change_role
    from ideastorm.domain import DomainError

    with pytest.raises(DomainError) as error:
        change_role(other, _reload(User, other.id), "member")
    assert (error.value.code, error.value.status) == ("last_admin", 409)


def test_role_change_of_a_missing_user_is_404(client, admin):
    assert client.post_form("/admin/users/999999/role", {"role": "staff"}).status_code == 404


def test_ban_signs_the_member_out_and_unban_lets_them_back(app, client, admin, make_user):
    from tests.conftest import Auth, Client

    member = make_user()
    app.test_client_class = Client
    member_client = app.test_client()
    Auth(member_client).login(member)
    assert member_client.get("/account").status_code == 200

    response = client.post_form(f"/admin/users/{member.id}/ban", {"next": "/admin/users?q=member"})
    assert response.status_code == 302 and response.headers["Location"] == "/admin/users?q=member"
    assert _reload(User, member.id).is_banned
    assert member_client.get("/account").status_code == 302
    [entry] = _entries("user.ban")
    assert (entry.actor_id, entry.target_id, entry.after) == (admin.id, member.id, {"banned": True})
    assert "Banned" in client.get("/admin/users").get_data(as_text=True)

    assert client.post_form(f"/admin/users/{member.id}/unban").status_code == 302
    assert not _reload(User, member.id).is_banned
    assert len(_entries("user.unban")) == 1
    assert Auth(member_client).login(member).status_code == 302


def test_nobody_bans_an_admin(client, admin, make_user):
    response = client.post_form(f"/admin/users/{admin.id}/ban")
    assert response.status_code == 409
    assert "cannot ban yourself" in response.get_data(as_text=True)
    other = make_user("admin")
    response = client.post_form(f"/admin/users/{other.id}/ban")
    assert response.status_code == 403
    assert not _reload(User, other.id).is_banned
    assert _entries("user.ban") == []


def test_forged_csrf_is_refused(client, admin, make_user):
    member = make_user()
    for url, data in [
        (f"/admin/users/{member.id}/role", {"role": "admin"}),
        (f"/admin/users/{member.id}/ban", {}),
        ("/admin/categories", {"name": "Forged"}),
    ]:
        response = client.post(url, data={**data, "csrf_token": "forged"})
        assert response.status_code == 400, url
    assert _reload(User, member.id).role == "member" and not _reload(User, member.id).is_banned
    assert _category("forged") is None
    store = _category("store")
    response = client.post(f"/admin/categories/{store.id}", data={
        f"category-{store.id}-name": "Forged shop", f"category-{store.id}-csrf_token": "forged"})
    assert response.status_code == 400
    assert "could not be verified" in response.get_data(as_text=True)
    assert 'value="Forged shop"' in response.get_data(as_text=True)
    assert _category("store").name == "Online store"


# Categories -----------------------------------------------------------------------------


def test_create_category_with_a_derived_slug(client, admin):
    response = client.post_form("/admin/categories", {"name": "Énergie & batteries",
                                                      "description": "Power."})
    assert response.status_code == 302 and response.headers["Location"] == "/admin/categories"
    category = _category("energie-batteries")
    assert (category.name, category.description, category.is_archived) == ("Énergie & batteries", "Power.", False)
    [entry] = _entries("category.create")
    assert (entry.target_type, entry.target_id, entry.actor_id) == ("category", category.id, admin.id)
    assert entry.after["slug"] == "energie-batteries"
    assert "Énergie &amp; batteries" in client.get("/admin/categories").get_data(as_text=True)


def test_duplicate_slug_or_name_keeps_the_input(client, admin):
    count = db.session.scalar(select(func.count()).select_from(Category))
    response = client.post_form("/admin/categories", {"name": "Shop things", "slug": "store",
                                                      "description": "My careful text"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "already uses the address store" in page
    assert 'value="Shop things"' in page and "My careful text" in page

    response = client.post_form("/admin/categories", {"name": "online STORE"})
    assert response.status_code == 422
    assert "already named" in response.get_data(as_text=True)

    response = client.post_form("/admin/categories", {"name": "Fine", "slug": "Not A Slug"})
    assert response.status_code == 422
    assert "single hyphens" in response.get_data(as_text=True)

    response = client.post_form("/admin/categories", {"name": ""})
    assert response.status_code == 422
    assert db.session.scalar(select(func.count()).select_from(Category)) == count
    assert _entries("category.create") == []


def test_rename_category_is_audited_and_keeps_the_slug(client, admin, make_idea):
    category = _category("store")
    idea = make_idea(category="store")
    response = _edit(client, category, "Web shop", "Buying online.")
    assert response.status_code == 302
    category = _category("store")
    assert (category.name, category.description) == ("Web shop", "Buying online.")
    [entry] = _entries("category.update")
    assert entry.before["name"] == "Online store" and entry.after["name"] == "Web shop"
    assert "Web shop" in client.get(f"/ideas/{idea.id}").get_data(as_text=True)


def test_rename_to_an_existing_name_is_refused_with_input_kept(client, admin):
    category = _category("store")
    response = _edit(client, category, "Products", "Kept text")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "already named Products" in page and "Kept text" in page
    assert _category("store").name == "Online store"
    assert _entries("category.update") == []


def test_archive_and_unarchive(client, admin, make_idea):
    category = _category("store")
    idea = make_idea(category="store")
    assert client.post_form(f"/admin/categories/{category.id}/archive").status_code == 302
    assert _category("store").is_archived
    assert "Archived" in client.get("/admin/categories").get_data(as_text=True)
    new_form = client.get("/ideas/new").get_data(as_text=True)
    assert "Online store" not in new_form and "Products" in new_form
    assert "Online store" in client.get(f"/ideas/{idea.id}").get_data(as_text=True)

    assert client.post_form(f"/admin/categories/{category.id}/unarchive").status_code == 302
    assert not _category("store").is_archived
    assert "Online store" in client.get("/ideas/new").get_data(as_text=True)
    assert [e.after for e in _entries("category.archive")] == [{"archived": True}]
    assert [e.after for e in _entries("category.unarchive")] == [{"archived": False}]


def test_archive_needs_post_and_an_existing_category(client, admin):
    assert client.get("/admin/categories/1/archive").status_code == 405
    assert client.post_form("/admin/categories/999999/archive").status_code == 404


# Audit log -------------------------------------------------------------------------------


def test_audit_page_lists_entries_newest_first_and_filters(client, admin, make_user, make_idea):
    from ideastorm.triage.services import change_status

    member = make_user(name="Mallory <script>")
    idea = make_idea()
    change_status(admin, idea, "planned", "Coming <soon>")
    db.session.commit()
    client.post_form(f"/admin/users/{member.id}/role", {"role": "staff"})

    page = client.get("/admin/audit").get_data(as_text=True)
    assert page.index("<code>user.role</code>") < page.index("<code>idea.status</code>")
    assert f'href="/ideas/{idea.id}"' in page
    assert "Coming &lt;soon&gt;" in page and "<soon>" not in page
    assert "Ada Admin" in page

    filtered = client.get("/admin/audit?action=idea.status").get_data(as_text=True)
    assert "Coming &lt;soon&gt;" in filtered and "<code>user.role</code>" not in filtered
