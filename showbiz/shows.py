"""Shows: creating and editing them, and who may change which show."""
from __future__ import annotations

import re
import uuid
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import contains_eager

from .categories import CHOICES
from .db import db, transaction
from .models import Membership, Show, User
from .text import InvalidInput, check_email, check_slug, clean_text
from .urls import absolute_url

LANGUAGE_MAX = 35
EDITABLE = ("title", "subtitle", "description", "language", "author", "owner_name",
            "owner_email", "website", "copyright", "show_type", "new_feed_url", "medium",
            "update_frequency", "transcript_language", "time_zone")
FLAGS = ("explicit", "locked", "block", "complete")
MEDIUMS = ("podcast", "music", "video", "film", "audiobook", "newsletter", "blog")
MAX_CATEGORIES = 3


def create_show(slug: str, title: str, *, owner: User | None = None, **fields: Any) -> Show:
    """Add a show with a new slug; the owner (if any) becomes its first member."""
    slug = check_slug(slug)
    if db.session.scalar(select(Show.id).where(Show.slug == slug)):
        raise InvalidInput(f"A show with the slug {slug!r} already exists.", "slug")
    show = Show(slug=slug, title="",
                podcast_guid=podcast_guid(absolute_url("public.feed", slug=slug)))
    db.session.add(show)
    apply_settings(show, {"title": title, **fields})
    if owner is not None:
        db.session.add(Membership(user=owner, show=show, role="owner"))
    db.session.flush()
    return show


def add_show(slug: str, title: str, *, owner: User | None = None) -> Show:
    """Create a show in its own transaction (the studio's and the command line's "new show")."""
    with transaction():
        return create_show(slug, title, owner=owner)


def save_settings(show: Show, data: dict[str, Any]) -> Show:
    """Validate and save the show's settings, all or nothing."""
    with transaction():
        return apply_settings(show, data)


# The Podcasting 2.0 namespace's own UUID, for podcast:guid (UUIDv5 of the feed address).
PODCAST_GUID_NAMESPACE = uuid.UUID("ead4c236-bf58-58c6-a2c6-a6b28d128cb6")


def podcast_guid(feed_url: str) -> str:
    """The podcast:guid of a feed address: UUIDv5 of it without scheme and trailing slashes."""
    bare = re.sub(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", "", feed_url).rstrip("/")
    return str(uuid.uuid5(PODCAST_GUID_NAMESPACE, bare))


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
        show.language = check_language(data["language"])
    if data.get("owner_email"):
        show.owner_email = check_email(data["owner_email"], field="owner_email")
    elif "owner_email" in data:
        show.owner_email = ""
    if "website" in data:
        show.website = _web_address(data["website"], "website")
    for flag in FLAGS:
        if flag in data:
            setattr(show, flag, bool(data[flag]))
    _feed_settings(show, data)
    if "show_type" in data:
        if data["show_type"] not in ("episodic", "serial"):
            raise InvalidInput("Type must be episodic or serial.", "show_type")
        show.show_type = data["show_type"]
    return show


def _feed_settings(show: Show, data: dict[str, Any]) -> None:
    """The settings only podcast apps and directories read."""
    if "new_feed_url" in data:
        show.new_feed_url = _web_address(data["new_feed_url"], "new_feed_url")
    if "medium" in data:
        if data["medium"] not in MEDIUMS:
            raise InvalidInput(f"Medium must be one of: {', '.join(MEDIUMS)}.", "medium")
        show.medium = data["medium"]
    if "update_frequency" in data:
        show.update_frequency = _rrule(data["update_frequency"])
    if data.get("transcript_language"):
        show.transcript_language = check_language(data["transcript_language"], "transcript_language")
    elif "transcript_language" in data:
        show.transcript_language = ""
    if "time_zone" in data:
        show.time_zone = _time_zone(data["time_zone"])
    if "categories" in data:
        show.categories = _categories(data["categories"])
    if "funding" in data:
        show.funding = _funding(data["funding"])
    if "txt" in data:
        show.txt = _txt(data["txt"])


def _categories(values: list[str]) -> list[str]:
    """Up to three of Apple's categories, in the order given, without repeats."""
    chosen = list(dict.fromkeys(v for v in values if v))
    unknown = [v for v in chosen if v not in CHOICES]
    if unknown:
        raise InvalidInput(f"{unknown[0]!r} is not an Apple Podcasts category.", "categories")
    if len(chosen) > MAX_CATEGORIES:
        raise InvalidInput(f"Choose at most {MAX_CATEGORIES} categories.", "categories")
    return chosen


def _funding(text: str) -> list[dict]:
    """Funding links, one a line: an address, then the words listeners see."""
    links = []
    for number, line in enumerate((text or "").splitlines(), start=1):
        if not line.strip():
            continue
        url, _, label = line.strip().partition(" ")
        try:
            url = _web_address(url, "funding")
        except InvalidInput:
            raise InvalidInput(f"Funding line {number} must start with an http(s) address.",
                               "funding") from None
        label = clean_text(label, field="funding", label="Funding text", max_length=128)
        links.append({"url": url, "text": label or "Support the show"})
    return links


def _txt(text: str) -> list[dict]:
    """podcast:txt entries, one a line: `purpose: text` (such as `applepodcastsverify: ...`)."""
    entries = []
    for line in (text or "").splitlines():
        if line.strip():
            purpose, sep, value = line.strip().partition(":")
            if not sep:
                purpose, value = "", line
            entries.append({"purpose": clean_text(purpose, field="txt", label="Purpose",
                                                  max_length=128),
                            "text": clean_text(value, field="txt", label="Text",
                                               max_length=4000)})
    return entries


def _rrule(value: str | None) -> str:
    """An iCalendar RRULE such as FREQ=WEEKLY;BYDAY=MO (empty is fine)."""
    value = (value or "").strip()
    if value and not re.fullmatch(r"FREQ=(YEARLY|MONTHLY|WEEKLY|DAILY)(;[A-Z]+=[A-Z0-9,+-]+)*",
                                  value):
        raise InvalidInput("Update frequency must be an RRULE such as FREQ=WEEKLY;BYDAY=MO.",
                           "update_frequency")
    return value


def _time_zone(value: str | None) -> str:
    try:
        ZoneInfo(value or "")
    except (ValueError, ZoneInfoNotFoundError):
        raise InvalidInput(f"{value!r} is not a time zone such as America/New_York.",
                           "time_zone") from None
    return value


def _label(field: str) -> str:
    return field.replace("_", " ").capitalize()


def check_language(value: str | None, field: str = "language") -> str:
    """Accept a language tag like en, en-US or pt-BR."""
    value = (value or "").strip()
    if not re.fullmatch(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*", value) or len(value) > LANGUAGE_MAX:
        raise InvalidInput("Language must be a language code such as en or en-US.", field)
    return value


def _web_address(value: str | None, field: str) -> str:
    """Accept an empty value or an absolute http(s) address."""
    value = clean_text(value, field=field, label=_label(field), max_length=2048)
    if value:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InvalidInput(f"{_label(field)} must start with http:// or https://.", field)
    return value


def show_by_slug(slug: str) -> Show | None:
    """The show with this slug, if any."""
    return db.session.scalar(select(Show).where(Show.slug == slug))


def all_shows() -> list[Show]:
    """Every show, by title."""
    return list(db.session.scalars(select(Show).order_by(Show.title)))


def members(show: Show) -> list[Membership]:
    """The show's members with their users, owners first, in one query."""
    return list(db.session.scalars(
        select(Membership).where(Membership.show_id == show.id).join(Membership.user)
        .options(contains_eager(Membership.user))
        .order_by(Membership.role != "owner", User.email)))


def add_member(show: Show, email: str, role: str) -> Membership:
    """Give an existing user a role on the show (or change it), in its own transaction."""
    with transaction():
        return _add_member(show, email, role)


def _add_member(show: Show, email: str, role: str) -> Membership:
    from .users import user_by_email

    if role not in ("owner", "editor"):
        raise InvalidInput("Role must be owner or editor.", "role")
    user = user_by_email(check_email(email, field="member_email"))
    if user is None:
        raise InvalidInput(f"No user has the e-mail {email.strip()}; an admin can add them with "
                           "`showbiz user add`.", "member_email")
    membership = next((m for m in show.memberships if m.user_id == user.id), None)
    if membership is None:
        membership = Membership(user=user, role=role)
        show.memberships.append(membership)
    else:
        _keep_an_owner(show, membership, role)
        membership.role = role
    return membership


def remove_member(show: Show, membership_id: int) -> None:
    """Take a user off the show (its last owner stays), in its own transaction."""
    with transaction():
        _remove_member(show, membership_id)


def _remove_member(show: Show, membership_id: int) -> None:
    membership = next((m for m in show.memberships if m.id == membership_id), None)
    if membership is None:
        raise InvalidInput("That person is not a member of this show.", "member_email")
    _keep_an_owner(show, membership, None)
    show.memberships.remove(membership)


def _keep_an_owner(show: Show, membership: Membership, new_role: str | None) -> None:
    owners = [m for m in show.memberships if m.role == "owner"]
    if membership.role == "owner" and new_role != "owner" and len(owners) == 1:
        raise InvalidInput("A show needs at least one owner; make someone else owner first.",
                           "member_email")
