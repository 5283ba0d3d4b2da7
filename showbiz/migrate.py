"""Alembic, driven from the app: upgrade to the newest schema, compare with the models."""
from __future__ import annotations

from alembic import command
from alembic.config import Config
from flask import current_app

from . import ROOT


def alembic_config() -> Config:
    """Alembic settings for the running app's database."""
    config = Config()
    config.set_main_option("script_location", str(ROOT / "migrations"))
    config.attributes["flask_app"] = current_app._get_current_object()
    return config


def upgrade() -> None:
    """Create the database or bring it to the newest revision (idempotent)."""
    command.upgrade(alembic_config(), "head")


def include_name(name: str | None, type_: str, _parents: dict) -> bool:
    """Leave search's own tables and indexes (migration 0002) out of schema comparisons."""
    from .search import is_search_object

    return not (type_ in ("table", "index") and is_search_object(name))
