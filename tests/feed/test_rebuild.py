"""Rebuild: what makes a feed stale (showbiz.changes) and when it is rendered again: after a
commit (only the changed items), at `showbiz init` and `showbiz serve`, by `showbiz feeds
refresh`, and for a due scheduled episode on request (only the new items)."""
from __future__ import annotations

import http.client
import io
import os
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from showbiz import feed
from showbiz.db import db, transaction
from showbiz.feed import render
from showbiz.models import Episode, Person, Show, utcnow

from ..conftest import (
    DATA,
    free_port,
    make_episode,
    make_show,
    server_process,
)
from .conftest import ARTWORK, FEED, VTT, get_feed, xml_of


def changes(app, client, host, page_server):
    """Each kind of change a host makes, as (name, function) pairs."""
    def edit_show():
        client.post("/studio/shows/news-hour/", data={"csrf_token": host, "title": "Renamed"})

    def edit_episode():
        with app.app_context():
            version = db.session.get(Episode, 1).version
        client.post("/studio/shows/news-hour/episodes/1/", data={
            "csrf_token": host, "version": version, "title": "Retitled", "episode_type": "full"})

    def add_note():
        client.post("/studio/shows/news-hour/episodes/1/notes", data={
            "csrf_token": host, "urls": f"{page_server}/reuters.html"})

    def edit_article():
        client.post("/studio/articles/1/", data={"csrf_token": host, "title": "Typed title",
                                                  "site_name": "Typed site"})

    def edit_person():
        with app.app_context(), transaction():
            db.session.scalar(select(Person)).name = "Renamed Person"

    def add_credit():
        with app.app_context(), transaction():
            from showbiz.people import credit, get_or_create_person
            credit(get_or_create_person("New Guest"), episode=db.session.get(Episode, 1),
                   role="guest")

    def artwork():
        client.post("/studio/shows/news-hour/artwork", data={
            "csrf_token": host, "artwork": (ARTWORK.open("rb"), "a.jpg")},
            content_type="multipart/form-data")

    def transcript():
        client.post("/studio/shows/news-hour/episodes/1/transcript", data={
            "csrf_token": host, "transcript": (io.BytesIO(VTT), "t.vtt")},
            content_type="multipart/form-data")

    return [edit_show, edit_episode, add_note, edit_article, edit_person, add_credit, artwork,
            transcript]


def test_every_kind_of_change_refreshes_the_feed(app, client, host, page_server):
    make_episode(app, 1, title="One", hosts=["Kyle Anzalone"])
    expected = {"edit_show": b"<title>Renamed</title>", "edit_episode": b"Retitled",
                "add_note": b"Japan eases arms export", "edit_article": b"Typed title",
                "edit_person": b"Renamed Person", "add_credit": b"New Guest",
                "artwork": b"/media/art/", "transcript": b"podcast:transcript"}
    for change in changes(app, client, host, page_server):
        before = get_feed(client).headers["ETag"]
        change()
        response = get_feed(client)
        assert response.headers["ETag"] != before, change.__name__
        assert expected[change.__name__] in response.data, change.__name__


@pytest.fixture
def rendered(monkeypatch):
    """The titles of the items each call of render.items renders from here on."""
    calls, original = [], render.items
    monkeypatch.setattr(render, "items", lambda items: calls.append(
        [item.title for item in items]) or original(items))
    return calls


def test_editing_one_episode_rerenders_only_its_item(app, client, host, rendered):
    ids = [make_episode(app, 1, title=f"Episode {n}") for n in range(3)]
    before = get_feed(client).data
    rendered.clear()
    with app.app_context(), transaction():
        db.session.get(Episode, ids[1]).title = "Changed"
    after = get_feed(client).data
    assert rendered == [["Changed"]]
    items = lambda xml: {i: x for i, x in zip(ids[::-1], xml.split(b"<item>")[1:])}  # noqa: E731
    assert items(after)[ids[0]] == items(before)[ids[0]]
    assert items(after)[ids[2]] == items(before)[ids[2]]
    assert b"Changed" in items(after)[ids[1]] and b"Changed" not in items(before)[ids[1]]


def test_editing_the_show_renders_no_item_again(app, client, host, rendered):
    for n in range(3):
        make_episode(app, 1, title=f"Episode {n}")
    before = get_feed(client).data
    rendered.clear()
    with app.app_context(), transaction():
        db.session.get(Show, 1).title = "A new name"
    after = get_feed(client).data
    assert rendered == [] and b"<title>A new name</title>" in after
    assert after[after.index(b"<item>"):] == before[before.index(b"<item>"):]
    with app.app_context(), transaction():
        db.session.get(Show, 1).slug = "renamed-hour"  # every address changes: all items
    assert [len(titles) for titles in rendered] == [3]
    with client.get(FEED) as old:  # the old address is gone, its files too (nginx reads them)
        assert old.status_code == 404
    assert not list((Path(app.instance_path) / "feeds").glob("*news-hour*"))


def test_guid_is_stable_across_edits_and_audio_replacement(app, client, host):
    episode_id = make_episode(app, 1, title="One")
    with app.app_context():
        guid = db.session.get(Episode, episode_id).guid
        version = db.session.get(Episode, episode_id).version
    client.post(f"/studio/shows/news-hour/episodes/{episode_id}/", data={
        "csrf_token": host, "version": version, "title": "Two", "episode_type": "full"})
    client.post(f"/studio/shows/news-hour/episodes/{episode_id}/audio", data={
        "csrf_token": host, "audio": ((DATA / "vbr_xing.mp3").open("rb"), "new.mp3")},
        content_type="multipart/form-data")
    item = xml_of(client).find("channel/item")
    assert item.findtext("guid") == guid and item.findtext("title") == "Two"
    with app.app_context():
        episode = db.session.get(Episode, episode_id)
        assert item.find("enclosure").get("length") == str(episode.audio_size_bytes)


def test_guids_and_enclosures_are_unique(app):
    show_id = make_show(app, "news-hour")
    first = make_episode(app, show_id, title="One")
    second = make_episode(app, show_id, title="Two")
    for column in ("guid", "audio_key"):
        with app.app_context():
            value = getattr(db.session.get(Episode, first), column)
            with pytest.raises(IntegrityError):
                with transaction():
                    setattr(db.session.get(Episode, second), column, value)


def test_feeds_refresh_command(app, runner):
    make_show(app, "news-hour")
    make_episode(app, 1, title="One")
    result = runner.invoke(args=["feeds", "refresh", "--all"])
    assert result.exit_code == 0 and "Rebuilt 1 feed." in result.output
    result = runner.invoke(args=["feeds", "refresh"])
    assert result.exit_code == 0 and "Rebuilt 0 feeds." in result.output


def test_a_rolled_back_change_leaves_the_feed_alone(app, client, host, rendered):
    make_episode(app, 1, title="One")
    before = get_feed(client)
    rendered.clear()
    with pytest.raises(RuntimeError), app.app_context(), transaction():
        db.session.get(Episode, 1).title = "Never"
        db.session.flush()
        raise RuntimeError("the host's change fails halfway")
    after = get_feed(client)
    assert after.headers["ETag"] == before.headers["ETag"] and rendered == []
    with app.app_context(), transaction():  # the next commit does not pick up the lost change
        db.session.get(Show, 1).title = "Renamed"
    assert rendered == [] and b"Never" not in get_feed(client).data


def test_a_scheduled_episode_appears_at_its_time_rendering_only_it(app, client, host,
                                                                   rendered):
    """The stored feed expires at the publishing time; the first request after it renders the
    new item alone, reusing the others."""
    make_episode(app, 1, title="Now")
    episode_id = make_episode(app, 1, title="Later", publish=False)
    with app.app_context(), transaction():
        db.session.get(Episode, episode_id).published_at = utcnow() + timedelta(seconds=1)
    response = get_feed(client)
    assert b"Later" not in response.data
    assert int(response.headers["Cache-Control"].split("=")[1]) <= 1
    time.sleep(1.2)
    rendered.clear()
    response = get_feed(client)
    assert b"Later" in response.data and rendered == [["Later"]]
    assert response.headers["Cache-Control"] == "public, max-age=300"


def test_cron_publishes_a_scheduled_episode_into_the_files(app, client, host, runner):
    """nginx serves the files without asking the app: `showbiz feeds refresh` from cron
    rewrites them once the episode is due, and leaves current feeds alone."""
    make_episode(app, 1, title="Now")
    episode_id = make_episode(app, 1, title="Later", publish=False)
    with app.app_context(), transaction():
        db.session.get(Episode, episode_id).published_at = utcnow() + timedelta(seconds=1)
    stored = Path(app.instance_path) / "feeds" / "news-hour.xml"
    assert runner.invoke(args=["feeds", "refresh"]).output == "Rebuilt 0 feeds.\n"
    assert b"Later" not in stored.read_bytes()
    time.sleep(1.2)
    assert runner.invoke(args=["feeds", "refresh"]).output == "Rebuilt 1 feed.\n"
    assert b"Later" in stored.read_bytes()


def test_a_new_base_url_is_never_served_with_old_addresses(app, client, host, runner):
    """Feeds stored under another BASE_URL are not served; `showbiz init` renders them."""
    make_episode(app, 1, title="One")
    assert b"http://podcasts.test/media/" in get_feed(client).data
    app.config["BASE_URL"] = "https://new.example"
    assert get_feed(client).status_code == 503  # not the old addresses
    result = runner.invoke(args=["init"])
    assert result.exit_code == 0 and "Rebuilt 1 feed." in result.output
    body = get_feed(client).data
    assert b"https://new.example/media/" in body and b"podcasts.test" not in body
    assert "Rebuilt" not in runner.invoke(args=["init"]).output  # nothing left to do


def test_a_new_item_format_is_never_served_from_old_files(app, client, host, runner,
                                                          monkeypatch, rendered):
    make_episode(app, 1, title="One")
    make_episode(app, 1, title="Two")
    assert get_feed(client).status_code == 200
    monkeypatch.setattr(render, "FORMAT", "next")  # what a release that renders otherwise does
    assert get_feed(client).status_code == 503
    rendered.clear()
    assert "Rebuilt 1 feed." in runner.invoke(args=["init"]).output
    assert sorted(rendered[0]) == ["One", "Two"] and get_feed(client).status_code == 200
    stored = (Path(app.instance_path) / "feeds" / "news-hour.json").read_text()
    assert '"context": "next http://podcasts.test news-hour"' in stored


def test_a_new_slug_moves_the_feed_and_its_addresses(app, client, host):
    make_episode(app, 1, title="One")
    with app.app_context(), transaction():
        db.session.get(Show, 1).slug = "renamed-hour"
    assert get_feed(client).status_code == 404
    body = client.get("/shows/renamed-hour/feed.xml").data
    assert b"/shows/renamed-hour/episodes/" in body and b"/shows/news-hour/" not in body


def test_showbiz_serve_renders_stale_feeds_once_before_its_workers_start(app, tmp_path):
    """A restart with a new BASE_URL: the first request already gets the new addresses, and
    the feed was rendered once, by the serve command, not by each worker."""
    make_show(app, "news-hour")
    make_episode(app, 1, title="One")
    with app.app_context():
        built = feed.cached("news-hour")
    port = free_port()
    env = dict(os.environ, SHOWBIZ_DATABASE_URL=app.config["DATABASE_URL"],
               SHOWBIZ_MEDIA_DIR=app.config["MEDIA_DIR"], SHOWBIZ_BASE_URL="https://new.example",
               SHOWBIZ_FEED_STATIC_DIR=str(Path(app.instance_path) / "feeds"))
    command = [str(Path(sys.executable).with_name("showbiz")), "serve", "--host",
               "127.0.0.1", "--port", str(port), "--workers", "2", "--threads", "1"]
    meta = Path(app.instance_path) / "feeds" / "news-hour.json"
    with server_process(command, port, tmp_path / "serve.log", env):
        written = meta.stat().st_mtime_ns
        for _ in range(4):  # both workers, a few times: none renders it again
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            connection.request("GET", FEED)
            response = connection.getresponse()
            body = response.read()
            connection.close()
            assert response.status == 200 and b"https://new.example/media/" in body
        assert meta.stat().st_mtime_ns == written
    assert built.xml != body
