"""Media at /media/... answered like a CDN: HEAD, ranges, validators, types; drafts stay private."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from showbiz.db import db
from showbiz.models import Episode, utcnow

from .conftest import DATA, login, make_episode, make_show, make_user

AUDIO = (DATA / "cbr.mp3").read_bytes()


@pytest.fixture
def media_url(app):
    show_id = make_show(app, "news-hour", owner_email=None)
    episode_id = make_episode(app, show_id, "cbr.mp3")
    with app.app_context():
        return "/media/" + db.session.get(Episode, episode_id).audio_key


def get(client, url, **headers):
    with client.get(url, headers=headers) as response:
        response.get_data()
        return response


def test_full_get_and_head(client, media_url):
    response = get(client, media_url)
    assert response.status_code == 200 and response.data == AUDIO
    assert response.headers["Content-Type"] == "audio/mpeg"
    assert response.headers["Content-Length"] == str(len(AUDIO))
    assert response.headers["Accept-Ranges"] == "bytes"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["ETag"].startswith('"') and response.headers["Last-Modified"]
    assert "Set-Cookie" not in response.headers
    head = client.head(media_url)
    assert head.status_code == 200 and head.data == b""
    assert head.headers["Content-Length"] == str(len(AUDIO))


@pytest.mark.parametrize("header, status, start, end", [
    ("bytes=0-1", 206, 0, 1),
    ("bytes=100-199", 206, 100, 199),
    ("bytes=-500", 206, len(AUDIO) - 500, len(AUDIO) - 1),
    ("bytes=35000-", 206, 35000, len(AUDIO) - 1),
    ("bytes=35000-99999999", 206, 35000, len(AUDIO) - 1),
])
def test_ranges(client, media_url, header, status, start, end):
    response = get(client, media_url, Range=header)
    assert response.status_code == status
    assert response.data == AUDIO[start:end + 1]
    assert response.headers["Content-Range"] == f"bytes {start}-{end}/{len(AUDIO)}"
    assert response.headers["Content-Length"] == str(end - start + 1)


def test_unsatisfiable_range(client, media_url):
    response = get(client, media_url, Range=f"bytes={len(AUDIO)}-")
    assert response.status_code == 416
    assert response.headers["Content-Range"] == f"bytes */{len(AUDIO)}"


def test_conditional_requests(client, media_url):
    first = get(client, media_url)
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert get(client, media_url, **{"If-None-Match": etag}).status_code == 304
    assert get(client, media_url, **{"If-Modified-Since": modified}).status_code == 304
    assert get(client, media_url, **{"If-None-Match": '"other"'}).status_code == 200
    stale = get(client, media_url, Range="bytes=0-9", **{"If-Range": '"other"'})
    assert stale.status_code == 200 and len(stale.data) == len(AUDIO)


@pytest.mark.parametrize("state", ["draft", "scheduled"])
def test_unpublished_media_is_only_for_the_shows_members(app, client, state):
    make_user(app, "host@example.com")
    make_user(app, "stranger@example.com")
    show_id = make_show(app, "news-hour", owner_email="host@example.com")
    episode_id = make_episode(app, show_id, "chapters.mp3", publish=False)
    with app.app_context():
        episode = db.session.get(Episode, episode_id)
        if state == "scheduled":
            episode.published_at = utcnow() + timedelta(days=1)
            db.session.commit()
        urls = ["/media/" + episode.audio_key, "/media/" + episode.artwork_key]
    for url in urls:
        assert get(client, url).status_code == 404
    login(client, "stranger@example.com")
    assert all(get(client, url).status_code == 404 for url in urls)
    member = client.application.test_client()
    login(member, "host@example.com")
    assert [get(member, url).status_code for url in urls] == [200, 200]
    assert get(member, urls[1]).headers["Content-Type"] == "image/jpeg"


@pytest.mark.parametrize("path", ["/media/audio/nothing.mp3", "/media/../instance/secret_key",
                                  "/media/.incoming/x.part", "/media/%2e%2e/etc/passwd"])
def test_unknown_and_sneaky_keys_are_404(client, media_url, path):
    assert get(client, path).status_code == 404


def test_accel_redirect_mode_hands_the_bytes_to_nginx(app, client, media_url):
    app.config["MEDIA_ACCEL_REDIRECT"] = "/_media"
    response = get(client, media_url)
    assert response.status_code == 200 and response.data == b""
    assert response.headers["X-Accel-Redirect"] == "/_media/" + media_url.removeprefix("/media/")
    assert response.headers["Content-Type"] == "audio/mpeg"


def test_media_url_is_stable_and_types_come_from_the_database(app, media_url):
    with app.app_context():
        episode = db.session.scalar(select(Episode))
        assert media_url.endswith(".mp3") and episode.audio_mime == "audio/mpeg"
