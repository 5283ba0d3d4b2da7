"""The podcast feed: what it says (checked with three real parsers and Apple's rules), and how it
is kept: rendered on write, served as stored bytes, refreshed at scheduled publishing times."""
import gzip
import html
import io
import os
import time
import uuid
from datetime import timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path

import feedparser
import pytest
from lxml import etree
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from showbiz import feed as feedxml
from showbiz import feeds
from showbiz.db import db, transaction
from showbiz.models import Episode, Person, Show, utcnow

from .conftest import DATA, csrf_token, login, make_episode, make_show, make_user
from .feedparsers import parse_all, require_partytime

FEED = "/shows/news-hour/feed.xml"
BASE = "http://podcasts.test"
ARTWORK = Path(__file__).parent.parent / "showbiz" / "demo" / "artwork.jpg"
NS = {"itunes": feedxml.ITUNES_NS, "podcast": feedxml.PODCAST_NS,
      "content": "http://purl.org/rss/1.0/modules/content/",
      "atom": "http://www.w3.org/2005/Atom"}
VTT = b"WEBVTT\n\n00:00:00.000 --> 00:00:02.000\nHello and welcome.\n"


def get_feed(client, **headers):
    return client.get(FEED, headers=headers)


def xml_of(client):
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
        from showbiz.people import credit, get_or_create_person
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
        from showbiz.people import credit, get_or_create_person
        credit(get_or_create_person("Scott Horton"), episode=episode, role="guest")
    client.post(f"/studio/shows/news-hour/episodes/{first}/notes", data={
        "csrf_token": host, "urls": f"0:02 {page_server}/libertarianinstitute.html\n"
                                    f"0:06 {page_server}/reuters.html"})
    client.post(f"/studio/shows/news-hour/episodes/{first}/transcript", data={
        "csrf_token": host, "transcript": (io.BytesIO(VTT), "t.vtt")},
        content_type="multipart/form-data")
    return {"trailer": trailer, "first": first}


def test_every_feature_read_by_three_parsers(app, client, full_show):
    require_partytime()
    response = get_feed(client)
    results = parse_all(response.data, BASE + FEED)
    with app.app_context():
        first = db.session.get(Episode, full_show["first"])
        trailer = db.session.get(Episode, full_show["trailer"])
        expected = {e.guid: e for e in (first, trailer)}
        transcript_url = BASE + "/media/" + first.transcripts[0].key
    for name, parsed in results.items():
        assert parsed["title"] == "The News Hour", name
        assert {e["guid"] for e in parsed["episodes"]} == set(expected), name
        for item in parsed["episodes"]:
            episode = expected[item["guid"]]
            assert item["title"] == episode.title, name
            assert item["enclosure"]["url"] == BASE + "/media/" + episode.audio_key, name
            assert item["enclosure"]["type"] == episode.audio_mime, name
            assert item["enclosure"]["length"] in (episode.audio_size_bytes, None), name
            assert item["duration"] == round(episode.duration_seconds), name
        first_item = next(e for e in parsed["episodes"] if e["guid"] == first.guid)
        if first_item["persons"]:  # feedparser and podcastparser expose no person names
            assert {p["name"] for p in first_item["persons"]} >= {"Scott Horton"}, name
        if first_item["chapters"] is not None:
            assert first_item["chapters"].endswith(f"/episodes/{first.slug}/chapters.json"), name
        if first_item["transcripts"]:
            assert first_item["transcripts"][0]["url"] == transcript_url, name
    party = results["partytime"]
    assert party["categories"] == ["News > Politics", "Government"]
    assert party["locked"] is True and party["lockedOwner"] == "owner@example.com"
    assert party["funding"][0]["url"] == "https://donate.example/"
    assert [p["name"] for p in party["persons"]] == ["Kyle Anzalone"]
    assert party["medium"] == "podcast"
    first_party = next(e for e in party["episodes"] if e["guid"] == first.guid)
    assert (first_party["episode"], first_party["season"], first_party["explicit"]) == (7, 2, True)
    assert first_party["transcripts"] == [{"url": transcript_url, "type": "text/vtt",
                                           "language": "en"}]
    assert {p["role"] for p in first_party["persons"]} == {"host", "guest"}
    assert results["feedparser"]["categories"] and \
        {"News", "Politics", "Government"} <= set(results["feedparser"]["categories"])
    assert results["podcastparser"]["categories"] == ["News > Politics", "Government"]


def test_apple_requirements_field_by_field(app, client, full_show):
    root = xml_of(client)
    channel = root.find("channel")
    assert root.get("version") == "2.0"
    assert channel.findtext("title") and channel.findtext("language") == "en-US"
    assert len(channel.findtext("description").encode()) <= 4000
    assert channel.find("atom:link[@rel='self']", NS).get("href") == BASE + FEED
    assert channel.findtext("link") == BASE + "/shows/news-hour/"
    image = channel.find("itunes:image", NS).get("href")
    assert image.startswith(BASE + "/media/art/") and image.endswith(".jpg")
    assert channel.findtext("itunes:explicit", namespaces=NS) == "true"
    assert channel.findtext("itunes:author", namespaces=NS) == "News Co"
    assert channel.findtext("itunes:type", namespaces=NS) == "episodic"
    assert channel.find("itunes:owner/itunes:email", NS).text == "owner@example.com"
    categories = channel.findall("itunes:category", NS)
    assert [c.get("text") for c in categories] == ["News", "Government"]
    assert categories[0].find("itunes:category", NS).get("text") == "Politics"
    guid = channel.findtext("podcast:guid", namespaces=NS)
    bare = "podcasts.test/shows/news-hour/feed.xml"
    assert guid == str(uuid.uuid5(uuid.UUID("ead4c236-bf58-58c6-a2c6-a6b28d128cb6"), bare))
    assert channel.find("podcast:locked", NS).get("owner") == "owner@example.com"
    assert channel.findtext("podcast:txt", namespaces=NS) == "abc-123"
    assert channel.findtext("podcast:updateFrequency", namespaces=NS) == "FREQ=WEEKLY"
    trailer = channel.find("podcast:trailer", NS)
    assert trailer.text == "Trailer" and trailer.get("type") == "audio/mpeg"
    items = channel.findall("item")
    dates = [parsedate_to_datetime(i.findtext("pubDate")) for i in items]
    assert dates == sorted(dates, reverse=True)  # newest first (feedgen prepends otherwise)
    for item in items:
        assert item.find("guid").get("isPermaLink") == "false"
        enclosure = item.find("enclosure")
        assert enclosure.get("url").startswith(BASE + "/media/audio/")
        assert int(enclosure.get("length")) > 0 and enclosure.get("type") == "audio/mpeg"
        assert item.findtext("itunes:duration", namespaces=NS).isdigit()
        assert item.findtext("itunes:explicit", namespaces=NS) in ("true", "false")
        assert item.findtext("itunes:episodeType", namespaces=NS) in ("full", "trailer")
        assert len(item.findtext("description").encode()) <= 4000
        assert item.findtext("link").startswith(BASE + "/shows/news-hour/episodes/")
        for tag in ("duration", "explicit", "episodeType"):  # written once, by our extension
            assert len(item.findall(f"itunes:{tag}", NS)) == 1
    first = items[0]
    assert first.findtext("itunes:episode", namespaces=NS) == "7"
    assert first.findtext("itunes:season", namespaces=NS) == "2"
    assert first.findtext("podcast:season", namespaces=NS) == "2"
    content = first.findtext("content:encoded", namespaces=NS)
    assert "Reuters" in content and "Kyle Anzalone" in content and "[0:06]" in content


def test_feedgen_fixes_are_pinned():
    """feedgen writes explicit as yes/no and drops .jpeg artwork; our extension fixes both."""
    data = feedxml.ChannelData(title="T", link="https://x.example/", feed_url="https://x.example/f",
                               description="D", language="en", podcast_guid="g",
                               image="https://x.example/art.jpeg", explicit=False)
    root = etree.fromstring(b"".join(feedxml.render_channel(data)))
    assert root.find("channel/itunes:image", NS).get("href") == "https://x.example/art.jpeg"
    assert [e.text for e in root.findall("channel/itunes:explicit", NS)] == ["false"]


def test_long_notes_are_cut_cleanly_with_a_link():
    note = feedxml.NoteRef(title="A long article title " * 5, url="https://news.example/a")
    data = feedxml.ItemData(guid="g", title="T", link="https://x.example/e/",
                            published_at=utcnow(), enclosure_url="https://x.example/a.mp3",
                            size_bytes=1, mime_type="audio/mpeg", duration_seconds=1,
                            summary="Summary", notes=(note,) * 60)
    text = feedxml.describe(data)
    assert len(text.encode()) <= 4000
    assert text.endswith('<a href="https://x.example/e/">All the articles are on the episode '
                         'page.</a></p>')
    assert text.count("<li>") < 60 and text.count("<li>") == text.count("</li>")


def test_article_text_is_escaped_field_by_field():
    """Titles, sites and authors are escaped as text and addresses as attributes, whether
    notes_html escapes them all in one go or, when a NUL slipped in, one at a time."""
    hostile = feedxml.NoteRef(title='Tom & "Jerry" <b>', url='https://a.example/?a=1&b="2"',
                              site="A&B", author="<i>Al</i>", start_seconds=75,
                              comment_html="<p>ok</p>")
    bare = feedxml.NoteRef(title="", url="https://b.example/", author="Bo")
    link = '<a href="https://a.example/?a=1&amp;b=&quot;2&quot;">Tom &amp; "Jerry" &lt;b&gt;</a>'
    bare_link = '<a href="https://b.example/">https://b.example/</a>'
    html = feedxml.notes_html((hostile, bare))
    assert html.short == [f"<li>{link} (A&amp;B)</li>", f"<li>{bare_link}</li>"]
    assert html.full == [f"<li>[1:15] {link} <em>A&amp;B · by &lt;i&gt;Al&lt;/i&gt;</em>"
                         "<p>ok</p></li>", f"<li>{bare_link} <em>by Bo</em></li>"]
    with_nul = feedxml.notes_html((hostile._replace(site="A\x00B"), bare))
    assert with_nul.short[1] == html.short[1] and with_nul.full[1] == html.full[1]
    assert with_nul.short[0] == f"<li>{link} (A\x00B)</li>"


def test_empty_show_gives_a_valid_feed(app, client):
    make_show(app, "news-hour")
    response = get_feed(client)
    parsed = feedparser.parse(response.data)
    assert response.status_code == 200 and not parsed.bozo and parsed.entries == []


def test_notes_go_out_as_cdata_unless_they_could_break_it():
    """content:encoded and the description are CDATA; notes that hold "]]>" or "</item" (a
    host's HTML attribute can) are escaped instead, and every item still comes out whole."""
    notes = {"plain": '<p>Plain <a href="https://a.example/?x=1&amp;y=2">notes</a></p>',
             "cdata end": '<p><a title="a ]]> b" href="https://a.example/">x</a></p>',
             "item end": '<p><a title="</item><item>" href="https://a.example/">x</a></p>'}
    items = [feedxml.ItemData(guid=name, title=name, link="https://x.example/e/",
                              published_at=utcnow(), enclosure_url=f"https://x.example/{i}.mp3",
                              size_bytes=1, mime_type="audio/mpeg", duration_seconds=1,
                              notes_html=html) for i, (name, html) in enumerate(notes.items())]
    rendered = feedxml.render_items(items)
    assert [part.count(b"<guid") for part in rendered] == [1, 1, 1]
    encoded = [b"<content:encoded><![CDATA[" in part for part in rendered]
    assert encoded == [True, False, False]
    assert all(b"<description><![CDATA[<p>" in part for part in rendered)
    channel = feedxml.ChannelData(title="T", link="https://x.example/", description="D",
                                  feed_url="https://x.example/feed.xml", language="en",
                                  podcast_guid=str(uuid.uuid4()))
    head, tail = feedxml.render_channel(channel)
    root = etree.fromstring(head + b"".join(rendered) + tail)
    encoded = "{http://purl.org/rss/1.0/modules/content/}encoded"
    assert [item.find(encoded).text for item in root.iter("item")] == list(notes.values())
    parsed = feedparser.parse(head + b"".join(rendered) + tail)
    assert not parsed.bozo and [e.id for e in parsed.entries] == list(notes)


def test_dates_are_rfc2822_in_utc():
    """pubDate is written by our extension, not feedgen: English names, UTC, any zone given."""
    from datetime import UTC, datetime, timezone
    from email.utils import format_datetime

    paris = timezone(timedelta(hours=1))
    for when in (datetime(2026, 1, 4, 23, 30, 5, tzinfo=paris), datetime(2024, 2, 29, 0, 0, 0),
                 datetime(2026, 11, 26, 9, 5, 59, tzinfo=UTC)):
        written = feedxml._rfc2822(when)
        expected = when.astimezone(UTC) if when.tzinfo else when.replace(tzinfo=UTC)
        assert written == format_datetime(expected).replace("-0000", "+0000")
        assert parsedate_to_datetime(written) == expected
    assert feedxml._rfc2822(datetime(2026, 1, 4, 23, 30, 5, tzinfo=paris)).startswith(
        "Sun, 04 Jan 2026 22:30:05")


def test_an_item_with_only_a_title_carries_it_as_escaped_html():
    """With no summary, notes or credits, content:encoded is the title, escaped like any text:
    it is HTML, and CDATA around it must not be broken by the title."""
    title = "Tokyo ]]> </item><item> <b>review</b> & more"
    data = feedxml.ItemData(guid="g", title=title, link="https://x.example/e/",
                            published_at=utcnow(), enclosure_url="https://x.example/a.mp3",
                            size_bytes=1, mime_type="audio/mpeg", duration_seconds=1)
    [item] = feedxml.render_items([data])
    root = etree.fromstring(b'<rss xmlns:content="http://purl.org/rss/1.0/modules/content/" '
                            b'xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd" '
                            b'xmlns:podcast="https://podcastindex.org/namespace/1.0">'
                            + item + b"</rss>")
    assert root.findtext("item/title") == title
    content = root.findtext("item/{http://purl.org/rss/1.0/modules/content/}encoded")
    assert content == f"<p>{html.escape(title, False)}</p>"


def test_a_description_that_cannot_be_cdata_is_escaped():
    """A summary too long for Apple's 4,000 bytes ends with the raw episode address: if that
    held "]]>", the description goes out escaped, and the item still parses."""
    data = feedxml.ItemData(guid="g", title="T", link="https://x.example/e/]]>",
                            published_at=utcnow(), enclosure_url="https://x.example/a.mp3",
                            size_bytes=1, mime_type="audio/mpeg", duration_seconds=1,
                            summary="word " * 1200)
    [item] = feedxml.render_items([data])
    assert b"<description><![CDATA[" not in item
    root = etree.fromstring(b'<rss xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd" '
                            b'xmlns:content="http://purl.org/rss/1.0/modules/content/" '
                            b'xmlns:podcast="https://podcastindex.org/namespace/1.0">'
                            + item + b"</rss>")
    assert root.findtext("item/description") == feedxml.describe(data)


def test_hostile_but_legal_text_keeps_the_feed_valid(app, client):
    show_id = make_show(app, "news-hour", title="News & <Views> ]]> \u202e")
    episode_id = make_episode(app, show_id, title="Ep <script>alert(1)</script> & ]]> 🎙")
    with app.app_context(), transaction():
        episode = db.session.get(Episode, episode_id)
        episode.summary = "<b>bold?</b> ]]> &amp; \u2028 end"
    response = get_feed(client)
    root = etree.fromstring(response.data)  # strict parser: raises on invalid XML
    assert root.find("channel/item/title").text == "Ep <script>alert(1)</script> & ]]> 🎙"
    assert not feedparser.parse(response.data).bozo


def test_control_characters_are_refused_where_typed(app, client, host):
    episode_id = make_episode(app, 1, title="Fine")
    with app.app_context():
        version = db.session.get(Episode, episode_id).version
    response = client.post(f"/studio/shows/news-hour/episodes/{episode_id}/", data={
        "csrf_token": host, "version": version, "title": "Bad\x0btitle",
        "episode_type": "full"})
    assert response.status_code == 400
    assert "control character (U+000B)" in response.get_data(as_text=True)
    assert b"Bad" not in get_feed(client).data


def test_conditional_get_head_and_gzip(app, client, host):
    make_episode(app, 1, title="One")
    first = get_feed(client)
    assert first.content_type == "application/rss+xml; charset=utf-8"
    assert first.headers["Vary"] == "Accept-Encoding"
    assert first.headers["Cache-Control"].startswith("public, max-age=")
    assert first.headers["ETag"].startswith('"') and "Set-Cookie" not in first.headers
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert get_feed(client, **{"If-None-Match": etag}).status_code == 304
    assert get_feed(client, **{"If-Modified-Since": modified}).status_code == 304
    assert get_feed(client, **{"If-None-Match": '"stale"'}).status_code == 200
    head = client.head(FEED)
    assert head.status_code == 200 and head.data == b"" and head.headers["ETag"] == etag
    zipped = get_feed(client, **{"Accept-Encoding": "gzip, deflate"})
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(zipped.data) == first.data


@pytest.mark.parametrize("whole", [True, False])
def test_a_feed_goes_out_whole_or_in_pieces(app, client, host, monkeypatch, whole):
    """Small bodies go out in one piece, large ones in pieces: the same bytes either way."""
    from showbiz.web import feedserve

    make_episode(app, 1, title="One")
    monkeypatch.setattr(feedserve, "WHOLE", 1 << 30 if whole else 0)
    monkeypatch.setattr(feedserve, "PIECE", 500)
    with app.app_context():
        built = feeds.cached("news-hour")
    assert len(built.xml) > 1000  # several pieces
    pieces = list(feedserve._pieces(built.xml))
    assert len(pieces) == (1 if whole else -(-len(built.xml) // 500))
    assert get_feed(client).data == built.xml
    zipped = get_feed(client, **{"Accept-Encoding": "gzip"})
    assert zipped.data == built.gz and int(zipped.headers["Content-Length"]) == len(built.gz)


def test_a_304_needs_no_database(app, client, host):
    etag = get_feed(client).headers["ETag"]
    queries = []
    from sqlalchemy import event
    with app.app_context():
        engine = db.engine
    listener = lambda *args: queries.append(args[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        assert get_feed(client, **{"If-None-Match": etag}).status_code == 304
        assert get_feed(client).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert queries == []


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
    """The episode ids of each render_items call from here on."""
    calls, original = [], feeds.render_items
    monkeypatch.setattr(feeds, "render_items", lambda show, episode_ids, *rest:
                        calls.append(episode_ids) or original(show, episode_ids, *rest))
    return calls


def test_editing_one_episode_rerenders_only_its_item(app, client, host, rendered):
    ids = [make_episode(app, 1, title=f"Episode {n}") for n in range(3)]
    before = get_feed(client).data
    rendered.clear()
    with app.app_context(), transaction():
        db.session.get(Episode, ids[1]).title = "Changed"
    after = get_feed(client).data
    assert rendered == [[ids[1]]]
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
    assert rendered == [[]] and b"<title>A new name</title>" in after
    assert after[after.index(b"<item>"):] == before[before.index(b"<item>"):]
    with app.app_context(), transaction():
        db.session.get(Show, 1).slug = "renamed-hour"  # every address changes: all items
    assert [len(ids) for ids in rendered] == [0, 3]
    with client.get(FEED) as old:  # the old address is gone, its files too (nginx reads them)
        assert old.status_code == 404
    assert not list((Path(app.instance_path) / "feeds").glob("*news-hour*"))


def test_scheduled_episode_appears_on_its_own(app, client, host):
    make_episode(app, 1, title="Now")
    episode_id = make_episode(app, 1, title="Later", publish=False)
    with app.app_context(), transaction():
        db.session.get(Episode, episode_id).published_at = utcnow() + timedelta(seconds=1.5)
    response = get_feed(client)
    assert b"Later" not in response.data
    assert int(response.headers["Cache-Control"].split("=")[1]) <= 2
    stored = Path(app.instance_path) / "feeds" / "news-hour.xml"
    deadline = time.time() + 10
    while b"Later" not in stored.read_bytes() and time.time() < deadline:
        time.sleep(0.1)
    # The file was rewritten by the timer, before any request asked for it.
    assert b"Later" in stored.read_bytes()
    assert b"Later" in get_feed(client).data


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


def test_static_file_mode_writes_feed_and_gzip_atomically(app, client, host, tmp_path):
    static = tmp_path / "static-feeds"
    app.config["FEED_STATIC_DIR"] = str(static)
    make_episode(app, 1, title="Static")
    served = get_feed(client).data
    assert (static / "news-hour.xml").read_bytes() == served
    assert gzip.decompress((static / "news-hour.xml.gz").read_bytes()) == served
    visible = sorted(p.name for p in static.iterdir() if not p.name.startswith("."))
    assert visible == ["news-hour.json", "news-hour.xml", "news-hour.xml.gz"]
    for _ in range(3):  # each rebuild swaps the links; the files they pointed at go
        with app.app_context(), transaction():
            db.session.get(Episode, 1).title = f"Static {_}"
    hidden = sorted(p.name for p in static.iterdir() if p.name.startswith("."))
    assert hidden == sorted(os.readlink(static / name) for name in visible[1:])


def test_a_moved_show_redirects_permanently(app, client, host):
    client.post("/studio/shows/news-hour/", data={
        "csrf_token": host, "title": "The News Hour",
        "new_feed_url": "https://new-home.example/feed.xml"})
    response = get_feed(client)
    assert response.status_code == 301
    assert response.headers["Location"] == "https://new-home.example/feed.xml"


def test_feeds_refresh_command(app, runner):
    make_show(app, "news-hour")
    make_episode(app, 1, title="One")
    result = runner.invoke(args=["feeds", "refresh", "--all"])
    assert result.exit_code == 0 and "Rebuilt 1 feed." in result.output
    result = runner.invoke(args=["feeds", "refresh"])
    assert result.exit_code == 0 and "Rebuilt 0 feeds." in result.output


@pytest.fixture
def helper_for_small_feeds(monkeypatch):
    """The feed helper process, used for feeds of 2 items and up, handed 2 items at a time."""
    from showbiz import feedhelper

    monkeypatch.setattr(feedhelper, "PARALLEL_FROM", 2)
    monkeypatch.setattr(feeds, "PART", 2)
    assert feedhelper.helper(wait=30) is not None, "the helper did not start"
    yield feedhelper
    feedhelper.stop()


def full_rebuild(app, show_id=1):
    """Render a show's feed from nothing; its items' XML by episode id (the gzip copy checked)."""
    with app.app_context():
        feeds.forget(db.session.get(Show, show_id).slug)
        built = feeds.rebuild(show_id)
        assert gzip.decompress(built.gz) == built.xml
        assert sum(count for count, *_ in built.segments) == len(built.items)
        return {i: built.xml[xs:xe] for i, (_, xs, xe) in built.items.items()}


def test_the_helper_process_renders_the_same_feed(app, client, full_show, monkeypatch,
                                                  helper_for_small_feeds):
    for n in range(5):
        make_episode(app, 1, "vbr_xing.mp3", title=f"More {n}", hosts=["Will Porter"])
    answers = []
    original = helper_for_small_feeds.Helper.answer
    monkeypatch.setattr(helper_for_small_feeds.Helper, "answer",
                        lambda self: answers.append(original(self)) or answers[-1])
    shared = full_rebuild(app)
    assert len(shared) == 7
    assert len(answers) == 1 and 0 < len(answers[0].xml) < 7  # the first parts, not all
    assert answers[0].segments  # compressed there too
    monkeypatch.setattr(helper_for_small_feeds, "PARALLEL_FROM", 10 ** 6)
    assert full_rebuild(app) == shared  # byte for byte
    parsed = feedparser.parse(get_feed(client).data)
    assert not parsed.bozo and len(parsed.entries) == 7


def test_a_helper_that_dies_costs_nothing_but_time(app, client, full_show, monkeypatch,
                                                   helper_for_small_feeds):
    for n in range(3):
        make_episode(app, 1, "vbr_xing.mp3", title=f"More {n}")
    expected = full_rebuild(app)
    original = helper_for_small_feeds.Helper.answer

    def killed_first(self):
        self.proc.kill()
        self.proc.wait()
        return original(self)

    monkeypatch.setattr(helper_for_small_feeds.Helper, "answer", killed_first)
    assert full_rebuild(app) == expected
    assert helper_for_small_feeds._helper is None  # a new one starts on the next large feed


@pytest.fixture
def five_more(app, full_show):
    """Five more episodes in the full show; its items' XML, rendered from nothing."""
    for n in range(5):
        make_episode(app, 1, "vbr_xing.mp3", title=f"More {n}")
    return full_rebuild(app)


def test_a_job_cut_short_leaves_nothing_for_the_next(app, five_more, monkeypatch,
                                                     helper_for_small_feeds):
    """A read that fails after the helper got its first items stops the helper, so nothing
    of that job can come back as part of the next feed."""
    from showbiz import feeddata

    original = feeddata.item_chunks

    def failing(*args, **kwargs):
        parts = original(*args, **kwargs)
        yield next(parts)
        raise RuntimeError("the database went away")

    monkeypatch.setattr(feeddata, "item_chunks", failing)
    with pytest.raises(RuntimeError), app.app_context():
        feeds.forget("news-hour")
        feeds.rebuild(1)
    assert helper_for_small_feeds._helper is None
    monkeypatch.setattr(feeddata, "item_chunks", original)
    assert helper_for_small_feeds.helper(wait=30) is not None
    assert full_rebuild(app) == five_more


def test_a_part_with_no_items_left_is_no_trouble_for_the_helper(app, five_more, monkeypatch,
                                                                helper_for_small_feeds):
    """Episodes can go between listing a feed's ids and reading them: a part can come empty."""
    from showbiz import feeddata

    original = feeddata.item_chunks

    def with_an_empty_part(*args, **kwargs):
        parts = original(*args, **kwargs)
        yield next(parts)
        yield {}
        yield from parts

    monkeypatch.setattr(feeddata, "item_chunks", with_an_empty_part)
    monkeypatch.setattr(feeds, "PART", 2)
    running = helper_for_small_feeds._helper
    assert full_rebuild(app) == five_more
    assert helper_for_small_feeds._helper is running  # it did not fail


def test_addresses_built_once_and_pasted_match_built_ones(app):
    from showbiz.urls import Links

    with app.app_context():
        links = Links()
        page = links.varying("public.episode", "episode_slug", slug="news-hour")
        for value in ("episode-1", "a b", "é", "x/y", "..", "a%2F", "q?x=1", "a#b"):
            assert page(value) == links("public.episode", slug="news-hour", episode_slug=value)
        media = links.varying_media()
        for key in ("audio/news-hour/abc.mp3", "art/a b.jpg", "art/ü.png", None, ""):
            assert media(key) == links.media(key)
