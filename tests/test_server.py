"""Under the production server (`showbiz serve`, granian): feeds from the stored files, and
uploads cut off by a disconnect."""
from __future__ import annotations

import gzip
import http.client
import os
import socket
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from showbiz import feed as feeds
from showbiz.db import db, transaction
from showbiz.models import Episode

from .conftest import (
    DATA,
    csrf_token,
    free_port,
    login,
    make_episode,
    make_show,
    make_user,
    server_process,
)

SHOWBIZ = Path(sys.executable).with_name("showbiz")
FEED = "/shows/news-hour/feed.xml"


@pytest.fixture
def served(app, tmp_path):
    """`showbiz serve` (2 workers) on the test's database and feed folder; yields get()."""
    folder = tmp_path / "feeds"
    app.config["FEED_STATIC_DIR"] = str(folder)
    port = free_port()
    env = dict(os.environ, SHOWBIZ_DATABASE_URL=app.config["DATABASE_URL"],
               SHOWBIZ_FEED_STATIC_DIR=str(folder), SHOWBIZ_BASE_URL=app.config["BASE_URL"],
               SHOWBIZ_MEDIA_DIR=app.config["MEDIA_DIR"],
               SHOWBIZ_SECRET_KEY=app.config["SECRET_KEY"])  # the test client's session works
    command = [str(SHOWBIZ), "serve", "--host", "127.0.0.1", "--port", str(port),
               "--workers", "2", "--threads", "2"]

    def get(**headers):
        """GET the feed: status, headers, body."""
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            connection.request("GET", FEED, headers=headers)
            response = connection.getresponse()
            return response.status, response.headers, response.read()  # names in any case
        finally:
            connection.close()

    get.port = port
    with server_process(command, port, tmp_path / "serve.log", env):
        yield get


def test_workers_serve_the_stored_bytes_and_notice_a_rebuild_at_once(app, served):
    make_show(app, "news-hour")
    episode_id = make_episode(app, 1, title="First take")
    with app.app_context():
        stored = feeds.current(db.session.get(Episode, episode_id).show)
    for _ in range(6):  # both workers, each with its own memory
        status, headers, body = served()
        assert (status, headers["ETag"], body) == (200, stored.etag, stored.xml)
        status, headers, body = served(**{"Accept-Encoding": "gzip"})
        assert headers["Content-Encoding"] == "gzip" and body == stored.gz
        assert gzip.decompress(body) == stored.xml
        assert served(**{"If-None-Match": stored.etag})[0] == 304
    with app.app_context(), transaction():
        db.session.get(Episode, episode_id).title = "Second take"
    with app.app_context():
        rebuilt = feeds.cached("news-hour")
    assert rebuilt.etag != stored.etag and b"Second take" in rebuilt.xml
    for _ in range(6):
        status, headers, body = served(**{"If-None-Match": stored.etag})
        assert (status, headers["ETag"], body) == (200, rebuilt.etag, rebuilt.xml)
        assert served(**{"Accept-Encoding": "gzip"})[2] == rebuilt.gz


def test_an_upload_cut_short_leaves_nothing(app, client, served):
    """granian ends a body cut off by the client quietly; the declared length still counts."""
    make_user(app)
    make_show(app, "news-hour", owner_email="host@example.com")
    login(client)
    token = csrf_token(client, "/studio/")
    audio = (DATA / "cbr.mp3").read_bytes()  # a whole file: only the length tells it is cut
    with socket.create_connection(("127.0.0.1", served.port), timeout=10) as sock:
        sock.sendall(
            f"POST /studio/shows/news-hour/episodes/upload HTTP/1.1\r\nHost: x\r\n"
            f"Content-Length: {len(audio) + 4096}\r\nX-CSRFToken: {token}\r\n"
            f"X-Filename: cut.mp3\r\nContent-Type: application/octet-stream\r\n"
            f"Cookie: session={client.get_cookie('session').value}\r\n\r\n".encode() + audio)
        sock.shutdown(socket.SHUT_WR)  # the client goes away before the end it declared
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 400")
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Episode)) == 0
    media = Path(app.config["MEDIA_DIR"])
    assert [p for p in media.rglob("*") if p.is_file()] == []
