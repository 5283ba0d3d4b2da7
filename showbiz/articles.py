"""Articles: URL normalising, get-or-create, and citing an article in an episode."""
from __future__ import annotations

from datetime import date
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sqlalchemy import select

from .db import db
from .markup import render_markdown
from .models import Article, Episode, ShowNote
from .people import person_by_name
from .text import InvalidInput, clean_text

MAX_URL_LENGTH = 2048
_TRACKING = {"fbclid", "gclid", "dclid", "msclkid", "mc_cid", "mc_eid", "igshid", "yclid",
             "_hsenc", "_hsmi", "mkt_tok", "ref_src", "cmpid"}
_DEFAULT_PORTS = {"http": 80, "https": 443}


def normalize_url(raw: str) -> str:
    """Canonical form of an article address; refuses what is not a public web address."""
    url = (raw or "").strip()
    if len(url) > MAX_URL_LENGTH:
        raise InvalidInput(f"The address is longer than {MAX_URL_LENGTH} characters.", "url")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise InvalidInput(f"{url!r} is not a web address.", "url") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise InvalidInput("Only http:// and https:// addresses can be cited.", "url")
    if not parts.hostname:
        raise InvalidInput("The address has no host name.", "url")
    if parts.username or parts.password:
        raise InvalidInput("Addresses with a user name or password are not accepted.", "url")
    host = parts.hostname.lower().rstrip(".")
    if ":" in host:
        host = f"[{host}]"
    if port and port != _DEFAULT_PORTS[scheme]:
        host = f"{host}:{port}"
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
                       if not k.lower().startswith("utm_") and k.lower() not in _TRACKING])
    return urlunsplit((scheme, host, parts.path or "/", query, ""))


def article_by_url(url: str) -> Article | None:
    """The article stored under this (normalised) address, if any."""
    return db.session.scalar(select(Article).where(Article.url == normalize_url(url)))


def get_or_create_article(url: str, **metadata) -> Article:
    """The article for this address, created (with any metadata given) if it is new."""
    url = normalize_url(url)
    article = db.session.scalar(select(Article).where(Article.url == url))
    if article is None:
        article = Article(url=url)
        db.session.add(article)
    if metadata:
        set_metadata(article, **metadata)
    db.session.flush()
    return article


def set_metadata(article: Article, *, title: str = "", site_name: str = "",
                 author_name: str = "", published_on: date | None = None,
                 description: str = "", image_url: str = "", status: str = "ok") -> Article:
    """Set an article's metadata (typed by a host or extracted) and link its author's Person."""
    article.title = clean_text(title, field="title", label="Title", max_length=500)
    article.site_name = clean_text(site_name, field="site_name", label="Site", max_length=255)
    article.author_name = clean_text(author_name, field="author_name", label="Author",
                                     max_length=255)
    article.description = clean_text(description, field="description", label="Description",
                                     max_length=4000, multiline=True)
    article.image_url = image_url
    article.published_on = published_on
    article.fetch_status = status
    article.author = person_by_name(article.author_name) if article.author_name else None
    return article


def cite(episode: Episode, article: Article, *, start_seconds: int | None = None,
         comment: str = "") -> ShowNote:
    """Add an article to the end of an episode's show notes."""
    if start_seconds is not None and not 0 <= start_seconds <= episode.duration_seconds:
        raise InvalidInput("The start time is past the end of the episode.", "start")
    comment = clean_text(comment, field="comment", label="Comment", max_length=4000,
                         multiline=True)
    note = ShowNote(article=article, start_seconds=start_seconds, comment_md=comment,
                    comment_html=render_markdown(comment), position=len(episode.notes))
    episode.notes.append(note)
    db.session.flush()
    return note
