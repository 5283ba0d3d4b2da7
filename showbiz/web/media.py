"""Stored files at /media/<key>: who may fetch them is asked of access.py; the bytes go out
through Werkzeug's ranges and conditional requests (as send_file would) or, when
MEDIA_ACCEL_REDIRECT is set, through nginx (X-Accel-Redirect) after the same check."""
from __future__ import annotations

import os
import time
from pathlib import Path
from urllib.parse import quote

from flask import Blueprint, Response, abort, current_app, g, request
from werkzeug.http import parse_range_header
from werkzeug.wsgi import wrap_file

from .. import access
from ..media.owners import owner_of
from ..media.storage import StorageError, media_store

bp = Blueprint("media", __name__)
MAX_BLOCK = 1024 * 1024  # bytes read at once: a typical range in one read
PUBLIC_MEMO_SECONDS = 1.0
PUBLIC_MEMO_SIZE = 4096  # keys remembered per process before the memo starts afresh


@bp.route("/media/<path:key>", methods=["GET", "HEAD"])
def serve(key: str) -> Response:
    """One stored file, if the visitor may see it; 404 for unknown keys and others' drafts."""
    mime_type = _visible_mime_type(key)
    try:
        path = media_store().local_path(key)
    except StorageError:
        abort(404)
    accel = current_app.config.get("MEDIA_ACCEL_REDIRECT")
    response = _accel_redirect(accel, key, path) if accel else _send(path)
    response.content_type = mime_type  # as stored, charset included: never guessed
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _visible_mime_type(key: str) -> str:
    """The file's MIME type if the visitor may see it, as access.py decides; else 404.

    That anyone may see a file is remembered for a second: a podcast app asks for one episode
    in many ranges, and the lookup costs more than sending a range. A host who unpublishes an
    episode stops new downloads within that second (one already under way goes on anyway);
    drafts and scheduled episodes are never remembered, so they are asked about every time.
    """
    memo = current_app.extensions.setdefault("showbiz.public_media", {})
    now = time.monotonic()
    remembered = memo.get(key)
    if remembered is not None and remembered[1] > now:
        return remembered[0]
    owner = owner_of(key)
    if owner is None:
        abort(404)
    if owner.episode is None or access.may_see_episode(None, owner.episode):
        if len(memo) >= PUBLIC_MEMO_SIZE:
            memo.clear()
        memo[key] = (owner.mime_type, now + PUBLIC_MEMO_SECONDS)
    elif not access.may_see_episode(g.user, owner.episode):
        abort(404)
    return owner.mime_type


def _send(path: Path) -> Response:
    """The file with Werkzeug's ranges and conditional requests (what send_file does), read in
    one block per range up to MAX_BLOCK: Werkzeug's 8 KiB blocks each cost a trip through the
    server. The ETag is size and mtime: a stored file never changes in place."""
    try:
        file = open(path, "rb")
    except (FileNotFoundError, IsADirectoryError):
        abort(404)
    try:
        stat = os.fstat(file.fileno())
        size, mtime = stat.st_size, stat.st_mtime
        _fit_range(size)
        body = wrap_file(request.environ, file)
        response = Response(body, direct_passthrough=True)
        response.content_length, response.last_modified = size, mtime
        response.set_etag(f"{size:x}-{int(mtime * 1000):x}")
        response.make_conditional(request, accept_ranges=True, complete_length=size)
    except BaseException:
        file.close()
        raise
    body.buffer_size = min(response.content_length or 1, MAX_BLOCK)
    return response


def _fit_range(size: int) -> None:
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
    elif parsed is not None and parsed.ranges[0][0] < -size:
        environ["HTTP_RANGE"] = "bytes=0-"


def _accel_redirect(prefix: str, key: str, path: Path) -> Response:
    """Headers only: nginx sends the file from its internal location `prefix` (ranges and
    validators included); it keeps this response's Content-Type."""
    if not path.is_file():
        abort(404)
    internal = prefix.rstrip("/") + "/" + key
    return Response(status=200, headers={"X-Accel-Redirect": quote(internal, safe="/"),
                                         "Content-Length": "0"})
