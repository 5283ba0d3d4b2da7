"""Absolute addresses on the configured base URL, for feeds, shares, the CLI and pages alike."""
from __future__ import annotations

from flask import current_app


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
