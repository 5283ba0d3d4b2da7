"""What the listener pages show, loaded in a fixed number of queries whatever the show's size."""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload, selectinload

from .access import article_public_clause, changeable_shows_clause
from .db import db
from .models import (
    Article,
    Credit,
    Episode,
    Person,
    Show,
    ShowNote,
    User,
    published_episodes,
)
from .people import episode_cast

# Far past any real list, small enough that (page - 1) * per_page fits every database's OFFSET.
MAX_PAGE = 1_000_000


def page_number(raw: str | None) -> int:
    """The page a query string asks for: 1 unless a plain number, at most MAX_PAGE."""
    # An absurd number is then a page past the end (empty, or a 404), not an OFFSET overflow.
    if not raw or not raw.isascii() or not raw.isdigit():
        return 1
    return MAX_PAGE if len(raw) > 7 else max(1, min(int(raw), MAX_PAGE))


def page_count(total: int, per_page: int) -> int:
    """How many pages `total` items fill, `per_page` a page (at least one, even when empty)."""
    return max(1, -(-total // per_page))


def show_page(show: Show, page: int, per_page: int) -> tuple[list[Episode], int]:
    """One page of a show's published episodes, and how many there are."""
    query = published_episodes(show.id).limit(per_page).offset((page - 1) * per_page)
    episodes = list(db.session.scalars(query))
    total = db.session.scalar(select(func.count()).select_from(
        published_episodes(show.id).order_by(None).subquery()))
    return episodes, total


def show_cast(show: Show) -> list[Credit]:
    """The show's default cast, with their people (one query)."""
    return list(db.session.scalars(select(Credit).where(Credit.show_id == show.id)
                                   .options(joinedload(Credit.person))
                                   .order_by(Credit.position)))


def episode_for_page(show_id: int, slug: str) -> Episode | None:
    """An episode with everything its page shows, in a fixed number of queries."""
    return db.session.scalar(select(Episode).where(
        Episode.show_id == show_id, Episode.slug == slug).options(
        selectinload(Episode.notes).selectinload(ShowNote.article).selectinload(Article.author),
        selectinload(Episode.credits).selectinload(Credit.person),
        joinedload(Episode.show).selectinload(Show.credits).selectinload(Credit.person),
        selectinload(Episode.chapters), selectinload(Episode.transcripts)))


def episode_detail(episode: Episode) -> tuple[list[ShowNote], list[Credit]]:
    """An episode's show notes (with articles and authors) and the credits that apply to it."""
    return list(episode.notes), episode_cast(episode)


def article_citations(article: Article) -> list[ShowNote]:
    """The published episodes citing an article, newest first, with their shows."""
    visible = published_episodes().with_only_columns(Episode.id).order_by(None)
    return list(db.session.scalars(
        select(ShowNote).join(Episode).where(ShowNote.article_id == article.id,
                                             Episode.id.in_(visible))
        .options(selectinload(ShowNote.episode).selectinload(Episode.show))
        .order_by(Episode.published_at.desc())))


def person_detail(person: Person) -> dict:
    """A person's published episodes by role and the articles they wrote."""
    visible = published_episodes().with_only_columns(Episode.id).order_by(None)
    credits = db.session.scalars(select(Credit).where(Credit.person_id == person.id)
                                 .options(selectinload(Credit.show),
                                          selectinload(Credit.episode)
                                          .selectinload(Episode.show))).all()
    show_roles = {c.show_id: c.role for c in credits if c.show_id and not c.excluded}
    episode_roles: dict[int, str] = {c.episode_id: c.role for c in credits
                                     if c.episode_id and not c.excluded}
    excluded = {c.episode_id for c in credits if c.episode_id and c.excluded}
    episodes = db.session.scalars(
        select(Episode).where(Episode.id.in_(visible),
                              Episode.show_id.in_(show_roles) | Episode.id.in_(episode_roles),
                              Episode.id.not_in(excluded))
        .options(selectinload(Episode.show)).order_by(Episode.published_at.desc())).all()
    articles = db.session.scalars(select(Article).where(Article.author_id == person.id,
                                                        article_public_clause())
                                  .order_by(Article.published_on.desc())).all()
    aired = {e.show_id for e in episodes}  # a cast credit shows once the show has aired
    return {"shows": [c.show for c in credits if c.show_id and not c.excluded
                      and c.show_id in aired],
            "episodes": [(e, episode_roles.get(e.id) or show_roles[e.show_id]) for e in episodes],
            "articles": articles}


def neighbours(episode: Episode) -> tuple[Episode | None, Episode | None]:
    """The published episodes just before and just after this one in its show."""
    listed = published_episodes(episode.show_id)
    older = db.session.scalar(listed.where(
        (Episode.published_at < episode.published_at)
        | ((Episode.published_at == episode.published_at) & (Episode.id < episode.id))).limit(1))
    newer = db.session.scalar(listed.order_by(None).order_by(
        Episode.published_at, Episode.id).where(
        (Episode.published_at > episode.published_at)
        | ((Episode.published_at == episode.published_at) & (Episode.id > episode.id))).limit(1))
    return older, newer


# The studio's order: drafts first, then the newest publishing time.
_STUDIO_ORDER = (Episode.published_at.is_(None).desc(), Episode.published_at.desc(),
                 Episode.id.desc())


def studio_episodes(show: Show, page: int, per_page: int) -> tuple[list[Episode], int]:
    """One page of all a show's episodes (drafts and scheduled too), newest first, and the total."""
    query = select(Episode).where(Episode.show_id == show.id).order_by(*_STUDIO_ORDER)
    episodes = list(db.session.scalars(query.limit(per_page).offset((page - 1) * per_page)))
    total = db.session.scalar(select(func.count()).where(Episode.show_id == show.id))
    return episodes, total


def studio_dashboard(user: User, per_show: int) -> list[tuple[Show, list[Episode], int]]:
    """The shows the user may change, by title, each with its first `per_show` episodes in the
    studio's order and its episode count: three queries however many shows."""
    shows = list(db.session.scalars(select(Show).where(changeable_shows_clause(user))
                                    .order_by(Show.title)))
    ids = [show.id for show in shows]
    rank = func.row_number().over(partition_by=Episode.show_id, order_by=_STUDIO_ORDER)
    ranked = select(Episode.id, rank.label("place")).where(Episode.show_id.in_(ids)).subquery()
    firsts = db.session.scalars(select(Episode).join(ranked, ranked.c.id == Episode.id)
                                .where(ranked.c.place <= per_show)
                                .order_by(Episode.show_id, ranked.c.place)).all() if ids else []
    totals = dict(db.session.execute(select(Episode.show_id, func.count())
                                     .where(Episode.show_id.in_(ids))
                                     .group_by(Episode.show_id)).all()) if ids else {}
    return [(show, [e for e in firsts if e.show_id == show.id], totals.get(show.id, 0))
            for show in shows]


def article_list(site: str, words: str, page: int, per_page: int) -> dict:
    """A page of cited articles, newest first, optionally from one site or matching words."""
    query = select(Article).where(article_public_clause())
    if site:
        query = query.where(Article.site_name == site)
    for word in words.split()[:8]:
        pattern = "%" + word.replace("\\", "").replace("%", "").replace("_", "") + "%"
        query = query.where(Article.title.ilike(pattern) | Article.site_name.ilike(pattern))
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    found = db.session.scalars(query.order_by(
        Article.published_on.is_(None), Article.published_on.desc(), Article.id.desc())
        .limit(per_page).offset((page - 1) * per_page)).all()
    sites = db.session.execute(
        select(Article.site_name, func.count()).where(article_public_clause(),
                                                     Article.site_name != "")
        .group_by(Article.site_name).order_by(func.count().desc(), Article.site_name)
        .limit(30)).all()
    return {"articles": found, "total": total, "sites": sites,
            "pages": page_count(total, per_page)}
