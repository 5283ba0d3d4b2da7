"""Render: what the feed says, checked by three real parsers (feedparser, podcastparser,
podcast-partytime via Node), Apple's requirements field by field, and the rendering rules."""
from __future__ import annotations

import html
import uuid
from datetime import timedelta
from email.utils import parsedate_to_datetime

import feedparser
from lxml import etree

from showbiz.db import db, transaction
from showbiz.feed import render
from showbiz.models import Episode, utcnow

from ..conftest import make_episode, make_show
from ..feedparsers import parse_all, require_partytime
from .conftest import BASE, FEED, NS, get_feed, xml_of


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
    data = render.ChannelData(title="T", link="https://x.example/", feed_url="https://x.example/f",
                               description="D", language="en", podcast_guid="g",
                               image="https://x.example/art.jpeg", explicit=False)
    root = etree.fromstring(b"".join(render.channel(data)))
    assert root.find("channel/itunes:image", NS).get("href") == "https://x.example/art.jpeg"
    assert [e.text for e in root.findall("channel/itunes:explicit", NS)] == ["false"]


def test_long_notes_are_cut_cleanly_with_a_link():
    note = render.NoteRef(title="A long article title " * 5, url="https://news.example/a")
    data = render.ItemData(guid="g", title="T", link="https://x.example/e/",
                            published_at=utcnow(), enclosure_url="https://x.example/a.mp3",
                            size_bytes=1, mime_type="audio/mpeg", duration_seconds=1,
                            summary="Summary", notes=(note,) * 60)
    text = render.describe(data)
    assert len(text.encode()) <= 4000
    assert text.endswith('<a href="https://x.example/e/">All the articles are on the episode '
                         'page.</a></p>')
    assert text.count("<li>") < 60 and text.count("<li>") == text.count("</li>")


def test_article_text_is_escaped_field_by_field():
    """Titles, sites and authors are escaped as text and addresses as attributes."""
    hostile = render.NoteRef(title='Tom & "Jerry" <b>', url='https://a.example/?a=1&b="2"',
                              site="A&B", author="<i>Al</i>", start_seconds=75,
                              comment_html="<p>ok</p>")
    bare = render.NoteRef(title="", url="https://b.example/", author="Bo")
    link = '<a href="https://a.example/?a=1&amp;b=&quot;2&quot;">Tom &amp; "Jerry" &lt;b&gt;</a>'
    bare_link = '<a href="https://b.example/">https://b.example/</a>'
    html = render.notes_html((hostile, bare))
    assert html.short == [f"<li>{link} (A&amp;B)</li>", f"<li>{bare_link}</li>"]
    assert html.full == [f"<li>[1:15] {link} <em>A&amp;B · by &lt;i&gt;Al&lt;/i&gt;</em>"
                         "<p>ok</p></li>", f"<li>{bare_link} <em>by Bo</em></li>"]


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
    items = [render.ItemData(guid=name, title=name, link="https://x.example/e/",
                              published_at=utcnow(), enclosure_url=f"https://x.example/{i}.mp3",
                              size_bytes=1, mime_type="audio/mpeg", duration_seconds=1,
                              notes_html=html) for i, (name, html) in enumerate(notes.items())]
    rendered = render.items(items)
    assert [part.count(b"<guid") for part in rendered] == [1, 1, 1]
    encoded = [b"<content:encoded><![CDATA[" in part for part in rendered]
    assert encoded == [True, False, False]
    assert all(b"<description><![CDATA[<p>" in part for part in rendered)
    channel = render.ChannelData(title="T", link="https://x.example/", description="D",
                                  feed_url="https://x.example/feed.xml", language="en",
                                  podcast_guid=str(uuid.uuid4()))
    head, tail = render.channel(channel)
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
        written = render._rfc2822(when)
        expected = when.astimezone(UTC) if when.tzinfo else when.replace(tzinfo=UTC)
        assert written == format_datetime(expected).replace("-0000", "+0000")
        assert parsedate_to_datetime(written) == expected
    assert render._rfc2822(datetime(2026, 1, 4, 23, 30, 5, tzinfo=paris)).startswith(
        "Sun, 04 Jan 2026 22:30:05")


def test_an_item_with_only_a_title_carries_it_as_escaped_html():
    """With no summary, notes or credits, content:encoded is the title, escaped like any text:
    it is HTML, and CDATA around it must not be broken by the title."""
    title = "Tokyo ]]> </item><item> <b>review</b> & more"
    data = render.ItemData(guid="g", title=title, link="https://x.example/e/",
                            published_at=utcnow(), enclosure_url="https://x.example/a.mp3",
                            size_bytes=1, mime_type="audio/mpeg", duration_seconds=1)
    [item] = render.items([data])
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
    data = render.ItemData(guid="g", title="T", link="https://x.example/e/]]>",
                            published_at=utcnow(), enclosure_url="https://x.example/a.mp3",
                            size_bytes=1, mime_type="audio/mpeg", duration_seconds=1,
                            summary="word " * 1200)
    [item] = render.items([data])
    assert b"<description><![CDATA[" not in item
    root = etree.fromstring(b'<rss xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd" '
                            b'xmlns:content="http://purl.org/rss/1.0/modules/content/" '
                            b'xmlns:podcast="https://podcastindex.org/namespace/1.0">'
                            + item + b"</rss>")
    assert root.findtext("item/description") == render.describe(data)


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
