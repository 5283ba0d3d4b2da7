"""Audio and images at /media/..., answered like a CDN; drafts' media only for their hosts.

Media anyone may fetch is usually answered before this route, by mediaserve.FastMedia; this
route answers the rest and is the one place that decides who may see a draft's files.
"""
from __future__ import annotations

from flask import Blueprint, abort, current_app, g, request
from sqlalchemy import or_, select

from ..context import media_store
from ..db import db
from ..models import Episode, Person, Show, Transcript
from ..publicmedia import image_type
from ..shows import role_of
from .sendfile import accel_redirect_response, file_response, media_etag

bp = Blueprint("media", __name__)


@bp.route("/media/<path:key>", methods=["GET", "HEAD"])
def serve(key: str):
    """Serve one stored file with HEAD, ranges and conditional requests."""
    mime_type = _visible_mime_type(key)
    store = media_store()
    try:
        stored = store.stat(key)
    except (FileNotFoundError, ValueError):
        abort(404)
    etag = media_etag(stored.size_bytes, stored.mtime)
    accel = current_app.config.get("MEDIA_ACCEL_REDIRECT")
    if accel:
        return accel_redirect_response(accel.rstrip("/") + "/" + key, mime_type=mime_type)
    return file_response(request._get_current_object(), store.open(key), size=stored.size_bytes,
                         mtime=stored.mtime, mime_type=mime_type, etag=etag)


def _visible_mime_type(key: str) -> str:
    """The key's MIME type if the visitor may see it; 404 for unknown keys and others' drafts."""
    episode = db.session.scalar(select(Episode).where(
        or_(Episode.audio_key == key, Episode.artwork_key == key)))
    if episode is not None:
        if not episode.is_public and role_of(g.user, episode.show) is None:
            abort(404)
        return episode.audio_mime if key == episode.audio_key else image_type(key)
    transcript = db.session.scalar(select(Transcript).where(Transcript.key == key))
    if transcript is not None:
        if not transcript.episode.is_public and role_of(g.user, transcript.episode.show) is None:
            abort(404)
        return transcript.mime_type + "; charset=utf-8"
    known = db.session.scalar(select(Show.id).where(Show.artwork_key == key)) or \
        db.session.scalar(select(Person.id).where(Person.image_key == key))
    if known is None:
        abort(404)
    return image_type(key)
