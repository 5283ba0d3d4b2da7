"""What the domain needs from the running app: the media store and the settings."""
from __future__ import annotations

from typing import Any

from flask import current_app

from .storage import LocalStore, open_store


def media_store() -> LocalStore:
    """The app's media store, opened once per app."""
    store = current_app.extensions.get("showbiz.store")
    if store is None:
        store = current_app.extensions["showbiz.store"] = open_store(current_app.config)
    return store


def setting(name: str) -> Any:
    """One configuration value of the running app."""
    return current_app.config[name]
