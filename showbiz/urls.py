"""Absolute addresses on the configured base URL, for feeds, shares, the CLI and pages alike;
and the one rule for return addresses (`next`, `back`) taken from a request."""
from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import urlsplit

from flask import current_app, url_for

# Characters URL building leaves as they are (werkzeug quotes everything else, and keeps "/").
_AS_IS = re.compile(r"[A-Za-z0-9._~/-]+")
_MARKER = "showbiz-url-marker"


def safe_next(target: str | None, fallback: str | None = None) -> str:
    """`target` if it is a path of this site, else `fallback` (default: the studio)."""
    if fallback is None:
        fallback = url_for("studio.dashboard")
    if not target or not target.startswith("/") or target.startswith("//"):
        return fallback
    # Browsers read a backslash as "/" and drop tabs and newlines, so "/\\evil" and "/\t/evil"
    # would leave the site.
    if "\\" in target or any(ord(c) < 32 or ord(c) == 127 for c in target):
        return fallback
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else fallback


def absolute_url(endpoint: str, **values) -> str:
    """An absolute address on the configured base URL, built without needing a request."""
    return Links()(endpoint, **values)


def media_url(key: str | None) -> str:
    """The absolute address of a stored file, or "" when there is none."""
    return Links().media(key)


class Links:
    """Absolute addresses from a URL map bound once: for building thousands (a whole feed)."""

    def __init__(self):
        self._adapter = current_app.url_map.bind("localhost")
        self._base = current_app.config["BASE_URL"]

    def __call__(self, endpoint: str, **values) -> str:
        """The absolute address of an endpoint."""
        return self._base + self._adapter.build(endpoint, values)

    def media(self, key: str | None) -> str:
        """The absolute address of a stored file, or "" when there is none."""
        return self("media.serve", key=key) if key else ""

    def varying(self, endpoint: str, name: str, **fixed) -> Callable[[str], str]:
        """`value -> self(endpoint, name=value, **fixed)`, for thousands of values: a value
        URL building would not change is pasted into an address built once (3,000 builds
        took 20 ms of a feed's render), any other is built."""
        head, _, tail = self(endpoint, **fixed, **{name: _MARKER}).partition(_MARKER)

        def build(value: str) -> str:
            if _AS_IS.fullmatch(value):
                return head + value + tail
            return self(endpoint, **fixed, **{name: value})
        return build

    def varying_media(self) -> Callable[[str | None], str]:
        """Like media(), built the way varying() builds."""
        build = self.varying("media.serve", "key")
        return lambda key: build(key) if key else ""
