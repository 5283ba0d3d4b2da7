"""Stored files at /media/<key>: who may fetch them is asked of access.py; the bytes go out
through Werkzeug's send_file (ranges, conditional requests, HEAD) or, when
MEDIA_ACCEL_REDIRECT is set, through nginx (X-Accel-Redirect) after the same check."""
from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from flask import Blueprint, Response, abort, current_app, g, request, send_file
from werkzeug.http import parse_range_header

from .. import access
from ..media.owners import owner_of
from ..media.storage import StorageError, media_store

bp = Blueprint("media", __name__)


@bp.route("/media/<path:key>", methods=["GET", "HEAD"])
def serve(key: str) -> Response:
    """One stored file, if the visitor may see it; 404 for unknown keys and others' drafts."""
    owner = owner_of(key)
    if owner is None or (owner.episode is not None
                         and not access.may_see_episode(g.user, owner.episode)):
        abort(404)
    try:
        path = media_store().local_path(key)
    except StorageError:
        abort(404)
    accel = current_app.config.get("MEDIA_ACCEL_REDIRECT")
    response = _accel_redirect(accel, key, path) if accel else _send(path, owner.mime_type)
    response.content_type = owner.mime_type
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _send(path: Path, mime_type: str) -> Response:
    """The file with ranges and validators; the ETag is Werkzeug's, from mtime, size and path
    (a stored file never changes in place: new audio gets a new key)."""
    try:
        _fit_range(path)
        response = send_file(path, mimetype=mime_type, conditional=True, etag=True)
    except FileNotFoundError:
        abort(404)
    del response.headers["Cache-Control"]  # Werkzeug's no-cache: media was never sent with it
    return response


def _fit_range(path: Path) -> None:
    """Bring the Range header to what RFC 9110 asks of the answer: HEAD, other units, several
    ranges and a weak If-Range (never a match) get the whole file, not a 416 or a part; a
    suffix longer than the file gets all of it."""
    environ = request.environ
    if "HTTP_RANGE" not in environ:
        return
    parsed = parse_range_header(environ["HTTP_RANGE"])
    weak_if_range = environ.get("HTTP_IF_RANGE", "").startswith("W/")
    if request.method != "GET" or weak_if_range or (parsed is not None and (
            parsed.units != "bytes" or len(parsed.ranges) != 1)):
        del environ["HTTP_RANGE"]
    elif parsed is not None and parsed.ranges[0][0] < -path.stat().st_size:
        environ["HTTP_RANGE"] = "bytes=0-"


def _accel_redirect(prefix: str, key: str, path: Path) -> Response:
    """Headers only: nginx sends the file from its internal location `prefix` (ranges and
    validators included); it keeps this response's Content-Type."""
    if not path.is_file():
        abort(404)
    internal = prefix.rstrip("/") + "/" + key
    return Response(status=200, headers={"X-Accel-Redirect": quote(internal, safe="/"),
                                         "Content-Length": "0"})
