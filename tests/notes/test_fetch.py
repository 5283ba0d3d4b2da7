"""The guarded outbound HTTP client, against real servers on 127.0.0.1."""

from __future__ import annotations

import contextlib
import gzip
import ipaddress
import re
import select
import shutil
import socket
import ssl
import subprocess
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest

from showbiz.notes import fetch
from showbiz.notes.fetch import FetchError, Page, get, is_public_address

PAGE = "<html><head><title>Caf\u00e9</title></head><body>caf\u00e9 news</body></html>"
META_PAGE = '<html><head><meta charset="windows-1252"></head><body>\u201cquoted\u201d</body></html>'


class Handler(BaseHTTPRequestHandler):
    """Routes for every scenario; HTTP/1.0, so each response ends when the connection closes."""

    def log_message(self, *args):
        pass

    def do_GET(self):
        path, _, query = self.path.partition("?")
        self.server.seen.append((path, dict(self.headers)))
        route = getattr(self, "route_" + path.strip("/").split("/")[0].replace("-", "_"), None)
        try:
            if route is None:
                self.reply(404, b"<p>gone</p>")
            else:
                route(path, parse_qs(query))
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client hung up on purpose: that is what these tests check

    def reply(self, status, body, ctype="text/html; charset=utf-8", **headers):
        self.send_response(status)
        if ctype:
            self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(body)

    def redirect(self, location, status=302):
        self.reply(status, b"", Location=location)

    def route_page(self, path, query):
        self.reply(200, PAGE.encode("iso-8859-1"), "text/html; charset=ISO-8859-1")

    def route_meta(self, path, query):
        self.reply(200, META_PAGE.encode("cp1252"), "text/html")

    def route_xhtml(self, path, query):
        self.reply(200, PAGE.encode(), "application/xhtml+xml; charset=utf-8")

    def route_gzip(self, path, query):
        self.reply(200, gzip.compress(PAGE.encode()), Content_Encoding="gzip")

    def route_deflate(self, path, query):
        self.reply(200, zlib.compress(PAGE.encode()), Content_Encoding="deflate")

    def route_pdf(self, path, query):
        self.reply(200, b"%PDF-1.4", "application/pdf")

    def route_untyped(self, path, query):
        self.reply(200, PAGE.encode(), None)

    def route_redirect(self, path, query):
        hops = int(path.rsplit("/", 1)[1])
        self.redirect(
            f"/redirect/{hops - 1}" if hops > 1 else "/page",
            status=(301, 302, 303, 307, 308)[hops % 5],
        )

    def route_loop(self, path, query):
        self.redirect("/loop-back")

    def route_loop_back(self, path, query):
        self.redirect(f"http://127.0.0.1:{self.server.server_port}/loop")

    def route_to(self, path, query):
        self.redirect(query["target"][0])

    def route_declared_huge(self, path, query):
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(10**9))
        self.end_headers()
        self.server.stop.wait(5)  # sends no body: a client that tried to read it would time out

    def route_bomb(self, path, query):
        self.stream_headers(Content_Encoding="gzip")
        packer, zeros = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS), bytes(1 << 20)
        for _ in range(1024):  # 1 GiB of zeros, compressed as it is sent
            self.wfile.write(packer.compress(zeros))
        self.wfile.write(packer.flush())

    def route_endless(self, path, query):
        self.stream_headers()
        while not self.server.stop.is_set():
            self.wfile.write(b"<p>" + b"news " * 2000 + b"</p>\n")

    def route_drip_body(self, path, query):
        self.stream_headers()
        self.drip(b"<html><body>" + b"x" * 100)

    def route_drip_headers(self, path, query):
        self.wfile.write(b"HTTP/1.0 200 OK\r\n")
        self.drip(b"X-Slow: " + b"x" * 100)

    def route_chunked(self, path, query):
        self.wfile.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        pieces = (
            iter(lambda: b"<p>" + b"news " * 2000 + b"</p>", None)
            if "endless" in query
            else [PAGE.encode()[:10], PAGE.encode()[10:]]
        )
        for piece in pieces:
            if self.server.stop.is_set():
                return
            self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
        self.wfile.write(b"0\r\n\r\n")

    def stream_headers(self, **headers):
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()

    def drip(self, data):
        for byte in data:
            self.wfile.write(bytes([byte]))
            self.wfile.flush()
            if self.server.stop.wait(1):
                return


@pytest.fixture(scope="module")
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    httpd.seen, httpd.stop = [], threading.Event()
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield httpd
    httpd.stop.set()
    httpd.shutdown()
    thread.join()
    httpd.server_close()


def url(server, path):
    return f"http://127.0.0.1:{server.server_port}{path}"


@pytest.fixture
def listener():
    """A port on 127.0.0.1 that records whether anything connected to it."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    sock.setblocking(False)
    yield sock
    sock.close()


def connections(sock, wait=0.2):
    """Accept (and close) every connection waiting on the listener; return how many there were."""
    count = 0
    while select.select([sock], [], [], wait)[0]:
        conn, _ = sock.accept()
        conn.close()
        count, wait = count + 1, 0.05
    return count


def fails(reason, target, **kwargs):
    with pytest.raises(FetchError) as info:
        get(target, **kwargs)
    assert info.value.reason == reason, str(info.value)
    return info.value


# --- pages that work -------------------------------------------------------------------------------


def test_fetches_page_with_charset_from_header(server):
    page = get(url(server, "/page"), allow_private=True)
    assert isinstance(page, Page)
    assert (page.url, page.status, page.content_type) == (url(server, "/page"), 200, "text/html")
    assert page.charset == "iso-8859-1"
    assert page.body == PAGE.encode("iso-8859-1")
    assert page.text() == PAGE


def test_sends_host_header_user_agent_and_encodings(server):
    get(f"http://localhost:{server.server_port}/page?q=1", allow_private=True)
    path, headers = server.seen[-1]
    assert path == "/page"
    assert headers["Host"] == f"localhost:{server.server_port}"
    assert headers["User-Agent"] == "showbiz/0.1 (+podcast show notes)"
    assert headers["Accept-Encoding"] == "gzip, deflate"


def test_charset_from_meta_tag(server):
    page = get(url(server, "/meta"), allow_private=True)
    assert page.charset == "windows-1252"
    assert "\u201cquoted\u201d" in page.text()


def test_xhtml_is_html(server):
    page = get(url(server, "/xhtml"), allow_private=True)
    assert (page.content_type, page.charset, page.text()) == (
        "application/xhtml+xml",
        "utf-8",
        PAGE,
    )


@pytest.mark.parametrize("path", ["/gzip", "/deflate"])
def test_compressed_page_is_decoded(server, path):
    page = get(url(server, path), allow_private=True)
    assert page.body == PAGE.encode()
    assert page.charset == "utf-8"


def test_chunked_page(server):
    assert get(url(server, "/chunked"), allow_private=True).text() == PAGE


def test_ipv6_literal_gets_bracketed_host_header():
    class Server6(ThreadingHTTPServer):
        address_family = socket.AF_INET6

    httpd = Server6(("::1", 0), Handler)
    httpd.seen, httpd.stop = [], threading.Event()
    thread = threading.Thread(target=httpd.handle_request)
    thread.start()
    try:
        page = get(f"http://[::1]:{httpd.server_port}/page", allow_private=True)
    finally:
        thread.join()
        httpd.server_close()
    assert page.text() == PAGE
    assert httpd.seen[0][1]["Host"] == f"[::1]:{httpd.server_port}"


def test_text_survives_unknown_charset():
    page = Page("http://example.com/", 200, "text/html", "no-such-charset", b"caf\xc3\xa9 \xff")
    assert page.text() == "caf\u00e9 \ufffd"


# --- redirects ---------------------------------------------------------------------------------------


def test_follows_redirect_chain_of_five(server):
    page = get(url(server, "/redirect/5"), allow_private=True)
    assert page.url == url(server, "/page")
    assert page.text() == PAGE


def test_six_redirects_are_too_many(server):
    error = fails("redirects", url(server, "/redirect/6"), allow_private=True)
    assert str(error) == "too many redirects"


def test_max_redirects_is_configurable(server):
    fails("redirects", url(server, "/redirect/2"), allow_private=True, max_redirects=1)
    assert get(url(server, "/redirect/1"), allow_private=True, max_redirects=1).status == 200


def test_redirect_loop(server):
    start = time.monotonic()
    fails("redirects", url(server, "/loop"), allow_private=True)
    assert time.monotonic() - start < 2


@pytest.mark.parametrize(
    "target",
    [
        "ftp://127.0.0.1/file",
        "file:///etc/passwd",
        "http://user:secret@127.0.0.1/page",
        "gopher://127.0.0.1:70/_",
    ],
)
def test_redirect_target_is_revalidated(server, target):
    fails("bad-url", url(server, "/to?target=" + target), allow_private=True)


def test_redirect_target_is_resolved_again(server):
    fails("dns", url(server, "/to?target=http://no-such-host.invalid/page"), allow_private=True)


@pytest.mark.parametrize(
    "host", ["0.0.0.0", "0", "[::]", "224.0.0.1", "[ff02::1]", "255.255.255.255"]
)
def test_redirect_to_never_valid_address_is_refused_before_connecting(server, listener, host):
    # allow_private lets the first hop reach the 127.0.0.1 fixture; these addresses stay refused,
    # and on Linux 0.0.0.0 and :: would connect straight to this machine's listener.
    port = listener.getsockname()[1]
    fails("blocked-address", url(server, f"/to?target=http://{host}:{port}/"), allow_private=True)
    assert connections(listener) == 0


def test_every_hop_runs_the_address_check(listener):
    # get() runs _hop for the first URL and for every redirect target alike.
    port = listener.getsockname()[1]
    with pytest.raises(FetchError) as info:
        fetch._hop(f"http://0x7f.1:{port}/", False, 1000, time.monotonic() + 5, "test")
    assert info.value.reason == "blocked-address"
    assert connections(listener) == 0


# --- the SSRF guard ------------------------------------------------------------------------------

BLOCKED_URLS = [
    "http://127.0.0.1:{port}/",
    "http://localhost:{port}/",
    "http://2130706433:{port}/",
    "http://0x7f.1:{port}/",
    "http://127.1:{port}/",
    "http://017700000001:{port}/",
    "http://0x7f000001:{port}/",
    "http://[::ffff:127.0.0.1]:{port}/",
    "http://[::ffff:7f00:1]:{port}/",
    "https://127.0.0.1:{port}/",
]


@pytest.mark.parametrize("template", BLOCKED_URLS)
def test_guard_refuses_loopback_without_connecting(listener, template):
    target = template.format(port=listener.getsockname()[1])
    error = fails("blocked-address", target)
    assert str(error) == fetch.BLOCKED
    assert connections(listener) == 0


@pytest.mark.parametrize("template", BLOCKED_URLS)
def test_same_urls_do_reach_the_listener_when_private_is_allowed(listener, template):
    # The control for the test above: each of these URLs really leads to the listener.
    target = template.format(port=listener.getsockname()[1])
    fails("timeout", target, allow_private=True, deadline_seconds=0.3)
    assert connections(listener) == 1


def test_blocked_message_never_says_what_a_name_resolved_to(listener):
    # A host learning that "localhost" (or an internal name) leads to 127.0.0.1 maps the network.
    port = listener.getsockname()[1]
    for target in (f"http://localhost:{port}/", f"http://[::ffff:127.0.0.1]:{port}/",
                   "http://169.254.169.254/latest/meta-data/", f"http://0x7f.1:{port}/"):
        error = fails("blocked-address", target)
        assert str(error) == fetch.BLOCKED == ("the address is not public; only pages on the "
                                               "public web can be fetched")
        assert not re.search(r"\d+\.\d+\.\d+\.\d+|::|localhost", str(error))


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.255.255.254",
        "10.0.0.1",
        "10.255.255.255",
        "172.16.0.1",
        "172.31.255.255",
        "192.168.0.1",
        "192.168.255.255",
        "169.254.169.254",
        "169.254.0.1",
        "100.64.0.1",
        "100.127.255.254",
        "224.0.0.1",
        "239.255.255.250",
        "240.0.0.1",
        "255.255.255.255",
        "0.0.0.0",
        "0.1.2.3",
        "192.0.2.1",
        "198.51.100.7",
        "203.0.113.9",
        "198.18.0.1",
        "198.19.255.255",
        "192.0.0.8",
        "192.88.99.1",
        "::",
        "::1",
        "::ffff:127.0.0.1",
        "::ffff:169.254.169.254",
        "::ffff:8.8.8.8",
        "::127.0.0.1",
        "64:ff9b::7f00:1",
        "64:ff9b::808:808",
        "64:ff9b:1::1",
        "2002:7f00:1::1",
        "2002:808:808::1",
        "2001::1",
        "2001:0:4136:e378:8000:63bf:3fff:fdd2",
        "2001:10::1",
        "2001:db8::1",
        "3fff::1",
        "fc00::1",
        "fd00::2",
        "fe80::1",
        "fe80::1%eth0",
        "fec0::1",
        "ff02::1",
        "ff0e::1",
        "100::1",
        "5f00::1",
    ],
)
def test_non_public_addresses(address):
    assert not is_public_address(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "address",
    [
        "8.8.8.8",
        "1.1.1.1",
        "172.32.0.1",
        "100.128.0.1",
        "2606:4700:4700::1111",
        "2001:4860:4860::8888",
    ],
)
def test_public_addresses(address):
    assert is_public_address(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "target",
    [
        "ftp://example.com/file",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "example.com/page",
        "http://user:secret@example.com/",
        "http://user@example.com/",
        "https://:secret@example.com/",
        "http:///page",
        "http://",
        "http://example.com:99999/",
        "http://exa mple.com/",
        "http://example.com/\r\nX-Injected: 1",
        "http://a..b/",
        "http://example.com/" + "a" * 2048,
    ],
)
def test_bad_urls(target):
    fails("bad-url", target)


def test_unknown_host():
    fails("dns", "http://no-such-host.invalid/")


def test_connection_refused():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound but not listening: connections are refused
        fails("connection", f"http://127.0.0.1:{port}/", allow_private=True)


# --- limits ------------------------------------------------------------------------------------------


def test_gzip_bomb_stops_at_the_cap(server):
    start = time.monotonic()
    error = fails("too-large", url(server, "/bomb"), allow_private=True)
    assert str(error) == "the page is larger than 2 MB"
    assert time.monotonic() - start < 5


def test_endless_body_stops_at_the_cap(server):
    error = fails("too-large", url(server, "/endless"), allow_private=True, max_bytes=100_000)
    assert str(error) == "the page is larger than 100 kB"


def test_endless_chunked_body_stops_at_the_cap(server):
    fails("too-large", url(server, "/chunked?endless=1"), allow_private=True, max_bytes=100_000)


def test_declared_length_over_the_cap_fails_before_reading(server):
    start = time.monotonic()
    fails("too-large", url(server, "/declared-huge"), allow_private=True, deadline_seconds=3)
    assert time.monotonic() - start < 1


def test_page_at_exactly_the_cap_is_fine(server):
    size = len(PAGE.encode("iso-8859-1"))
    assert len(get(url(server, "/page"), allow_private=True, max_bytes=size).body) == size
    fails("too-large", url(server, "/page"), allow_private=True, max_bytes=size - 1)
    fails("too-large", url(server, "/gzip"), allow_private=True, max_bytes=len(PAGE.encode()) - 1)


@pytest.mark.parametrize("path", ["/drip-body", "/drip-headers"])
def test_dripping_server_cannot_stretch_the_deadline(server, path):
    start = time.monotonic()
    error = fails("timeout", url(server, path), allow_private=True, deadline_seconds=2)
    assert str(error) == "the page took longer than 2 seconds"
    assert 1.9 < time.monotonic() - start < 2.5


def test_deadline_covers_redirects(server):
    start = time.monotonic()
    fails("timeout", url(server, "/to?target=/drip-body"), allow_private=True, deadline_seconds=1)
    assert time.monotonic() - start < 1.5


# --- answers that are not pages ---------------------------------------------------------------------


def test_pdf_is_not_html(server):
    error = fails("not-html", url(server, "/pdf"), allow_private=True)
    assert str(error) == "the page is not HTML (application/pdf)"


def test_missing_content_type_is_not_html(server):
    fails("not-html", url(server, "/untyped"), allow_private=True)


def test_404(server):
    error = fails("http-status", url(server, "/missing"), allow_private=True)
    assert str(error) == "the server answered 404"


# --- https -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def self_signed(tmp_path_factory):
    if not shutil.which("openssl"):
        pytest.skip("needs the openssl command")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def test_https_sends_sni_and_verifies_the_certificate(self_signed):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*self_signed)
    names = []
    context.sni_callback = lambda sslsock, name, ctx: names.append(name)
    with socket.socket() as lsock:
        lsock.bind(("127.0.0.1", 0))
        lsock.listen(1)

        def serve():
            conn, _ = lsock.accept()
            with conn, contextlib.suppress(ssl.SSLError, OSError):
                context.wrap_socket(conn, server_side=True).close()

        thread = threading.Thread(target=serve)
        thread.start()
        error = fails(
            "connection", f"https://localhost:{lsock.getsockname()[1]}/", allow_private=True
        )
        thread.join()
    assert names == ["localhost"]
    assert "certificate" in str(error)
