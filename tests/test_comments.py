import pytest
from sqlalchemy import func, select

from ideastorm.comments.models import Comment
from ideastorm.domain import DomainError
from ideastorm.extensions import db
from ideastorm.ideas.models import Idea


@pytest.fixture
def member(make_user, auth):
    user = make_user(name="Chloé Martin")
    auth.login(user)
    return user


def _comment_count(idea_id) -> tuple[int, int]:
    db.session.expire_all()
    stored = db.session.scalar(select(func.count()).select_from(Comment).where(Comment.idea_id == idea_id))
    return stored, db.session.get(Idea, idea_id).comment_count


def test_comments_show_newest_last_with_author(client, member, make_idea):
    idea = make_idea()
    for body in ("First thought", "Second **thought**"):
        response = client.post_form(f"/ideas/{idea.id}/comments", {"body": body})
        assert response.status_code == 302
    page = client.get(f"/ideas/{idea.id}").get_data(as_text=True)
    assert page.index("First thought") < page.index("Second <strong>thought</strong>")
    assert "Chloé Martin" in page and "2 comments" in page
    assert _comment_count(idea.id) == (2, 2)


def test_comment_markdown_is_sanitized(client, member, make_idea):
    idea = make_idea()
    client.post_form(f"/ideas/{idea.id}/comments", {"body": '<script>alert(1)</script> [x](javascript:alert(1))'})
    page = client.get(f"/ideas/{idea.id}").get_data(as_text=True)
    section = page.split('id="comments"', 1)[1]
    assert "<script>alert" not in section and 'href="javascript' not in section


def test_htmx_comment_swaps_the_section(client, member, make_idea):
    idea = make_idea()
    response = client.htmx_post(f"/ideas/{idea.id}/comments", {"body": "Via htmx", "csrf_token": client.csrf_token()})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert page.lstrip().startswith('<section id="comments"') and "Via htmx" in page
    assert "<textarea" in page and "Via htmx</textarea>" not in page  # a fresh form


def test_empty_or_oversized_comment_keeps_the_text(client, member, make_idea):
    idea = make_idea()
    empty = client.post_form(f"/ideas/{idea.id}/comments", {"body": "   "})
    assert empty.status_code == 422 and "A comment cannot be empty." in empty.get_data(as_text=True)
    long_text = "word " * 1200
    response = client.htmx_post(f"/ideas/{idea.id}/comments", {"body": long_text, "csrf_token": client.csrf_token()})
    assert response.status_code == 422
    assert long_text.strip() in response.get_data(as_text=True)
    assert _comment_count(idea.id) == (0, 0)


def test_visitors_and_locked_ideas(client, make_idea, make_user, auth):
    idea = make_idea()
    assert "Log in to comment" in client.get(f"/ideas/{idea.id}").get_data(as_text=True)
    assert client.post_form(f"/ideas/{idea.id}/comments", {"body": "Hi"}).status_code == 302
    idea.comments_locked = True
    db.session.commit()
    auth.login(make_user())
    assert "Comments are closed" in client.get(f"/ideas/{idea.id}").get_data(as_text=True)
    assert client.post_form(f"/ideas/{idea.id}/comments", {"body": "Hi"}).status_code == 403
    assert _comment_count(idea.id) == (0, 0)


def test_hidden_comment_is_not_shown_to_members(client, member, make_idea, make_user):
    idea = make_idea()
    db.session.add(Comment(idea_id=idea.id, author_id=make_user().id, body="Spam spam spam", is_hidden=True))
    db.session.commit()
    assert "Spam spam spam" not in client.get(f"/ideas/{idea.id}").get_data(as_text=True)


def test_comment_on_missing_idea(client, member):
    assert client.post_form("/ideas/987654/comments", {"body": "Hello"}).status_code == 404


# --- editing and deleting one's own comment ---------------------------------------------------

def _post(client, member_idea, body="My first words"):
    """A comment by the signed-in member on ``member_idea``; its id."""
    client.post_form(f"/ideas/{member_idea.id}/comments", {"body": body})
    db.session.expire_all()
    return db.session.scalars(select(Comment.id).where(Comment.idea_id == member_idea.id)
                              .order_by(Comment.id.desc())).first()


def _indexed_comments(idea_id) -> str:
    from ideastorm import search
    from ideastorm.search.interface import SearchQuery

    search.sync()
    return search.backend().query(SearchQuery("zebracrossing")).total


def test_author_edits_a_comment_without_javascript(client, member, make_idea):
    idea = make_idea()
    comment_id = _post(client, idea)
    page = client.get(f"/ideas/{idea.id}").get_data(as_text=True)
    assert f'href="/comments/{comment_id}/edit"' in page and f'href="/comments/{comment_id}/delete"' in page
    assert "edited" not in page.split('id="comments"', 1)[1]
    form = client.get(f"/comments/{comment_id}/edit")
    assert form.status_code == 200 and "My first words</textarea>" in form.get_data(as_text=True)
    response = client.post_form(f"/comments/{comment_id}/edit", {"body": "My **second** words"})
    assert response.status_code == 302
    assert response.headers["Location"] == f"/ideas/{idea.id}#comment-{comment_id}"
    page = client.get(f"/ideas/{idea.id}").get_data(as_text=True)
    card = page.split(f'id="comment-{comment_id}"', 1)[1].split("</article>", 1)[0]
    assert "My <strong>second</strong> words" in card and "My first words" not in page
    assert 'class="edited"' in card and "<time datetime=" in card.split('class="edited"', 1)[1]
    assert _comment_count(idea.id) == (1, 1)
    db.session.expire_all()
    assert db.session.get(Comment, comment_id).edited_at is not None


def test_htmx_edit_swaps_the_comment_in_place(client, member, make_idea):
    idea = make_idea()
    comment_id = _post(client, idea)
    form = client.get(f"/comments/{comment_id}/edit", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert form.lstrip().startswith(f'<article class="comment comment-editing" id="comment-{comment_id}"')
    assert "<html" not in form
    response = client.htmx_post(f"/comments/{comment_id}/edit", {"body": "Rewritten", "csrf_token": client.csrf_token()})
    card = response.get_data(as_text=True)
    assert response.status_code == 200
    assert card.lstrip().startswith(f'<article class="comment" id="comment-{comment_id}"')
    assert "Rewritten" in card and 'class="edited"' in card


def test_edit_refused_keeps_the_text(client, member, make_idea):
    idea = make_idea()
    comment_id = _post(client, idea)
    empty = client.post_form(f"/comments/{comment_id}/edit", {"body": "  "})
    assert empty.status_code == 422 and "A comment cannot be empty." in empty.get_data(as_text=True)
    long_text = "word " * 1200
    response = client.htmx_post(f"/comments/{comment_id}/edit", {"body": long_text, "csrf_token": client.csrf_token()})
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and "A comment has at most 5000 characters." in body
    assert long_text.strip() in body and 'id="comment-' in body and "<html" not in body
    db.session.expire_all()
    comment = db.session.get(Comment, comment_id)
    assert comment.body == "My first words" and comment.edited_at is None


def test_author_deletes_a_comment_after_confirming(client, member, make_idea):
    idea = make_idea()
    kept = _post(client, idea, "Kept")
    comment_id = _post(client, idea, "Delete zebracrossing me")
    assert _indexed_comments(idea.id) == 1
    confirm = client.get(f"/comments/{comment_id}/delete")
    body = confirm.get_data(as_text=True)
    assert confirm.status_code == 200 and "Delete your comment?" in body and "Delete zebracrossing me" in body
    assert f'action="/comments/{comment_id}/delete"' in body
    response = client.post_form(f"/comments/{comment_id}/delete")
    assert response.status_code == 302 and response.headers["Location"] == f"/ideas/{idea.id}#comments"
    page = client.get(f"/ideas/{idea.id}").get_data(as_text=True)
    assert "Delete zebracrossing me" not in page and "Kept" in page and "1 comment" in page
    assert _comment_count(idea.id) == (1, 1)
    assert _indexed_comments(idea.id) == 0  # the search index forgot its words
    assert client.get(f"/comments/{comment_id}/delete").status_code == 404
    assert kept


def test_htmx_delete_answers_the_section(client, member, make_idea):
    idea = make_idea()
    comment_id = _post(client, idea, "Soon gone")
    response = client.htmx_post(f"/comments/{comment_id}/delete")
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and body.lstrip().startswith('<section id="comments"')
    assert "Soon gone" not in body and "0 comments" in body
    assert _comment_count(idea.id) == (0, 0)


def test_only_the_author_may_edit_or_delete(client, make_user, make_idea, auth):
    idea = make_idea()
    author = make_user(name="Alice Author")
    auth.login(author)
    comment_id = _post(client, idea)
    auth.logout()
    # A visitor is sent to sign in.
    response = client.get(f"/comments/{comment_id}/edit")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    # Another member, and staff, may not change it (staff hide it instead).
    for role in ("member", "staff"):
        auth.login(make_user(role))
        page = client.get(f"/ideas/{idea.id}").get_data(as_text=True)
        assert f"/comments/{comment_id}/edit" not in page and f'href="/comments/{comment_id}/delete"' not in page
        assert client.get(f"/comments/{comment_id}/edit").status_code == 403
        assert client.post_form(f"/comments/{comment_id}/edit", {"body": "Not mine"}).status_code == 403
        assert client.get(f"/comments/{comment_id}/delete").status_code == 403
        assert client.post_form(f"/comments/{comment_id}/delete").status_code == 403
        auth.logout()
    assert _comment_count(idea.id) == (1, 1)
    db.session.expire_all()
    assert db.session.get(Comment, comment_id).body == "My first words"
    assert client.get("/comments/987654/edit").status_code == 404


def test_no_changes_on_a_locked_idea_or_a_hidden_comment(client, member, make_idea, make_user):
    from ideastorm.triage.services import set_comment_hidden, set_comments_locked

    idea = make_idea()
    comment_id = _post(client, idea)
    staff = make_user("staff")
    set_comments_locked(staff, db.session.get(Idea, idea.id), True)
    db.session.commit()
    page = client.get(f"/ideas/{idea.id}").get_data(as_text=True)
    assert f"/comments/{comment_id}/edit" not in page
    assert client.get(f"/comments/{comment_id}/edit").status_code == 409
    assert client.post_form(f"/comments/{comment_id}/edit", {"body": "Changed"}).status_code == 409
    assert client.post_form(f"/comments/{comment_id}/delete").status_code == 409
    set_comments_locked(staff, db.session.get(Idea, idea.id), False)
    set_comment_hidden(staff, db.session.get(Comment, comment_id), True)
    db.session.commit()
    # A hidden comment does not exist for its author any more.
    assert client.get(f"/comments/{comment_id}/edit").status_code == 404
    assert client.post_form(f"/comments/{comment_id}/delete").status_code == 404
    assert _comment_count(idea.id) == (1, 0)


def test_staff_author_cannot_change_a_hidden_comment(client, make_user, make_idea, auth):
    from ideastorm.triage.services import set_comment_hidden

    idea = make_idea()
    staff = make_user("staff")
    auth.login(staff)
    comment_id = _post(client, idea)
    set_comment_hidden(staff, db.session.get(Comment, comment_id), True)
    db.session.commit()
    assert client.post_form(f"/comments/{comment_id}/edit", {"body": "Changed"}).status_code == 409
    assert client.post_form(f"/comments/{comment_id}/delete").status_code == 409


def test_staff_hide_control_asks_for_confirmation(client, make_user, make_idea, auth):
    idea = make_idea()
    author = make_user()
    auth.login(author)
    comment_id = _post(client, idea, "Questionable words")
    auth.logout()
    auth.login(make_user("staff"))
    page = client.get(f"/ideas/{idea.id}").get_data(as_text=True)
    card = page.split(f'id="comment-{comment_id}"', 1)[1].split("</article>", 1)[0]
    assert f'href="/comments/{comment_id}/hide"' in card and "hx-confirm=" in card
    confirm = client.get(f"/comments/{comment_id}/hide").get_data(as_text=True)
    assert "Hide this comment?" in confirm and "Questionable words" in confirm
    assert f'action="/comments/{comment_id}/visibility"' in confirm
    # Without the confirmation's field, the action only asks.
    unconfirmed = client.post_form(f"/comments/{comment_id}/visibility", {"hidden": "1"})
    assert unconfirmed.status_code == 302 and unconfirmed.headers["Location"] == f"/comments/{comment_id}/hide"
    assert _comment_count(idea.id) == (1, 1)
    response = client.post_form(f"/comments/{comment_id}/visibility", {"hidden": "1", "confirm": "1"})
    assert response.status_code == 302
    assert _comment_count(idea.id) == (1, 0)


# --- Markdown preview ------------------------------------------------------------------------

def test_preview_renders_through_the_sanitizer(client, member):
    text = "## Title\n\n**bold** <script>alert(1)</script> [x](javascript:alert(1))"
    response = client.htmx_post("/markdown/preview", {"text": text})
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in body
    assert "<strong>bold</strong>" in body and "<h4>Title</h4>" in body
    assert "<script>" not in body and "&lt;script&gt;" in body and 'href="javascript' not in body
    empty = client.htmx_post("/markdown/preview", {"text": "   "})
    assert "Nothing to preview." in empty.get_data(as_text=True)


def test_preview_needs_a_member_and_a_csrf_token(client, make_user, auth):
    response = client.post("/markdown/preview", data={"text": "hi"}, headers={"HX-Request": "true"})
    assert response.status_code == 400  # no token: refused before anything else
    token = client.csrf_token()
    response = client.post("/markdown/preview", data={"text": "hi", "csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    auth.login(make_user())
    assert client.post("/markdown/preview", data={"text": "hi"}).status_code == 400  # no token


def test_htmx_edit_after_the_thread_was_locked_shows_the_thread_as_it_is(client, member, make_idea, make_user):
    from ideastorm.triage.services import set_comments_locked

    idea = make_idea()
    comment_id = _post(client, idea)
    set_comments_locked(make_user("staff"), db.session.get(Idea, idea.id), True)
    db.session.commit()
    response = client.get(f"/comments/{comment_id}/edit", headers={"HX-Request": "true"})
    body = response.get_data(as_text=True)
    assert response.status_code == 409 and response.headers["HX-Retarget"] == "#comments"
    assert body.lstrip().startswith('<section id="comments"') and "yours can no longer be changed" in body
    assert "Comments are closed on this idea." in body and f"/comments/{comment_id}/edit" not in body


def test_an_edit_reaches_the_search_index(client, member, make_idea):
    idea = make_idea()
    comment_id = _post(client, idea, "Plain words")
    assert _indexed_comments(idea.id) == 0
    client.post_form(f"/comments/{comment_id}/edit", {"body": "Now about a zebracrossing"})
    assert _indexed_comments(idea.id) == 1


def test_deleting_twice_counts_once(app, make_user, make_idea):
    from ideastorm.comments import services

    author = make_user()
    idea = make_idea()
    comment = services.add_comment(author, idea, "Twice")
    db.session.commit()
    services.delete_comment(author, comment)
    db.session.commit()
    assert _comment_count(idea.id) == (0, 0)
    stale = Comment(id=comment.id, idea_id=idea.id, author_id=author.id, body="Twice", is_hidden=False)
    with pytest.raises(DomainError) as refused:  # a second request that loaded it before the first deleted it
        services.delete_comment(author, stale)
    assert refused.value.status == 404
    db.session.rollback()
    assert _comment_count(idea.id) == (0, 0)
