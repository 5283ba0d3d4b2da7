"""Episodes from uploads: the studio form, the script's raw upload, replacing audio; and every
bad file refused with a clear message, leaving no file and no row behind."""
import http.client
import io
import shutil
import threading
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
from mutagen.id3 import ID3, TIT2
from sqlalchemy import func, select

from showbiz.db import db
from showbiz.media import audio
from showbiz.models import Chapter, Episode

from ..conftest import DATA, csrf_token, login, make_episode, make_show, make_user, stored_files

ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 4000
JPEG = (DATA / "cover.jpg").read_bytes()
HOSTILE = {
    "html": (b"<!doctype html><html><body>" + b"x" * 3000 + b"</body></html>", "web page"),
    "php": (b"<?php system($_GET['c']); ?>" + b" " * 3000, "not audio"),
    "svg": (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "not audio"),
    "zip": (b"PK\x03\x04" + b"\x00" * 3000, "not audio"),
    "elf": (ELF, "not audio"),
    "jpeg": (JPEG, "image"),
}


@pytest.fixture
def host(app, client):
    """A signed-in host of the show 'news-hour'; returns a CSRF token."""
    make_user(app)
    make_show(app, "news-hour", owner_email="host@example.com")
    login(client)
    return csrf_token(client, "/studio/")


def rows(app, model=Episode):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def form_upload(client, token, data: bytes, filename="episode.mp3", **fields):
    return client.post("/studio/shows/news-hour/episodes/new",
                       data={"csrf_token": token, "audio": (io.BytesIO(data), filename), **fields},
                       content_type="multipart/form-data")


def raw_upload(client, token, data: bytes, filename="episode.mp3", title=""):
    return client.post(f"/studio/shows/news-hour/episodes/upload?title={quote(title)}", data=data,
                       headers={"X-CSRFToken": token, "X-Filename": quote(filename),
                                "Content-Type": "application/octet-stream"})


def test_form_upload_makes_a_draft_prefilled_from_tags(app, client, host):
    response = form_upload(client, host, (DATA / "cbr.mp3").read_bytes())
    assert response.status_code == 302
    with app.app_context():
        episode = db.session.scalar(select(Episode))
        assert episode.state == "draft"
        assert episode.title == "CBR Test Tone"  # the file's title tag
        assert (episode.audio_mime, episode.audio_size_bytes) == ("audio/mpeg", 35957)
        assert response.headers["Location"] == f"/studio/shows/news-hour/episodes/{episode.id}/"
        key = episode.audio_key
    assert stored_files(app) == [key]
    editor = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "CBR Test Tone" in editor and "Replace the audio" in editor


def test_raw_upload_answers_with_the_probed_metadata(app, client, host):
    response = raw_upload(client, host, (DATA / "chapters.mp3").read_bytes(), "show 12.mp3")
    assert response.status_code == 201, response.get_data(as_text=True)
    info = response.get_json()
    assert info["mime_type"] == "audio/mpeg" and info["chapters"] == 3 and info["artwork"]
    assert info["filename"] == "show 12.mp3" and info["warnings"] == []
    assert info["edit_url"].startswith("/studio/shows/news-hour/episodes/")
    with app.app_context():
        chapters = db.session.scalars(select(Chapter).order_by(Chapter.start_seconds)).all()
        assert [(c.start_seconds, c.title) for c in chapters] == [
            (0.0, "Intro"), (4.0, "News & Views"), (8.0, "Outro")]


def test_formats_apple_does_not_take_are_accepted_with_a_warning(app, client, host):
    info = raw_upload(client, host, (DATA / "flac.flac").read_bytes(), "talk.flac").get_json()
    assert info["mime_type"] == "audio/flac"
    assert any("Apple" in w for w in info["warnings"])
    editor = client.get(info["edit_url"]).get_data(as_text=True)
    assert "Apple" in editor


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_hostile_bytes_named_mp3_are_refused_and_leave_nothing(app, client, host, kind):
    data, message = HOSTILE[kind]
    response = form_upload(client, host, data, "innocent.mp3")
    assert response.status_code == 415
    assert message in response.get_data(as_text=True)
    raw = raw_upload(client, host, data, "innocent.mp3")
    assert raw.status_code == 415 and message in raw.get_json()["error"]
    assert rows(app) == 0 and stored_files(app) == []


@pytest.mark.parametrize("name, data, status, message", [
    ("empty", b"", 400, "empty"),
    ("truncated", (DATA / "truncated.mp3").read_bytes(), 400, "cut off"),
    ("huge tag", (DATA / "hugetag.mp3").read_bytes(), 400, "tag"),
])
def test_broken_files_are_refused(app, client, host, name, data, status, message):
    response = form_upload(client, host, data)
    assert response.status_code == status, name
    assert message in response.get_data(as_text=True).lower() or message in \
        response.get_data(as_text=True), name
    assert rows(app) == 0 and stored_files(app) == []


def test_form_without_a_file_or_with_an_empty_name(app, client, host):
    response = client.post("/studio/shows/news-hour/episodes/new", data={"csrf_token": host})
    assert response.status_code == 400
    assert "Choose an audio file" in response.get_data(as_text=True)
    response = form_upload(client, host, b"ID3", filename="")
    assert response.status_code == 400
    assert raw_upload(client, host, b"data", filename="").status_code == 400
    assert rows(app) == 0 and stored_files(app) == []


def test_oversize_declared_upload_gets_413_before_the_body_is_read(app, client, host):
    app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024

    class Untouchable(io.BytesIO):
        def read(self, *args):
            raise AssertionError("the body was read")

        readline = readinto = read

    response = client.post("/studio/shows/news-hour/episodes/upload", input_stream=Untouchable(),
                           environ_overrides={"CONTENT_LENGTH": str(50 * 1024 * 1024)},
                           headers={"X-CSRFToken": host, "X-Filename": "big.mp3",
                                    "Content-Type": "application/octet-stream"})
    assert response.status_code == 413
    assert rows(app) == 0 and stored_files(app) == []


def test_oversize_undeclared_upload_stops_at_the_limit(app, host, client):
    app.config.update(MAX_UPLOAD_MB=1)  # the store's own cap, for chunked bodies
    big = (DATA / "cbr.mp3").read_bytes() * 40  # 1.4 MB
    token = host
    # No Content-Length: the body is chunked, so only the store's running count can stop it.
    response = client.post("/studio/shows/news-hour/episodes/upload", input_stream=io.BytesIO(big),
                           environ_overrides={"wsgi.input_terminated": True},
                           headers={"X-CSRFToken": token, "X-Filename": "big.mp3",
                                    "Content-Type": "application/octet-stream",
                                    "Transfer-Encoding": "chunked"})
    assert response.status_code == 413
    assert "larger than this server accepts (1 MB)" in response.get_json()["error"]
    assert rows(app) == 0 and stored_files(app) == []


@pytest.mark.parametrize("terminated", [False, True], ids=["plain", "input-terminated"])
@pytest.mark.parametrize("sent", [10000, None], ids=["cut-in-the-audio", "cut-after-the-audio"])
def test_client_disconnect_leaves_nothing(app, client, host, terminated, sent):
    """A body shorter than declared is refused, also where the server ends it quietly (as
    granian does) and what did arrive is a whole, valid audio file."""
    data = (DATA / "cbr.mp3").read_bytes()
    response = client.post("/studio/shows/news-hour/episodes/upload",
                           input_stream=io.BytesIO(data[:sent]),
                           # The test client would set the length of what it has; a real
                           # client declared more than it sent.
                           environ_overrides={"CONTENT_LENGTH": str(len(data) + 4096),
                                              **({"wsgi.input_terminated": True}
                                                 if terminated else {})},
                           headers={"X-CSRFToken": host, "X-Filename": "cut.mp3",
                                    "Content-Type": "application/octet-stream"})
    assert response.status_code == 400
    assert rows(app) == 0 and stored_files(app) == []


def test_full_disk_answers_507_and_keeps_existing_media(app, client, host, tiny_disk):
    show_id = make_show(app, "other")
    app.config["MEDIA_DIR"] = str(tiny_disk)
    app.extensions.pop("showbiz.store", None)
    existing = make_episode(app, show_id, "cbr.mp3")  # 36 KB fits
    before = stored_files(app)
    big = (DATA / "flac.flac").read_bytes() * 30  # 465 KB: more than the disk holds
    response = raw_upload(client, host, big, "big.flac")
    assert response.status_code == 507
    assert "disk is full" in response.get_json()["error"]
    assert stored_files(app) == before and rows(app) == 1
    with app.app_context():
        assert db.session.get(Episode, existing).audio_key in before


def test_client_file_name_is_cleaned_for_display_and_never_a_path(app, client, host):
    name = "../../etc/\u202egnp.mp3\x07" + "x" * 400
    response = raw_upload(client, host, (DATA / "cbr.mp3").read_bytes(), name)
    assert response.status_code == 201
    info = response.get_json()
    assert info["filename"].startswith(".._.._etc_gnp.mp3xx") and len(info["filename"]) == 255
    assert all(not f.startswith("etc") and ".." not in f for f in stored_files(app))


def test_tag_text_is_untrusted(app, client, host, tmp_path):
    hostile = tmp_path / "tagged.mp3"
    shutil.copy(DATA / "cbr.mp3", hostile)
    tags = ID3(hostile)
    tags.add(TIT2(encoding=3, text="<script>alert(1)</script>\x0b title"))
    tags.save()
    info = raw_upload(client, host, hostile.read_bytes()).get_json()
    assert info["title"] == "<script>alert(1)</script> title"
    editor = client.get(info["edit_url"]).get_data(as_text=True)
    assert "<script>alert(1)</script>" not in editor
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in editor


def test_replacing_audio_keeps_the_guid_and_updates_everything(app, client, host):
    with app.app_context():
        show_id = db.session.scalar(select(Episode.show_id).limit(1)) or 1
    episode_id = make_episode(app, show_id, "cbr.mp3")
    with app.app_context():
        old = db.session.get(Episode, episode_id)
        old_guid, old_key, old_hash, old_slug = old.guid, old.audio_key, old.audio_sha256, old.slug
    response = client.post(f"/studio/shows/news-hour/episodes/{episode_id}/audio",
                           data={"csrf_token": host,
                                 "audio": (open(DATA / "faststart.m4a", "rb"), "new.m4a")},
                           content_type="multipart/form-data")
    assert response.status_code == 302
    with app.app_context():
        new = db.session.get(Episode, episode_id)
        assert (new.guid, new.slug) == (old_guid, old_slug)
        assert new.audio_mime == "audio/x-m4a" and new.audio_sha256 != old_hash
        assert new.audio_size_bytes == (DATA / "faststart.m4a").stat().st_size
        assert abs(new.duration_seconds - 6.0) < 0.1
        assert stored_files(app) == [new.audio_key] and new.audio_key != old_key


def test_replacing_with_a_bad_file_keeps_the_old_audio(app, client, host):
    episode_id = make_episode(app, 1, "cbr.mp3")
    before = stored_files(app)
    response = client.post(f"/studio/shows/news-hour/episodes/{episode_id}/audio",
                           data={"csrf_token": host, "audio": (io.BytesIO(ELF), "new.mp3")},
                           content_type="multipart/form-data")
    assert response.status_code == 415
    assert stored_files(app) == before


def test_deleting_an_episode_deletes_its_files(app, client, host):
    episode_id = make_episode(app, 1, "chapters.mp3")
    assert len(stored_files(app)) == 2  # audio and cover art
    response = client.post(f"/studio/shows/news-hour/episodes/{episode_id}/delete",
                           data={"csrf_token": host})
    assert response.status_code == 302
    assert stored_files(app) == [] and rows(app) == 0


def test_four_concurrent_uploads_are_all_stored(app, live_server, host, client):
    cookie = client.get_cookie("session")
    files = ["cbr.mp3", "vbr_xing.mp3", "faststart.m4a", "vorbis.ogg"]
    results: dict[str, tuple[int, dict]] = {}

    def upload(name: str) -> None:
        data = (DATA / name).read_bytes()
        connection = http.client.HTTPConnection(urlsplit(live_server).netloc, timeout=30)
        connection.request("POST", "/studio/shows/news-hour/episodes/upload", body=data,
                           headers={"X-CSRFToken": host, "X-Filename": name,
                                    "Content-Type": "application/octet-stream",
                                    "Cookie": f"session={cookie.value}"})
        response = connection.getresponse()
        results[name] = (response.status, __import__("json").loads(response.read()))
        connection.close()

    threads = [threading.Thread(target=upload, args=(name,)) for name in files]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert {name: status for name, (status, _) in results.items()} == dict.fromkeys(files, 201)
    with app.app_context():
        episodes = db.session.scalars(select(Episode)).all()
        assert sorted(e.audio_filename for e in episodes) == sorted(files)
        for episode in episodes:
            stored = (Path(app.config["MEDIA_DIR"]) / episode.audio_key).read_bytes()
            assert stored == (DATA / episode.audio_filename).read_bytes()
    assert len(stored_files(app)) == 4


def test_oversize_form_upload_gets_413_with_a_clear_message(app, client, host):
    app.config["MAX_CONTENT_LENGTH"] = 20_000
    response = form_upload(client, host, (DATA / "cbr.mp3").read_bytes())
    assert response.status_code == 413
    assert "larger than this server accepts" in response.get_data(as_text=True)
    assert rows(app) == 0 and stored_files(app) == []


def test_form_uploads_are_written_once_straight_into_the_store(app, client, host, live_server,
                                                               tmp_path, monkeypatch):
    import tempfile

    spool = tmp_path / "spool"
    spool.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spool))  # where werkzeug would spool parts
    audio = (DATA / "vbr_xing.mp3").read_bytes()
    padding = b"x" * 700_000  # an unused 700 KB file part: above werkzeug's in-memory limit
    boundary = "showbiz-test-boundary"
    body = b"".join([
        f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{host}\r\n'
        .encode(),
        f'--{boundary}\r\nContent-Disposition: form-data; name="extra"; filename="x.bin"\r\n'
        f"Content-Type: application/octet-stream\r\n\r\n".encode(), padding, b"\r\n",
        f'--{boundary}\r\nContent-Disposition: form-data; name="audio"; filename="v.mp3"\r\n'
        f"Content-Type: audio/mpeg\r\n\r\n".encode(), audio, b"\r\n",
        f"--{boundary}--\r\n".encode()])
    connection = http.client.HTTPConnection(urlsplit(live_server).netloc, timeout=30)
    connection.request("POST", "/studio/shows/news-hour/episodes/new", body=body, headers={
        "Content-Type": f"multipart/form-data; boundary={boundary}",
        "Cookie": f"session={client.get_cookie('session').value}"})
    response = connection.getresponse()
    response.read()
    connection.close()
    assert response.status == 302
    assert list(spool.iterdir()) == []
    with app.app_context():
        episode = db.session.scalar(select(Episode))
        assert episode.audio_sha256 == __import__("hashlib").sha256(audio).hexdigest()
        assert stored_files(app) == [episode.audio_key]


@pytest.mark.parametrize("route", ["form", "raw", "replace"])
def test_headerless_vbr_uploads_are_counted_exactly(app, client, host, route):
    """A VBR MP3 without a Xing/VBRI header gets the duration of its counted frames."""
    data = (DATA / "vbr_noxing.mp3").read_bytes()
    expected = audio.probe(DATA / "vbr_noxing.mp3")
    if route == "form":
        response = form_upload(client, host, data)
    elif route == "raw":
        response = raw_upload(client, host, data)
    else:
        episode_id = make_episode(app, 1, "cbr.mp3")
        response = client.post(f"/studio/shows/news-hour/episodes/{episode_id}/audio",
                               data={"csrf_token": host, "audio": (io.BytesIO(data), "new.mp3")},
                               content_type="multipart/form-data")
    assert response.status_code in (201, 302), response.get_data(as_text=True)
    with app.app_context():
        episode = db.session.scalars(select(Episode).order_by(Episode.id.desc())).first()
        assert episode.duration_seconds == expected.duration_seconds
        assert episode.audio_size_bytes == len(data)
