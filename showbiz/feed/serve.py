"""Serve: the HTTP response for a stored feed, with Werkzeug's HTTP semantics.

Conditional requests (If-None-Match with the weak comparison, If-Modified-Since) are Werkzeug's
is_resource_modified, and HEAD is Werkzeug's too; gzip is chosen by Accept-Encoding, with
`Vary: Accept-Encoding`. Nothing here touches the database: the stored feed carries everything
a response needs.
"""
from __future__ import annotations

import functools
import time
from datetime import UTC, datetime

from flask import Response, request
from werkzeug.http import http_date, is_resource_modified

from .store import Built

CONTENT_TYPE = "application/rss+xml; charset=utf-8"
CACHE_SECONDS = 300


def response(built: Built) -> Response:
    """The response to a GET or HEAD of a stored feed: 200 (plain or gzip) or 304."""
    modified, modified_at = _http_date(built.last_modified)
    headers = [("ETag", built.etag), ("Last-Modified", modified), ("Vary", "Accept-Encoding"),
               ("Cache-Control", f"public, max-age={max_age(built)}")]
    if not is_resource_modified(request.environ, built.etag.strip('"'), last_modified=modified_at):
        return Response(status=304, headers=headers)
    headers.append(("Content-Type", CONTENT_TYPE))
    offered = request.environ.get("HTTP_ACCEPT_ENCODING", "")
    if ("gzip" in offered or "*" in offered) and request.accept_encodings["gzip"] > 0:
        headers.append(("Content-Encoding", "gzip"))
        return Response(built.gz, headers=headers)
    return Response(built.xml, headers=headers)


@functools.lru_cache(maxsize=256)
def _http_date(timestamp: float) -> tuple[str, datetime]:
    """Last-Modified as sent and as compared (whole seconds, UTC), for the same few stored
    feeds asked for again and again: Werkzeug would parse the header's text on every request."""
    return http_date(timestamp), datetime.fromtimestamp(int(timestamp), UTC)


def max_age(built: Built) -> int:
    """How long a cache may keep the feed: until the next scheduled episode, at most 5 min."""
    if not built.expires_at:
        return CACHE_SECONDS
    return max(0, min(CACHE_SECONDS, int(built.expires_at - time.time())))
