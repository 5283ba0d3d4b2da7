"""Full-text search over published episodes and the articles they cite.

SQLite answers from FTS5 tables kept in sync by triggers; PostgreSQL from GIN indexes on
tsvector expressions. Both are created by migration 0002, whose expressions must stay
identical to the ones below (tests/test_search.py checks the indexes are used).
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import reduce

from sqlalchemy import ColumnElement, Select, bindparam, column, func, literal_column, select, table
from sqlalchemy.orm import joinedload

from .db import db
from .models import Article, Episode, ShowNote, published_episodes
from .text import InvalidInput

MAX_QUERY_LENGTH = 200
# A one-letter prefix matches most of the index: as-you-type starts at the second letter.
MIN_PREFIX_LENGTH = 2
_SEARCH_OBJECT = re.compile(r"(episode|article)_fts(_(data|idx|docsize|config|content))?"
                            r"|ix_(episode|article)_search")


@dataclass
class SearchResults:
    """What a search found, best first: episodes (with their show) and articles."""
    query: str
    episodes: list[Episode] = field(default_factory=list)
    articles: list[Article] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        """Whether nothing matched."""
        return not (self.episodes or self.articles)


def search(query: str, *, limit: int = 20) -> SearchResults:
    """Published episodes and cited articles matching every word of `query` (the last as a prefix)."""
    query = (query or "").strip()
    if len(query) > MAX_QUERY_LENGTH:
        raise InvalidInput(f"Search for at most {MAX_QUERY_LENGTH} characters "
                           f"(this has {len(query)}).", "q")
    words = terms(query)
    if not words:
        return SearchResults(query)
    if db.session.get_bind().dialect.name == "postgresql":
        episodes, articles = _postgresql_queries(words)
    else:
        episodes, articles = _sqlite_queries(words)
    episodes = episodes.options(joinedload(Episode.show, innerjoin=True)).limit(limit)
    return SearchResults(query, list(db.session.scalars(episodes)),
                         list(db.session.scalars(articles.limit(limit))))


def terms(query: str) -> list[str]:
    """The words of a query, lower-cased: letters, marks and digits; everything else separates."""
    kept = (ch if unicodedata.category(ch)[0] in "LMN" else " "
            for ch in unicodedata.normalize("NFC", query).lower())
    return "".join(kept).split()


def is_search_object(name: str | None) -> bool:
    """Whether a table or index belongs to search (made by migration 0002, not by the models)."""
    return bool(name) and _SEARCH_OBJECT.fullmatch(name) is not None


def _prefix(words: list[str]) -> bool:
    return len(words[-1]) >= MIN_PREFIX_LENGTH


def _cited(article_id: ColumnElement) -> ColumnElement:
    """Articles discussed in a published episode: a draft's notes stay private until it airs."""
    visible = published_episodes().with_only_columns(Episode.id).order_by(None)
    return select(ShowNote.id).where(ShowNote.article_id == article_id,
                                     ShowNote.episode_id.in_(visible)).exists()


def _article_recency() -> tuple:
    return Article.published_on.desc().nulls_last(), Article.id.desc()


# --- SQLite: FTS5 external-content tables (rowid = the row's id) --------------------------------

_episode_fts = table("episode_fts", column("rowid"))
_article_fts = table("article_fts", column("rowid"))


def _fts5_expression(words: list[str]) -> str:
    """Every word as a quoted string, so nothing the user typed is read as FTS5 syntax."""
    quoted = [f'"{w}"' for w in words]  # words hold no quotes: terms() keeps letters only
    if _prefix(words):
        quoted[-1] += "*"
    return " ".join(quoted)


def _sqlite_queries(words: list[str]) -> tuple[Select, Select]:
    match = bindparam("match", _fts5_expression(words))
    episode_fts, article_fts = literal_column("episode_fts"), literal_column("article_fts")
    episodes = (published_episodes().join(_episode_fts, _episode_fts.c.rowid == Episode.id)
                .where(episode_fts.op("MATCH")(match)).order_by(None)
                .order_by(func.bm25(episode_fts, 10.0, 4.0, 1.0),
                          Episode.published_at.desc(), Episode.id.desc()))
    articles = (select(Article).join(_article_fts, _article_fts.c.rowid == Article.id)
                .where(article_fts.op("MATCH")(match), _cited(Article.id))
                .order_by(func.bm25(article_fts, 10.0, 4.0, 4.0), *_article_recency()))
    return episodes, articles


# --- PostgreSQL: GIN indexes on weighted tsvector expressions -----------------------------------

def _tsvector(*weighted: tuple[ColumnElement, str]) -> ColumnElement:
    """setweight(to_tsvector('simple', col), 'A') || ... exactly as indexed by migration 0002."""
    parts = [func.setweight(func.to_tsvector(literal_column("'simple'::regconfig"), col),
                            literal_column(f"'{weight}'")) for col, weight in weighted]
    return reduce(lambda a, b: a.op("||")(b), parts)


def _tsquery(words: list[str]) -> str:
    """Every word as a quoted lexeme, all required, the last one also as a prefix."""
    quoted = [f"'{w}'" for w in words]  # words hold no quotes: terms() keeps letters only
    if _prefix(words):
        quoted[-1] += ":*"
    return " & ".join(quoted)


def _postgresql_queries(words: list[str]) -> tuple[Select, Select]:
    query = func.to_tsquery(literal_column("'simple'::regconfig"),
                            bindparam("tsquery", _tsquery(words)))
    episode_doc = _tsvector((Episode.title, "A"), (Episode.summary, "B"), (Episode.notes_md, "C"))
    article_doc = _tsvector((Article.title, "A"), (Article.site_name, "B"),
                            (Article.author_name, "B"))
    episodes = (published_episodes().where(episode_doc.op("@@")(query)).order_by(None)
                .order_by(func.ts_rank(episode_doc, query).desc(),
                          Episode.published_at.desc(), Episode.id.desc()))
    articles = (select(Article).where(article_doc.op("@@")(query), _cited(Article.id))
                .order_by(func.ts_rank(article_doc, query).desc(), *_article_recency()))
    return episodes, articles
