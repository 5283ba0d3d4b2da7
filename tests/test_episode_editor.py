"""The episode editor: saving, publishing, scheduling, races between tabs, and chapters written
into the MP3 at publishing time."""
import hashlib
from datetime import UTC, datetime
from pathlib import Path

import pytest
from mutagen.id3 import ID3

from showbiz.db import db
from showbiz.media import audio
from showbiz.models import Episode

from .conftest import csrf_token, login, make_episode, make_show, make_user


def setup(app, client, page_server=None):
    if page_server:
        app.config["FETCH_ALLOW_PRIVATE"] = True
    make_user(app)
    show_id = make_show(app, "news-hour", owner_email="host@example.com")
    episode_id = make_episode(app, show_id, "cbr.mp3", title="Draft", publish=False)
    login(client)
    return episode_id, csrf_token(client, "/studio/")


def save(client, token, episode_id, version, **fields):
    data = {"csrf_token": token, "version": version, "title": "Draft", "episode_type": "full",
            **fields}
    return client.post(f"/studio/shows/news-hour/episodes/{episode_id}/", data=data)


def episode(app, episode_id) -> Episode:
    with app.app_context():
        found = db.session.get(Episode, episode_id)
        db.session.expunge(found)
        return found


def test_save_and_publish(app, client):
    episode_id, token = setup(app, client)
    response = save(client, token, episode_id, 1, title="Monday", number="12", season="3",
                    summary="What we covered", notes_md="See **this**.", action="publish")
    assert response.status_code == 302
    saved = episode(app, episode_id)
    assert (saved.title, saved.number, saved.season, saved.state) == ("Monday", 12, 3,
                                                                       "published")
    assert saved.notes_html == "<p>See <strong>this</strong>.</p>\n"


def test_schedule_in_the_shows_time_zone(app, client):
    episode_id, token = setup(app, client)
    with app.app_context():
        db.session.get(Episode, episode_id).show.time_zone = "America/New_York"
        db.session.commit()
    save(client, token, episode_id, 1, action="schedule", publish_at="2031-01-15T18:00")
    saved = episode(app, episode_id)
    assert saved.published_at == datetime(2031, 1, 15, 23, 0, tzinfo=UTC)
    assert saved.state == "scheduled"
    response = save(client, token, episode_id, 2, action="schedule", publish_at="soon")
    assert response.status_code == 400 and "YYYY-MM-DD" in response.get_data(as_text=True)


def test_bad_numbers_are_refused_next_to_the_field(app, client):
    episode_id, token = setup(app, client)
    response = save(client, token, episode_id, 1, number="twelve", title="Kept")
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and "whole number" in html and 'value="Kept"' in html


def test_a_save_that_lost_a_race_says_so(app, client):
    episode_id, token = setup(app, client)
    assert save(client, token, episode_id, 1, title="From tab one").status_code == 302
    stale = save(client, token, episode_id, 1, title="From tab two")
    assert stale.status_code == 409
    assert "Someone saved this episode after you opened it" in stale.get_data(as_text=True)
    assert episode(app, episode_id).title == "From tab one"


def test_save_edits_refuses_a_stale_version_and_saves_nothing(app):
    """The editor's rule lives in the domain: an edit made to an older version is refused
    (409, with the reason) and rolled back, whoever calls it."""
    from showbiz.episodes import StaleEdit, save_edits

    show_id = make_show(app, "news-hour")
    episode_id = make_episode(app, show_id, "cbr.mp3", title="Draft", publish=False)
    with app.app_context():
        found = db.session.get(Episode, episode_id)
        old = found.version
        save_edits(found, {"version": str(old), "title": "First", "episode_type": "full"})
        for version in (str(old), "", "not a number"):
            with pytest.raises(StaleEdit) as refused:
                save_edits(found, {"version": version, "title": "Second",
                                   "episode_type": "full"})
            assert refused.value.status == 409 and "Reload" in str(refused.value)
        assert db.session.get(Episode, episode_id).title == "First"


def test_chapters_are_written_into_the_mp3_when_publishing(app, client, page_server):
    episode_id, token = setup(app, client, page_server)
    client.post(f"/studio/shows/news-hour/episodes/{episode_id}/notes", data={
        "csrf_token": token, "urls": f"0:01 {page_server}/libertarianinstitute.html\n"
                                     f"0:03 {page_server}/reuters.html"})
    before = episode(app, episode_id)
    response = save(client, token, episode_id, before.version, action="publish",
                    embed_chapters="on")
    assert response.status_code == 302
    after = episode(app, episode_id)
    stored = Path(app.config["MEDIA_DIR"]) / after.audio_key
    data = stored.read_bytes()
    assert after.audio_key != before.audio_key and not (
        Path(app.config["MEDIA_DIR"]) / before.audio_key).exists()
    assert after.audio_size_bytes == len(data)
    assert after.audio_sha256 == hashlib.sha256(data).hexdigest()
    chapters = audio.probe(stored).chapters
    assert [(c.start_seconds, c.title[:5]) for c in chapters] == [(1.0, "Japan"), (3.0, "Japan")]
    assert chapters[0].url == f"{page_server}/libertarianinstitute.html"
    assert len(ID3(stored).getall("CTOC")) == 1
    feed = client.get("/shows/news-hour/feed.xml").get_data(as_text=True)
    assert f'length="{len(data)}"' in feed and after.audio_key in feed


def test_dashboard_lists_states_newest_first_and_paginates(app, client):
    episode_id, token = setup(app, client)
    show_id = episode(app, episode_id).show_id
    later = make_episode(app, show_id, "cbr.mp3", title="Scheduled one", publish=False)
    with app.app_context():
        db.session.get(Episode, later).published_at = datetime(2031, 1, 1, tzinfo=UTC)
        db.session.commit()
    for n in range(11):
        make_episode(app, show_id, "cbr.mp3", title=f"Published {n}")
    page = client.get("/studio/").get_data(as_text=True)
    assert page.index("Draft") < page.index("Scheduled one") < page.index("Published 10")
    assert "2031-01-01 00:00 UTC" in page and "All 13 episodes" in page
    app.config["PAGE_SIZE"] = 5
    second = client.get("/studio/shows/news-hour/episodes/?page=2").get_data(as_text=True)
    assert "Page 2 of 3" in second and "Published 7" in second


def test_markdown_preview_is_sanitised(app, client):
    _, token = setup(app, client)
    response = client.post("/studio/preview", data={
        "csrf_token": token, "markdown": "**Hi** [x](javascript:alert(1)) <script>y()</script>"})
    html = response.get_json()["html"]
    assert "<strong>Hi</strong>" in html and "<script>" not in html
    assert 'href="javascript' not in html
    assert client.post("/studio/preview", data={"markdown": "x"}).status_code == 400
