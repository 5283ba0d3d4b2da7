"""Article metadata (title, author, date, ...) from a news page's HTML; no network I/O."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, datetime
from urllib.parse import urljoin, urlsplit

import lxml.etree
import lxml.html

from showbiz.text import strip_xml_illegal

_MAX_HTML = 4_000_000  # characters; the fetcher already stops at 2 MB of bytes
_MAX_URL = 2048
_MAX_JSON = 1_000_000
_ARTICLE_TYPES = {"article", "newsarticle", "blogposting", "reportagenews", "analysisnewsarticle",
                  "opinionnewsarticle", "reviewnewsarticle", "backgroundnewsarticle", "report"}
_DATE_METAS = ("date", "pubdate", "publishdate", "publish-date", "publish_date", "dc.date",
               "dc.date.issued", "dcterms.created", "dcterms.date", "sailthru.date",
               "parsely-pub-date", "article.published", "datepublished", "og:published_time")
_SEPARATORS = (" | ", " - ", " – ", " — ")
_MONTHS = {m: i for i, m in enumerate(
    "jan feb mar apr may jun jul aug sep oct nov dec".split(), start=1)}
_TEXT_DATE = re.compile(r"\b([A-Za-z]{3,9})\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})\b"
                        r"|\b(\d{1,2})\s+([A-Za-z]{3,9})\.?,?\s+(\d{4})\b")
_BY = re.compile(r"^\s*by[\s:]+", re.I)
_BYLINE_CUT = re.compile(r"\s+(?:\||•|·|-|–|—)\s+|\s*\n\s*")
_LD_TYPE = "translate(normalize-space(@type), 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', " \
           "'abcdefghijklmnopqrstuvwxyz')='application/ld+json'"
_CLASSED = "//*[contains(@class, '{}')]"
_BYLINE_PATHS = (("//*[@itemprop='author']", False), (_CLASSED.format("byline"), False),
                 (_CLASSED.format("author-name"), False), ("//p | //div | //span | //font", True))
_BODY_SCOPES = ("//*[@itemprop='articleBody']", "//article", "//*[contains(@class, 'entry-content')]",
                "//*[contains(@class, 'article-body')]", "//*[contains(@class, 'post-content')]",
                "//main", "//body")
_OUTSIDE_ARTICLE = "ancestor::nav or ancestor::header or ancestor::footer or ancestor::aside " \
                   "or ancestor::figure"


@dataclass(frozen=True)
class ArticleMeta:
    """What a news page says about its article; text fields are plain text, '' when unknown."""

    canonical_url: str | None
    title: str
    site_name: str
    author: str
    published: date | None
    description: str
    image_url: str | None


def extract(html: str, url: str) -> ArticleMeta:
    """Extract an article's metadata from its page's HTML; never raises on bad input."""
    if isinstance(html, bytes):
        html = html.decode("utf-8", "replace")
    host = _host(url)
    doc = _parse(strip_xml_illegal(html[:_MAX_HTML]))
    if doc is None:
        return ArticleMeta(None, "", host, "", None, "", None)
    meta = _metas(doc)
    ld, ids = _json_ld(doc)
    for junk in doc.xpath("//script | //style | //noscript | //template"):
        junk.drop_tree()
    site = _first(_clean(meta.get("og:site_name"), 255),
                  _first(*_names(ld.get("publisher"), ids), ""), host)
    return ArticleMeta(
        canonical_url=_first_url(url, *doc.xpath("//link[contains(concat(' ', "
                                                 "normalize-space(@rel), ' '), ' canonical ')]/@href"),
                                 meta.get("og:url")),
        title=_strip_site(_first(_clean(meta.get("og:title"), 500),
                                 _clean(meta.get("twitter:title"), 500),
                                 _clean(_markup_text(ld.get("headline")), 500),
                                 _clean(_text(doc.xpath("//head/title") or doc.xpath("//title")), 500)),
                          site, host),
        site_name=site,
        author=_author(doc, meta, ld, ids),
        published=_published(doc, meta, ld),
        description=_first(*(_clean(meta.get(key), 500) for key in
                             ("og:description", "description", "twitter:description")),
                           _clean(_first_paragraph(doc), 500)),
        image_url=_first_url(url, meta.get("og:image"), meta.get("og:image:url"),
                             meta.get("og:image:secure_url"), meta.get("twitter:image"),
                             meta.get("twitter:image:src"), *_ld_images(ld.get("image"), ids)),
    )


def _parse(html: str) -> lxml.html.HtmlElement | None:
    # The text is already decoded, so UTF-8 is forced: a page's <meta charset> must not re-decode it.
    parser = lxml.html.HTMLParser(encoding="utf-8", no_network=True, remove_comments=True,
                                  remove_pis=True)
    try:
        return lxml.html.document_fromstring(html.encode("utf-8"), parser=parser)
    except (lxml.etree.LxmlError, ValueError):
        return None


def _host(url: str) -> str:
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return ""
    return _clean(host.removeprefix("www."), 255)


def _clean(value, limit: int) -> str:
    """Plain single-line text without XML-illegal characters, cut to limit on a word boundary."""
    if not isinstance(value, str):
        return ""
    text = " ".join(strip_xml_illegal(value[:limit * 20]).split())
    if len(text) <= limit:
        return text
    cut = text[:limit]
    if " " in cut[limit // 2:]:
        cut = cut.rsplit(" ", 1)[0]
    return cut[:limit - 1].rstrip(" ,;:.-–—") + "…"


def _first(*values):
    return next((value for value in values if value), values[-1] if values else "")


def _text(elements: list) -> str:
    return elements[0].text_content() if elements else ""


def _markup_text(value) -> str:
    # JSON-LD strings sometimes carry HTML tags or entities; parse them rather than trust them.
    if not isinstance(value, str) or not any(c in value for c in "<&"):
        return value if isinstance(value, str) else ""
    try:
        return lxml.html.fragment_fromstring(value, create_parent="div").text_content()
    except (lxml.etree.LxmlError, ValueError):
        return ""


def _metas(doc) -> dict[str, str]:
    found: dict[str, str] = {}
    for el in doc.iter("meta"):
        key = (el.get("property") or el.get("name") or el.get("itemprop") or "").strip().lower()
        content = (el.get("content") or "").strip()
        if key and content and key not in found:
            found[key] = content
    return found


def _json_ld(doc) -> tuple[dict, dict[str, dict]]:
    """The page's article node (or {}) and every JSON-LD node by @id, for resolving references."""
    nodes: list[dict] = []
    for script in doc.xpath(f"//script[{_LD_TYPE}]"):
        try:
            data = json.loads((script.text or "")[:_MAX_JSON])
        except (ValueError, RecursionError):
            continue  # broken JSON-LD is common; other sources still apply
        for item in data if isinstance(data, list) else [data]:
            if isinstance(item, dict):
                graph = item.get("@graph")
                nodes.extend(n for n in (graph if isinstance(graph, list) else [item])
                             if isinstance(n, dict))
    ids = {n["@id"]: n for n in nodes if isinstance(n.get("@id"), str)}
    articles = [n for n in nodes if _types(n) & _ARTICLE_TYPES]
    return _first(*articles, *(n for n in nodes if "headline" in n), {}), ids


def _types(node: dict) -> set[str]:
    kind = node.get("@type")
    kinds = kind if isinstance(kind, list) else [kind]
    return {k.lower() for k in kinds if isinstance(k, str)}


def _resolve(value, ids: dict[str, dict]):
    if isinstance(value, dict) and isinstance(value.get("@id"), str) and len(value) <= 2:
        return ids.get(value["@id"], value)
    return value


def _names(value, ids: dict[str, dict]) -> list[str]:
    """Names in a JSON-LD author/publisher value: a string, an object or a list of either."""
    names: list[str] = []
    for item in (value if isinstance(value, list) else [value])[:20]:
        item = _resolve(item, ids)
        name = item.get("name") if isinstance(item, dict) else item
        name = _clean(_markup_text(name[0] if isinstance(name, list) and name else name), 255)
        name = _clean(_BY.sub("", name), 255)
        if name and not _is_url(name) and name not in names:
            names.append(name)
    return names


def _join_names(names: list) -> str:
    names = [n for n in names if isinstance(n, str)][:3]
    return ", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else "".join(names)


def _is_url(text: str) -> bool:
    return "://" in text or text.startswith(("www.", "/"))


def _ld_images(value, ids: dict[str, dict]) -> list[str]:
    images = []
    for item in (value if isinstance(value, list) else [value])[:10]:
        item = _resolve(item, ids)
        if isinstance(item, dict):
            item = item.get("url") or item.get("contentUrl")
        if isinstance(item, str):
            images.append(item)
    return images


def _first_url(base: str, *candidates) -> str | None:
    """The first candidate that makes an absolute http(s) URL against base."""
    for candidate in candidates:
        if not isinstance(candidate, str) or not candidate.strip():
            continue
        try:
            cleaned = re.sub(r"[\t\n\r]", "", strip_xml_illegal(candidate).strip())
            absolute = urljoin(base, cleaned.replace(" ", "%20"))
            parts = urlsplit(absolute)
            ok = parts.scheme in ("http", "https") and bool(parts.hostname)
        except ValueError:
            continue
        if ok and len(absolute) <= _MAX_URL:
            return absolute
    return None


def _strip_site(title: str, site: str, host: str) -> str:
    """The title without a trailing ' | Site' naming the site or the host."""
    cut = max(title.rfind(sep) for sep in _SEPARATORS)
    if cut <= 0:
        return title
    suffix = _alnum(title[cut + 3:])
    labels = host.split(".")
    # "Antiwar.com Original" names antiwar.com; a bare "Reuters poll" must not name reuters.com.
    exact = {_alnum(site), _alnum(host), _alnum(labels[-2] if len(labels) > 1 else host)}
    prefixes = {_alnum(host), _alnum(".".join(labels[-2:]))} if len(labels) > 1 else set()
    named = suffix in exact or any(suffix.startswith(p) for p in prefixes)
    return title[:cut].strip() if suffix and named else title


def _alnum(text: str) -> str:
    return "".join(c for c in text.lower() if c.isalnum())


def _author(doc, meta: dict[str, str], ld: dict, ids: dict[str, dict]) -> str:
    meta_author = meta.get("article:author", "")
    return _first(_clean(_join_names(_names(ld.get("author"), ids)), 255),
                  "" if _is_url(meta_author) else _clean(_BY.sub("", meta_author), 255),
                  _clean(_BY.sub("", meta.get("author", "")), 255),
                  _byline(doc))


def _byline(doc) -> str:
    """A visible byline: rel=author links, itemprop=author, a byline class, or 'By X' text."""
    links = _names([el.text_content() for el in doc.xpath(
        "//a[contains(concat(' ', normalize-space(@rel), ' '), ' author ')]")], {})
    if links:
        return _clean(_join_names(links), 255)
    for path, needs_by in _BYLINE_PATHS:
        for el in doc.xpath(path):
            name = _byline_name(el.text_content(), needs_by=needs_by)
            if name:
                return name
    return ""


def _byline_name(text: str, *, needs_by: bool) -> str:
    if len(text) > 160 or (needs_by and not _BY.match(text)):
        return ""
    name = _clean(_BYLINE_CUT.split(_BY.sub("", text.strip()), 1)[0], 255)
    return "" if _is_url(name) or len(name) > 100 else name


def _published(doc, meta: dict[str, str], ld: dict) -> date | None:
    candidates = [meta.get("article:published_time"), ld.get("datePublished"),
                  *doc.xpath("//time/@datetime"), *(meta.get(key) for key in _DATE_METAS)]
    for value in candidates:
        parsed = _parse_date(value) if isinstance(value, str) else None
        if parsed:
            return parsed
    return _text_date(doc)


def _parse_date(value: str) -> date | None:
    """A date from ISO-8601 (with or without time and zone), keeping the publisher's local day."""
    value = value.strip()[:64]
    try:
        parsed = datetime.fromisoformat(value)
        return _make_date(parsed.year, parsed.month, parsed.day)
    except ValueError:
        pass
    match = re.match(r"(\d{4})-(\d{2})-(\d{2})", value)
    if match:
        return _make_date(*match.groups())
    return _month_date(value)


def _month_date(text: str) -> date | None:
    for match in _TEXT_DATE.finditer(text):
        month, day, year = match.group(1, 2, 3) if match.group(1) else match.group(5, 4, 6)
        number = _MONTHS.get(month[:3].lower())
        if number:
            made = _make_date(year, number, day)
            if made:
                return made
    return None


def _make_date(year, month, day) -> date | None:
    try:
        made = date(int(year), int(month), int(day))
    except ValueError:
        return None
    return made if 1990 <= made.year <= 2100 else None


def _text_date(doc) -> date | None:
    """A date written out near the byline, such as 'December 27, 2023', as a last resort."""
    paths = [_CLASSED.format(word) for word in ("date", "publish", "posted", "byline", "meta")]
    for el in doc.xpath(" | ".join(["//time", *paths])) + doc.xpath("//p"):
        text = el.text_content()
        found = _month_date(text) if len(text) <= 160 else None
        if found:
            return found
    return None


def _first_paragraph(doc) -> str:
    scope = next((found[0] for path in _BODY_SCOPES if (found := doc.xpath(path))), doc)
    for p in scope.xpath(f".//p[not({_OUTSIDE_ARTICLE})]"):
        text = " ".join(p.text_content().split())
        if len(text) >= 40 and not _BY.match(text):
            return text
    return ""
