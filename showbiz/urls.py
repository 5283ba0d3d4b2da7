"""Absolute addresses on the configured base URL, for feeds, shares, the CLI and pages alike."""
from __future__ import annotations

from flask import current_app


def absolute_url(endpoint: str, **values) -> str:
    """An absolute address on the configured base URL, built without needing a request."""
    path = current_app.url_map.bind("localhost").build(endpoint, values)
    return current_app.config["BASE_URL"] + path


def media_url(key: str | None) -> str:
    """The absolute address of a stored file, or "" when there is none."""
    return absolute_url("media.serve", key=key) if key else ""
