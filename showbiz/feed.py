"""The show's podcast RSS feed: RSS 2.0 + iTunes + Podcasting 2.0, built with feedgen."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from feedgen.entry import FeedEntry  # imports lxml.etree before feedgen.util needs it
from feedgen.ext.base import BaseEntryExtension, BaseExtension
from feedgen.feed import FeedGenerator
from lxml import etree

from .models import Credit, Episode, Show

ITUNES_NS = "http://www.itunes.com/dtds/podcast-1.0.dtd"
PODCAST_NS = "https://podcastindex.org/namespace/1.0"


@dataclass(frozen=True)
class Links:
    """Absolute addresses the feed points to, made by the interface that knows the URL map."""
    feed: str
    show_page: str
    artwork: str | None
    episode_page: dict[int, str]
    enclosure: dict[int, str]
    person_page: dict[int, str]


class _PodcastChannel(BaseExtension):
    """Podcasting 2.0 and today's Apple rules at channel level (feedgen knows neither)."""

    def __init__(self):
        self.values: dict = {}

    def extend_ns(self):
        return {"podcast": PODCAST_NS, "itunes": ITUNES_NS}

    def extend_rss(self, rss_feed):
        channel = rss_feed[0]
        _sub(channel, ITUNES_NS, "explicit", _bool(self.values["explicit"]))
        _sub(channel, PODCAST_NS, "guid", self.values["guid"])
        locked = _sub(channel, PODCAST_NS, "locked", "yes" if self.values["locked"] else "no")
        if self.values.get("owner_email"):
            locked.set("owner", self.values["owner_email"])
        _persons(channel, self.values["persons"])
        return rss_feed


class _PodcastItem(BaseEntryExtension):
    """Podcasting 2.0 and Apple's true/false explicit on each item."""

    def __init__(self):
        self.values: dict = {}

    def extend_rss(self, item):
        _sub(item, ITUNES_NS, "explicit", _bool(self.values["explicit"]))
        _persons(item, self.values["persons"])
        return item


def _sub(parent, ns: str, tag: str, text: str | None = None, **attrs: str):
    element = etree.SubElement(parent, f"{{{ns}}}{tag}", attrs)
    element.text = text
    return element


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _persons(parent, persons: Sequence[tuple[Credit, str]]) -> None:
    for credit, href in persons:
        _sub(parent, PODCAST_NS, "person", credit.person.name, role=credit.role,
             group=credit.group, href=href)


def render(show: Show, episodes: Sequence[Episode], cast: dict[int, list[Credit]],
           links: Links) -> bytes:
    """Render a show and its published episodes (newest first) as RSS bytes."""
    fg = FeedGenerator()
    fg.load_extension("podcast")
    fg.register_extension("podcastindex", _PodcastChannel, _PodcastItem)
    _channel(fg, show, links)
    for episode in reversed(episodes):  # feedgen prepends: add oldest first, newest ends on top
        _item(fg.add_entry(), episode, cast.get(episode.id, []), links)
    return fg.rss_str(pretty=False, encoding="UTF-8", xml_declaration=True)


def _channel(fg: FeedGenerator, show: Show, links: Links) -> None:
    fg.title(show.title)
    fg.link(href=links.feed, rel="self")
    fg.link(href=links.show_page, rel="alternate")  # feedgen's RSS <link> is the last one added
    fg.description(show.description or show.subtitle or show.title)
    fg.language(show.language)
    if show.copyright:
        fg.copyright(show.copyright)
    fg.generator("showbiz")
    fg.podcast.itunes_author(show.author or show.title)
    fg.podcast.itunes_type(show.show_type)
    if links.artwork:
        fg.podcast.itunes_image(links.artwork)
        fg.image(url=links.artwork, title=show.title, link=links.show_page)
    if show.owner_email:
        fg.podcast.itunes_owner(name=show.owner_name or show.author or show.title,
                                email=show.owner_email)
    for category in show.categories or []:
        top, _, sub = category.partition(" > ")
        fg.podcast.itunes_category(top, sub or None)
    fg.podcastindex.values = {
        "explicit": show.explicit, "guid": show.podcast_guid, "locked": show.locked,
        "owner_email": show.owner_email,
        "persons": [(c, links.person_page[c.person_id]) for c in show.credits if not c.excluded],
    }


def _item(entry: FeedEntry, episode: Episode, cast: list[Credit], links: Links) -> None:
    entry.title(episode.title)
    entry.guid(episode.guid, permalink=False)
    entry.link(href=links.episode_page[episode.id])
    entry.published(episode.published_at)
    entry.description(episode.summary or episode.title)
    if episode.notes_html:
        entry.content(episode.notes_html, type="CDATA")
    entry.enclosure(links.enclosure[episode.id], str(episode.audio_size_bytes),
                    episode.audio_mime)
    entry.podcast.itunes_duration(round(episode.duration_seconds))
    entry.podcast.itunes_episode_type(episode.episode_type)
    if episode.number is not None:
        entry.podcast.itunes_episode(episode.number)
    if episode.season is not None:
        entry.podcast.itunes_season(episode.season)
    entry.podcastindex.values = {
        "explicit": episode.explicit,
        "persons": [(c, links.person_page[c.person_id]) for c in cast],
    }
