"""Public media answered in front of Flask: no routing, session or database per request.

Podcast apps fetch audio in many small ranges; each one through Flask, a session and a query
cost more than the bytes. A file anyone may fetch (publicmedia) is answered here with the same
ranges, validators and headers as the media route; everything else (drafts, unknown keys,
missing files, other methods) goes on to that route.
"""
from __future__ import annotations

import time
from typing import NamedTuple

from flask import Flask

from ..context import media_store
from ..publicmedia import PublicMedia
from ..storage import StorageError
from .sendfile import Descriptor, media_etag, serve_file

PREFIX = "/media/"
OPEN_FILES = 256  # per process; a full set is dropped at once and opened again as asked


class _Open(NamedTuple):
    file: Descriptor  # closed when the cache and the last answer reading it let go
    size: int
    mtime: float
    etag: str


class FastMedia:
    """WSGI middleware: GET and HEAD of public media, before Flask does anything."""

    def __init__(self, app: Flask, wsgi_app):
        self.app, self.wsgi_app, self.public = app, wsgi_app, PublicMedia(app)
        self.open, self.open_stamp = {}, None
        with app.app_context():
            self.store = media_store()

    def __call__(self, environ, start_response):
        method = environ.get("REQUEST_METHOD")
        path = environ.get("PATH_INFO", "")
        if (method == "GET" or method == "HEAD") and path.startswith(PREFIX) \
                and not self.app.config.get("MEDIA_ACCEL_REDIRECT"):
            key = path[len(PREFIX):]
            mime_type = self.public.lookup(key, time.time())
            found = mime_type is not None and self._opened(key)
            if found:
                return serve_file(environ, start_response, found.file, size=found.size,
                                  mtime=found.mtime, mime_type=mime_type, etag=found.etag)
        return self.wsgi_app(environ, start_response)

    def _opened(self, key: str) -> _Open | None:
        """The public file under `key`, kept open until the list of public files changes (a
        stored file never changes in place: new audio is a new key, and deleting a file goes
        with a commit that changes the list)."""
        if self.open_stamp != self.public.stamp or len(self.open) >= OPEN_FILES:
            # A new dict, not clear(): answers still reading the old files keep them open.
            self.open, self.open_stamp = {}, self.public.stamp
        found = self.open.get(key)
        if found is None:
            try:
                fd, stat = self.store.open_fd(key)
            except (OSError, StorageError):  # gone, or not a key: the media route answers
                return None
            found = _Open(Descriptor(fd), stat.st_size, stat.st_mtime,
                          media_etag(stat.st_size, stat.st_mtime))
            self.open[key] = found
        return found
