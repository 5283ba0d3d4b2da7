"""The podcast RSS feed: RSS 2.0 + iTunes + Podcasting 2.0, rendered with feedgen from plain data.

Items are rendered one at a time (so a caller can keep each item's XML and re-render only what
changed) and spliced into the channel, newest first.
"""
from __future__ import annotations

import functools
import html
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import NamedTuple

from feedgen.entry import FeedEntry  # imports lxml.etree before feedgen.util needs it
from feedgen.ext.base import BaseEntryExtension, BaseExtension
from feedgen.feed import FeedGenerator
from lxml import etree

from .timecodes import format_timecode

ITUNES_NS = "http://www.itunes.com/dtds/podcast-1.0.dtd"
PODCAST_NS = "https://podcastindex.org/namespace/1.0"
DESCRIPTION_LIMIT = 4000  # bytes; Apple's limit for descriptions
ITEM_FORMAT = "8"  # bump when rendering changes, so items cached by an older version are redone


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
    # The references below are the named tuples, or plain tuples in their field order: the
    # database read and the feed helper's pipe carry 15,000 of them for 1,000 items, and
    # making each a named tuple (and a plain one again for the pipe) cost 10 us an item.
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


_PERSON = f"{{{PODCAST_NS}}}person"


@functools.lru_cache(maxsize=4096)
def _person(person: PersonRef | tuple):
    # A feed names the same few people on every item: each one's element is built once and
    # copied (a C copy of the node, a third of parsing its four attributes again).
    name, role, group, href, img = person
    pairs = (("role", role), ("group", group), ("img", img), ("href", href))
    element = etree.Element(_PERSON, {k: v for k, v in pairs if v}, nsmap={"podcast": PODCAST_NS})
    element.text = name
    return element


def _persons(parent, persons) -> None:
    for person in persons:
        parent.append(_person(person).__copy__())  # copy.copy() costs a microsecond more


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
    """An item's link, date, enclosure, iTunes and Podcasting 2.0 tags. feedgen's podcast
    extension knows explicit as yes/no only, and took 10 us an item to write the other four
    iTunes tags; feedgen's own link, enclosure and date setters took 15 us an item (checking
    link dictionaries, switching the locale twice per date)."""

    def __init__(self):
        self.data: ItemData | None = None

    def extend_ns(self):
        return {"podcast": PODCAST_NS, "itunes": ITUNES_NS}

    def extend_rss(self, item):
        data, sub = self.data, etree.SubElement  # the names spelled out: this runs for every item
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


_e = html.escape  # a name of its own for the f-strings below; a wrapper costs 6 ms a feed


_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _rfc2822(when: datetime) -> str:
    """An RFC 2822 date in UTC, in English whatever the locale (naive times are UTC)."""
    if when.utcoffset():
        when = when.astimezone(UTC)
    return (f"{_DAYS[when.weekday()]}, {when.day:02d} {_MONTHS[when.month - 1]} {when.year:04d}"
            f" {when.hour:02d}:{when.minute:02d}:{when.second:02d} +0000")


def render_items(items: list[ItemData], keep: list | None = None) -> list[bytes]:
    """Each item's <item> XML, in the given order, without namespace declarations.

    feedgen renders entries only inside a feed (where the namespaces are declared with their
    usual prefixes), so the items are rendered as one feed and cut apart. `keep` takes the
    rendered feed for a caller that frees it later (6 us an item) when it has time to spare.
    """
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
    if keep is not None:
        keep.append(fg)
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
    # CDATA spares lxml escaping every tag of the notes and the description (5% of the feed's
    # bytes and time). It cannot hold "]]>", and render_items() cuts items at "</item>". Both
    # texts are our own tags around escaped text (no "<" or ">"), which cannot form either,
    # and a few raw pieces, checked here instead of the whole texts (8 us an item): a host's
    # sanitised HTML (an attribute value can hold both) and the address ending a clipped
    # description. Where one holds either, that text is escaped instead.
    description = describe(data, articles)
    entry.description(etree.CDATA(description) if _fits_cdata(data.link) else description)
    notes = full_notes(data, articles)
    raw = _SEP.join([data.notes_html, *[note[_COMMENT] for note in data.notes]])
    entry.content(notes, type="CDATA" if _fits_cdata(raw) else None)
    entry.podcastindex.data = data


_COMMENT = NoteRef._fields.index("comment_html")


def _fits_cdata(text: str) -> bool:
    return "]]>" not in text and "</item" not in text


def render_channel(data: ChannelData) -> tuple[bytes, bytes]:
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


_SEP = "\x00"  # XML cannot carry it, so input refuses it: it never occurs in stored text


def notes_html(notes: tuple[NoteRef | tuple, ...]) -> NotesHtml:
    """The articles' list entries for describe() and full_notes(), their text escaped once."""
    # Two escapes of the joined fields instead of four per article: 40 calls an item were
    # a fifth of an item's rendering.
    texts = []
    for title, url, site, author, _, _ in notes:
        texts += (title or url, site, author)
    escaped = _e(_SEP.join(texts), False).split(_SEP)
    urls = _e(_SEP.join([note[1] for note in notes])).split(_SEP)
    if len(escaped) != len(texts) or len(urls) != len(notes):  # a NUL slipped past input
        escaped, urls = [_e(x, False) for x in texts], [_e(note[1]) for note in notes]
    short, full, fields = [], [], iter(escaped)
    for note, url, title, site, author in zip(notes, urls, fields, fields, fields):
        *_, start_seconds, comment = note
        link = f'<a href="{url}">{title}</a>'
        when = "" if start_seconds is None else _when(start_seconds)
        if site:
            short.append(f"<li>{link} ({site})</li>")
            byline = f"{site} · by {author}" if author else site
        else:
            short.append(f"<li>{link}</li>")
            byline = f"by {author}" if author else ""
        full.append(f"<li>{when}{link} <em>{byline}</em>{comment}</li>" if byline
                    else f"<li>{when}{link}{comment}</li>")
    return NotesHtml(short, full)


@functools.lru_cache(maxsize=16384)
def _when(seconds: int) -> str:
    return f"[{format_timecode(seconds)}] "


def describe(data: ItemData, notes: NotesHtml | None = None) -> str:
    """The item description: summary and a compact list of articles, within Apple's 4,000 bytes."""
    # Plain f-strings around html.escape(): Markup.format costs ten times more, on every item.
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
