"""The idea page: status and answer under the title, timeline, dates, shared pieces (macros)."""

import re
from datetime import timedelta
from types import SimpleNamespace

from flask import render_template_string
from flask_babel import refresh

from ideastorm.comments.services import add_comment
from ideastorm.extensions import db
from ideastorm.timeutil import utcnow
from ideastorm.triage.services import change_status, mark_duplicate

DESCRIPTION = "Intro text.\n\n# Big title\n\n## Why it matters\n\nBecause."
_TIME = re.compile(r'<time datetime="(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)" title="([^"]+)">([^<]+)</time>')


def _answered_idea(make_user, make_idea):
    staff = make_user("staff", name="Rosalind Franklin")
    idea = make_idea(description=DESCRIPTION)
    change_status(staff, idea, "under_review", "First look: promising.")
    db.session.commit()
    change_status(staff, idea, "planned", "Planned for the **spring** release.")
    db.session.commit()
    return idea, staff


def test_status_and_latest_response_come_right_under_the_title(client, make_user, make_idea):
    idea, _staff = _answered_idea(make_user, make_idea)
    page = client.get(f"/ideas/{idea.id}").get_data(as_text=True)
    header = page.split('<header class="idea-header">', 1)[1].split("</header>", 1)[0]
    box = header.split('class="idea-answer"', 1)[1]
    assert 'class="status status-planned"' in box
    assert "Official response" in box and "Rosalind Franklin" in box
    assert "Planned for the <strong>spring</strong> release." in box
    assert "First look" not in box  # only the latest answer is highlighted
    assert _TIME.search(box)
    assert page.index('class="idea-answer"') < page.index('class="idea-description')
    # The timeline keeps every answer.
    timeline = page.split('class="timeline"', 1)[1].split("</section>", 1)[0]
    assert "First look: promising." in timeline and "spring" in timeline


def test_no_response_yet(client, make_idea):
    idea = make_idea()
    box = client.get(f"/ideas/{idea.id}").get_data(as_text=True).split('class="idea-answer"', 1)[1]
    assert "No official response yet." in box.split("</section>", 1)[0]


def test_timeline_is_a_list_of_dated_entries_with_merges(client, make_user, make_idea):
    idea, staff = _answered_idea(make_user, make_idea)
    duplicate = make_idea(title="Spring planning for the report export")
    mark_duplicate(staff, duplicate, idea)
    db.session.commit()
    page = client.get(f"/ideas/{idea.id}").get_data(as_text=True)
    timeline = page.split('<ol class="timeline-list">', 1)[1].split("</ol>", 1)[0]
    entries = re.findall(r'<li class="timeline-entry timeline-(\w+)">', timeline)
    assert entries == ["submitted", "status", "status", "merged"]
    assert len(_TIME.findall(timeline)) == 4
    assert f'href="/ideas/{duplicate.id}"' in timeline and "was merged into this idea." in timeline


def test_every_date_on_the_page_is_one_time_tag(client, make_user, make_idea, auth):
    idea, _staff = _answered_idea(make_user, make_idea)
    commenter = make_user()
    add_comment(commenter, idea, "A comment")
    db.session.commit()
    page = client.get(f"/ideas/{idea.id}").get_data(as_text=True)
    tags = re.findall(r"<time\b[^>]*>[^<]*</time>", page)
    assert len(tags) >= 5
    for tag in tags:
        match = _TIME.fullmatch(tag)
        assert match, tag
        assert match.group(3).endswith("ago") or match.group(3) == "now", tag  # relative words
    assert not re.search(r"\b\d{1,2}/\d{1,2}/\d{2}\b", page)  # no "1/3/26"-style dates


def test_time_tag_and_avatar_macros(app):
    when = utcnow().replace(microsecond=0) - timedelta(days=3)
    user = SimpleNamespace(id=42, display_name="ada  lovelace")
    template = ('{% from "_macros.html" import time_tag, avatar %}'
                "{{ time_tag(when) }}|{{ avatar(user) }}|{{ avatar(user, 'small') }}|{{ time_tag(none) }}")
    with app.test_request_context(headers={"Accept-Language": "fr"}):
        refresh()  # the locale is remembered on the app context this test shares
        french = render_template_string(template, when=when, user=user)
    with app.test_request_context():
        refresh()
        english = render_template_string(template, when=when, user=user)
    time_html, avatar_html, small_html, empty = english.split("|")
    assert time_html == (f'<time datetime="{when.isoformat()}Z" title="{_TIME.fullmatch(time_html).group(2)}">'
                         "3 days ago</time>")
    assert "il y a 3 jours" in french and french.split("|")[1] == avatar_html  # the colour does not depend on the language
    assert re.fullmatch(r'<span class="avatar avatar-[0-7]" aria-hidden="true">AL</span>', avatar_html)
    assert "avatar-small" in small_html and empty == ""


def test_avatar_colour_is_stable_and_spread():
    from ideastorm.templating import avatar_class, initials

    assert avatar_class(7) == avatar_class(7)
    assert len({avatar_class(n) for n in range(1, 41)}) == 8
    assert initials("Marie-Amélie de La Tour-Fontaine") == "MT" and initials("bob") == "B" and initials("") == "?"


def test_markdown_headings_stay_below_the_page_headings(client, make_user, make_idea):
    idea = make_idea(description=DESCRIPTION)
    add_comment(make_user(), idea, "# Shouting\n\ntext")
    db.session.commit()
    page = client.get(f"/ideas/{idea.id}").get_data(as_text=True)
    description = page.split('class="idea-description">', 1)[1].split("</div>", 1)[0]
    assert "<h3>Big title</h3>" in description and "<h4>Why it matters</h4>" in description
    comment = page.split('class="comment-body markdown">', 1)[1].split("</div>", 1)[0]
    assert "<h3>Shouting</h3>" in comment
    assert page.count("<h1") == 1


def test_share_link_and_follow_slot(client, make_idea):
    idea = make_idea()
    page = client.get(f"/ideas/{idea.id}").get_data(as_text=True)
    actions = page.split('class="idea-actions"', 1)[1].split('class="timeline"', 1)[0]
    url = f"http://ideastorm.test/ideas/{idea.id}"  # BASE_URL
    assert f'<input type="url" id="share-url" value="{url}" readonly' in actions
    assert re.search(r"<button [^>]*hidden[^>]*>Copy link</button>", actions)  # shown by the script
    assert "Log in to follow" in actions  # the follow slot renders nothing yet


def test_comments_show_profile_link_avatar_and_one_empty_message(client, make_user, make_idea):
    idea = make_idea()
    page = client.get(f"/ideas/{idea.id}").get_data(as_text=True)
    section = page.split('id="comments"', 1)[1]
    assert "0 comments" in section and "No comments yet" not in section
    author = make_user(name="Bob Builder")
    add_comment(author, idea, "Hello")
    db.session.commit()
    section = client.get(f"/ideas/{idea.id}").get_data(as_text=True).split('id="comments"', 1)[1]
    assert f'<a href="/users/{author.id}" class="author">Bob Builder</a>' in section
    assert '<span class="avatar avatar-' in section and 'aria-hidden="true">BB</span>' in section


def test_write_preview_tabs_are_for_scripts_only(client, member):
    form = client.get("/ideas/new").get_data(as_text=True)
    tabs = re.search(r'<div class="editor-tabs" role="tablist"[^>]*>', form).group(0)
    assert " hidden" in tabs  # without JavaScript only the textarea shows
    assert 'data-preview-url="/markdown/preview"' in form and 'name="description"' in form
