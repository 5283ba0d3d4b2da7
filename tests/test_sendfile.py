import http.client
import io
import os
import random
import sys
import textwrap
import weakref
from email.utils import formatdate
from pathlib import Path

import pytest
from werkzeug import Request
from werkzeug.test import Client

from showbiz.web.sendfile import Descriptor, accel_redirect_response, file_response, serve_file

from .conftest import free_port, server_process

SIZE = 1_000_003
MTIME = 1_700_000_000.75
ETAG = '"abc123"'
LAST_MODIFIED = formatdate(1_700_000_000, usegmt=True)


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    path = tmp_path_factory.mktemp("media") / "episode.mp3"
    path.write_bytes(random.Random(1).randbytes(SIZE))
    return path


class App:
    """Tiny WSGI app serving one file; remembers the file objects it opened."""

    def __init__(self, path: Path, pre_read: int = 0, in_memory: bool = False,
                 fd: bool = False):
        self.path, self.pre_read, self.in_memory, self.fd = path, pre_read, in_memory, fd
        self.opened = []

    def __call__(self, environ, start_response):
        if self.fd:  # the public media fast path's way: pread, no Request or Response
            f = Descriptor(os.open(self.path, os.O_RDONLY))
            self.opened.append(Released(f))
            return serve_file(environ, start_response, f, size=SIZE, mtime=MTIME,
                              mime_type="audio/mpeg", etag="abc123")
        request = Request(environ)
        if self.in_memory:
            f = io.BytesIO(self.path.read_bytes())
        else:
            f = open(self.path, "rb")
            f.read(self.pre_read)  # leaves a read buffer behind the file position
        self.opened.append(f)
        response = file_response(
            request, f, size=SIZE, mtime=MTIME, mime_type="audio/mpeg", etag="abc123"
        )
        return response(environ, start_response)


class Released:
    """Whether a file handed to serve_file has been let go of (and so closed) by the answer."""

    def __init__(self, f):
        self.ref = weakref.ref(f)

    @property
    def closed(self) -> bool:
        return self.ref() is None


@pytest.fixture(params=["werkzeug", "pre-read", "in-memory", "fd"])
def client(request, media):
    app = App(media, pre_read=100 if request.param == "pre-read" else 0,
              in_memory=request.param == "in-memory", fd=request.param == "fd")
    c = Client(app)
    c.data = media.read_bytes()

    def fetch(method="GET", **headers):
        r = c.open("/ep.mp3", method=method, headers=headers, buffered=True)
        assert all(f.closed for f in app.opened)
        app.opened.clear()
        return r

    yield fetch


def check_common(r):
    assert r.headers["Accept-Ranges"] == "bytes"
    assert r.headers["ETag"] == ETAG
    assert r.headers["Last-Modified"] == LAST_MODIFIED
    assert r.headers["X-Content-Type-Options"] == "nosniff"


def test_full_get(client, media):
    r = client()
    assert r.status_code == 200
    check_common(r)
    assert r.headers["Content-Type"] == "audio/mpeg"
    assert r.headers["Content-Length"] == str(SIZE)
    assert "Content-Range" not in r.headers
    assert r.get_data() == media.read_bytes()


def test_head(client):
    r = client("HEAD")
    assert r.status_code == 200
    check_common(r)
    assert r.headers["Content-Type"] == "audio/mpeg"
    assert r.headers["Content-Length"] == str(SIZE)
    assert r.get_data() == b""


def test_head_ignores_range(client):
    r = client("HEAD", Range="bytes=0-9")
    assert r.status_code == 200
    assert r.headers["Content-Length"] == str(SIZE)


@pytest.mark.parametrize(
    "spec,start,end",
    [
        ("bytes=0-0", 0, 1),
        ("bytes=0-65535", 0, 65536),
        ("bytes=500000-500099", 500000, 500100),
        ("bytes=-500", SIZE - 500, SIZE),
        ("bytes=-5000000", 0, SIZE),
        ("bytes=999000-", 999000, SIZE),
        ("bytes=0-", 0, SIZE),
        ("bytes=999990-2000000", 999990, SIZE),
        (f"bytes={SIZE - 1}-{SIZE - 1}", SIZE - 1, SIZE),
        ("BYTES = 10-19", 10, 20),
        ("bytes=10-19, 5000000-", 10, 20),
    ],
)
def test_single_range(client, media, spec, start, end):
    r = client(Range=spec)
    assert r.status_code == 206
    check_common(r)
    assert r.headers["Content-Type"] == "audio/mpeg"
    assert r.headers["Content-Range"] == f"bytes {start}-{end - 1}/{SIZE}"
    assert r.headers["Content-Length"] == str(end - start)
    assert r.get_data() == media.read_bytes()[start:end]


@pytest.mark.parametrize("spec", [f"bytes={SIZE}-", "bytes=2000000-2000010", "bytes=-0",
                                  f"bytes={SIZE}-{SIZE + 5}, -0"])
def test_unsatisfiable_range(client, spec):
    r = client(Range=spec)
    assert r.status_code == 416
    assert r.headers["Content-Range"] == f"bytes */{SIZE}"
    assert r.headers["Content-Length"] == "0"
    assert r.get_data() == b""


@pytest.mark.parametrize("spec", ["bytes=0-9,20-29", "bytes=-10, 0-5"])
def test_multiple_ranges_get_whole_body(client, media, spec):
    r = client(Range=spec)
    assert r.status_code == 200
    assert r.headers["Content-Length"] == str(SIZE)
    assert r.get_data() == media.read_bytes()


@pytest.mark.parametrize("spec", ["bytes=9-1", "bytes=abc", "items=0-9", "bytes=0-9,x", "bytes=",
                                  "bytes=1-2-3", "bytes=\u00b2-9"])
def test_invalid_range_is_ignored(client, spec):
    r = client(Range=spec)
    assert r.status_code == 200
    assert r.headers["Content-Length"] == str(SIZE)
    assert len(r.get_data()) == SIZE


@pytest.mark.parametrize(
    "headers",
    [
        {"If-None-Match": ETAG},
        {"If-None-Match": f'"zzz", W/{ETAG}'},
        {"If-None-Match": "*"},
        {"If-Modified-Since": LAST_MODIFIED},
        {"If-Modified-Since": formatdate(1_800_000_000, usegmt=True)},
        {"If-None-Match": ETAG, "If-Modified-Since": formatdate(1_000, usegmt=True)},
        {"If-None-Match": ETAG, "Range": "bytes=0-9"},
    ],
)
@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_not_modified(client, method, headers):
    r = client(method, **headers)
    assert r.status_code == 304
    assert r.headers["ETag"] == ETAG
    assert "Content-Length" not in r.headers
    assert r.get_data() == b""


@pytest.mark.parametrize(
    "headers",
    [
        {"If-None-Match": '"other"'},
        {"If-Modified-Since": formatdate(1_699_999_999, usegmt=True)},
        {"If-Modified-Since": "garbage"},
        # An ETag that does not match wins over a date that would.
        {"If-None-Match": '"other"', "If-Modified-Since": LAST_MODIFIED},
    ],
)
def test_modified(client, headers):
    r = client(**headers)
    assert r.status_code == 200
    assert len(r.get_data()) == SIZE


@pytest.mark.parametrize(
    "if_range,status",
    [
        (ETAG, 206),
        (LAST_MODIFIED, 206),
        ('"stale"', 200),
        (f"W/{ETAG}", 200),  # weak validators never match If-Range
        (formatdate(1_600_000_000, usegmt=True), 200),
        ("junk", 200),
    ],
)
def test_if_range(client, media, if_range, status):
    r = client(Range="bytes=100-199", **{"If-Range": if_range})
    assert r.status_code == status
    expected = media.read_bytes()[100:200] if status == 206 else media.read_bytes()
    assert r.headers["Content-Length"] == str(len(expected))
    assert r.get_data() == expected


def test_other_methods_refused(client):
    r = client("POST")
    assert r.status_code == 405
    assert r.headers["Allow"] == "GET, HEAD"


def test_empty_file(tmp_path):
    path = tmp_path / "empty.mp3"
    path.write_bytes(b"")
    opened = []

    def app(environ, start_response):
        f = open(path, "rb")
        opened.append(f)
        resp = file_response(Request(environ), f, size=0, mtime=0, mime_type="audio/mpeg", etag="e")
        return resp(environ, start_response)

    c = Client(app)
    for rng in (None, "bytes=0-", "bytes=-5"):
        r = c.get("/", headers={"Range": rng} if rng else {}, buffered=True)
        assert (r.status_code, r.headers["Content-Length"], r.get_data()) == (200, "0", b"")
    assert all(f.closed for f in opened)


def test_mime_type_kept_verbatim(media):
    def app(environ, start_response):
        resp = file_response(Request(environ), open(media, "rb"), size=SIZE, mtime=MTIME,
                             mime_type="text/vtt", etag="x")
        return resp(environ, start_response)

    r = Client(app).get("/", buffered=True)
    assert r.headers["Content-Type"] == "text/vtt"


def test_accel_redirect_response():
    r = accel_redirect_response("/_media/audio/3f2a.mp3", mime_type="audio/mpeg",
                                cache_control="public, max-age=3600")
    assert r.status_code == 200
    assert r.headers["X-Accel-Redirect"] == "/_media/audio/3f2a.mp3"
    assert r.headers["Content-Type"] == "audio/mpeg"
    assert r.headers["Cache-Control"] == "public, max-age=3600"
    assert r.headers["Content-Length"] == "0"
    assert r.get_data() == b""
    for bad in ("audio/x.mp3", "http://evil/x", "\\\\share\\x"):
        with pytest.raises(ValueError):
            accel_redirect_response(bad, mime_type="audio/mpeg")


# --- the production server (granian), so its HTTP layer is what puts the bytes on the wire ---

GRANIAN = Path(sys.executable).with_name("granian")
BIG = 24 * 1024 * 1024 + 11

SERVER_APP = textwrap.dedent(
    """
    import os
    from werkzeug import Request
    from showbiz.web.sendfile import file_response

    PATH = os.environ["SHOWBIZ_TEST_MEDIA"]

    def app(environ, start_response):
        st = os.stat(PATH)
        resp = file_response(Request(environ), open(PATH, "rb"), size=st.st_size,
                             mtime=st.st_mtime, mime_type="audio/mpeg", etag="big")
        return resp(environ, start_response)
    """
)


@pytest.fixture(scope="module")
def big_media(tmp_path_factory):
    path = tmp_path_factory.mktemp("big") / "big.mp3"
    path.write_bytes(random.Random(2).randbytes(BIG))
    return path


@pytest.fixture(params=[1, 4], ids=["one-thread", "four-threads"])
def server(request, tmp_path, big_media):
    (tmp_path / "sfapp.py").write_text(SERVER_APP)
    port = free_port()
    command = [str(GRANIAN), "--interface", "wsgi", "--port", str(port), "--workers", "1",
               "--blocking-threads", str(request.param), "--working-dir", str(tmp_path),
               "sfapp:app"]
    with server_process(command, port, tmp_path / "server.log",
                        dict(os.environ, SHOWBIZ_TEST_MEDIA=str(big_media))):
        yield port


def test_the_server_sends_ranges_byte_exact(server, big_media):
    port = server
    data = big_media.read_bytes()
    rng = random.Random(3)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def get(method="GET", **headers):
        nonlocal conn
        conn.request(method, "/big.mp3", headers=headers)
        r = conn.getresponse()
        body = r.read()
        if r.will_close:
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        return r, body

    try:
        r, body = get()
        assert (r.status, int(r.headers["Content-Length"]), body == data) == (200, BIG, True)
        r, body = get("HEAD")
        assert (r.status, r.headers["Content-Length"], body) == (200, str(BIG), b"")
        specs = [(f"bytes=-{n}", BIG - n, BIG) for n in (1, 500, 65536)]
        specs += [(f"bytes={s}-", s, BIG) for s in (BIG - 1, BIG - 70000)]
        specs += [(f"bytes={BIG - 10}-{BIG + 1000}", BIG - 10, BIG)]
        for _ in range(60):
            start = rng.randrange(BIG)
            end = min(start + rng.choice([1, 100, 65536, 1 << 20, 5 << 20]), BIG)
            specs.append((f"bytes={start}-{end - 1}", start, end))
        for spec, start, end in specs:
            r, body = get(Range=spec)
            assert r.status == 206, spec
            assert r.headers["Content-Range"] == f"bytes {start}-{end - 1}/{BIG}"
            assert int(r.headers["Content-Length"]) == end - start == len(body)
            assert body == data[start:end], spec
        r, body = get(Range=f"bytes={BIG}-")
        assert (r.status, r.headers["Content-Range"], body) == (416, f"bytes */{BIG}", b"")
        r, body = get(**{"If-None-Match": '"big"'})
        assert (r.status, body) == (304, b"")

        r, body = get(Range="bytes=1000-8389607")  # many blocks of the file, in order
        assert body == data[1000:8389608]
    finally:
        conn.close()
