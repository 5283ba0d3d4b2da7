"""Full-text search over published episodes and articles, ranked by relevance then recency.

Both answer from a table per searched table, kept in sync by triggers: FTS5 on SQLite, GIN-indexed
tsvectors on PostgreSQL (the `showbiz_search` configuration: `simple` without accents). Migration
0002 makes them outside the models; `is_search_object` names them for schema comparisons.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from sqlalchemy import Subquery, bindparam, column, func, literal_column, select, table
from sqlalchemy.orm import joinedload

from .access import article_public_clause
from .db import db
from .models import Article, Episode, published_episodes
from .text import InvalidInput

MAX_QUERY_LENGTH = 200
ARTICLE_OVERFETCH = 3  # candidates per shown article, checked for having aired
# A one-letter prefix matches most of the index: as-you-type starts at the second letter.
MIN_PREFIX_LENGTH = 2
_SEARCH_OBJECT = re.compile(r"(episode|article)_(fts(_(data|idx|docsize|config|content))?|search)"
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
    """Published episodes and articles matching every word of `query`, the last also as a prefix."""
    query = (query or "").strip()
    if len(query) > MAX_QUERY_LENGTH:
        raise InvalidInput(f"Search for at most {MAX_QUERY_LENGTH} characters "
                           f"(this has {len(query)}).", "q")
    words = terms(query)
    if not words:
        return SearchResults(query)
    ranked = _postgresql if db.session.get_bind().dialect.name == "postgresql" else _sqlite
    # Articles only count once an episode citing them is out: draft notes stay private. The
    # check runs on the few best matches only, so ask for more than we show.
    episode_hits, article_hits = ranked(words, limit, ARTICLE_OVERFETCH * limit)
    episodes = (select(Episode).join(episode_hits, episode_hits.c.id == Episode.id)
                .options(joinedload(Episode.show, innerjoin=True))
                .order_by(episode_hits.c.score, Episode.published_at.desc(), Episode.id.desc()))
    articles = (select(Article).join(article_hits, article_hits.c.id == Article.id)
                .where(article_public_clause())
                .order_by(article_hits.c.score, Article.published_on.desc().nulls_last(),
                          Article.id.desc()).limit(limit))
    return SearchResults(query, list(db.session.scalars(episodes)),
                         list(db.session.scalars(articles)))


def terms(query: str) -> list[str]:
    """The words of a query, lower-cased: letters, marks and digits; everything else separates."""
    kept = (ch if unicodedata.category(ch)[0] in "LMN" else " "
            for ch in unicodedata.normalize("NFC", query).lower())
    return "".join(kept).split()


def is_search_object(name: str | None) -> bool:
    """Whether a table or index is search's (made by migration 0002, not by the models)."""
    return bool(name) and _SEARCH_OBJECT.fullmatch(name) is not None


def _prefix(words: list[str]) -> bool:
    return len(words[-1]) >= MIN_PREFIX_LENGTH


def _visible():
    return published_episodes().with_only_columns(Episode.id).order_by(None)


# Each dialect returns two subqueries of (id, score), the best `limit` rows; lower is better.
# The words are quoted, so nothing a listener types is read as FTS5 or tsquery syntax (terms()
# leaves no quote, operator or punctuation in them to break out with).

_episode_fts = table("episode_fts", column("rowid"))
_article_fts = table("article_fts", column("rowid"))


def _sqlite(words: list[str], limit: int, article_limit: int) -> tuple[Subquery, Subquery]:
    match = bindparam("match", " ".join(f'"{w}"' for w in words) + ("*" if _prefix(words) else ""))
    hits = []
    for fts, weights, most in ((_episode_fts, (10.0, 4.0, 1.0), limit),
                               (_article_fts, (10.0, 4.0, 4.0), article_limit)):
        name = literal_column(fts.name)
        hits.append(select(fts.c.rowid.label("id"), func.bm25(name, *weights).label("score"))
                    .where(name.op("MATCH")(match))
                    .order_by("score", fts.c.rowid.desc()).limit(most))
    # `rowid + 0`: filter the matches; a bare `rowid IN` makes FTS5 run one lookup per episode.
    episode_hits = hits[0].where((_episode_fts.c.rowid + 0).in_(_visible()))
    return episode_hits.subquery(), hits[1].subquery()


_episode_search = table("episode_search", column("id"), column("document"))
_article_search = table("article_search", column("id"), column("document"))


def _postgresql(words: list[str], limit: int, article_limit: int) -> tuple[Subquery, Subquery]:
    text = " & ".join(f"'{w}'" for w in words) + (":*" if _prefix(words) else "")
    query = func.to_tsquery(literal_column("'showbiz_search'::regconfig"), bindparam("q", text))
    # Normalisation 1 divides by the log of the length, as bm25 does: a short title saying it
    # beats long notes that mention it.
    hits = [select(found.c.id, (-func.ts_rank(found.c.document, query, 1)).label("score"))
            .where(found.c.document.op("@@")(query))
            for found in (_episode_search, _article_search)]
    episode_hits = (hits[0].where(_episode_search.c.id.in_(_visible()))
                    .order_by("score", _episode_search.c.id.desc()))
    article_hits = hits[1].order_by("score", _article_search.c.id.desc())
    return episode_hits.limit(limit).subquery(), article_hits.limit(article_limit).subquery()
