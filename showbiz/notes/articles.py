"""Articles: URL normalising, get-or-create, and citing an article in an episode."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sqlalchemy import select

from ..db import db, transaction
from ..models import Article, Episode, Show, ShowNote, is_published, utcnow
from ..people import person_by_name
from ..settings import setting
from ..text import InvalidInput, clean_text
from . import extract, fetch

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


def get_or_create_article(url: str, **metadata) -> Article:
    """The article for this address, created with any metadata given if it is new; an existing
    article keeps its metadata (other shows may cite it)."""
    url = normalize_url(url)
    article = _article_at(url)
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
    image_url = image_url if image_url.startswith(("http://", "https://")) else ""
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


@dataclass(frozen=True)
class Fetched:
    """What fetching one address gave: the page's metadata, or why there is none."""
    url: str
    meta: extract.ArticleMeta | None = None
    error: str = ""


def fetch_metadata(urls: list[str]) -> dict[str, Fetched]:
    """Fetch pages at once through the guarded fetcher and extract their metadata; never raises."""
    allow_private = bool(setting("FETCH_ALLOW_PRIVATE"))

    def one(url: str) -> Fetched:
        try:
            page = fetch.get(url, allow_private=allow_private)
        except fetch.FetchError as error:
            return Fetched(url, error=str(error)[:500])
        return Fetched(url, meta=extract.extract(page.text(), page.url))

    if not urls:
        return {}
    with ThreadPoolExecutor(max_workers=min(8, len(urls))) as pool:
        return {result.url: result for result in pool.map(one, urls)}


def article_for(fetched: Fetched) -> Article:
    """The Article a fetched address belongs to, given the page's metadata only if it is its own.

    The article already at the address keeps its URL. For a new address, a canonical link on the
    same site names the article: an existing one is cited as it is (its metadata comes only from
    its own address), a new one is stored under the canonical address.
    """
    article = _article_at(fetched.url)
    if article is not None and article.fetch_status == "manual":
        # Fetched again only because another show typed these details for its drafts: the new
        # citation takes the page's own metadata, and the typing is never shown to its show.
        set_metadata(article, status="pending")
    if article is None:
        canonical = same_site_canonical(fetched)
        if canonical is not None:
            existing = _article_at(canonical)
            if existing is not None:
                return existing
        article = Article(url=canonical or fetched.url)
        db.session.add(article)
    apply_fetched(article, fetched)
    db.session.flush()
    return article


def _article_at(url: str) -> Article | None:
    return db.session.scalar(select(Article).where(Article.url == url))


def same_site_canonical(fetched: Fetched) -> str | None:
    """The page's canonical address if it is on the same site (host, ignoring www.), else None:
    a page cannot speak for another site's article."""
    if not (fetched.meta and fetched.meta.canonical_url):
        return None
    try:
        canonical = normalize_url(fetched.meta.canonical_url)
    except InvalidInput:
        return None  # a broken canonical link: keep the address the host gave
    return canonical if _site(canonical) == _site(fetched.url) else None


def _site(url: str) -> str:
    host = (urlsplit(url).hostname or "").lower()
    return host.removeprefix("www.")


def apply_fetched(article: Article, fetched: Fetched) -> Article:
    """Store what a fetch found, or the reason it failed (keeping metadata a host typed)."""
    article.fetched_at = utcnow()
    article.source_url = fetched.url
    if fetched.meta is None:
        if not article.has_metadata:
            article.fetch_status = "failed"
        article.fetch_error = fetched.error
        return article
    meta = fetched.meta
    article.fetch_error = ""
    return set_metadata(article, title=meta.title, site_name=meta.site_name,
                        author_name=meta.author, published_on=meta.published,
                        description=meta.description, image_url=meta.image_url or "")


def needs_fetch(url: str, show: Show | None = None) -> bool:
    """Whether citing an address on the show needs a fetch: no article with metadata yet, or
    only details another show typed for its unpublished episodes (typed_privately)."""
    article = _article_at(url)
    return (article is None or not article.has_metadata
            or (show is not None and typed_privately(article, show)))


def typed_privately(article: Article, show: Show) -> bool:
    """Whether the article's details were typed by hand on another show and are not public yet:
    no published episode and no episode of this show cites it."""
    if article.fetch_status != "manual":
        return False
    seen = select(ShowNote.id).join(Episode, Episode.id == ShowNote.episode_id).where(
        ShowNote.article_id == article.id, is_published() | (Episode.show_id == show.id))
    return db.session.scalar(seen.limit(1)) is None


def refetch(article: Article) -> Fetched:
    """Fetch an article's page again (outside any transaction) and store what it gave."""
    address = article.source_url or article.url
    fetched = fetch_metadata([address])[address]
    with transaction():
        apply_fetched(article, fetched)
    return fetched


def edit_by_hand(article: Article, data: dict) -> Article:
    """Save metadata a host typed, for pages that could not be fetched or were read wrong."""
    with transaction():
        return _edit_by_hand(article, data)


def _edit_by_hand(article: Article, data: dict) -> Article:
    published = (data.get("published_on") or "").strip()
    try:
        published_on = date.fromisoformat(published) if published else None
    except ValueError:
        raise InvalidInput("Give the date as YYYY-MM-DD.", "published_on") from None
    set_metadata(article, title=data.get("title", ""), site_name=data.get("site_name", ""),
                 author_name=data.get("author_name", ""), published_on=published_on,
                 description=data.get("description", ""), image_url=article.image_url,
                 status="manual")
    if not article.title:
        raise InvalidInput("Title is required.", "title")
    return article
