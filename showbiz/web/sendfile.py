"""Media responses with ranges and validators; sent with sendfile where the server offers it
(wsgi.file_wrapper), else read in blocks."""

from __future__ import annotations

import io
import os
import re
from functools import lru_cache
from http import HTTPStatus
from typing import BinaryIO
from urllib.parse import quote

from werkzeug import Request, Response
from werkzeug.http import http_date, parse_date
from werkzeug.wsgi import wrap_file

BLOCK = 256 * 1024
_SPEC_RE = re.compile(r"\s*(?:([0-9]+)-([0-9]*)|-([0-9]+))\s*")


class _Slice:
    """File view over [start, end) that WSGI file wrappers read or sendfile.

    gunicorn sendfiles from the fd's current offset for Content-Length bytes;
    servers without sendfile iterate read(), which must stop at the range end.
    """

    def __init__(self, fileobj: BinaryIO, start: int, end: int) -> None:
        self._f, self._pos, self._end = fileobj, start, end
        try:
            self._fd: int | None = fileobj.fileno()
        except (AttributeError, OSError, io.UnsupportedOperation):
            self._fd = None
        self.seek(start)

    def fileno(self) -> int:
        if self._fd is None:
            raise io.UnsupportedOperation("fileno")
        return self._fd

    def seek(self, pos: int, whence: int = os.SEEK_SET) -> int:
        # Absolute file offsets: socket.sendfile's fallback seeks to them.
        if whence != os.SEEK_SET:
            raise io.UnsupportedOperation("only absolute seeks")
        self._pos = pos
        if self._fd is not None:
            # Bypass any read buffer so the fd offset really is pos.
            os.lseek(self._fd, pos, os.SEEK_SET)
        else:
            self._f.seek(pos)
        return pos

    def tell(self) -> int:
        return self._pos

    def read(self, size: int | None = -1) -> bytes:
        left = self._end - self._pos
        n = left if size is None or size < 0 else min(size, left)
        if n <= 0:
            return b""
        data = os.pread(self._fd, n, self._pos) if self._fd is not None else self._f.read(n)
        self._pos += len(data)
        return data

    def close(self) -> None:
        self._f.close()


def _parse_range(header: str, size: int) -> tuple[int, int] | str | None:
    """(start, end) if one range is satisfiable, "416" if none, "all" if several; None: ignore."""
    if header.startswith("bytes="):  # the form every player sends: bytes=first-last
        first, dash, last = header[6:].partition("-")
        if dash and first.isdigit() and last.isdigit() and first.isascii() \
                and last.isascii() and int(first) <= int(last):
            start = int(first)
            return (start, min(int(last) + 1, size)) if start < size else "416"
    unit, eq, spec = header.partition("=")
    if not eq or unit.strip().lower() != "bytes":
        return None
    ranges = []
    for part in spec.split(","):
        m = _SPEC_RE.fullmatch(part)
        if not m:
            return None  # a syntax error voids the whole header (RFC 9110 14.2)
        first, last, suffix = m.groups()
        if suffix is not None:
            n = int(suffix)
            ranges.append((max(size - n, 0), size) if n else None)
        elif last and int(last) < int(first):
            return None
        else:
            start = int(first)
            end = min(int(last) + 1, size) if last else size
            ranges.append((start, end) if start < size else None)
    good = [r for r in ranges if r is not None]
    if not good:
        return "416"
    return good[0] if len(good) == 1 else "all"


def _if_range_matches(value: str, etag: str, mtime: int) -> bool:
    # Strong comparison only: a weak ETag or a different date means "send it all".
    value = value.strip()
    if value.startswith('"'):
        return value == etag
    date = parse_date(value)
    return date is not None and int(date.timestamp()) == mtime


def _not_modified(header, etag: str, mtime: int) -> bool:
    match = header("If-None-Match")
    if match is not None:  # weak comparison, as RFC 9110 13.1.2 asks for GET and HEAD
        tags = {tag.strip().removeprefix("W/") for tag in match.split(",")}
        return "*" in tags or etag in tags
    since = parse_date(header("If-Modified-Since"))
    return since is not None and mtime <= since.timestamp()


def _plan(method: str, header, headers: dict, size: int, mtime: int) -> tuple[int, int, int]:
    """Status and byte span [start, end) to send; fills in the matching headers.

    `header(name)` reads a request header (None when absent).
    """
    if method not in ("GET", "HEAD"):
        headers["Allow"] = "GET, HEAD"
        return 405, 0, 0
    etag = headers["ETag"]
    if _not_modified(header, etag, mtime):
        return 304, 0, 0
    status, start, end = 200, 0, size
    range_header = header("Range")
    if_range = header("If-Range")
    # RFC 9110 14.2: ranges are defined for GET only, so HEAD describes the whole.
    if (
        range_header
        and method == "GET"
        and size > 0
        and (if_range is None or _if_range_matches(if_range, etag, mtime))
    ):
        picked = _parse_range(range_header, size)
        if picked == "416":
            headers["Content-Range"] = f"bytes */{size}"
            status, end = 416, 0
        elif isinstance(picked, tuple):
            (start, end), status = picked, 206
            headers["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
    headers["Content-Length"] = str(end - start)
    return status, start, end


def file_response(
    request: Request,
    fileobj: BinaryIO,
    *,
    size: int,
    mtime: float,
    mime_type: str,
    etag: str,
) -> Response:
    """Answer GET/HEAD for an open media file with ranges, validators and sendfile."""
    headers = _validators(etag, mtime)
    try:
        status, start, end = _plan(request.method, request.headers.get, headers, size, int(mtime))
        if request.method != "GET" or status not in (200, 206) or start == end:
            fileobj.close()
            return Response(status=status, headers=headers, content_type=mime_type)
        # Closing the response closes the wrapper, the slice and so fileobj.
        body = wrap_file(request.environ, _Slice(fileobj, start, end), BLOCK)
    except BaseException:
        fileobj.close()
        raise
    return Response(
        body, status=status, headers=headers, content_type=mime_type, direct_passthrough=True
    )


def media_etag(size: int, mtime: float) -> str:
    """The ETag of a stored file: stored files never change in place, so size and time do."""
    return f"{size:x}-{int(mtime * 1000):x}"


def _validators(etag: str, mtime: float) -> dict[str, str]:
    return {
        "Accept-Ranges": "bytes",
        "ETag": etag if etag.startswith('"') else f'"{etag}"',
        "Last-Modified": _http_date(int(mtime)),
        "X-Content-Type-Options": "nosniff",
    }


@lru_cache(maxsize=4096)
def _http_date(seconds: int) -> str:
    return http_date(seconds)


STATUS = {code: f"{code} {HTTPStatus(code).phrase}" for code in (200, 206, 304, 405, 416)}
_ENVIRON_NAMES = {name: "HTTP_" + name.upper().replace("-", "_")
                  for name in ("If-None-Match", "If-Modified-Since", "Range", "If-Range")}
WHOLE_READ = 1024 * 1024  # answers up to this size are read in one pread


class Descriptor:
    """An open file descriptor, closed when the last reference to it goes.

    Several threads may pread one cached descriptor; closing it explicitly while one of them
    still reads could let a newly opened file take its number, so only reference counting may.
    """

    __slots__ = ("fd", "__weakref__")

    def __init__(self, fd: int):
        self.fd = fd

    def fileno(self) -> int:
        return self.fd

    def __del__(self):
        os.close(self.fd)


def serve_file(environ: dict, start_response, file: Descriptor, *, size: int, mtime: float,
               mime_type: str, etag: str):
    """WSGI answer to GET or HEAD from an open file, read with pread (the file is not moved
    or closed: an answer read in blocks holds a reference until the server closes it), with
    the same ranges, validators and headers as file_response but no Request or Response."""
    headers = _validators(etag, mtime)
    method = environ["REQUEST_METHOD"]
    status, start, end = _plan(method, lambda name: environ.get(_ENVIRON_NAMES[name]),
                               headers, size, int(mtime))
    if status != 304:
        headers["Content-Type"] = mime_type
    start_response(STATUS[status], list(headers.items()))
    if method != "GET" or status not in (200, 206) or start == end:
        return []
    if end - start <= WHOLE_READ:
        return [os.pread(file.fileno(), end - start, start)]
    return _blocks(file, start, end)


def _blocks(file, start: int, end: int):
    """The span [start, end) of an open file, in blocks."""
    while start < end:
        data = os.pread(file.fileno(), min(BLOCK, end - start), start)
        if not data:
            return
        start += len(data)
        yield data


def accel_redirect_response(
    internal_uri: str, *, mime_type: str, cache_control: str | None = None
) -> Response:
    """Headers-only response telling nginx to serve internal_uri itself (X-Accel-Redirect).

    nginx then does ranges, ETag and Last-Modified from the file; it keeps
    Content-Type and Cache-Control from this response, so nosniff belongs in
    the nginx location (add_header X-Content-Type-Options nosniff).
    """
    if not internal_uri.startswith("/") or "\\" in internal_uri:
        raise ValueError(f"internal URI must be an absolute path: {internal_uri!r}")
    headers = {"X-Accel-Redirect": quote(internal_uri, safe="/"), "Content-Length": "0"}
    if cache_control:
        headers["Cache-Control"] = cache_control
    return Response(status=200, headers=headers, content_type=mime_type)
