"""A full disk on every upload path: 507 with a message a host understands, and no file left."""
import io

import pytest
from sqlalchemy import select

from showbiz.db import db
from showbiz.models import Episode, Person, Show

from ..conftest import DATA, csrf_token, login, make_episode, make_show, make_user, stored_files

AUDIO = (DATA / "cbr.mp3").read_bytes()
JPEG = (DATA / "cover.jpg").read_bytes()
VTT = b"WEBVTT\n\n00:00:00.000 --> 00:00:02.000\nHello\n" * 20
EPISODE = "/studio/shows/news-hour/episodes/{id}"


@pytest.fixture
def full(app, client, tiny_disk):
    """A signed-in host of 'news-hour' (one episode, one person) whose media folder is a tiny
    tmpfs filled to the last byte; returns (CSRF token, episode id, person id, files before)."""
    from showbiz.people import add_person

    make_user(app)
    show_id = make_show(app, "news-hour", owner_email="host@example.com")
    app.config["MEDIA_DIR"] = str(tiny_disk)
    app.extensions.pop("showbiz.store", None)
    episode_id = make_episode(app, show_id, "cbr.mp3")
    with app.app_context():
        person_id = add_person({"name": "Alice Host"}).id
    login(client)
    token = csrf_token(client, "/studio/")
    with open(tiny_disk / "filler", "wb", buffering=0) as out:
        with pytest.raises(OSError):
            while True:
                out.write(b"\0" * 4096)
    return token, episode_id, person_id, stored_files(app)


def _form(client, path, token, field, data, filename, **extra):
    return client.post(path, data={"csrf_token": token, field: (io.BytesIO(data), filename),
                                   **extra}, content_type="multipart/form-data")


def _refused(app, response, before):
    assert response.status_code == 507
    assert "disk is full" in response.get_data(as_text=True)
    assert stored_files(app) == before


def test_form_upload_on_a_full_disk_answers_507_and_leaves_no_part_file(app, client, full):
    token, _, _, before = full
    response = _form(client, "/studio/shows/news-hour/episodes/new", token, "audio", AUDIO,
                     "new.mp3", title="New")
    _refused(app, response, before)
    with app.app_context():
        assert len(db.session.scalars(select(Episode)).all()) == 1


def test_raw_upload_on_a_full_disk_answers_507_and_leaves_nothing(app, client, full):
    token, _, _, before = full
    response = client.post("/studio/shows/news-hour/episodes/upload", data=AUDIO,
                           headers={"X-CSRFToken": token, "X-Filename": "new.mp3",
                                    "Content-Type": "application/octet-stream"})
    _refused(app, response, before)
    assert response.get_json()["field"] == "audio"


def test_replacing_audio_on_a_full_disk_keeps_the_old_audio(app, client, full):
    token, episode_id, _, before = full
    with app.app_context():
        old_key = db.session.get(Episode, episode_id).audio_key
    response = _form(client, EPISODE.format(id=episode_id) + "/audio", token, "audio", AUDIO,
                     "new.mp3")
    _refused(app, response, before)
    with app.app_context():
        assert db.session.get(Episode, episode_id).audio_key == old_key


def test_show_artwork_on_a_full_disk_answers_507(app, client, full):
    token, _, _, before = full
    response = _form(client, "/studio/shows/news-hour/artwork", token, "artwork", JPEG, "a.jpg")
    _refused(app, response, before)
    with app.app_context():
        assert db.session.scalar(select(Show.artwork_key)) is None


def test_episode_artwork_on_a_full_disk_answers_507(app, client, full):
    token, episode_id, _, before = full
    response = _form(client, EPISODE.format(id=episode_id) + "/artwork", token, "artwork", JPEG,
                     "a.jpg")
    _refused(app, response, before)


def test_transcript_on_a_full_disk_answers_507(app, client, full):
    token, episode_id, _, before = full
    response = _form(client, EPISODE.format(id=episode_id) + "/transcript", token, "transcript",
                     VTT, "t.vtt")
    _refused(app, response, before)
    with app.app_context():
        assert db.session.get(Episode, episode_id).transcripts == []


def test_person_photo_on_a_full_disk_answers_507(app, client, full):
    token, _, person_id, before = full
    response = _form(client, f"/studio/people/{person_id}/photo", token, "photo", JPEG, "p.jpg")
    _refused(app, response, before)
    with app.app_context():
        assert db.session.get(Person, person_id).image_key is None


def test_form_upload_cut_short_removes_its_part_file_at_once(app, client):
    """The parser's part files are removed when the parse fails, not whenever they are
    garbage-collected: a form body that stops half-way through its file leaves nothing."""
    make_user(app)
    make_show(app, "news-hour", owner_email="host@example.com")
    login(client)
    token = csrf_token(client, "/studio/")
    body = (b"--b\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n"
            + token.encode() + b"\r\n--b\r\nContent-Disposition: form-data; name=\"audio\"; "
            b"filename=\"cut.mp3\"\r\nContent-Type: audio/mpeg\r\n\r\n" + AUDIO[:20000])
    kept = []
    # Teardown runs before the request is closed: what it sees, the parse failure left.
    app.teardown_request_funcs.setdefault(None, []).append(
        lambda _error: kept.append(stored_files(app)))
    response = client.post("/studio/shows/news-hour/episodes/new", input_stream=io.BytesIO(body),
                           content_type="multipart/form-data; boundary=b",
                           environ_overrides={"CONTENT_LENGTH": str(len(body) + 50000)})
    assert response.status_code == 400
    assert kept == [[]] and stored_files(app) == []


def test_writing_chapters_on_a_full_disk_keeps_the_edits_and_says_so(app, client, full):
    from showbiz.db import transaction
    from showbiz.notes.articles import get_or_create_article
    from showbiz.notes.citations import cite

    token, episode_id, _, before = full
    with app.app_context():
        with transaction():
            found = db.session.get(Episode, episode_id)
            cite(found, get_or_create_article("https://news.example/a", title="A story"),
                 start_seconds=1)
        version, old_key = db.session.get(Episode, episode_id).version, found.audio_key
    response = client.post(EPISODE.format(id=episode_id) + "/", data={
        "csrf_token": token, "version": version, "title": "Renamed", "episode_type": "full",
        "embed_chapters": "on"})
    assert response.status_code == 507
    page = response.get_data(as_text=True)
    assert "Your edits are saved" in page and "disk is full" in page
    assert stored_files(app) == before
    with app.app_context():
        found = db.session.get(Episode, episode_id)
        assert found.title == "Renamed" and found.audio_key == old_key
