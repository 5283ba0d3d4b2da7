"""Media at /media/<key> through the Flask route: HEAD, ranges, validators, types; drafts and
scheduled episodes stay private; X-Accel-Redirect after the same check; and the same answers
from the production server (`showbiz serve`, granian) over real HTTP."""
import http.client
import os
import random
import sys
import time
from datetime import timedelta
from email.utils import formatdate
from pathlib import Path

import pytest
from sqlalchemy import event

from showbiz.db import db, transaction
from showbiz.models import Episode, Person, Show, Transcript, utcnow
from showbiz.web.media import PUBLIC_MEMO_SECONDS

from ..conftest import DATA, free_port, login, make_episode, make_show, make_user, server_process

AUDIO = (DATA / "cbr.mp3").read_bytes()
SIZE = len(AUDIO)


@pytest.fixture
def media_url(app):
    show_id = make_show(app, "news-hour", owner_email=None)
    episode_id = make_episode(app, show_id, "cbr.mp3")
    with app.app_context():
        return "/media/" + db.session.get(Episode, episode_id).audio_key


def get(client, url, method="GET", **headers):
    with client.open(url, method=method, headers=headers) as response:
        response.get_data()
        return response


def test_full_get_and_head(client, media_url):
    response = get(client, media_url)
    assert response.status_code == 200 and response.data == AUDIO
    assert response.headers["Content-Type"] == "audio/mpeg"
    assert response.headers["Content-Length"] == str(SIZE)
    assert response.headers["Accept-Ranges"] == "bytes"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["ETag"].startswith('"') and response.headers["Last-Modified"]
    assert "Set-Cookie" not in response.headers and "Cache-Control" not in response.headers
    head = get(client, media_url, "HEAD")
    assert head.status_code == 200 and head.data == b""
    assert head.headers["Content-Length"] == str(SIZE)


@pytest.mark.parametrize("header, start, end", [
    ("bytes=0-1", 0, 1),
    ("bytes=100-199", 100, 199),
    ("bytes=-500", SIZE - 500, SIZE - 1),
    ("bytes=-99999999", 0, SIZE - 1),
    ("bytes=35000-", 35000, SIZE - 1),
    ("bytes=35000-99999999", 35000, SIZE - 1),
])
def test_ranges(client, media_url, header, start, end):
    response = get(client, media_url, Range=header)
    assert response.status_code == 206
    assert response.data == AUDIO[start:end + 1]
    assert response.headers["Content-Range"] == f"bytes {start}-{end}/{SIZE}"
    assert response.headers["Content-Length"] == str(end - start + 1)


@pytest.mark.parametrize("header", [f"bytes={SIZE}-", f"bytes={SIZE + 10}-{SIZE + 20}", "bytes=-0"])
def test_unsatisfiable_ranges(client, media_url, header):
    response = get(client, media_url, Range=header)
    assert response.status_code == 416
    assert response.headers["Content-Range"] == f"bytes */{SIZE}"


@pytest.mark.parametrize("header", ["bytes=0-9,20-29", "items=0-9"])
def test_several_ranges_or_other_units_get_the_whole_file(client, media_url, header):
    response = get(client, media_url, Range=header)
    assert response.status_code == 200 and response.data == AUDIO


def test_head_with_range_describes_the_whole_file(client, media_url):
    response = get(client, media_url, "HEAD", Range="bytes=0-9")
    assert response.status_code == 200 and response.data == b""
    assert response.headers["Content-Length"] == str(SIZE)
    assert "Content-Range" not in response.headers


def test_conditional_requests(client, media_url):
    first = get(client, media_url)
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    later = formatdate(time.time() + 3600, usegmt=True)
    for headers in ({"If-None-Match": etag}, {"If-None-Match": f"W/{etag}"},
                    {"If-None-Match": f'"other", W/{etag}'}, {"If-None-Match": "*"},
                    {"If-Modified-Since": modified}, {"If-Modified-Since": later}):
        for method in ("GET", "HEAD"):
            response = get(client, media_url, method, **headers)
            assert response.status_code == 304 and response.data == b"", (method, headers)
            assert response.headers["ETag"] == etag
    earlier = formatdate(time.time() - 10 * 86400, usegmt=True)
    for headers in ({"If-None-Match": '"other"'}, {"If-Modified-Since": earlier},
                    {"If-None-Match": '"other"', "If-Modified-Since": modified}):
        assert get(client, media_url, **headers).status_code == 200, headers


@pytest.mark.parametrize("if_range, status", [("etag", 206), ("date", 206), ('"other"', 200),
                                              ("weak", 200)])
def test_if_range(client, media_url, if_range, status):
    first = get(client, media_url)
    value = {"etag": first.headers["ETag"], "date": first.headers["Last-Modified"],
             "weak": "W/" + first.headers["ETag"]}.get(if_range, if_range)
    response = get(client, media_url, Range="bytes=0-9", **{"If-Range": value})
    assert response.status_code == status
    assert response.data == (AUDIO[:10] if status == 206 else AUDIO)


@pytest.fixture
def queries(app):
    """The SQL statements run from here on (SQLite's BEGIN left out)."""
    with app.app_context():
        engine = db.engine
    found = []

    def listener(*args):
        if args[2] != "BEGIN":
            found.append(args[2])
    event.listen(engine, "before_cursor_execute", listener)
    yield found
    event.remove(engine, "before_cursor_execute", listener)


def test_public_media_never_reads_the_session(app, client, media_url, queries):
    """A range of a published episode is the same for everyone: whoever asks (here a signed-in
    browser, which sends its session cookie with every range), the user is not loaded, nothing
    is queried but the file's owner, and no cookie or "Vary: Cookie" goes out."""
    make_user(app)
    login(client)
    app.extensions.pop("showbiz.public_media", None)  # nothing remembered: the lookup runs
    queries.clear()
    response = get(client, media_url, Range="bytes=0-9")
    assert response.status_code == 206
    assert "Set-Cookie" not in response.headers and "Cookie" not in response.vary
    assert len(queries) == 1 and "audio_key" in queries[0] and '"user"' not in queries[0]
    anonymous = get(client.application.test_client(), media_url)
    assert anonymous.status_code == 200 and "Cookie" not in anonymous.vary


def test_a_drafts_media_answer_depends_on_the_session(app, client):
    """A draft's media is for its show's members: the user is loaded, the answer varies by
    cookie (200 for the host, 404 for anyone else)."""
    make_user(app)
    draft = make_episode(app, make_show(app, owner_email="host@example.com"), publish=False)
    with app.app_context():
        url = "/media/" + db.session.get(Episode, draft).audio_key
    anonymous = get(client, url)
    assert anonymous.status_code == 404 and "Cookie" in anonymous.vary
    login(client)
    signed_in = get(client, url, Range="bytes=0-9")
    assert signed_in.status_code == 206 and "Cookie" in signed_in.vary


@pytest.mark.parametrize("state", ["draft", "scheduled"])
def test_unpublished_media_is_only_for_the_shows_members(app, client, state):
    make_user(app, "host@example.com")
    make_user(app, "stranger@example.com")
    show_id = make_show(app, "news-hour", owner_email="host@example.com")
    episode_id = make_episode(app, show_id, "chapters.mp3", publish=False)
    with app.app_context(), transaction():
        episode = db.session.get(Episode, episode_id)
        if state == "scheduled":
            episode.published_at = utcnow() + timedelta(days=1)
        db.session.add(Transcript(episode_id=episode_id, key="transcripts/t.vtt",
                                  mime_type="text/vtt"))
        urls = ["/media/" + episode.audio_key, "/media/" + episode.artwork_key]
    (Path(app.config["MEDIA_DIR"]) / "transcripts").mkdir()
    (Path(app.config["MEDIA_DIR"]) / "transcripts" / "t.vtt").write_text("WEBVTT\n")
    urls.append("/media/transcripts/t.vtt")
    for url in urls:
        assert get(client, url).status_code == 404
        assert get(client, url, "HEAD").status_code == 404
    login(client, "stranger@example.com")
    assert all(get(client, url).status_code == 404 for url in urls)
    member = client.application.test_client()
    login(member, "host@example.com")
    assert [get(member, url).status_code for url in urls] == [200, 200, 200]
    assert get(member, urls[1]).headers["Content-Type"] == "image/jpeg"
    assert get(member, urls[2]).headers["Content-Type"] == "text/vtt; charset=utf-8"


def test_a_scheduled_episode_is_public_from_its_time(app, client):
    later = make_episode(app, make_show(app), "cbr.mp3", publish=False)
    with app.app_context(), transaction():
        episode = db.session.get(Episode, later)
        episode.published_at = utcnow() + timedelta(seconds=1.2)
        url = "/media/" + episode.audio_key
    assert get(client, url).status_code == 404
    time.sleep(1.3)  # no write: its publish time alone makes it public
    assert get(client, url).status_code == 200
    with app.app_context(), transaction():
        db.session.get(Episode, later).published_at = None
    time.sleep(PUBLIC_MEMO_SECONDS)  # that anyone may fetch it was remembered this long
    assert get(client, url).status_code == 404


def test_a_draft_is_never_remembered_as_public(app, client):
    make_user(app)
    draft = make_episode(app, make_show(app, owner_email="host@example.com"), publish=False)
    with app.app_context():
        url = "/media/" + db.session.get(Episode, draft).audio_key
    member = client.application.test_client()
    login(member)
    assert get(member, url).status_code == 200
    assert get(client, url).status_code == 404


def test_show_artwork_and_photos_are_public(app, client):
    media = Path(app.config["MEDIA_DIR"])
    (media / "art").mkdir()
    (media / "art" / "s.png").write_bytes(b"png")
    (media / "people").mkdir()
    (media / "people" / "p.jpg").write_bytes(b"jpg")
    show_id = make_show(app)
    with app.app_context(), transaction():
        db.session.get(Show, show_id).artwork_key = "art/s.png"
        db.session.add(Person(slug="ann", name="Ann", image_key="people/p.jpg"))
    assert get(client, "/media/art/s.png").headers["Content-Type"] == "image/png"
    assert get(client, "/media/people/p.jpg").data == b"jpg"


@pytest.mark.parametrize("path", ["/media/audio/nothing.mp3", "/media/../instance/secret_key",
                                  "/media/.incoming/x.part", "/media/%2e%2e/etc/passwd"])
def test_unknown_and_sneaky_keys_are_404(client, media_url, path):
    assert get(client, path).status_code == 404


def test_a_missing_file_is_404(app, client, media_url):
    (Path(app.config["MEDIA_DIR"]) / media_url.removeprefix("/media/")).unlink()
    assert get(client, media_url).status_code == 404
    app.config["MEDIA_ACCEL_REDIRECT"] = "/_media"
    assert get(client, media_url).status_code == 404


def test_accel_redirect_mode_hands_the_bytes_to_nginx(app, client, media_url):
    app.config["MEDIA_ACCEL_REDIRECT"] = "/_media/"
    response = get(client, media_url, Range="bytes=0-9")
    assert response.status_code == 200 and response.data == b""
    assert response.headers["X-Accel-Redirect"] == "/_media/" + media_url.removeprefix("/media/")
    assert response.headers["Content-Type"] == "audio/mpeg"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_accel_redirect_still_keeps_drafts_private(app, client):
    draft = make_episode(app, make_show(app), "cbr.mp3", publish=False)
    app.config["MEDIA_ACCEL_REDIRECT"] = "/_media"
    with app.app_context():
        url = "/media/" + db.session.get(Episode, draft).audio_key
    response = get(client, url)
    assert response.status_code == 404 and "X-Accel-Redirect" not in response.headers


# --- the production server, so its HTTP layer is what puts the bytes on the wire -------------

SHOWBIZ = Path(sys.executable).with_name("showbiz")


@pytest.fixture
def big_url(app):
    """A published episode whose audio is 3 MiB of random bytes after a real MP3."""
    path = Path(app.config["MEDIA_DIR"]) / "big.mp3"
    path.write_bytes(AUDIO + random.Random(2).randbytes(3 << 20))
    episode_id = make_episode(app, make_show(app), "cbr.mp3")
    with app.app_context(), transaction():
        episode = db.session.get(Episode, episode_id)
        key = episode.audio_key
    os.replace(path, Path(app.config["MEDIA_DIR"]) / key)
    return "/media/" + key


@pytest.fixture
def served(app, tmp_path):
    """`showbiz serve` on the test's database and media folder; yields a connection maker."""
    port = free_port()
    env = dict(os.environ, SHOWBIZ_DATABASE_URL=app.config["DATABASE_URL"],
               SHOWBIZ_MEDIA_DIR=app.config["MEDIA_DIR"],
               SHOWBIZ_SECRET_KEY=app.config["SECRET_KEY"],
               SHOWBIZ_FEED_STATIC_DIR=str(tmp_path / "feeds"))
    command = [str(SHOWBIZ), "serve", "--host", "127.0.0.1", "--port", str(port),
               "--workers", "1", "--threads", "2"]
    with server_process(command, port, tmp_path / "serve.log", env):
        yield lambda: http.client.HTTPConnection("127.0.0.1", port, timeout=30)


def test_the_server_sends_ranges_byte_exact(big_url, served, app):
    data = (Path(app.config["MEDIA_DIR"]) / big_url.removeprefix("/media/")).read_bytes()
    size, rng, conn = len(data), random.Random(3), served()

    def ask(method="GET", **headers):
        conn.request(method, big_url, headers=headers)
        response = conn.getresponse()
        return response, response.read()

    try:
        response, body = ask()
        assert (response.status, body == data) == (200, True)
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        response, body = ask("HEAD", Range="bytes=0-9")
        assert (response.status, response.headers["Content-Length"], body) == (200, str(size), b"")
        specs = [(f"bytes=-{n}", size - n, size) for n in (1, 65536)]
        specs += [(f"bytes={size - 10}-{size + 1000}", size - 10, size)]
        for _ in range(30):
            start = rng.randrange(size)
            end = min(start + rng.choice([1, 100, 65536, 1 << 20]), size)
            specs.append((f"bytes={start}-{end - 1}", start, end))
        for spec, start, end in specs:
            response, body = ask(Range=spec)
            assert response.status == 206, spec
            assert response.headers["Content-Range"] == f"bytes {start}-{end - 1}/{size}"
            assert body == data[start:end], spec
        response, body = ask(Range=f"bytes={size}-")
        assert (response.status, response.headers["Content-Range"]) == (416, f"bytes */{size}")
        response, _ = ask()
        etag = response.headers["ETag"]
        assert ask(**{"If-None-Match": "W/" + etag})[0].status == 304
        assert ask(**{"If-Modified-Since": response.headers["Last-Modified"]})[0].status == 304
    finally:
        conn.close()
