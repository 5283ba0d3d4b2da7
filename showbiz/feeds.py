"""Which episodes a show's feed holds, and keeping it rendered: rebuilt on write, served as bytes.

Every change that affects a feed (show, episode, note, article, person, credit, transcript) is
noticed by the session events below: the show's feed revision and the revisions of the items
it touches move on in the same transaction, and the show is rebuilt once when it commits. A
rebuild renders only the items whose revision moved; feedstore keeps the rest from the last
feed, and writes the result where every worker, and nginx if configured, reads it.
"""
from __future__ import annotations

import gc
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from flask import Flask, current_app
from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session

from . import feed, feeddata, feedhelper, feedstore
from .db import after_commit, db
from .feedstore import Built
from .models import (
    Article,
    Credit,
    Episode,
    Person,
    Show,
    ShowNote,
    Transcript,
    published_episodes,
    utcnow,
)

SLUG = re.compile(r"[a-z0-9-]{1,120}")
STALE_KEY = "showbiz.stale_feeds"
CACHE_SECONDS = 300
# Items read first (later parts grow to feeddata.CHUNK): the helper starts on them early.
PART = 100

T = TypeVar("T")

__all__ = ["Built", "cached", "current", "feed_dir", "forget", "rebuild", "refresh_expired"]


def feed_dir(app: Flask | None = None) -> Path:
    """Where rendered feeds live: SHOWBIZ_FEED_STATIC_DIR for nginx, else instance/feeds."""
    app = app or current_app
    configured = app.config.get("FEED_STATIC_DIR")
    return Path(configured) if configured else Path(app.instance_path) / "feeds"


# --- building ------------------------------------------------------------------------------

def rebuild(show_id: int) -> Built:
    """Render a show's feed, re-rendering only the items that changed since the last one."""
    # A full render allocates ~1 million short-lived objects and no cycles worth chasing:
    # without the collector a 1,000-item render took 290-310 ms here instead of 350-450.
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _rebuild(show_id)
    finally:
        if enabled:
            gc.enable()


def _rebuild(show_id: int) -> Built:
    show = db.session.get(Show, show_id)
    feed_rev = show.feed_rev
    rows = db.session.connection().execute(published_episodes(show.id).with_only_columns(
        Episode.id, Episode.feed_item_rev)).all()
    folder = feed_dir()
    context = f"{feed.ITEM_FORMAT} {current_app.config['BASE_URL']} {show.slug}"
    last = feedstore.previous(folder, show.slug)
    stored = last.revisions(context) if last else {}
    missing = [episode_id for episode_id, rev in rows if stored.get(episode_id) != rev]
    cast = feeddata.show_cast(show.id)
    fresh, (head, tail) = render_items(show, missing, cast, lambda: feed.render_channel(
        feeddata.channel(show, cast)))
    layout = feedstore.in_order(rows, fresh, last if stored else None)
    built = feedstore.store(folder, show.slug, head, layout, tail, feed_rev=feed_rev,
                            context=context, expires_at=_next_publication(show.id),
                            moved_to=show.new_feed_url)
    if built.expires_at:
        _schedule(current_app._get_current_object(), built.expires_at)
    return built


def render_items(show: Show, episode_ids: list[int], cast: list | None = None,
                 meanwhile: Callable[[], T] = lambda: None
                 ) -> tuple[feedstore.Rendered, T]:
    """Render the given episodes' items (given in feed order), by episode id, and answer what
    `meanwhile` does once this process has done its share, while the feed helper may still work."""
    parts = feeddata.item_chunks(show, episode_ids, cast, size=PART)
    return feedhelper.render(parts, len(episode_ids), meanwhile)


def _next_publication(show_id: int) -> float | None:
    """When the next scheduled episode goes out: the cached feed expires then."""
    when = db.session.scalar(select(Episode.published_at).where(
        Episode.show_id == show_id, Episode.published_at > utcnow())
        .order_by(Episode.published_at).limit(1))
    return when.timestamp() if when else None


# --- serving -------------------------------------------------------------------------------

def cached(slug: str, app: Flask | None = None) -> Built | None:
    """The stored feed of a show if it is current, without touching the database."""
    if not SLUG.fullmatch(slug):  # slugify's alphabet: never a path, a NUL or a dot
        return None
    app = app or current_app._get_current_object()
    built = feedstore.cached(feed_dir(app), slug, on_load=lambda b: _expiring(app, b))
    if built is None or (built.expires_at and built.expires_at <= time.time()):
        return None
    return built


def _expiring(app: Flask, built: Built) -> None:
    if built.expires_at:  # another process stored it: this one renders it on time too
        _schedule(app, built.expires_at)


def current(show: Show) -> Built:
    """The show's feed, rebuilt first if it is missing or expired."""
    return cached(show.slug) or rebuild(show.id)


def forget(slug: str) -> None:
    """Remove a show's stored feed."""
    feedstore.forget(feed_dir(), slug)


# --- scheduled publishing ------------------------------------------------------------------

_timer_lock = threading.Lock()
_timer: dict[str, threading.Timer | float] = {}


def _schedule(app, when: float) -> None:
    """Rebuild the feeds that expire at `when`, at that moment, in this process."""
    with _timer_lock:
        pending = _timer.get("at")
        if pending is not None and pending <= when:
            return
        if "timer" in _timer:
            _timer["timer"].cancel()
        timer = threading.Timer(max(0.0, when - time.time()) + 0.05, _refresh_expired, (app,))
        timer.daemon = True
        _timer.update(timer=timer, at=when)
        timer.start()


def _refresh_expired(app) -> None:
    with _timer_lock:
        _timer.clear()
    with app.app_context():
        refresh_expired()
        db.session.remove()


def refresh_expired() -> list[str]:
    """Rebuild every feed that is missing or whose scheduled episode has come out; their slugs."""
    done = []
    for show_id, slug in db.session.execute(select(Show.id, Show.slug)).all():
        if cached(slug) is None:
            rebuild(show_id)
            done.append(slug)
    return done


# --- noticing changes ----------------------------------------------------------------------

def _affected(session: Session) -> tuple[set[int], set[int], set[int]]:
    """Shows whose feed changes, episodes whose item changes, shows whose every item changes."""
    shows, episodes, whole_shows = set(), set(), set()
    articles, people = set(), set()
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, Show):  # items only use its slug, which is in the stored feed's context
            shows.add(obj.id)
        elif isinstance(obj, Episode):
            shows.add(obj.show_id)
            episodes.add(obj.id)
        elif isinstance(obj, (ShowNote, Transcript)):
            episodes.add(obj.episode_id or (obj.episode.id if obj.episode else None))
        elif isinstance(obj, Credit):
            shows.add(obj.show_id or (obj.show.id if obj.show else None))
            whole_shows.add(obj.show_id or (obj.show.id if obj.show else None))
            episodes.add(obj.episode_id or (obj.episode.id if obj.episode else None))
        elif isinstance(obj, Article):
            articles.add(obj.id)
        elif isinstance(obj, Person):
            people.add(obj.id)
    episodes.discard(None)
    with session.no_autoflush:
        if articles - {None}:
            episodes |= set(session.scalars(select(ShowNote.episode_id).where(
                ShowNote.article_id.in_(articles - {None}))))
        if people - {None}:
            for show_id, episode_id in session.execute(select(Credit.show_id, Credit.episode_id)
                                                       .where(Credit.person_id.in_(people))):
                if show_id:
                    whole_shows.add(show_id)
                episodes.add(episode_id)
        episodes.discard(None)
        if episodes:
            shows |= set(session.scalars(select(Episode.show_id).where(Episode.id.in_(episodes))))
    shows |= whole_shows
    shows.discard(None)
    whole_shows.discard(None)
    return shows, episodes, whole_shows


@event.listens_for(Session, "before_flush")
def _before_flush(session: Session, _context, _instances) -> None:
    """Remember which feeds and items this flush changes, and which feeds to rebuild."""
    if not (session.new or session.dirty or session.deleted):
        return
    shows, episodes, whole_shows = _affected(session)
    info = session.info
    info.setdefault(STALE_KEY, set()).update(shows)
    info.setdefault(STALE_KEY + ".shows", set()).update(shows)
    info.setdefault(STALE_KEY + ".items", set()).update(episodes)
    info.setdefault(STALE_KEY + ".whole", set()).update(whole_shows)
    if shows:
        with session.no_autoflush:
            info.setdefault(STALE_KEY + ".slugs", set()).update(
                session.scalars(select(Show.slug).where(Show.id.in_(shows))))
    info.setdefault(STALE_KEY + ".gone", set()).update(_slugs_going(session))


def _slugs_going(session: Session) -> set[str]:
    """Feed addresses this flush ends: deleted shows' slugs and the old slugs of renamed ones."""
    gone = {obj.slug for obj in session.deleted if isinstance(obj, Show)}
    for obj in session.dirty:
        if isinstance(obj, Show):
            gone.update(inspect(obj).attrs.slug.history.deleted or ())
    return gone


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, _context) -> None:
    """Move the revisions of the changed feeds and items on, in the same transaction."""
    table, shows = Episode.__table__, Show.__table__
    episodes = session.info.pop(STALE_KEY + ".items", set())
    whole = session.info.pop(STALE_KEY + ".whole", set())
    changed = session.info.pop(STALE_KEY + ".shows", set())
    session.info.setdefault(STALE_KEY, set()).update(
        o.id for o in session.new if isinstance(o, Show))
    connection = session.connection()  # plain SQL here: an ORM statement would flush again
    stale = {"feed_item_rev": table.c.feed_item_rev + 1}
    if episodes:
        connection.execute(table.update().where(table.c.id.in_(episodes)).values(**stale))
    if whole:
        connection.execute(table.update().where(table.c.show_id.in_(whole)).values(**stale))
    if changed:
        connection.execute(shows.update().where(shows.c.id.in_(changed))
                           .values(feed_rev=shows.c.feed_rev + 1))


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    """Retire the stored feeds a commit changed, so no worker serves them any more."""
    slugs = session.info.pop(STALE_KEY + ".slugs", set())
    gone = session.info.pop(STALE_KEY + ".gone", set())
    session.info[STALE_KEY + ".committed"] = (session.info.get(STALE_KEY + ".committed", set())
                                              | session.info.pop(STALE_KEY, set()))
    if (slugs or gone) and current_app:
        folder = feed_dir()
        for slug in slugs - gone:
            feedstore.retire(folder, slug)
        for slug in gone:  # nginx, too, must stop serving them
            feedstore.forget(folder, slug)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    for suffix in ("", ".items", ".whole", ".shows", ".slugs", ".gone"):
        session.info.pop(STALE_KEY + suffix, None)


@after_commit
def rebuild_stale(session: Session) -> None:
    """After a write commits, render the feeds it touched right away (once each)."""
    for show_id in sorted(session.info.pop(STALE_KEY + ".committed", set())):
        try:
            if db.session.get(Show, show_id) is not None:
                rebuild(show_id)
        except Exception:  # the change is saved; the next feed request renders it again
            current_app.logger.exception("could not render the feed of show %s", show_id)
