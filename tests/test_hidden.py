"""Hidden content never leaks to the public: pages, lists, counts."""

from ideastorm.comments.services import add_comment
from ideastorm.triage.services import set_comment_hidden, set_idea_hidden

SECRET = "Zanzibar hidden proposal"


def _public_get_urls(app, idea_id):
    urls = {"/ideas?sort=" + s for s in ("trending", "top", "new", "discussed")}
    urls |= {"/ideas?status=new", "/ideas?category=products", f"/ideas/{idea_id}"}
    for rule in app.url_map.iter_rules():
        if "GET" in rule.methods and not rule.arguments and not rule.rule.startswith(("/triage", "/admin")):
            urls.add(rule.rule)
    return sorted(urls)


def test_hidden_idea_and_comment_never_reach_the_public(app, client, make_user, make_idea, auth):
    staff = make_user("staff")
    visible = make_idea(title="A visible idea for everyone")
    idea = make_idea(title=SECRET)
    comment = add_comment(make_user(), visible, "Zanzibar spam comment")
    set_idea_hidden(staff, idea, True)
    set_comment_hidden(staff, comment, True)

    for who in ("visitor", "member"):
        if who == "member":
            auth.login(make_user())
        for url in _public_get_urls(app, idea.id) + [f"/ideas/{visible.id}"]:
            with client.get(url) as response:
                body = response.get_data(as_text=True)
                assert "Zanzibar" not in body, (who, url)
                if url == f"/ideas/{idea.id}":
                    assert response.status_code == 404
        home = client.get("/").get_data(as_text=True)
        assert "0 ideas implemented out of 1 submitted" in home
        assert "0 comments" in client.get(f"/ideas/{visible.id}").get_data(as_text=True)
    auth.logout()
    auth.login(staff)
    assert SECRET in client.get(f"/ideas/{idea.id}").get_data(as_text=True)
    assert "Zanzibar spam comment" in client.get(f"/ideas/{visible.id}").get_data(as_text=True)
