"""Public media answered in front of Flask: no routing, session or database per request.

Podcast apps fetch audio in many small ranges; each one through Flask, a session and a query
cost more than the bytes. A file anyone may fetch (publicmedia) is answered here with the same
ranges, validators and headers as the media route; everything else (drafts, unknown keys,
missing files, other methods) goes on to that route.
"""
from __future__ import annotations

import time

from flask import Flask

from ..context import media_store
from ..publicmedia import PublicMedia
from ..storage import StorageError
from .sendfile import media_etag, serve_fd

PREFIX = "/media/"


class FastMedia:
    """WSGI middleware: GET and HEAD of public media, before Flask does anything."""

    def __init__(self, app: Flask, wsgi_app):
        self.app, self.wsgi_app, self.public = app, wsgi_app, PublicMedia(app)
        with app.app_context():
            self.store = media_store()

    def __call__(self, environ, start_response):
        method = environ.get("REQUEST_METHOD")
        path = environ.get("PATH_INFO", "")
        if (method == "GET" or method == "HEAD") and path.startswith(PREFIX) \
                and not self.app.config.get("MEDIA_ACCEL_REDIRECT"):
            key = path[len(PREFIX):]
            mime_type = self.public.lookup(key, time.time())
            if mime_type is not None:
                try:
                    fd, stat = self.store.open_fd(key)
                except (OSError, StorageError):  # gone, or not a key: the media route answers
                    return self.wsgi_app(environ, start_response)
                return serve_fd(environ, start_response, fd, size=stat.st_size,
                                mtime=stat.st_mtime, mime_type=mime_type,
                                etag=media_etag(stat.st_size, stat.st_mtime))
        return self.wsgi_app(environ, start_response)
