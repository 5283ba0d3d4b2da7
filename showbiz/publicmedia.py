"""Which stored files anyone may fetch without signing in, known to every worker without a query.

The same rule as the media route (web/media.py): a published episode's audio, artwork and
transcripts (a scheduled one's from its publish time), every show's artwork and every person's
photo. Each process keeps the list in memory and reads it again from the database when the
stamp file in the instance folder changes; every commit that touches episodes, transcripts,
shows or people rewrites the stamp. Anything not on the list goes to the media route, which
checks who is asking, so a stale list can slow a request down but never show a draft.
"""
from __future__ import annotations

import os
import threading
from pathlib import Path

from flask import Flask, current_app
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from .db import db
from .models import Episode, Person, Show, Transcript

CHANGED_KEY = "showbiz.public_media_changed"
IMAGE_TYPES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png"}
_WATCHED = (Episode, Transcript, Show, Person)


def image_type(key: str) -> str:
    """The MIME type of a stored image, from the extension the store gave it."""
    return IMAGE_TYPES.get(key[key.rfind("."):].lower(), "application/octet-stream")


class PublicMedia:
    """Key -> (MIME type, public from: a POSIX time or None for always) for one app."""

    def __init__(self, app: Flask):
        self.app, self.stamp, self.keys = app, None, {}
        self.path = str(Path(app.instance_path) / "media.stamp")
        self.lock = threading.Lock()

    def lookup(self, key: str, now: float) -> str | None:
        """The key's MIME type if anyone may fetch it now; None sends the request to the app."""
        try:
            stamp = os.stat(self.path).st_mtime_ns
        except FileNotFoundError:
            stamp = 0
        if stamp != self.stamp:
            with self.lock:
                if stamp != self.stamp:
                    self.keys, self.stamp = self._read(), stamp
        entry = self.keys.get(key)
        if entry is None or (entry[1] is not None and entry[1] > now):
            return None
        return entry[0]

    def _read(self) -> dict[str, tuple[str, float | None]]:
        with self.app.app_context():
            try:
                run = db.session.connection().execute
                keys = {}
                for audio, mime, art, when in run(select(
                        Episode.audio_key, Episode.audio_mime, Episode.artwork_key,
                        Episode.published_at).where(Episode.published_at.is_not(None))):
                    keys[audio] = (mime, when.timestamp())
                    if art:
                        keys[art] = (image_type(art), when.timestamp())
                for key, mime, when in run(select(
                        Transcript.key, Transcript.mime_type, Episode.published_at)
                        .join(Episode, Transcript.episode_id == Episode.id)
                        .where(Episode.published_at.is_not(None))):
                    keys[key] = (mime + "; charset=utf-8", when.timestamp())
                for (key,) in run(select(Show.artwork_key).where(Show.artwork_key.is_not(None))):
                    keys[key] = (image_type(key), None)
                for (key,) in run(select(Person.image_key).where(Person.image_key.is_not(None))):
                    keys[key] = (image_type(key), None)
                return keys
            finally:
                db.session.remove()


def changed(app: Flask) -> None:
    """Tell every process to read the list again."""
    path = Path(app.instance_path) / "media.stamp"
    tmp = path.with_name(f".media.stamp.{os.getpid()}.{threading.get_ident()}")
    tmp.write_text(str(os.getpid()))
    os.replace(tmp, path)  # a new inode and mtime, even within the same clock tick


@event.listens_for(Session, "before_flush")
def _notice(session: Session, _context, _instances) -> None:
    if any(isinstance(o, _WATCHED) for o in (*session.new, *session.dirty, *session.deleted)):
        session.info[CHANGED_KEY] = True


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(CHANGED_KEY, None)


@event.listens_for(Session, "after_commit")
def _stamp(session: Session) -> None:
    """Every commit that touched media owners rewrites the stamp, however it was made."""
    if session.info.pop(CHANGED_KEY, False) and current_app:
        changed(current_app)
