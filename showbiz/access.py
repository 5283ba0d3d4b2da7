"""Who may see or change what: the one place every interface (pages, media, feed, CLI) asks.

A user is None for an anonymous listener. Admins may do everything; a show's members (owner or
editor) may change that show and see its drafts; only owners (and admins) manage its members.
"""
from __future__ import annotations

from sqlalchemy import select

from .db import db
from .models import Article, Episode, Membership, Person, Show, ShowNote, User


def role(user: User | None, show: Show) -> str | None:
    """The user's role on the show: owner, editor, admin, or None."""
    if user is None:
        return None
    if user.is_admin:
        return "admin"
    return db.session.scalar(select(Membership.role).where(Membership.user_id == user.id,
                                                           Membership.show_id == show.id))


def may_change_show(user: User | None, show: Show) -> bool:
    """Whether the user may edit the show, its episodes, notes and credits."""
    return role(user, show) is not None


def may_manage_members(user: User | None, show: Show) -> bool:
    """Whether the user may add, change or remove the show's members."""
    return role(user, show) in ("owner", "admin")


def may_see_episode(user: User | None, episode: Episode) -> bool:
    """Whether the user may see the episode and its media: anyone once it is published, its
    show's members before."""
    return episode.is_public or may_change_show(user, episode.show)


def may_edit_person(user: User | None, person: Person) -> bool:
    """Admins any person; hosts people credited on their shows, or credited nowhere yet."""
    if user is None:
        return False
    if user.is_admin or not person.credits:
        return True
    mine = set(db.session.scalars(select(Membership.show_id).where(Membership.user_id == user.id)))
    return any((c.show_id or c.episode.show_id) in mine for c in person.credits)


def may_edit_article(user: User | None, article: Article) -> bool:
    """Admins any article; hosts the articles cited on a show of theirs."""
    if user is None:
        return False
    if user.is_admin:
        return True
    mine = select(ShowNote.id).join(Episode).join(
        Membership, Membership.show_id == Episode.show_id).where(
        ShowNote.article_id == article.id, Membership.user_id == user.id)
    return db.session.scalar(mine.limit(1)) is not None
