"""Serve: stored bytes answered through Flask with Werkzeug's HTTP semantics, without a query."""
from __future__ import annotations

import gzip
from datetime import timedelta

import pytest
from sqlalchemy import event

from showbiz import feed
from showbiz.db import db, transaction
from showbiz.models import Episode, utcnow

from ..conftest import make_episode, make_show
from .conftest import FEED, get_feed


def test_conditional_get_head_and_gzip(app, client, host):
    make_episode(app, 1, title="One")
    first = get_feed(client)
    assert first.status_code == 200
    assert first.content_type == "application/rss+xml; charset=utf-8"
    assert first.headers["Vary"] == "Accept-Encoding"
    assert first.headers["Cache-Control"] == "public, max-age=300"
    assert first.headers["ETag"].startswith('"') and "Set-Cookie" not in first.headers
    assert int(first.headers["Content-Length"]) == len(first.data)
    etag = first.headers["ETag"]
    not_modified = get_feed(client, **{"If-None-Match": etag})
    assert not_modified.status_code == 304 and not_modified.data == b""
    assert not_modified.headers["ETag"] == etag
    assert get_feed(client, **{"If-None-Match": '"stale"'}).status_code == 200
    assert get_feed(client, **{"If-None-Match": f'"stale", {etag}'}).status_code == 304
    assert get_feed(client, **{"If-None-Match": "*"}).status_code == 304
    head = client.head(FEED)
    assert head.status_code == 200 and head.data == b"" and head.headers["ETag"] == etag
    assert int(head.headers["Content-Length"]) == len(first.data)
    zipped = get_feed(client, **{"Accept-Encoding": "gzip, deflate"})
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(zipped.data) == first.data
    assert int(zipped.headers["Content-Length"]) == len(zipped.data)
    refused = get_feed(client, **{"Accept-Encoding": "gzip;q=0, deflate"})
    assert "Content-Encoding" not in refused.headers and refused.data == first.data


def test_a_weak_etag_matches_if_none_match(app, client, host):
    """RFC 9110: If-None-Match uses the weak comparison, so W/"<etag>" is the same feed."""
    make_episode(app, 1, title="One")
    etag = get_feed(client).headers["ETag"]
    assert get_feed(client, **{"If-None-Match": f"W/{etag}"}).status_code == 304
    assert get_feed(client, **{"If-None-Match": 'W/"other"'}).status_code == 200


def test_if_modified_since(app, client, host):
    make_episode(app, 1, title="One")
    modified = get_feed(client).headers["Last-Modified"]
    assert get_feed(client, **{"If-Modified-Since": modified}).status_code == 304
    assert get_feed(client, **{"If-Modified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"}
                    ).status_code == 200
    etag = get_feed(client).headers["ETag"]  # If-None-Match wins over If-Modified-Since
    assert get_feed(client, **{"If-None-Match": '"other"', "If-Modified-Since": modified}
                    ).status_code == 200
    assert get_feed(client, **{"If-None-Match": etag, "If-Modified-Since": "garbage"}
                    ).status_code == 304


def test_head_with_gzip_and_conditions(app, client, host):
    make_episode(app, 1, title="One")
    zipped = get_feed(client, **{"Accept-Encoding": "gzip"})
    head = client.head(FEED, headers={"Accept-Encoding": "gzip"})
    assert head.status_code == 200 and head.data == b""
    assert head.headers["Content-Encoding"] == "gzip"
    assert head.headers["Content-Length"] == zipped.headers["Content-Length"]
    etag = head.headers["ETag"]
    assert client.head(FEED, headers={"If-None-Match": f"W/{etag}"}).status_code == 304


@pytest.fixture
def queries(app):
    """The SQL statements run from here on."""
    with app.app_context():
        engine = db.engine
    found = []
    listener = lambda *args: found.append(args[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    yield found
    event.remove(engine, "before_cursor_execute", listener)


def test_a_current_feed_is_served_without_a_query(app, client, host, queries):
    make_episode(app, 1, title="One")
    etag = get_feed(client).headers["ETag"]
    queries.clear()
    assert get_feed(client, **{"If-None-Match": etag}).status_code == 304
    assert get_feed(client).status_code == 200
    assert get_feed(client, **{"Accept-Encoding": "gzip"}).status_code == 200
    assert client.head(FEED).status_code == 200
    assert queries == []


def test_a_moved_show_redirects_permanently(app, client, host):
    client.post("/studio/shows/news-hour/", data={
        "csrf_token": host, "title": "The News Hour",
        "new_feed_url": "https://new-home.example/feed.xml"})
    response = get_feed(client)
    assert response.status_code == 301
    assert response.headers["Location"] == "https://new-home.example/feed.xml"


@pytest.mark.parametrize("path", ["/shows/News-Hour/feed.xml", "/shows/news-hour/../feed.xml",
                                  "/shows/news-hour%00/feed.xml", "/shows/nope/feed.xml"])
def test_anything_but_a_stored_feed_of_a_show_is_404(app, client, path):
    make_show(app, "news-hour")
    make_episode(app, 1, title="Stored")
    with client.get(FEED) as stored:
        assert stored.status_code == 200 and b"Stored" in stored.data
    with client.get(path) as response:
        assert response.status_code == 404


def test_a_feed_with_nothing_stored_is_not_rendered_on_request(app, client, runner, queries):
    """A listener's request never renders a whole feed: with nothing stored (a feed folder
    wiped), it is told to come back; `showbiz feeds refresh` renders the feed."""
    make_show(app, "news-hour")
    make_episode(app, 1, title="One")
    with app.app_context():
        feed.forget("news-hour")
    queries.clear()
    response = get_feed(client)
    assert response.status_code == 503 and response.headers["Retry-After"] == "60"
    assert not any("show_note" in q for q in queries)  # no item was read
    assert runner.invoke(args=["feeds", "refresh"]).output == "Rebuilt 1 feed.\n"
    assert b"One" in get_feed(client).data


def test_max_age_ends_at_the_next_scheduled_episode(app, client, host):
    make_episode(app, 1, title="Now")
    episode_id = make_episode(app, 1, title="Later", publish=False)
    with app.app_context(), transaction():
        db.session.get(Episode, episode_id).published_at = utcnow() + timedelta(seconds=90)
    max_age = int(get_feed(client).headers["Cache-Control"].split("=")[1])
    assert 80 <= max_age <= 90


def test_static_file_mode_writes_feed_and_gzip_atomically(app, client, host, tmp_path):
    """With SHOWBIZ_FEED_STATIC_DIR, nginx can serve <slug>.xml and <slug>.xml.gz itself."""
    static = tmp_path / "static-feeds"
    app.config["FEED_STATIC_DIR"] = str(static)
    make_episode(app, 1, title="Static")
    served = get_feed(client).data
    for n in range(3):
        with app.app_context(), transaction():
            db.session.get(Episode, 1).title = f"Static {n}"
        served = get_feed(client).data
        assert f"Static {n}".encode() in served
        assert (static / "news-hour.xml").read_bytes() == served
        assert gzip.decompress((static / "news-hour.xml.gz").read_bytes()) == served
    assert sorted(p.name for p in static.iterdir()) == [
        "news-hour.json", "news-hour.xml", "news-hour.xml.gz"]
