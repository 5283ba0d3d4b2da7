"""The one outbound HTTP client: fetches public HTML pages, guarded against SSRF."""

from __future__ import annotations

import codecs
import functools
import http.client
import io
import ipaddress
import re
import socket
import ssl
import threading
import time
import zlib
from dataclasses import dataclass
from urllib.parse import SplitResult, quote, urljoin, urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# IPv6 outside global unicast 2000::/3 is refused wholesale, which covers ::, ::1,
# IPv4-mapped/-compatible forms, NAT64 (64:ff9b::/96, 64:ff9b:1::/48), fc00::/7,
# fe80::/10, ff00::/8, 100::/64 and 5f00::/16. This list covers the rest.
_BLOCKED = tuple(
    ipaddress.ip_network(net)
    for net in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.88.99.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",
        "240.0.0.0/4",  # reserved, including broadcast 255.255.255.255
        "2001::/23",  # IETF protocol assignments: Teredo 2001::/32, ORCHID, benchmarking
        "2001:db8::/32",
        "2002::/16",
        "3fff::/20",  # documentation, 6to4, documentation
    )
)
_V6_GLOBAL_UNICAST = ipaddress.ip_network("2000::/3")
_THIS_HOST_OR_BROADCAST = (
    ipaddress.ip_network("0.0.0.0/8"),
    ipaddress.ip_network("255.255.255.255/32"),
)
_REDIRECTS = {301, 302, 303, 307, 308}
_HTML_TYPES = {"text/html", "application/xhtml+xml"}
_MAX_URL = 2048
_CHUNK = 64 * 1024
_META_CHARSET = re.compile(rb"""<meta[^>]*?charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.I)


@dataclass(frozen=True)
class Page:
    """A fetched HTML page; url is the final URL after redirects, body the decoded bytes."""

    url: str
    status: int
    content_type: str
    charset: str | None
    body: bytes

    def text(self) -> str:
        """The body as text, decoded with the page's charset (UTF-8 if unknown)."""
        if self.body.startswith(codecs.BOM_UTF8):
            return self.body[3:].decode("utf-8", "replace")
        try:
            return self.body.decode(self.charset or "utf-8", "replace")
        except LookupError:
            return self.body.decode("utf-8", "replace")


BLOCKED = "the address is not public; only pages on the public web can be fetched"


class FetchError(Exception):
    """A page could not be fetched; str() is a sentence for the podcast host."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


def is_public_address(ip: IPAddress) -> bool:
    """True if ip is a globally routable unicast address that is safe to connect to."""
    if ip.version == 6 and ip not in _V6_GLOBAL_UNICAST:
        return False
    return ip.is_global and not any(ip in net for net in _BLOCKED)


def get(
    url: str,
    *,
    allow_private: bool = False,
    max_bytes: int = 2_000_000,
    deadline_seconds: float = 10.0,
    max_redirects: int = 5,
    user_agent: str = "showbiz/0.1 (+podcast show notes)",
) -> Page:
    """Fetch an HTML page from a public address, following redirects, within a total deadline."""
    deadline = time.monotonic() + deadline_seconds
    seen = {url}
    try:
        for _ in range(max_redirects + 1):
            result = _hop(url, allow_private, max_bytes, deadline, user_agent)
            if isinstance(result, Page):
                return result
            if result in seen:
                raise FetchError("redirects", "too many redirects (the page redirects in a loop)")
            seen.add(result)
            url = result
        raise FetchError("redirects", "too many redirects")
    except TimeoutError:
        raise FetchError(
            "timeout", f"the page took longer than {deadline_seconds:g} seconds"
        ) from None
    except ssl.SSLCertVerificationError:
        raise FetchError("connection", "the site's security certificate is not valid") from None
    except (OSError, http.client.HTTPException, zlib.error):
        raise FetchError(
            "connection", "the connection to the site broke off or sent garbage"
        ) from None


def _hop(
    url: str, allow_private: bool, max_bytes: int, deadline: float, user_agent: str
) -> Page | str:
    """Make one request; return the finished Page or the absolute URL it redirects to."""
    parts, host = _check_url(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    sock = _connect(host, port, allow_private, deadline)
    try:
        if parts.scheme == "https":
            sock.settimeout(_remaining(deadline))
            sock = _tls().wrap_socket(sock, server_hostname=host)
        conn = http.client.HTTPConnection(host, port)
        conn.sock = _DeadlineSocket(sock, deadline)  # already connected: to the checked IP
        host_header = f"[{host}]" if ":" in host else host
        conn.request(
            "GET",
            _target(parts),
            headers={
                "Host": host_header + (f":{parts.port}" if parts.port else ""),
                "User-Agent": user_agent,
                "Accept": "text/html,application/xhtml+xml",
                "Accept-Encoding": "gzip, deflate",
                "Connection": "close",
            },
        )
        resp = conn.getresponse()
        if resp.status in _REDIRECTS:
            location = resp.getheader("Location")
            if not location:
                raise FetchError(
                    "http-status", f"the server answered {resp.status} without a new address"
                )
            return urljoin(url, location.strip())
        ctype, charset = _check_response(resp, max_bytes)
        body = _read_body(resp, max_bytes)
        return Page(url, resp.status, ctype, charset or _meta_charset(body), body)
    finally:
        sock.close()


def _check_url(url: str) -> tuple[SplitResult, str]:
    """Refuse anything but a plain http(s) URL with a host and no credentials; return it and its ASCII host."""
    if len(url) > _MAX_URL:
        raise FetchError("bad-url", f"the web address is longer than {_MAX_URL} characters")
    if any(ord(c) <= 0x20 or ord(c) == 0x7F for c in url):
        raise FetchError("bad-url", "the web address contains spaces or control characters")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 -- raises ValueError for a bad port
        host = parts.hostname.encode("idna").decode("ascii") if parts.hostname else ""
    except (ValueError, UnicodeError):
        raise FetchError("bad-url", "the web address is not valid") from None
    if parts.scheme not in ("http", "https"):
        raise FetchError("bad-url", "the web address must start with http:// or https://")
    if parts.username is not None or parts.password is not None:
        raise FetchError("bad-url", "the web address must not contain a user name or password")
    if not host:
        raise FetchError("bad-url", "the web address has no site name")
    return parts, host


def _target(parts: SplitResult) -> str:
    """The request target: path and query, with any non-ASCII characters percent-encoded."""
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return quote(target, safe="".join(chr(c) for c in range(0x21, 0x7F)))


def _connect(host: str, port: int, allow_private: bool, deadline: float) -> socket.socket:
    """Resolve host once, refuse it unless every address is allowed, then connect to one of them."""
    infos = [
        info
        for info in _resolve(host, port, deadline)
        if info[0] in (socket.AF_INET, socket.AF_INET6)
    ]
    if not infos:
        raise FetchError("dns", f"the site {host} could not be found")
    for info in infos:
        ip = ipaddress.ip_address(info[4][0])
        if not (_connectable(ip) and (allow_private or is_public_address(ip))):
            # Neither the name nor what it resolved to: the message reaches hosts, and naming
            # the internal address a name leads to would map the server's network for them.
            raise FetchError("blocked-address", BLOCKED)
    for family, type_, proto, _, sockaddr in infos:
        sock = socket.socket(family, type_, proto)
        try:
            sock.settimeout(_remaining(deadline))
            sock.connect(sockaddr)
            return sock
        except TimeoutError:
            sock.close()
            raise
        except OSError:
            sock.close()
    raise FetchError("connection", f"the site {host} could not be reached")


def _resolve(host: str, port: int, deadline: float) -> list:
    """getaddrinfo, given up on at the deadline (it has no timeout of its own)."""
    result: list = []

    def lookup() -> None:
        try:
            result.append(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
        except (OSError, UnicodeError) as exc:
            result.append(exc)

    thread = threading.Thread(target=lookup, daemon=True)
    thread.start()
    thread.join(_remaining(deadline))
    if not result:
        raise TimeoutError
    if isinstance(result[0], Exception):
        raise FetchError("dns", f"the site {host} could not be found")
    return result[0]


def _connectable(ip: IPAddress) -> bool:
    """False for addresses that are never a real destination, even with allow_private."""
    # On Linux, connecting to 0.0.0.0 or :: reaches this machine itself.
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return not (
        ip.is_unspecified or ip.is_multicast or any(ip in net for net in _THIS_HOST_OR_BROADCAST)
    )


def _check_response(resp: http.client.HTTPResponse, max_bytes: int) -> tuple[str, str | None]:
    """Refuse a final response that is not a 2xx HTML page of acceptable size."""
    if not 200 <= resp.status < 300:
        raise FetchError("http-status", f"the server answered {resp.status}")
    if resp.getheader("Content-Type") is None:
        raise FetchError("not-html", "the page is not HTML (no type given)")
    ctype = resp.msg.get_content_type()
    if ctype not in _HTML_TYPES:
        raise FetchError("not-html", f"the page is not HTML ({ctype})")
    length = resp.getheader("Content-Length", "")
    if length.strip().isdigit() and int(length) > max_bytes:
        raise _too_large(max_bytes)
    return ctype, resp.msg.get_content_charset()


def _read_body(resp: http.client.HTTPResponse, max_bytes: int) -> bytes:
    """Read and decompress the body, stopping as soon as it exceeds max_bytes."""
    encoding = (resp.getheader("Content-Encoding") or "identity").strip().lower()
    wbits = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}
    if encoding not in wbits and encoding != "identity":
        raise FetchError(
            "connection", f"the site sent the page in an unknown compression ({encoding})"
        )
    decoder = zlib.decompressobj(wbits[encoding]) if encoding in wbits else None
    body = bytearray()
    while chunk := resp.read(_CHUNK):
        while chunk:
            # max_length keeps a decompression bomb from inflating more than one chunk at a time.
            body += decoder.decompress(chunk, _CHUNK) if decoder else chunk
            chunk = decoder.unconsumed_tail if decoder else b""
            if len(body) > max_bytes:
                raise _too_large(max_bytes)
    if decoder:
        body += decoder.flush()
    if len(body) > max_bytes:
        raise _too_large(max_bytes)
    return bytes(body)


def _too_large(max_bytes: int) -> FetchError:
    size = f"{max_bytes / 1e6:g} MB" if max_bytes >= 1e6 else f"{max_bytes / 1e3:g} kB"
    return FetchError("too-large", f"the page is larger than {size}")


def _meta_charset(body: bytes) -> str | None:
    """The charset a page declares in a <meta> tag near its start."""
    match = _META_CHARSET.search(body[:4096])
    return match.group(1).decode("ascii").lower() if match else None


def _remaining(deadline: float) -> float:
    """Seconds left before the deadline; TimeoutError once it has passed."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError
    return left


@functools.cache
def _tls() -> ssl.SSLContext:
    return ssl.create_default_context()  # verifies the certificate against server_hostname


class _DeadlineSocket(io.RawIOBase):
    """Just enough of a socket for http.client; every read and write re-arms the timeout to the time left."""

    def __init__(self, sock: socket.socket, deadline: float):
        super().__init__()
        self.sock, self.deadline = sock, deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buf) -> int:  # type: ignore[override]
        # Re-armed per read, so a server dripping a byte at a time cannot stretch the deadline.
        self.sock.settimeout(_remaining(self.deadline))
        return self.sock.recv_into(buf)

    def sendall(self, data: bytes) -> None:
        self.sock.settimeout(_remaining(self.deadline))
        self.sock.sendall(data)

    def makefile(self, mode: str) -> io.BufferedReader:
        return io.BufferedReader(self)

    def close(self) -> None:
        pass  # http.client "closes" early on Connection: close; _hop closes the real socket after the body
