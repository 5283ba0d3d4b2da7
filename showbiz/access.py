"""Who may see or change what: the one place every interface (pages, media, feed, CLI) asks.

A user is None for an anonymous listener. Admins may do everything; a show's members (owner or
editor) may change that show and see its drafts; only owners (and admins) manage its members.
Listeners see published episodes (a publish time that has come), the articles those episodes
cite and the people credited on them; a draft's or a scheduled episode's page, notes and people
stay private. People and articles are shared by shows: a host changes one only when every show
crediting or citing it is theirs, so no host changes what another show shows (docs/access.md).
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
    """A person's page is public once they are credited on something published
    (person_public_clause)."""
    return db.session.scalar(select(Person.id).where(
        Person.id == person.id, person_public_clause())) is not None


def _person_credits(user: User, person: Person) -> tuple[int, int]:
    """How many credits the person has, and how many are on shows the user is a member of."""
    show_of_credit = func.coalesce(Credit.show_id, Episode.show_id)
    credits, mine = db.session.execute(
        select(func.count(Credit.id), func.count(Membership.id)).select_from(Credit)
        .outerjoin(Episode, Episode.id == Credit.episode_id)
        .outerjoin(Membership, and_(Membership.show_id == show_of_credit,
                                    Membership.user_id == user.id))
        .where(Credit.person_id == person.id)).one()
    return credits, mine


def may_open_person(user: User | None, person: Person) -> bool:
    """Whether the studio shows the person to the user: admins anyone; hosts people credited on
    one of their shows (or its episodes), or credited nowhere yet."""
    if user is None:
        return False
    if user.is_admin:
        return True
    credits, mine = _person_credits(user, person)
    return credits == 0 or mine > 0


def may_edit_person(user: User | None, person: Person) -> bool:
    """Whether the user may change the person's name, bio, website and photo: admins anyone;
    hosts only when every show crediting the person (or its episodes) is theirs."""
    if user is None:
        return False
    if user.is_admin:
        return True
    credits, mine = _person_credits(user, person)
    return credits == mine


PERSON_NEEDS_ADMIN = ("{name} is also credited on a show you are not a member of, so an admin "
                      "must make this change.")
ARTICLE_NEEDS_ADMIN = ("This article is also cited on a show you are not a member of, so an "
                       "admin must change its details.")


def may_merge_people(user: User | None) -> bool:
    """Merging rewrites every show's credits: admins only."""
    return user is not None and user.is_admin


def _article_citations(user: User, article: Article) -> tuple[int, int]:
    """How many notes cite the article, and how many are on shows the user is a member of."""
    return db.session.execute(
        select(func.count(ShowNote.id), func.count(Membership.id)).select_from(ShowNote)
        .join(Episode, Episode.id == ShowNote.episode_id)
        .outerjoin(Membership, and_(Membership.show_id == Episode.show_id,
                                    Membership.user_id == user.id))
        .where(ShowNote.article_id == article.id)).one()


def may_open_article(user: User | None, article: Article) -> bool:
    """Whether the studio shows the article's details to the user: admins any; hosts the
    articles cited on a show of theirs (drafts included)."""
    if user is None:
        return False
    if user.is_admin:
        return True
    return _article_citations(user, article)[1] > 0


def may_edit_article(user: User | None, article: Article) -> bool:
    """Whether the user may type an article's details or fetch it again: admins any; hosts only
    when every episode citing it is on a show of theirs."""
    if user is None:
        return False
    if user.is_admin:
        return True
    cited, mine = _article_citations(user, article)
    return 0 < mine == cited


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


def person_public_clause() -> ColumnElement[bool]:
    """People credited on something published, as a condition on Person: on a published
    episode, in the cast of a show with a published episode, or as the author of a public
    article. Someone credited only on drafts stays private."""
    on_episode = exists(select(Credit.id).join(Episode, Episode.id == Credit.episode_id)
                        .where(Credit.person_id == Person.id, Credit.excluded.is_(False),
                               is_published()))
    on_show = exists(select(Credit.id).join(Episode, Episode.show_id == Credit.show_id)
                     .where(Credit.person_id == Person.id, is_published()))
    author = exists(select(Article.id).where(Article.author_id == Person.id,
                                             article_public_clause()))
    return on_episode | on_show | author


def people_listed_clause(user: User) -> ColumnElement[bool]:
    """The people the studio lists for the user, as a condition on Person: admins everyone;
    hosts those credited on their shows (or their episodes), and those credited nowhere."""
    if user.is_admin:
        return Person.id.is_not(None)
    mine = select(Membership.show_id).where(Membership.user_id == user.id)
    on_mine = exists(select(Credit.id).outerjoin(Episode, Episode.id == Credit.episode_id)
                     .where(Credit.person_id == Person.id,
                            func.coalesce(Credit.show_id, Episode.show_id).in_(mine)))
    credited = exists(select(Credit.id).where(Credit.person_id == Person.id))
    return on_mine | ~credited
