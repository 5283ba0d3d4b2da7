"""The running app's settings, for domain code that must not import Flask's request."""
from __future__ import annotations

from typing import Any

from flask import current_app


def setting(name: str) -> Any:
    """One configuration value of the running app."""
    return current_app.config[name]
