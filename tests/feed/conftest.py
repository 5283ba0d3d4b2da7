"""What the feed tests share: the feed's address, a signed-in host, a show using every feature."""
from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

import pytest
from lxml import etree

from showbiz.db import db, transaction
from showbiz.feed import render
from showbiz.models import Episode, Show, utcnow

from ..conftest import csrf_token, login, make_episode, make_show, make_user

FEED = "/shows/news-hour/feed.xml"
BASE = "http://podcasts.test"
ARTWORK = Path(__file__).parent.parent.parent / "showbiz" / "demo" / "artwork.jpg"
NS = {"itunes": render.ITUNES_NS, "podcast": render.PODCAST_NS,
      "content": "http://purl.org/rss/1.0/modules/content/",
      "atom": "http://www.w3.org/2005/Atom"}
VTT = b"WEBVTT\n\n00:00:00.000 --> 00:00:02.000\nHello and welcome.\n"


def get_feed(client, **headers):
    """GET the news-hour feed with these request headers."""
    return client.get(FEED, headers=headers)


def xml_of(client):
    """The news-hour feed, parsed."""
    return etree.fromstring(get_feed(client).data)


@pytest.fixture
def host(app, client, page_server):
    """A signed-in owner of 'news-hour' with fixture pages reachable; returns a CSRF token."""
    app.config["FETCH_ALLOW_PRIVATE"] = True
    make_user(app)
    make_show(app, "news-hour", owner_email="host@example.com")
    login(client)
    return csrf_token(client, "/studio/")


@pytest.fixture
def full_show(app, client, host, page_server):
    """A show using every feed feature: settings, art, cast, notes, chapters, transcript."""
    from showbiz.people import credit, get_or_create_person

    client.post("/studio/shows/news-hour/", data={
        "csrf_token": host, "title": "The News Hour", "subtitle": "Daily", "language": "en-US",
        "description": "News, <b>article</b> by article & more.", "author": "News Co",
        "owner_name": "Ann Owner", "owner_email": "owner@example.com", "copyright": "© News Co",
        "website": "https://news.example", "show_type": "episodic", "medium": "podcast",
        "categories": ["News > Politics", "Government"], "update_frequency": "FREQ=WEEKLY",
        "funding": "https://donate.example/ Support us", "time_zone": "UTC",
        "txt": "applepodcastsverify: abc-123", "explicit": "on", "locked": "on",
        "transcript_language": "en"})
    client.post("/studio/shows/news-hour/artwork", data={
        "csrf_token": host, "artwork": (ARTWORK.open("rb"), "art.jpg")},
        content_type="multipart/form-data")
    show_id = 1
    with app.app_context(), transaction():
        show = db.session.get(Show, show_id)
        credit(get_or_create_person("Kyle Anzalone"), show=show, role="host")
    trailer = make_episode(app, show_id, "cbr.mp3", title="Trailer")
    first = make_episode(app, show_id, "chapters.mp3", title="First")
    with app.app_context(), transaction():
        db.session.get(Episode, trailer).episode_type = "trailer"
        db.session.get(Episode, trailer).published_at = utcnow() - timedelta(days=2)
        episode = db.session.get(Episode, first)
        episode.number, episode.season, episode.explicit = 7, 2, True
        episode.chapters_from = "notes"
        credit(get_or_create_person("Scott Horton"), episode=episode, role="guest")
    client.post(f"/studio/shows/news-hour/episodes/{first}/notes", data={
        "csrf_token": host, "urls": f"0:02 {page_server}/libertarianinstitute.html\n"
                                    f"0:06 {page_server}/reuters.html"})
    client.post(f"/studio/shows/news-hour/episodes/{first}/transcript", data={
        "csrf_token": host, "transcript": (io.BytesIO(VTT), "t.vtt")},
        content_type="multipart/form-data")
    return {"trailer": trailer, "first": first}
