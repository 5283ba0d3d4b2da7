"""Render: the podcast RSS feed (RSS 2.0 + iTunes + Podcasting 2.0) from plain data.

feedgen writes the RSS it knows (title, guid, description, content:encoded, the channel's
iTunes tags); two small extensions add with lxml what it lacks or gets wrong for Apple and
Podcasting 2.0. Items are rendered on their own (so the store keeps each item's XML and only
changed items are rendered again) and spliced into the channel, newest first.
"""
from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import NamedTuple

from feedgen.entry import FeedEntry  # imports lxml.etree before feedgen.util needs it
from feedgen.ext.base import BaseEntryExtension, BaseExtension
from feedgen.feed import FeedGenerator
from lxml import etree

from ..timecodes import format_timecode

ITUNES_NS = "http://www.itunes.com/dtds/podcast-1.0.dtd"
PODCAST_NS = "https://podcastindex.org/namespace/1.0"
DESCRIPTION_LIMIT = 4000  # bytes; Apple's limit for descriptions
FORMAT = "9"  # bump when rendering changes: stored feeds of another format are rebuilt


class PersonRef(NamedTuple):
    name: str
    role: str
    group: str
    href: str
    img: str = ""


class NoteRef(NamedTuple):
    title: str
    url: str
    site: str = ""
    author: str = ""
    start_seconds: int | None = None
    comment_html: str = ""


class TranscriptRef(NamedTuple):
    url: str
    mime_type: str
    language: str = ""


class ItemData(NamedTuple):
    """Everything one <item> says, already made absolute and checked."""
    guid: str
    title: str
    link: str
    published_at: datetime
    enclosure_url: str
    size_bytes: int
    mime_type: str
    duration_seconds: float
    summary: str = ""
    notes_html: str = ""
    episode_type: str = "full"
    explicit: bool = False
    number: int | None = None
    season: int | None = None
    image: str = ""
    chapters_url: str = ""
    # The references below are the named tuples, or plain tuples in their field order (as
    # read.py makes them from rows).
    persons: tuple[PersonRef | tuple, ...] = ()
    notes: tuple[NoteRef | tuple, ...] = ()
    transcripts: tuple[TranscriptRef | tuple, ...] = ()


class TrailerRef(NamedTuple):
    title: str
    url: str
    published_at: datetime
    size_bytes: int
    mime_type: str
    season: int | None = None


@dataclass(frozen=True)
class ChannelData:
    """Everything the <channel> says besides its items."""
    title: str
    link: str
    feed_url: str
    description: str
    language: str
    podcast_guid: str
    author: str = ""
    owner_name: str = ""
    owner_email: str = ""
    copyright: str = ""
    image: str = ""
    categories: tuple[str, ...] = ()
    explicit: bool = False
    show_type: str = "episodic"
    block: bool = False
    complete: bool = False
    new_feed_url: str = ""
    locked: bool = False
    medium: str = "podcast"
    update_frequency: str = ""
    funding: tuple[tuple[str, str], ...] = ()  # (url, text)
    txt: tuple[tuple[str, str], ...] = ()  # (purpose, text)
    persons: tuple[PersonRef | tuple, ...] = ()  # as in ItemData
    trailers: tuple[TrailerRef, ...] = ()
    last_build: datetime | None = None


def _sub(parent, ns: str | None, tag: str, text: str | None = None, **attrs: str):
    name = f"{{{ns}}}{tag}" if ns else tag
    element = etree.SubElement(parent, name, {k: v for k, v in attrs.items() if v})
    element.text = text
    return element


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _persons(parent, persons) -> None:
    for name, role, group, href, img in persons:
        _sub(parent, PODCAST_NS, "person", name, role=role, group=group, img=img, href=href)


class _ChannelExtension(BaseExtension):
    """Today's Apple rules and Podcasting 2.0 at channel level, where feedgen falls short."""

    def __init__(self):
        self.data: ChannelData | None = None

    def extend_ns(self):
        return {"podcast": PODCAST_NS, "itunes": ITUNES_NS}

    def extend_rss(self, rss_feed):
        channel, data = rss_feed[0], self.data
        _sub(channel, ITUNES_NS, "explicit", _bool(data.explicit))  # feedgen knows yes/no only
        if data.image:  # feedgen drops .jpeg addresses
            _sub(channel, ITUNES_NS, "image", href=data.image)
        if data.block:
            _sub(channel, ITUNES_NS, "block", "Yes")
        if data.complete:
            _sub(channel, ITUNES_NS, "complete", "Yes")
        if data.new_feed_url:
            _sub(channel, ITUNES_NS, "new-feed-url", data.new_feed_url)
        _sub(channel, PODCAST_NS, "guid", data.podcast_guid)
        _sub(channel, PODCAST_NS, "locked", "yes" if data.locked else "no",
             owner=data.owner_email)
        _sub(channel, PODCAST_NS, "medium", data.medium)
        for url, text in data.funding:
            _sub(channel, PODCAST_NS, "funding", text, url=url)
        if data.update_frequency:
            _sub(channel, PODCAST_NS, "updateFrequency", data.update_frequency)
        for purpose, text in data.txt:
            _sub(channel, PODCAST_NS, "txt", text, purpose=purpose)
        _persons(channel, data.persons)
        for trailer in data.trailers:
            _sub(channel, PODCAST_NS, "trailer", trailer.title, url=trailer.url,
                 pubdate=_rfc2822(trailer.published_at), length=str(trailer.size_bytes),
                 type=trailer.mime_type,
                 season=str(trailer.season) if trailer.season is not None else "")
        return rss_feed


_EXPLICIT, _IMAGE = f"{{{ITUNES_NS}}}explicit", f"{{{ITUNES_NS}}}image"
_DURATION, _EPISODE_TYPE = f"{{{ITUNES_NS}}}duration", f"{{{ITUNES_NS}}}episodeType"
_ITUNES_EPISODE, _ITUNES_SEASON = f"{{{ITUNES_NS}}}episode", f"{{{ITUNES_NS}}}season"
_SEASON, _EPISODE = f"{{{PODCAST_NS}}}season", f"{{{PODCAST_NS}}}episode"
_CHAPTERS = f"{{{PODCAST_NS}}}chapters"


class _ItemExtension(BaseEntryExtension):
    """An item's link, date, enclosure, iTunes and Podcasting 2.0 tags (feedgen's podcast
    extension knows explicit as yes/no only, and its date setter depends on the locale)."""

    def __init__(self):
        self.data: ItemData | None = None

    def extend_ns(self):
        return {"podcast": PODCAST_NS, "itunes": ITUNES_NS}

    def extend_rss(self, item):
        data, sub = self.data, etree.SubElement
        sub(item, "link").text = data.link
        sub(item, "pubDate").text = _rfc2822(data.published_at)
        sub(item, "enclosure", url=data.enclosure_url, length=str(data.size_bytes),
            type=data.mime_type)
        sub(item, _DURATION).text = str(round(data.duration_seconds))
        sub(item, _EPISODE_TYPE).text = data.episode_type
        if data.number is not None:
            sub(item, _ITUNES_EPISODE).text = str(data.number)
        if data.season is not None:
            sub(item, _ITUNES_SEASON).text = str(data.season)
        sub(item, _EXPLICIT).text = _bool(data.explicit)
        if data.image:
            sub(item, _IMAGE, href=data.image)
        if data.season is not None:
            sub(item, _SEASON).text = str(data.season)
        if data.number is not None:
            sub(item, _EPISODE).text = str(data.number)
        if data.chapters_url:
            sub(item, _CHAPTERS, url=data.chapters_url, type="application/json+chapters")
        for transcript in data.transcripts:
            url, mime_type, language = transcript
            _sub(item, PODCAST_NS, "transcript", url=url, type=mime_type, language=language)
        _persons(item, data.persons)
        return item


_e = html.escape


_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _rfc2822(when: datetime) -> str:
    """An RFC 2822 date in UTC, in English whatever the locale (naive times are UTC)."""
    if when.utcoffset():
        when = when.astimezone(UTC)
    return (f"{_DAYS[when.weekday()]}, {when.day:02d} {_MONTHS[when.month - 1]} {when.year:04d}"
            f" {when.hour:02d}:{when.minute:02d}:{when.second:02d} +0000")


def items(items: list[ItemData]) -> list[bytes]:
    """Each item's <item> XML, in the given order, without namespace declarations."""
    # feedgen renders entries only inside a feed (where the namespaces are declared with their
    # usual prefixes), so the items are rendered as one feed and cut apart.
    if not items:
        return []
    fg = FeedGenerator()
    fg.register_extension("podcastindex", _NamespaceOnly, _ItemExtension)
    fg.title("items")
    fg.link(href="https://items.invalid/")
    fg.description("items")
    for data in items:
        _entry(fg.add_entry(order="append"), data)
    xml = fg.rss_str(pretty=False, encoding="UTF-8", xml_declaration=False)
    # Text is escaped, or in CDATA without "</item" (_entry), so "</item>" only ever appears as
    # our own tag; the items follow each other with nothing between them.
    found, start = [], xml.index(b"<item>")
    for _ in items:
        end = xml.index(b"</item>", start) + len(b"</item>")
        found.append(xml[start:end])
        start = end
    return found


class _NamespaceOnly(BaseExtension):
    """Declares the iTunes and Podcasting 2.0 namespaces on the feed items are rendered in."""

    def extend_ns(self):
        return {"podcast": PODCAST_NS, "itunes": ITUNES_NS}


def _entry(entry: FeedEntry, data: ItemData) -> None:
    entry.title(data.title)
    entry.guid(data.guid, permalink=False)
    articles = notes_html(data.notes)
    # HTML goes out as CDATA, which keeps it readable and smaller than escaped HTML. CDATA
    # cannot hold "]]>", and items() cuts items at "</item>": a text holding either (a host's
    # sanitised HTML can, in an attribute value) is escaped instead.
    description = describe(data, articles)
    entry.description(etree.CDATA(description) if _fits_cdata(description) else description)
    notes = full_notes(data, articles)
    entry.content(notes, type="CDATA" if _fits_cdata(notes) else None)
    entry.podcastindex.data = data


def _fits_cdata(text: str) -> bool:
    return "]]>" not in text and "</item" not in text


def channel(data: ChannelData) -> tuple[bytes, bytes]:
    """The feed around its items: what comes before the first <item> and after the last."""
    fg = FeedGenerator()
    fg.load_extension("podcast")
    fg.register_extension("podcastindex", _ChannelExtension, _ItemExtension, atom=False)
    fg.title(data.title)
    fg.link(href=data.feed_url, rel="self")
    fg.link(href=data.link, rel="alternate")  # feedgen's RSS <link> is the last one added
    fg.description(data.description or data.title)
    fg.language(data.language)
    fg.generator("showbiz")
    if data.last_build:
        fg.lastBuildDate(data.last_build)
    if data.copyright:
        fg.copyright(data.copyright)
    if data.image:
        fg.image(url=data.image, title=data.title, link=data.link)
    fg.podcast.itunes_author(data.author or data.title)
    fg.podcast.itunes_type(data.show_type)
    if data.owner_email:
        fg.podcast.itunes_owner(name=data.owner_name or data.author or data.title,
                                email=data.owner_email)
    if data.categories:
        pairs = [category.partition(" > ") for category in data.categories]
        fg.podcast.itunes_category([{"cat": top, "sub": sub} if sub else {"cat": top}
                                    for top, _, sub in pairs])
    fg.podcastindex.data = data
    channel = fg.rss_str(pretty=False, encoding="UTF-8", xml_declaration=True)
    head, tail = channel.rsplit(b"</channel>", 1)
    return head, b"</channel>" + tail


class NotesHtml(NamedTuple):
    """Each article of an item as an entry of the description's list and of the full notes'."""
    short: list[str]
    full: list[str]


def notes_html(notes: tuple[NoteRef | tuple, ...]) -> NotesHtml:
    """The articles' list entries for describe() and full_notes(), their text escaped once."""
    short, full = [], []
    for title, url, site, author, start_seconds, comment in notes:
        title, site, author = _e(title or url, False), _e(site, False), _e(author, False)
        link = f'<a href="{_e(url)}">{title}</a>'
        when = "" if start_seconds is None else f"[{format_timecode(start_seconds)}] "
        if site:
            short.append(f"<li>{link} ({site})</li>")
            byline = f"{site} · by {author}" if author else site
        else:
            short.append(f"<li>{link}</li>")
            byline = f"by {author}" if author else ""
        full.append(f"<li>{when}{link} <em>{byline}</em>{comment}</li>" if byline
                    else f"<li>{when}{link}{comment}</li>")
    return NotesHtml(short, full)


def describe(data: ItemData, notes: NotesHtml | None = None) -> str:
    """The item description: summary and a compact list of articles, within Apple's 4,000 bytes."""
    head = f"<p>{_e(data.summary or data.title, False)}</p>"
    if data.notes:
        head += "<p>Articles discussed:</p>"
    entries = list((notes or notes_html(data.notes)).short)
    more = f'<p><a href="{_e(data.link)}">All the articles are on the episode page.</a></p>'
    while True:
        text = head
        if entries:
            text += "<ul>" + "".join(entries) + "</ul>"
        if len(entries) < len(data.notes):
            text += more
        if len(text.encode()) <= DESCRIPTION_LIMIT or not entries:
            return _clip(text, data.link)
        entries.pop()


def _clip(text: str, link: str) -> str:
    """Last resort for a summary that alone is too long: plain text cut at a word."""
    if len(text.encode()) <= DESCRIPTION_LIMIT:
        return text
    suffix = f"… {link}"
    budget = DESCRIPTION_LIMIT - len(suffix.encode()) - 8
    plain = re.sub(r"<[^>]+>", " ", text)  # our own markup only: summary text was escaped
    cut = plain.encode()[:budget].decode(errors="ignore").rsplit(" ", 1)[0]
    return _e(cut, False) + suffix


def full_notes(data: ItemData, notes: NotesHtml | None = None) -> str:
    """content:encoded: the summary, every article with site, author, time and comment, notes."""
    # Every piece is our own tags, escaped text, or nh3-sanitised HTML (comments, notes).
    parts = [f"<p>{_e(data.summary, False)}</p>"] if data.summary else []
    if data.notes:
        parts += ["<h3>Articles discussed</h3><ol>", *(notes or notes_html(data.notes)).full,
                  "</ol>"]
    if data.notes_html:
        parts.append(data.notes_html)
    if data.persons:
        people = ", ".join(f"{name} ({role})" for name, role, *_ in data.persons)
        parts.append(f"<p>With {_e(people, False)}.</p>")
    return "".join(parts) or f"<p>{_e(data.title, False)}</p>"
