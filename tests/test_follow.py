"""Following an idea from its page and from lists: htmx swaps the control, a plain form comes back."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from ideastorm.extensions import db
from ideastorm.notifications.models import Follow


def _followers(idea_id: int) -> int:
    return db.session.scalar(select(func.count()).select_from(Follow).where(Follow.idea_id == idea_id))


def _count_text(n: int) -> str:
    return f"{n} follower<" if n == 1 else f"{n} followers<"


def _follows(user_id: int, idea_id: int) -> int:
    return db.session.scalar(select(func.count()).select_from(Follow).where(
        Follow.user_id == user_id, Follow.idea_id == idea_id))


def test_a_visitor_is_asked_to_log_in_to_follow(client, make_idea):
    idea = make_idea()
    page = client.get(f"/ideas/{idea.id}").get_data(as_text=True)
    assert "Log in to follow" in page
    assert f'href="/login?next=/ideas/{idea.id}"' in page or f"/login?next=%2Fideas%2F{idea.id}" in page
    assert "/follow" not in page.split('id="follow-')[1].split("</div>")[0]
    response = client.post_form(f"/ideas/{idea.id}/follow")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_follow_and_unfollow_without_javascript(client, member, make_idea):
    idea = make_idea()
    before = _followers(idea.id)  # the author may follow their idea already
    page = client.get(f"/ideas/{idea.id}").get_data(as_text=True)
    assert 'aria-pressed="false"' in page and ">Follow</button>" in page
    assert _count_text(before) in page

    response = client.post_form(f"/ideas/{idea.id}/follow", {"next": "/ideas?sort=new"})
    assert response.status_code == 302 and response.headers["Location"] == "/ideas?sort=new"
    assert _follows(member.id, idea.id) == 1
    page = client.get(f"/ideas/{idea.id}").get_data(as_text=True)
    assert "You follow this idea" in page
    assert "Following ✓ — Unfollow" in page and 'aria-pressed="true"' in page
    assert _count_text(before + 1) in page
    assert f'action="/ideas/{idea.id}/unfollow"' in page

    # Following twice changes nothing; a "next" off the site is not followed.
    response = client.post_form(f"/ideas/{idea.id}/follow", {"next": "//evil.example/"})
    assert response.headers["Location"] == f"/ideas/{idea.id}"
    assert _follows(member.id, idea.id) == 1

    response = client.post_form(f"/ideas/{idea.id}/unfollow")
    assert response.status_code == 302 and response.headers["Location"] == f"/ideas/{idea.id}"
    assert _follows(member.id, idea.id) == 0
    assert "You no longer follow this idea." in client.get(f"/ideas/{idea.id}").get_data(as_text=True)


def test_follow_with_htmx_answers_the_control_alone(client, member, make_user, make_idea, auth):
    idea = make_idea()
    before = _followers(idea.id)
    response = client.htmx_post(f"/ideas/{idea.id}/follow")
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert body.lstrip().startswith(f'<div class="follow-control" id="follow-{idea.id}">')
    assert "<html" not in body
    assert 'aria-pressed="true"' in body and "Following ✓ — Unfollow" in body
    assert _count_text(before + 1) in body
    assert f'hx-post="/ideas/{idea.id}/unfollow"' in body
    assert 'name="next"' not in body  # htmx never redirects

    response = client.htmx_post(f"/ideas/{idea.id}/unfollow")
    body = response.get_data(as_text=True)
    assert 'aria-pressed="false"' in body and ">Follow</button>" in body and _count_text(before) in body
    assert _follows(member.id, idea.id) == 0


def test_the_compact_toggle_on_lists(client, member, make_user, make_idea):
    author = make_user()
    followed, other = make_idea(author, title="Followed one"), make_idea(author, title="Another one")
    client.post_form(f"/ideas/{followed.id}/follow")
    for url in ("/ideas?sort=new", "/", f"/users/{followed.author_id}"):
        page = client.get(url).get_data(as_text=True)
        card = page.split(f'id="follow-card-{followed.id}"')[1].split("</div>")[0]
        assert 'aria-pressed="true"' in card and "Following ✓" in card, url
        card = page.split(f'id="follow-card-{other.id}"')[1].split("</div>")[0]
        assert 'aria-pressed="false"' in card and 'name="compact" value="1"' in card, url
        assert f'name="next" value="{url if "?" in url else url + "?"}"' in card, url

    response = client.htmx_post(f"/ideas/{other.id}/follow", {"compact": "1"})
    body = response.get_data(as_text=True)
    assert f'id="follow-card-{other.id}"' in body and "Following ✓" in body
    assert "follower" not in body  # no count on a card

    # Visitors get no toggle on cards.
    client.post_form("/logout")
    assert "follow-card-" not in client.get("/ideas").get_data(as_text=True)


def test_hidden_ideas_cannot_be_followed_except_by_staff(client, make_user, make_idea, auth):
    idea = make_idea(hidden=True)
    member = make_user()
    auth.login(member)
    assert client.post_form(f"/ideas/{idea.id}/follow").status_code == 404
    assert client.post_form(f"/ideas/{idea.id}/unfollow").status_code == 404
    assert client.post_form("/ideas/999999/follow").status_code == 404
    assert _follows(member.id, idea.id) == 0
    auth.logout()
    staff = make_user("staff")
    auth.login(staff)
    assert client.post_form(f"/ideas/{idea.id}/follow").status_code == 302
    assert _follows(staff.id, idea.id) == 1


def test_follow_needs_the_csrf_token(client, member, make_idea):
    idea = make_idea()
    assert client.post(f"/ideas/{idea.id}/follow").status_code == 400
    assert _follows(member.id, idea.id) == 0


def test_the_follow_control_has_one_button_per_idea_page(client, member, make_idea):
    idea = make_idea()
    page = client.get(f"/ideas/{idea.id}").get_data(as_text=True)
    assert len(re.findall(r'id="follow-\d+-button"', page)) == 1
