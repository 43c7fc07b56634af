import pytest
from sqlalchemy import func, select

from ideastorm.comments.models import Comment
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
