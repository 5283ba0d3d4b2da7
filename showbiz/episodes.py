"""Episodes: create from an upload, edit, replace audio, publish, schedule, delete."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import PurePath
from typing import BinaryIO
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload
from sqlalchemy.orm.exc import StaleDataError

from .db import db, transaction
from .markup import render_markdown
from .media import audio
from .media.storage import media_store
from .models import EPISODE_TYPES, Chapter, Credit, Episode, Show, ShowNote, utcnow
from .notes.articles import Fetched, article_for, fetch_metadata, get_or_create_article, needs_fetch
from .notes.citations import NoteLine, cite
from .people import credit, get_or_create_person
from .settings import setting
from .text import InvalidInput, clean_text, display_filename, slugify, strip_xml_illegal


@dataclass
class NewEpisode:
    """What a host gives besides the audio: every field optional, tags fill the gaps."""
    title: str = ""
    summary: str = ""
    notes: list[NoteLine] = field(default_factory=list)
    hosts: list[str] = field(default_factory=list)
    guests: list[str] = field(default_factory=list)
    publish_at: datetime | None = None


def create_episode(show: Show, stream: BinaryIO, filename: str, details: NewEpisode) -> Episode:
    """Store an upload, probe it, and add it to the show as an episode, all or nothing."""
    store = media_store()
    fetched = fetch_metadata(sorted({n.url for n in details.notes if needs_fetch(n.url, show)}))
    with store.incoming(stream, max_bytes=_max_bytes()) as incoming:
        info = audio.probe(incoming.path)
        key = incoming.keep(prefix="audio", suffix=info.extension)
        artwork_key = _keep_picture(info)
        try:
            with transaction():
                episode = _new_episode(show, info, details, filename)
                _set_audio(episode, info, incoming, filename)
                episode.audio_key, episode.artwork_key = key, artwork_key
                db.session.add(episode)
                _add_credits_and_notes(episode, details, fetched)
        except BaseException:
            if artwork_key:
                store.delete(artwork_key)
            raise
    return episode


def replace_audio(episode: Episode, stream: BinaryIO, filename: str) -> Episode:
    """Swap an episode's audio; the guid stays, the old file goes after the commit."""
    store = media_store()
    old_key = episode.audio_key
    with store.incoming(stream, max_bytes=_max_bytes()) as incoming:
        info = audio.probe(incoming.path)
        key = incoming.keep(prefix="audio", suffix=info.extension)
        with transaction():
            episode.audio_key = key
            _set_audio(episode, info, incoming, filename)
            _replace_audio_chapters(episode, info)
    store.delete(old_key)
    return episode


def embed_chapters(episode: Episode) -> bool:
    """Write the episode's chapters into its MP3 as ID3 frames (a new file; size and hash kept
    right); returns False for other formats or when there are no chapters."""
    from .notes.citations import chapters

    marks = chapters(episode)
    if episode.audio_mime != "audio/mpeg" or not marks:
        return False
    store = media_store()
    old_key = episode.audio_key
    with store.open(old_key) as source, store.incoming(source, max_bytes=_max_bytes()) as copy:
        audio.write_chapters(copy.path, [audio.Chapter(m.start_seconds, None, m.title, m.url)
                                         for m in marks], episode.duration_seconds)
        copy.rehash()
        key = copy.keep(prefix="audio", suffix=".mp3")
        with transaction():
            episode.audio_key, episode.audio_size_bytes = key, copy.size_bytes
            episode.audio_sha256 = copy.sha256
    store.delete(old_key)
    return True


def delete_episode(episode: Episode) -> None:
    """Delete an episode and, after the commit, its files."""
    keys = [k for k in (episode.audio_key, episode.artwork_key) if k]
    with transaction():
        db.session.delete(episode)
    for key in keys:
        media_store().delete(key)


class StaleEdit(InvalidInput):
    """The episode changed since the host opened the editor: their form would undo it."""
    status = 409

    def __init__(self) -> None:
        super().__init__("Someone saved this episode after you opened it. Reload to see their "
                         "changes.", None)


def save_edits(episode: Episode, data: Mapping[str, str]) -> Episode:
    """Save what a host typed in the editor opened at `data["version"]`, all or nothing (a newer
    version refuses with StaleEdit); then, if asked and the episode is out or scheduled, write the
    chapters into its MP3."""
    try:
        with transaction():
            if _optional_int(data.get("version"), "version", "Version") != episode.version:
                raise StaleEdit()
            apply_edits(episode, data)
    except (StaleDataError, InvalidInput) as error:
        # A concurrent save caught at the UPDATE, or a version that is not a number: stale too.
        if isinstance(error, StaleDataError) or error.field == "version":
            raise StaleEdit() from None
        raise
    if data.get("embed_chapters") and episode.state != "draft":
        embed_chapters(episode)  # after the commit: it writes a new audio file
    return episode


def editor_episode(show: Show, episode_id: int) -> Episode | None:
    """The show's episode with everything the studio editor shows, in a fixed number of
    queries: notes with their articles, credits with their people, chapters, transcripts."""
    return db.session.scalar(select(Episode).where(
        Episode.id == episode_id, Episode.show_id == show.id).options(
        joinedload(Episode.show, innerjoin=True),
        selectinload(Episode.notes).joinedload(ShowNote.article),
        selectinload(Episode.credits).joinedload(Credit.person),
        selectinload(Episode.chapters), selectinload(Episode.transcripts)))


def apply_edits(episode: Episode, data: Mapping[str, str]) -> Episode:
    """Validate and set what a host edits on an episode, and publish, schedule or unpublish."""
    with db.session.no_autoflush:  # one UPDATE (and one version step) for the whole edit
        return _apply_edits(episode, data)


def _apply_edits(episode: Episode, data: Mapping[str, str]) -> Episode:
    episode.title = clean_text(data.get("title"), field="title", label="Title", max_length=255,
                               required=True)
    episode.summary = clean_text(data.get("summary"), field="summary", label="Summary",
                                 max_length=4000, multiline=True)
    episode.notes_md = clean_text(data.get("notes_md"), field="notes_md", label="Notes",
                                  max_length=100_000, multiline=True)
    episode.notes_html = render_markdown(episode.notes_md)
    episode.number = _optional_int(data.get("number"), "number", "Episode number")
    episode.season = _optional_int(data.get("season"), "season", "Season")
    if data.get("episode_type", "full") not in EPISODE_TYPES:
        raise InvalidInput("Type must be full, trailer or bonus.", "episode_type")
    episode.episode_type = data.get("episode_type", "full")
    episode.explicit = data.get("explicit") in ("on", "true", "1")
    if data.get("chapters_from") in ("notes", "audio"):
        episode.chapters_from = data["chapters_from"]
    action = data.get("action", "save")
    if action == "publish":
        publish(episode)
    elif action == "unpublish":
        unpublish(episode)
    elif action == "schedule":
        publish(episode, parse_local_time(data.get("publish_at"), episode.show.time_zone))
    return episode


def parse_local_time(value: str | None, time_zone: str) -> datetime:
    """A date and time typed in the show's time zone (2024-01-31T18:00), as aware UTC."""
    try:
        local = datetime.fromisoformat((value or "").strip())
    except ValueError:
        raise InvalidInput("Give the publishing date and time as YYYY-MM-DD HH:MM.",
                           "publish_at") from None
    if local.tzinfo is None:
        local = local.replace(tzinfo=ZoneInfo(time_zone))
    return local.astimezone(UTC)


def _optional_int(value: str | None, field: str, label: str) -> int | None:
    value = (value or "").strip()
    if not value:
        return None
    if not value.isdigit() or not 0 <= int(value) <= 1_000_000:
        raise InvalidInput(f"{label} must be a whole number.", field)
    return int(value)


def publish(episode: Episode, at: datetime | None = None) -> None:
    """Publish now, or schedule for a later time (aware datetime)."""
    episode.published_at = at or utcnow()


def unpublish(episode: Episode) -> None:
    """Make an episode a draft again."""
    episode.published_at = None


def episode_by_slug(show: Show, slug: str) -> Episode | None:
    """The show's episode with this slug, if any."""
    return db.session.scalar(select(Episode).where(Episode.show_id == show.id,
                                                   Episode.slug == slug))


def _max_bytes() -> int:
    return int(setting("MAX_UPLOAD_MB")) * 1024 * 1024


def _set_audio(episode: Episode, info: audio.AudioInfo, incoming, filename: str) -> None:
    episode.audio_mime = info.mime_type
    episode.audio_size_bytes = incoming.size_bytes
    episode.audio_sha256 = incoming.sha256
    episode.audio_filename = display_filename(filename)
    episode.audio_warnings = list(info.warnings)
    episode.duration_seconds = info.duration_seconds
    episode.bitrate = info.bitrate
    episode.sample_rate = info.sample_rate
    episode.channels = info.channels


def _new_episode(show: Show, info: audio.AudioInfo, details: NewEpisode,
                 filename: str) -> Episode:
    """Typed values win; tags fill what the host left empty; the file name is the last resort."""
    title = details.title or info.tags.get("title") or PurePath(display_filename(filename)).stem
    title = clean_text(strip_xml_illegal(title)[:255], field="title", label="Title",
                       max_length=255, required=True)
    summary = details.summary or info.tags.get("comment", "")
    summary = clean_text(strip_xml_illegal(summary)[:4000], field="summary", label="Summary",
                         max_length=4000, multiline=True)
    return Episode(show_id=show.id, title=title, summary=summary,
                   slug=_free_slug(show, slugify(title)), published_at=details.publish_at,
                   chapters=_audio_chapters(info),
                   chapters_from="audio" if info.chapters else "notes")


def _replace_audio_chapters(episode: Episode, info: audio.AudioInfo) -> None:
    episode.chapters[:] = [c for c in episode.chapters if c.source != "audio"]
    episode.chapters.extend(_audio_chapters(info))


def _audio_chapters(info: audio.AudioInfo) -> list[Chapter]:
    return [Chapter(start_seconds=c.start_seconds, title=strip_xml_illegal(c.title)[:500],
                    url=c.url or "", source="audio") for c in info.chapters]


def _keep_picture(info: audio.AudioInfo) -> str | None:
    if info.picture is None:
        return None
    suffix = ".png" if info.picture.mime_type == "image/png" else ".jpg"
    return media_store().put_bytes(info.picture.data, prefix="art", suffix=suffix)


def _add_credits_and_notes(episode: Episode, details: NewEpisode,
                           fetched: dict[str, Fetched]) -> None:
    db.session.flush()
    for name in details.hosts:
        credit(get_or_create_person(name), episode=episode, role="host")
    for name in details.guests:
        credit(get_or_create_person(name), episode=episode, role="guest")
    for note in details.notes:
        article = (article_for(fetched[note.url]) if note.url in fetched
                   else get_or_create_article(note.url))
        cite(episode, article, start_seconds=note.start_seconds)


def _free_slug(show: Show, base: str) -> str:
    slug, n = base[:100], 1
    while episode_by_slug(show, slug):
        n += 1
        slug = f"{base[:100]}-{n}"
    return slug
