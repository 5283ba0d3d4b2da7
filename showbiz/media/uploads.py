"""Uploads besides episode audio (show and episode artwork, people's photos, transcripts):
checked, stored, swapped in; and a stored transcript's cues for the episode page."""
from __future__ import annotations

import re
from collections.abc import Callable
from typing import BinaryIO, TypeVar

from ..db import db, transaction
from ..models import Episode, Person, Show, Transcript
from ..shows import check_language
from ..text import InvalidInput
from . import images
from .storage import media_store

MAX_IMAGE_BYTES = 20 * 1024 * 1024
MAX_TRANSCRIPT_BYTES = 5 * 1024 * 1024
Info = TypeVar("Info")


def _store_checked(stream: BinaryIO, *, prefix: str, max_bytes: int,
                   check: Callable[[str], Info], suffix: Callable[[Info], str],
                   apply: Callable[[str, Info], str | None]) -> str:
    """Store an upload if `check` accepts it; `apply` points a row at it and returns the old key."""
    store = media_store()
    with store.incoming(stream, max_bytes=max_bytes) as incoming:
        if incoming.size_bytes == 0:
            raise InvalidInput("The file is empty.", "file")
        info = check(incoming.path)
        key = incoming.keep(prefix=prefix, suffix=suffix(info))
        with transaction():
            old = apply(key, info)
    if old:
        store.delete(old)  # only after the commit: a failure above keeps the old file in use
    return key


def _image_check(check):
    def run(path):
        try:
            return check(path)
        except images.ImageError as error:
            raise InvalidInput(str(error), "file") from None
    return run


def _set_image(model, row_id: int, column: str, stream: BinaryIO, *, prefix: str,
               check: Callable[[str], images.ImageInfo]) -> str:
    """Store a checked image and point a row's column at it (the old image goes after)."""
    def apply(key, _info):
        row = db.session.get(model, row_id)
        old = getattr(row, column)
        setattr(row, column, key)
        return old
    return _store_checked(stream, prefix=prefix, max_bytes=MAX_IMAGE_BYTES,
                          check=_image_check(check), suffix=lambda info: info.extension,
                          apply=apply)


def set_show_artwork(show: Show, stream: BinaryIO) -> str:
    """Replace a show's artwork with an upload that meets Apple's rules; a new URL each time."""
    return _set_image(Show, show.id, "artwork_key", stream, prefix="art",
                      check=images.probe_artwork)


def set_episode_artwork(episode: Episode, stream: BinaryIO) -> str:
    """Give an episode its own artwork (same rules as the show's)."""
    return _set_image(Episode, episode.id, "artwork_key", stream, prefix="art",
                      check=images.probe_artwork)


def set_person_photo(person: Person, stream: BinaryIO) -> str:
    """Set a person's photo (JPEG or PNG, RGB, 64 to 3000 pixels a side)."""
    return _set_image(Person, person.id, "image_key", stream, prefix="people",
                      check=lambda path: images.probe(path, min_side=64))


_VTT_CUE = re.compile(r"^(?:\d+:)?\d{2}:\d{2}\.\d{3} --> (?:\d+:)?\d{2}:\d{2}\.\d{3}", re.M)
_SRT_CUE = re.compile(r"^\d+\s*\n\d{2}:\d{2}:\d{2},\d{3} --> \d{2}:\d{2}:\d{2},\d{3}", re.M)
TRANSCRIPT_TYPES = {"vtt": ("text/vtt", ".vtt"), "srt": ("application/x-subrip", ".srt")}


def transcript_kind(path: str) -> str:
    """'vtt' or 'srt', judged from the content (UTF-8 text with at least one timed cue)."""
    with open(path, "rb") as source:
        raw = source.read(MAX_TRANSCRIPT_BYTES + 1)
    try:
        text = raw.decode("utf-8-sig").replace("\r\n", "\n")
    except UnicodeDecodeError:
        raise InvalidInput("A transcript must be UTF-8 text.", "file") from None
    if text.startswith("WEBVTT") and _VTT_CUE.search(text):
        return "vtt"
    if _SRT_CUE.search(text):
        return "srt"
    raise InvalidInput("This is not a WebVTT or SRT transcript (no timed cues found).", "file")


def add_transcript(episode: Episode, stream: BinaryIO, language: str = "") -> str:
    """Attach a WebVTT or SRT transcript to an episode (replacing one of the same kind)."""
    language = (check_language(language, "language") if language
                else episode.show.transcript_language or episode.show.language)

    def apply(key, kind):
        mime_type = TRANSCRIPT_TYPES[kind][0]
        row = db.session.get(Episode, episode.id)
        old = next((t for t in row.transcripts if t.mime_type == mime_type), None)
        if old is not None:
            row.transcripts.remove(old)
        row.transcripts.append(Transcript(key=key, mime_type=mime_type, language=language))
        return old.key if old else None
    return _store_checked(stream, prefix="transcripts", max_bytes=MAX_TRANSCRIPT_BYTES,
                          check=transcript_kind, suffix=lambda kind: TRANSCRIPT_TYPES[kind][1],
                          apply=apply)


_CUE_TIME = re.compile(r"^(?:(\d+):)?(\d{2}):(\d{2})[.,](\d{3}) -->")


def transcript_cues(key: str) -> list[tuple[float, str]]:
    """A stored transcript's cues as (start seconds, text), for showing it on the episode page."""
    with media_store().open(key) as source:
        text = source.read(MAX_TRANSCRIPT_BYTES).decode("utf-8-sig", "replace")
    cues, start, lines = [], None, []
    for line in text.replace("\r\n", "\n").split("\n") + [""]:
        match = _CUE_TIME.match(line)
        if match:
            hours, minutes, seconds, millis = match.groups()
            start = int(hours or 0) * 3600 + int(minutes) * 60 + int(seconds) + int(millis) / 1000
            lines = []
        elif not line.strip():
            if start is not None and lines:
                cues.append((start, " ".join(lines)))
            start, lines = None, []
        elif start is not None:
            lines.append(re.sub(r"<[^>]+>", "", line).strip())  # VTT voice and style tags
    return cues
