"""Read: what a show's feed says, as plain rows in a fixed number of queries (no ORM objects,
whose bookkeeping would cost more than rendering for a large show). The rules (who is
credited, whether there are chapters) are the same as the pages' (people.episode_cast,
notes.citations.chapters) and tests hold the two to the same answers.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from sqlalchemy import bindparam, select

from ..db import db
from ..models import (
    Article,
    Chapter,
    Credit,
    Episode,
    Person,
    Show,
    ShowNote,
    Transcript,
    published_episodes,
    utcnow,
)
from ..urls import Links
from . import render

CHUNK = 100  # episodes read and rendered at a time: bounds the memory a large feed takes

_CREDIT = (Credit.episode_id, Credit.person_id, Credit.role, Credit.group, Credit.excluded,
           Person.name, Person.slug, Person.image_key)

_START = render.NoteRef._fields.index("start_seconds")  # notes are read as plain tuples
_ITEM = render.ItemData._make  # from a tuple in ItemData's field order

# The item queries, for any list of episode ids.
_IDS = bindparam("ids", expanding=True)
_NOTES = (select(ShowNote.episode_id, Article.title, Article.url, Article.site_name,
                 Article.author_name, ShowNote.start_seconds, ShowNote.comment_html)
          .join(Article, ShowNote.article_id == Article.id).where(ShowNote.episode_id.in_(_IDS))
          .order_by(ShowNote.episode_id, ShowNote.position, ShowNote.id))
_CREDITS = (select(*_CREDIT).join(Person, Credit.person_id == Person.id)
            .where(Credit.episode_id.in_(_IDS)).order_by(Credit.episode_id, Credit.position,
                                                         Credit.id))
_TRANSCRIPTS = (select(Transcript.episode_id, Transcript.key, Transcript.mime_type,
                       Transcript.language)
                .where(Transcript.episode_id.in_(_IDS)).order_by(Transcript.id))
_AUDIO_CHAPTERS = select(Chapter.episode_id).where(Chapter.episode_id.in_(_IDS)).distinct()
_EPISODES = select(
    Episode.id, Episode.guid, Episode.slug, Episode.title, Episode.published_at,
    Episode.audio_key, Episode.audio_size_bytes, Episode.audio_mime, Episode.duration_seconds,
    Episode.summary, Episode.notes_html, Episode.episode_type, Episode.explicit, Episode.number,
    Episode.season, Episode.artwork_key, Episode.chapters_from).where(Episode.id.in_(_IDS))


def item_chunks(show: Show, episode_ids: list[int], cast: list | None = None
                ) -> Iterator[dict[int, render.ItemData]]:
    """The items of the given episodes of a show, by episode id (`cast`: show_cast's rows), in
    parts of CHUNK in the given order."""
    links = Links()
    people, media = _People(links), links.varying_media()
    episode_page = links.varying("public.episode", "episode_slug", slug=show.slug)
    chapters_page = links.varying("public.chapters", "episode_slug", slug=show.slug)
    cast_of = _Cast(show_cast(show.id) if cast is None else cast, people).of
    run = db.session.connection().execute  # plain rows: no ORM bookkeeping per row
    for start in range(0, len(episode_ids), CHUNK):
        ids = episode_ids[start:start + CHUNK]
        found, chunk = {}, {"ids": ids}
        notes = _group(run(_NOTES, chunk).all(), plain=True)
        credits = _group(run(_CREDITS, chunk).all())
        transcripts = _group(run(_TRANSCRIPTS, chunk).all())
        audio_chapters = set(run(_AUDIO_CHAPTERS, chunk).scalars())
        for (episode_id, guid, slug, title, published_at, audio_key, size_bytes, mime_type,
             duration_seconds, summary, notes_html, episode_type, explicit, number, season,
             artwork_key, chapters_from) in run(_EPISODES, chunk):
            own = tuple(notes.get(episode_id, ()))
            if chapters_from == "audio" and episode_id in audio_chapters:
                has_chapters = True
            else:
                has_chapters = any(note[_START] is not None for note in own)
            found[episode_id] = _ITEM((
                guid, title, episode_page(slug), published_at, media(audio_key), size_bytes,
                mime_type, duration_seconds, summary, notes_html, episode_type, explicit, number,
                season, media(artwork_key), chapters_page(slug) if has_chapters else "",
                cast_of(credits.get(episode_id, ())), own,
                tuple([(media(key), mime, language)
                       for _, key, mime, language in transcripts.get(episode_id, ())])))
        yield {episode_id: found[episode_id] for episode_id in ids if episode_id in found}


def channel(show: Show, cast: list | None = None) -> render.ChannelData:
    """What the <channel> says about the show (`cast`: show_cast's rows)."""
    links = Links()
    people = _People(links)
    trailers = db.session.execute(published_episodes(show.id).with_only_columns(
        Episode.title, Episode.audio_key, Episode.published_at, Episode.audio_size_bytes,
        Episode.audio_mime, Episode.season).where(Episode.episode_type == "trailer")).all()
    return render.ChannelData(
        title=show.title, link=links("public.show", slug=show.slug),
        feed_url=links("public.feed", slug=show.slug),
        description=show.description or show.subtitle, language=show.language,
        podcast_guid=show.podcast_guid, author=show.author, owner_name=show.owner_name,
        owner_email=show.owner_email, copyright=show.copyright,
        image=links.media(show.artwork_key), categories=tuple(show.categories or ()),
        explicit=show.explicit, show_type=show.show_type, block=show.block,
        complete=show.complete, new_feed_url=show.new_feed_url, locked=show.locked,
        medium=show.medium, update_frequency=show.update_frequency,
        funding=tuple((f["url"], f.get("text", "")) for f in show.funding or ()),
        txt=tuple((t.get("purpose", ""), t["text"]) for t in show.txt or ()),
        persons=tuple(people.ref(row) for row in
                      (show_cast(show.id) if cast is None else cast)),
        trailers=tuple(render.TrailerRef(t.title, links.media(t.audio_key), t.published_at,
                                       t.audio_size_bytes, t.audio_mime, t.season)
                       for t in trailers),
        last_build=utcnow())


class _People:
    """podcast:person references, each built once per feed."""

    def __init__(self, links: Links):
        self.page, self.media = links.varying("public.person", "slug"), links.varying_media()
        self.refs = {}

    def ref(self, row) -> tuple:
        """A credit row's person, as a plain tuple in render.PersonRef's field order."""
        key = (row.person_id, row.role, row.group)
        found = self.refs.get(key)
        if found is None:
            found = self.refs[key] = (row.name, row.role, row.group, self.page(row.slug),
                                      self.media(row.image_key))
        return found


def show_cast(show_id: int) -> list:
    """The show's credits (not excluded), in order, as rows for items() and channel()."""
    return db.session.execute(
        select(*_CREDIT).join(Person, Credit.person_id == Person.id)
        .where(Credit.show_id == show_id, Credit.excluded.is_(False))
        .order_by(Credit.position, Credit.id)).all()


class _Cast:
    """people.episode_cast on rows: the show's cast minus exclusions, then the episode's own."""

    def __init__(self, show_cast: list, people: _People):
        self.people = people
        self.show = [((row.person_id, row.role), people.ref(row)) for row in show_cast]
        self.whole = tuple(ref for _, ref in self.show)  # an episode with no credits of its own

    def of(self, credits: list) -> tuple[tuple, ...]:
        """The persons of an episode with these credits rows."""
        if not credits:
            return self.whole
        skip = {(c.person_id, c.role) for c in credits}  # excluded, or credited on the episode
        return (*(ref for key, ref in self.show if key not in skip),
                *(self.people.ref(c) for c in credits if not c.excluded))


def _group(rows, plain: bool = False) -> dict[int, list]:
    """Rows by their first column; `plain`: each as a tuple of the other columns."""
    grouped = defaultdict(list)
    if plain:
        for row in rows:
            grouped[row[0]].append(row[1:])
    else:
        for row in rows:
            grouped[row[0]].append(row)
    return grouped
