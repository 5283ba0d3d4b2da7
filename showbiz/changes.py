"""Change tracking: what a commit makes stale, and keeping the feeds current after it.

install() hooks these SQLAlchemy session events (create_app calls it):

- before_flush: from the objects a flush writes, work out which shows' feeds and which episodes'
  feed items change (an article or a person reaches every episode citing or crediting them; a
  show's cast, every item of the show);
- after_flush: move those feed and item revisions on, in the same transaction;
- after_commit: stop serving the changed shows' stored feeds (every worker, and nginx, reads
  the same files; a renamed or deleted show's feed files go), then rebuild them, rendering only
  their changed items. The committed session can run no more SQL at this point, so each rebuild
  reads in a session of its own (Flask-SQLAlchemy gives each app context one). A failed rebuild
  is logged: the change is saved, and the next request or `showbiz feeds refresh` renders it.

A rollback forgets what its flushes noted.
"""
from __future__ import annotations

from flask import current_app, has_app_context
from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session

from . import feed
from .models import Article, Credit, Episode, Person, Show, ShowNote, Transcript

NOTED = "showbiz.changes"  # the session.info key of what this transaction's flushes noted


def install() -> None:
    """Listen to every session's flushes and commits (once, however many apps are made)."""
    for name, listener in (("before_flush", _before_flush), ("after_flush", _after_flush),
                           ("after_commit", _after_commit), ("after_rollback", _after_rollback)):
        if not event.contains(Session, name, listener):
            event.listen(Session, name, listener)


class _Noted:
    """What the flushes of one transaction change, kept in session.info until it ends."""

    def __init__(self):
        self.shows: set[int] = set()      # feeds to rebuild after commit
        self.slugs: set[str] = set()      # their stored feeds, to stop serving at commit
        self.gone: set[str] = set()       # feed addresses that end: deleted or renamed shows
        self.revise: tuple[set, set, set] = (set(), set(), set())  # for the next after_flush


def _noted(session: Session) -> _Noted:
    return session.info.setdefault(NOTED, _Noted())


def _own_change(session: Session, obj) -> bool:
    # Another show citing an article or crediting a person only appends to its collections:
    # that changes no feed of the shows already citing or crediting it.
    return obj not in session.dirty or session.is_modified(obj, include_collections=False)


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
            show_id = obj.show_id or (obj.show.id if obj.show else None)
            shows.add(show_id)
            whole_shows.add(show_id)
            episodes.add(obj.episode_id or (obj.episode.id if obj.episode else None))
        elif isinstance(obj, (Article, Person)) and _own_change(session, obj):
            (articles if isinstance(obj, Article) else people).add(obj.id)
    articles.discard(None)
    people.discard(None)
    with session.no_autoflush:
        if articles:
            episodes |= set(session.scalars(select(ShowNote.episode_id).where(
                ShowNote.article_id.in_(articles))))
        if people:
            for show_id, episode_id in session.execute(select(Credit.show_id, Credit.episode_id)
                                                       .where(Credit.person_id.in_(people))):
                whole_shows.add(show_id)
                episodes.add(episode_id)
        episodes.discard(None)
        if episodes:
            shows |= set(session.scalars(select(Episode.show_id).where(Episode.id.in_(episodes))))
    shows |= whole_shows
    for found in (shows, whole_shows):
        found.discard(None)
    return shows, episodes, whole_shows


def _before_flush(session: Session, _context, _instances) -> None:
    """Note which feeds and items this flush changes."""
    if not (session.new or session.dirty or session.deleted):
        return
    shows, episodes, whole_shows = _affected(session)
    noted = _noted(session)
    noted.shows |= shows
    for pending, found in zip(noted.revise, (shows, episodes, whole_shows)):
        pending |= found
    if shows:
        with session.no_autoflush:
            noted.slugs |= set(session.scalars(select(Show.slug).where(Show.id.in_(shows))))
    noted.gone |= {obj.slug for obj in session.deleted if isinstance(obj, Show)}
    for obj in session.dirty:
        if isinstance(obj, Show):
            noted.gone.update(inspect(obj).attrs.slug.history.deleted or ())


def _after_flush(session: Session, _context) -> None:
    """Move the revisions of the changed feeds and items on, in the same transaction."""
    noted = _noted(session)
    shows, episodes, whole = noted.revise
    noted.revise = (set(), set(), set())
    noted.shows |= {obj.id for obj in session.new if isinstance(obj, Show)}
    connection = session.connection()  # plain SQL here: an ORM statement would flush again
    items, show_table = Episode.__table__, Show.__table__
    stale = {"feed_item_rev": items.c.feed_item_rev + 1}
    if episodes:
        connection.execute(items.update().where(items.c.id.in_(episodes)).values(**stale))
    if whole:
        connection.execute(items.update().where(items.c.show_id.in_(whole)).values(**stale))
    if shows:
        connection.execute(show_table.update().where(show_table.c.id.in_(shows))
                           .values(feed_rev=show_table.c.feed_rev + 1))


def _after_commit(session: Session) -> None:
    """Stop serving the stored feeds this commit changed, and rebuild them."""
    noted = session.info.pop(NOTED, None)
    if noted is None or not has_app_context():
        return
    for slug in noted.slugs - noted.gone:
        feed.retire(slug)
    for slug in noted.gone:  # nginx, too, must stop serving them
        feed.forget(slug)
    app = current_app._get_current_object()
    for show_id in sorted(noted.shows):
        with app.app_context():  # its own session: this one can run no SQL until it ends
            try:
                feed.rebuild(show_id)
            except Exception:  # the change is saved; the next request or refresh renders it
                app.logger.exception("could not render the feed of show %s", show_id)


def _after_rollback(session: Session) -> None:
    session.info.pop(NOTED, None)
