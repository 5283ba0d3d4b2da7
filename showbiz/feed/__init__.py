"""A show's podcast feed, kept rendered: read -> render -> store -> serve.

- read.py    what a feed says, as plain rows, in a fixed number of queries
- render.py  one <item>'s XML, or the channel around the items
- store.py   the bytes: XML, an incremental gzip copy and validators, as files every worker reads
- serve.py   the HTTP response from the stored bytes (Werkzeug: 304, gzip, HEAD, caching)

Feeds are rendered when something changes (showbiz.changes calls rebuild() after a commit), when
`showbiz init` or `showbiz serve` starts (rebuild_due), and by `showbiz feeds refresh` from cron.
A request only ever serves stored bytes, or brings a stored feed up to date incrementally when a
scheduled episode has come out; it never renders a feed from nothing.
"""
from __future__ import annotations

import functools
import re
import time
from pathlib import Path

from flask import Flask, current_app
from sqlalchemy import select

from ..db import db
from ..models import Episode, Show, published_episodes, utcnow
from . import read, render, store
from .serve import response
from .store import Built

SLUG = re.compile(r"[a-z0-9-]{1,120}")

__all__ = ["Built", "cached", "current", "feed_dir", "forget", "rebuild", "rebuild_due",
           "response", "retire"]


def feed_dir(app: Flask | None = None) -> Path:
    """Where rendered feeds live: SHOWBIZ_FEED_STATIC_DIR for nginx, else instance/feeds."""
    app = app or current_app
    return _folder(app.config.get("FEED_STATIC_DIR"), app.instance_path)


@functools.lru_cache(maxsize=64)
def _folder(configured: str | None, instance_path: str) -> Path:
    return Path(configured) if configured else Path(instance_path) / "feeds"


def context(slug: str, app: Flask | None = None) -> str:
    """What every stored item depends on besides its episode: format, base URL, show slug."""
    app = app or current_app
    return f"{render.FORMAT} {app.config['BASE_URL']} {slug}"


# --- building ------------------------------------------------------------------------------

def rebuild(show_id: int, *, incremental: bool = False) -> Built | None:
    """Render and store a show's feed, rendering only the items that changed since the stored
    one. With `incremental`, answer None instead of rendering a feed that has nothing stored
    to build on (a request never renders every item)."""
    show = db.session.get(Show, show_id)
    if show is None:
        return None
    rows = db.session.execute(published_episodes(show.id).with_only_columns(
        Episode.id, Episode.feed_item_rev)).all()
    folder, ctx = feed_dir(), context(show.slug)
    last = store.previous(folder, show.slug)
    if last is not None and last.context != ctx:  # other addresses or format: nothing reusable
        last = None
    if last is None and incremental:
        return None
    stored = last.revisions() if last else {}
    cast = read.show_cast(show.id)
    fresh = {}
    for part in read.item_chunks(show, [i for i, rev in rows if stored.get(i) != rev], cast):
        fresh.update(zip(part, render.items(list(part.values()))))
    head, tail = render.channel(read.channel(show, cast))
    return store.store(folder, show.slug, head, store.in_order(rows, fresh, last), tail,
                       last=last, feed_rev=show.feed_rev, context=ctx,
                       expires_at=_next_publication(show.id), moved_to=show.new_feed_url)


def _next_publication(show_id: int) -> float | None:
    """When the next scheduled episode goes out: the stored feed expires then."""
    when = db.session.scalar(select(Episode.published_at).where(
        Episode.show_id == show_id, Episode.published_at > utcnow())
        .order_by(Episode.published_at).limit(1))
    return when.timestamp() if when else None


def rebuild_due() -> list[str]:
    """Rebuild every feed that is missing, expired, or stored for another base URL, slug or
    format; answer their slugs. For `showbiz init`, `showbiz serve` and cron."""
    done = []
    for show_id, slug in db.session.execute(select(Show.id, Show.slug)).all():
        if cached(slug) is None:
            rebuild(show_id)
            done.append(slug)
    return done


# --- serving -------------------------------------------------------------------------------

def cached(slug: str, app: Flask | None = None) -> Built | None:
    """The stored feed of a show if it is current, without touching the database."""
    if not SLUG.fullmatch(slug):  # slugify's alphabet: never a path, a NUL or a dot
        return None
    app = app or current_app
    built = store.cached(feed_dir(app), slug)
    if built is None or built.context != context(slug, app):
        return None
    if built.expires_at and built.expires_at <= time.time():
        return None
    return built


def current(show: Show) -> Built | None:
    """The show's feed, brought up to date first if a scheduled episode has come out; None if
    there is no stored feed to build on (cron or the next start renders it)."""
    return cached(show.slug) or rebuild(show.id, incremental=True)


# --- invalidating --------------------------------------------------------------------------

def retire(slug: str) -> None:
    """Stop serving a show's stored feed (a change committed), keeping its items for reuse."""
    store.retire(feed_dir(), slug)


def forget(slug: str) -> None:
    """Remove a show's stored feed (the show is gone, or its address changed)."""
    store.forget(feed_dir(), slug)
