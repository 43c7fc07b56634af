import pytest
from sqlalchemy import func, select

from ideastorm.extensions import db
from ideastorm.ideas.models import Category, Idea

VALID = {"title": "Add a dark mode to the support app", "description": "Please, for night owls.",
         "tags": "UX, Dark mode, ux"}


def _category_id(slug="products") -> int:
    return db.session.scalar(select(Category.id).where(Category.slug == slug))


def _submit(client, **changes):
    data = {**VALID, "category": str(_category_id()), **changes}
    return client.post_form("/ideas/new", data)


def _idea_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Idea))


def test_visitor_is_sent_to_login_to_submit(client):
    response = client.get("/ideas/new")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=%2Fideas%2Fnew")


def test_submit_idea_appears_in_the_backlog(client, member):
    response = _submit(client)
    assert response.status_code == 302
    idea = db.session.scalar(select(Idea))
    assert response.headers["Location"] == f"/ideas/{idea.id}"
    assert (idea.status, idea.score, idea.promote_count, idea.author_id) == ("new", 0, 0, member.id)
    assert [t.name for t in idea.tags] == ["dark-mode", "ux"]
    listing = client.get("/ideas").get_data(as_text=True)
    assert VALID["title"] in listing
    page = client.get(f"/ideas/{idea.id}").get_data(as_text=True)
    assert "<p>Please, for night owls.</p>" in page
    assert 'data-score="0"' in page and 'data-promotes="0"' in page and 'data-demotes="0"' in page


@pytest.mark.parametrize("title, message", [
    ("", "A title is required."),
    ("abcd", "A title has at least 5 characters."),
    ("x" * 141, "A title has at most 140 characters."),
])
def test_bad_titles_are_refused_and_the_form_keeps_the_input(client, member, title, message):
    response = _submit(client, title=title, description="My careful description")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in page
    assert "My careful description" in page
    assert _idea_count() == 0


def test_two_megabyte_description_is_refused_with_the_text_kept(client, member):
    huge = "a" * (2 * 1024 * 1024)
    response = _submit(client, description=huge)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "10000" in page.replace(",", "").replace("\u202f", "") or "10 000" in page
    assert huge in page
    assert _idea_count() == 0


def test_missing_category_and_too_many_tags(client, member):
    response = _submit(client, category="", tags="a, b, c, d, e, f")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Choose one of the categories" in page
    assert "at most 5 tags" in page
    assert _idea_count() == 0
    archived = db.session.get(Category, _category_id("other"))
    archived.is_archived = True
    db.session.commit()
    assert _submit(client, category=str(archived.id)).status_code == 422
    assert _submit(client, category="999999").status_code == 422
    assert _submit(client, category="abc").status_code == 422


def test_markdown_is_sanitized(client, member):
    description = (
        "<script>alert('x')</script>\n\n[click](javascript:alert(1)) "
        "<img src=x onerror=alert(1)> [ok](https://example.com)\n\n**bold**"
    )
    _submit(client, description=description)
    idea = db.session.scalar(select(Idea))
    page = client.get(f"/ideas/{idea.id}").get_data(as_text=True)
    body = page.split('class="idea-description">', 1)[1].split("</div>", 1)[0]
    assert "<script" not in body
    assert 'href="javascript' not in body
    assert "<img" not in body  # raw HTML is never passed through, so no onerror handler survives
    assert "&lt;script&gt;" in body  # shown as text, not run
    assert '<a href="https://example.com" rel="nofollow noopener noreferrer ugc">ok</a>' in body
    assert "<strong>bold</strong>" in body


def test_title_is_escaped_everywhere(client, member):
    _submit(client, title="<b>Bold</b> move please")
    for url in ("/", "/ideas", f"/ideas/{db.session.scalar(select(Idea.id))}"):
        page = client.get(url).get_data(as_text=True)
        assert "<b>Bold</b>" not in page and "&lt;b&gt;Bold&lt;/b&gt;" in page


def test_author_edits_while_new_only(client, member, make_idea):
    idea = make_idea(member)
    response = client.post_form(f"/ideas/{idea.id}/edit", {
        "title": "A better title for it", "description": "Changed", "category": str(_category_id("store")),
        "tags": "billing",
    })
    assert response.status_code == 302
    db.session.refresh(idea)
    assert (idea.title, idea.category.slug, [t.name for t in idea.tags]) == ("A better title for it", "store", ["billing"])
    edit_page = client.get(f"/ideas/{idea.id}/edit").get_data(as_text=True)
    assert 'value="A better title for it"' in edit_page and 'value="billing"' in edit_page
    idea.status = "under_review"
    db.session.commit()
    assert client.get(f"/ideas/{idea.id}/edit").status_code == 403
    assert client.post_form(f"/ideas/{idea.id}/edit", {**VALID, "category": str(_category_id())}).status_code == 403
    db.session.refresh(idea)
    assert idea.title == "A better title for it"


def test_others_cannot_edit(client, member, make_idea, make_user):
    idea = make_idea(make_user())
    assert client.get(f"/ideas/{idea.id}/edit").status_code == 403
    client.post_form("/logout")
    assert client.get(f"/ideas/{idea.id}/edit").status_code == 302


def test_idea_page_slug_and_missing(client, make_idea):
    idea = make_idea()
    assert client.get(f"/ideas/{idea.id}/some-stale-slug").headers["Location"] == f"/ideas/{idea.id}"
    assert client.get("/ideas/999999").status_code == 404
    assert client.get("/ideas/99999999999999999999999").status_code == 404
    assert client.get(f"/ideas/{2**40}").status_code == 404  # beyond a 32-bit id: 404, not a database error


def test_hidden_idea_is_404_for_the_public_but_shown_to_staff(client, make_idea, make_user, auth):
    idea = make_idea(title="A secret hidden proposal", hidden=True)
    assert client.get(f"/ideas/{idea.id}").status_code == 404
    assert "A secret hidden proposal" not in client.get("/ideas").get_data(as_text=True)
    assert "A secret hidden proposal" not in client.get("/").get_data(as_text=True)
    auth.login(make_user())
    assert client.get(f"/ideas/{idea.id}").status_code == 404
    auth.logout()
    auth.login(make_user("staff"))
    page = client.get(f"/ideas/{idea.id}").get_data(as_text=True)
    assert "A secret hidden proposal" in page and "Hidden" in page


def test_list_sorts_filters_and_pagination(app, client, make_idea, make_user):
    from tests.helpers import cast_vote

    voters = [make_user() for _ in range(3)]
    old = make_idea(title="Old but popular idea", tags="mobile")
    make_idea(title="Brand new idea here", category="store")
    for voter in voters:
        cast_vote(voter.id, old.id, 1)
    planned = make_idea(title="Planned idea for you", status="planned")

    def titles(query):
        page = client.get(f"/ideas?{query}").get_data(as_text=True)
        return [t for t in ("Old but popular idea", "Brand new idea here", "Planned idea for you") if t in page], page

    found, page = titles("sort=top")
    assert page.index("Old but popular idea") < page.index("Brand new idea here")
    _, page = titles("sort=new")
    assert page.index("Planned idea for you") < page.index("Brand new idea here") < page.index("Old but popular idea")
    assert titles("status=planned")[0] == ["Planned idea for you"]
    assert titles("category=store")[0] == ["Brand new idea here"]
    assert titles("tag=mobile")[0] == ["Old but popular idea"]
    assert client.get("/ideas?category=nope").status_code == 404
    assert client.get("/ideas?status=bogus").status_code == 400
    assert client.get("/ideas?sort=bogus").status_code == 400
    assert client.get("/ideas?page=0").status_code == 400

    app.config["IDEAS_PER_PAGE"] = 2
    first = client.get("/ideas?sort=new").get_data(as_text=True)
    assert 'rel="next"' in first and "Old but popular idea" not in first
    second = client.get("/ideas?sort=new&page=2").get_data(as_text=True)
    assert "Old but popular idea" in second and 'rel="prev"' in second and 'rel="next"' not in second
    assert planned.id


def test_list_answers_htmx_with_the_results_fragment(client, make_idea):
    make_idea()
    response = client.get("/ideas?sort=new", headers={"HX-Request": "true"})
    page = response.get_data(as_text=True)
    assert page.lstrip().startswith('<div id="results"') and "<html" not in page
    assert "HX-Request" in response.headers["Vary"]
