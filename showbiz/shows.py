"""Shows: creating and editing them, and who may change which show."""
from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select

from .db import db
from .models import Membership, Show, User
from .text import InvalidInput, check_email, check_slug, clean_text

LANGUAGE_MAX = 35
EDITABLE = ("title", "subtitle", "description", "language", "author", "owner_name",
            "owner_email", "website", "copyright", "explicit", "show_type")


def create_show(slug: str, title: str, *, owner: User | None = None, **fields: Any) -> Show:
    """Add a show with a new slug; the owner (if any) becomes its first member."""
    slug = check_slug(slug)
    if db.session.scalar(select(Show.id).where(Show.slug == slug)):
        raise InvalidInput(f"A show with the slug {slug!r} already exists.", "slug")
    show = Show(slug=slug, title="")
    db.session.add(show)
    apply_settings(show, {"title": title, **fields})
    if owner is not None:
        db.session.add(Membership(user=owner, show=show, role="owner"))
    db.session.flush()
    return show


def apply_settings(show: Show, data: dict[str, Any]) -> Show:
    """Validate and set the editable fields of a show present in `data`."""
    text_limits = {"title": 255, "subtitle": 255, "author": 255, "owner_name": 255,
                   "copyright": 255}
    for field, limit in text_limits.items():
        if field in data:
            setattr(show, field, clean_text(data[field], field=field, label=_label(field),
                                            max_length=limit, required=field == "title"))
    if "description" in data:
        show.description = clean_text(data["description"], field="description",
                                      label="Description", max_length=4000, multiline=True)
    if "language" in data:
        show.language = _language(data["language"])
    if data.get("owner_email"):
        show.owner_email = check_email(data["owner_email"], field="owner_email")
    elif "owner_email" in data:
        show.owner_email = ""
    if "website" in data:
        show.website = _web_address(data["website"], "website")
    if "explicit" in data:
        show.explicit = bool(data["explicit"])
    if "show_type" in data:
        if data["show_type"] not in ("episodic", "serial"):
            raise InvalidInput("Type must be episodic or serial.", "show_type")
        show.show_type = data["show_type"]
    return show


def _label(field: str) -> str:
    return field.replace("_", " ").capitalize()


def _language(value: str | None) -> str:
    """Accept a language tag like en, en-US or pt-BR."""
    value = (value or "").strip()
    if not re.fullmatch(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*", value) or len(value) > LANGUAGE_MAX:
        raise InvalidInput("Language must be a language code such as en or en-US.", "language")
    return value


def _web_address(value: str | None, field: str) -> str:
    """Accept an empty value or an absolute http(s) address."""
    value = clean_text(value, field=field, label=_label(field), max_length=2048)
    if value:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InvalidInput(f"{_label(field)} must start with http:// or https://.", field)
    return value


def role_of(user: User | None, show: Show) -> str | None:
    """The user's role on the show: owner, editor, admin, or None."""
    if user is None:
        return None
    if user.is_admin:
        return "admin"
    return db.session.scalar(select(Membership.role).where(Membership.user_id == user.id,
                                                           Membership.show_id == show.id))


def manageable_shows(user: User) -> list[Show]:
    """The shows a user may change, by title."""
    query = select(Show).order_by(Show.title)
    if not user.is_admin:
        query = query.join(Membership).where(Membership.user_id == user.id)
    return list(db.session.scalars(query))


def show_by_slug(slug: str) -> Show | None:
    """The show with this slug, if any."""
    return db.session.scalar(select(Show).where(Show.slug == slug))


def all_shows() -> list[Show]:
    """Every show, by title."""
    return list(db.session.scalars(select(Show).order_by(Show.title)))
