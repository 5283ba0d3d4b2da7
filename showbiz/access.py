"""Who may see or change what: the one place every interface (pages, media, feed, CLI) asks.

A user is None for an anonymous listener. Admins may do everything; a show's members (owner or
editor) may change that show and see its drafts; only owners (and admins) manage its members.
Listeners see published episodes (a publish time that has come), the articles those episodes
cite and everyone's person page; a draft's or a scheduled episode's page and notes stay private.
The command line runs as the server's operator and asks nothing.

Predicates answer for one object (`may_...`); clauses (`..._clause`) are the same rules as SQL,
for queries that list many objects, so a list and a page can never disagree.
"""
from __future__ import annotations

from sqlalchemy import ColumnElement, and_, exists, func, select

from .db import db
from .models import (
    Article,
    Credit,
    Episode,
    Membership,
    Person,
    Show,
    ShowNote,
    User,
    is_published,
)

OWNER, EDITOR, ADMIN = "owner", "editor", "admin"


def role(user: User | None, show: Show) -> str | None:
    """The user's role on the show: owner, editor, admin, or None."""
    if user is None:
        return None
    if user.is_admin:
        return ADMIN
    return db.session.scalar(select(Membership.role).where(Membership.user_id == user.id,
                                                           Membership.show_id == show.id))


def may_change_show(user: User | None, show: Show) -> bool:
    """Whether the user may edit the show, its episodes, notes and credits."""
    return role(user, show) is not None


def may_change_episode(user: User | None, episode: Episode) -> bool:
    """Whether the user may edit the episode, its notes, credits and files: its show's members,
    whatever its state."""
    return may_change_show(user, episode.show)


def may_manage_members(user: User | None, show: Show) -> bool:
    """Whether the user may add, change or remove the show's members."""
    return role(user, show) in (OWNER, ADMIN)


def may_see_episode(user: User | None, episode: Episode) -> bool:
    """Whether the user may see the episode and its media: anyone once it is published, its
    show's members before."""
    return episode.is_public or may_change_show(user, episode.show)


def may_see_episode_page(user: User | None, episode: Episode) -> bool:
    """Whether the episode has a public page (and chapters) for this user: only once published;
    hosts look at drafts and scheduled episodes in the studio."""
    return episode.is_public


def may_see_article_page(user: User | None, article: Article) -> bool:
    """Whether the article has a public page: once an episode citing it is published."""
    return db.session.scalar(select(Article.id).where(
        Article.id == article.id, article_public_clause())) is not None


def may_see_person_page(user: User | None, person: Person) -> bool:
    """Everyone's page is public; it lists only what published episodes say about them."""
    return True


def may_edit_person(user: User | None, person: Person) -> bool:
    """Admins any person; hosts people credited on their shows (or their episodes), or credited
    nowhere yet."""
    if user is None:
        return False
    if user.is_admin:
        return True
    show_of_credit = func.coalesce(Credit.show_id, Episode.show_id)
    credits, mine = db.session.execute(
        select(func.count(Credit.id), func.count(Membership.id)).select_from(Credit)
        .outerjoin(Episode, Episode.id == Credit.episode_id)
        .outerjoin(Membership, and_(Membership.show_id == show_of_credit,
                                    Membership.user_id == user.id))
        .where(Credit.person_id == person.id)).one()
    return credits == 0 or mine > 0


def may_merge_people(user: User | None) -> bool:
    """Merging rewrites every show's credits: admins only."""
    return user is not None and user.is_admin


def may_edit_article(user: User | None, article: Article) -> bool:
    """Admins any article; hosts the articles cited on a show of theirs (drafts included)."""
    if user is None:
        return False
    if user.is_admin:
        return True
    mine = select(ShowNote.id).join(Episode).join(
        Membership, Membership.show_id == Episode.show_id).where(
        ShowNote.article_id == article.id, Membership.user_id == user.id)
    return db.session.scalar(mine.limit(1)) is not None


def changeable_shows_clause(user: User) -> ColumnElement[bool]:
    """The shows the user may change, as a condition on Show."""
    if user.is_admin:
        return Show.id.is_not(None)
    return Show.id.in_(select(Membership.show_id).where(Membership.user_id == user.id))


def article_public_clause() -> ColumnElement[bool]:
    """Articles a published episode cites, as a condition on Article: an article cited only by
    drafts or scheduled episodes stays private until one airs."""
    return exists(select(ShowNote.id).join(Episode, Episode.id == ShowNote.episode_id)
                  .where(ShowNote.article_id == Article.id, is_published()))
