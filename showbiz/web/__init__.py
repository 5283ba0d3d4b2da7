"""The web interfaces: listener pages, the hosts' studio, sign-in, media."""
from __future__ import annotations

from datetime import datetime
from functools import cached_property
from typing import IO
from zoneinfo import ZoneInfo

from flask import Flask, Request, abort, current_app, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.wsgi import LimitedStream, get_input_stream

from ..media.storage import DiskFull, media_store
from ..text import InvalidInput
from ..timecodes import format_timecode
from ..urls import absolute_url

DISK_FULL = "The server's disk is full; nothing was saved. Tell the administrator."


class UploadRequest(Request):
    """Writes uploaded form files straight into the media store, so they are written once, and
    holds every body to its declared length."""

    @cached_property
    def stream(self) -> IO[bytes]:
        """The body. A server that marks its input as terminated (granian does) ends a body cut
        off by a disconnect quietly, so a declared length is enforced here: a short body raises
        ClientDisconnected (400) instead of passing as a complete, shorter upload."""
        length, limit = self.content_length, self.max_content_length
        if length is None or "wsgi.input_terminated" not in self.environ:
            return get_input_stream(self.environ, max_content_length=limit)
        if limit is not None and length > limit:
            raise RequestEntityTooLarge()
        return LimitedStream(self.environ["wsgi.input"], length)

    def _get_file_stream(self, total_content_length, content_type, filename=None,
                         content_length=None):
        part = media_store().receiving()
        self.__dict__.setdefault("_parts", []).append(part)
        return part

    def _load_form_data(self) -> None:
        # A parse cut short (full disk, too large, disconnect) never hands its parts to
        # `files`, so nothing else would close them and remove their temp files.
        try:
            super()._load_form_data()
        except BaseException:
            for part in self.__dict__.get("_parts", []):
                part.close()
            raise


def register(app: Flask) -> None:
    """Attach the blueprints, error pages and template helpers."""
    app.request_class = UploadRequest
    app.before_request(_refuse_nul)
    from . import auth, headers, media, notes, people, public, search, studio

    app.after_request(headers.add)

    for module in (public, studio, notes, people, auth, media, search):
        app.register_blueprint(module.bp)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(InvalidInput, _invalid_input)
    app.register_error_handler(DiskFull, _disk_full)
    app.register_error_handler(HTTPException, _http_error)
    app.jinja_env.filters["duration"] = format_duration
    app.jinja_env.filters["when"] = format_when
    app.jinja_env.filters["local_time"] = format_local_time
    app.jinja_env.globals["absolute_url"] = absolute_url
    app.jinja_env.filters["funding_lines"] = lambda links: "\n".join(
        f"{link['url']} {link.get('text', '')}".strip() for link in links or [])
    app.jinja_env.filters["txt_lines"] = lambda entries: "\n".join(
        f"{e['purpose']}: {e['text']}" if e.get("purpose") else e["text"] for e in entries or [])


def format_duration(seconds: float | None) -> str:
    """1:02:03 or 12:34 (empty when unknown)."""
    return "" if seconds is None else format_timecode(round(seconds))


def format_when(value: datetime | None) -> str:
    """A date for people: 26 Dec 2023."""
    return value.strftime("%-d %b %Y") if value else ""


def format_local_time(value: datetime, zone: str) -> str:
    """A moment in a show's time zone, for hosts: 2024-01-31 18:00 EST."""
    return value.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M %Z")


def _csrf_error(error: CSRFError):
    message = "This form has expired or did not come from this site. Go back, reload and try again."
    return render_template("error.html", code=400, title="Form expired", message=message), 400


def _invalid_input(error: InvalidInput):
    return render_template("error.html", code=400, title="Not accepted", message=str(error)), 400


def _disk_full(error: DiskFull):
    """A full disk while a form upload arrives (before any view runs): 507, nothing kept."""
    return render_template("error.html", code=507, title="Disk full", message=DISK_FULL), 507


def _refuse_nul() -> None:
    """No address holds a NUL (PostgreSQL text cannot): 404 before any query looks for one.
    Search and filter words are cleaned where they are read."""
    if "\x00" in request.path:
        abort(404, "There is nothing at this address.")


def _http_error(error: HTTPException):
    titles = {404: "Not found", 405: "Not allowed", 413: "Too large", 429: "Too many attempts"}
    response = error.get_response()
    if error.code and error.code < 400:
        return response
    message = error.description
    if error.code == 413:
        message = (f"The upload is larger than this server accepts "
                   f"({current_app.config['MAX_UPLOAD_MB']} MB). Nothing was saved.")
    body = render_template("error.html", code=error.code, title=titles.get(error.code, error.name),
                           message=message)
    response.set_data(body)
    response.content_type = "text/html; charset=utf-8"
    return response
