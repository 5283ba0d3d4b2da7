"""Which object a stored file belongs to, and the type it is served with: the lookup behind
/media/<key>, so that access.py can decide who may fetch it."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, select
from sqlalchemy.orm import load_only

from ..db import db
from ..models import Episode, Person, Show, Transcript

IMAGE_TYPES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png"}
# What access.may_see_episode reads of an episode (its show is loaded only for a draft's check)
# and the audio's type: an episode row has some thirty columns, a media request needs these.
_VISIBILITY = load_only(Episode.id, Episode.show_id, Episode.published_at, Episode.audio_mime)
# Built once: the statement SQLAlchemy compiles (and caches) for every audio request.
_BY_AUDIO_KEY = select(Episode).options(_VISIBILITY).where(Episode.audio_key == bindparam("key"))


@dataclass(frozen=True)
class Owner:
    """A stored file's owner: the episode whose visibility it shares (None for show artwork and
    people's photos, which are always public) and the MIME type to serve it with."""

    episode: Episode | None
    mime_type: str


def image_type(key: str) -> str:
    """The MIME type of a stored image, from the extension the store gave it."""
    return IMAGE_TYPES.get(key[key.rfind("."):].lower(), "application/octet-stream")


def owner_of(key: str) -> Owner | None:
    """The owner of the stored file under key; None when nothing in the database refers to it."""
    # Episode audio first: it is what podcast apps fetch, by a unique (indexed) column.
    episode = db.session.scalar(_BY_AUDIO_KEY, {"key": key})
    if episode is not None:
        return Owner(episode, episode.audio_mime)
    episode = db.session.scalar(select(Episode).options(_VISIBILITY)
                                .where(Episode.artwork_key == key).limit(1))
    if episode is not None:
        return Owner(episode, image_type(key))
    transcript = db.session.scalar(select(Transcript).where(Transcript.key == key))
    if transcript is not None:
        return Owner(transcript.episode, transcript.mime_type + "; charset=utf-8")
    image = select(Show.id).where(Show.artwork_key == key).union_all(
        select(Person.id).where(Person.image_key == key)).limit(1)
    if db.session.scalar(image) is not None:
        return Owner(None, image_type(key))
    return None
