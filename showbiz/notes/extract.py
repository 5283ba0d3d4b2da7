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
_IMAGE_METAS = ("og:image", "og:image:url", "og:image:secure_url", "twitter:image",
                "twitter:image:src")
_SEPARATORS = (" | ", " - ", " – ", " — ")
_MONTH_NAMES = "january february march april may june july august september october november " \
               "december".split()
_MONTHS = {**{m: i for i, m in enumerate(_MONTH_NAMES, 1)},
           **{m[:3]: i for i, m in enumerate(_MONTH_NAMES, 1)}, "sept": 9}
_TEXT_DATE = re.compile(r"\b([A-Za-z]{3,9})\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})\b"
                        r"|\b(\d{1,2})\s+([A-Za-z]{3,9})\.?,?\s+(\d{4})\b")
_BY = re.compile(r"^\s*by[\s:]+", re.I)
_BYLINE_CUT = re.compile(r"\s+(?:\||•|·|-|–|—)\s+|\s*\n\s*")
_CLASSED = "//*[contains(@class, '{}')]"
_SCAN = "({})[position() <= 300]"  # bylines, dates and leads sit early; this bounds hostile pages
_BYLINE_PATHS = (("//*[@itemprop='author']", False), (_CLASSED.format("byline"), False),
                 (_CLASSED.format("author-name"), False), ("//p | //div | //span | //font", True))
_DATE_PATHS = " | ".join(["//time", *(_CLASSED.format(word) for word in
                                      ("date", "publish", "posted", "byline", "meta"))])
_BODY_SCOPES = ("//*[@itemprop='articleBody']", "//article",
                *(_CLASSED.format(c) for c in ("entry-content", "article-body", "post-content")),
                "//main", "//body")
_LEAD = ".//p[not(ancestor::nav or ancestor::header or ancestor::footer or ancestor::aside " \
        "or ancestor::figure)]"


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
    host = _host(url)
    doc = _parse(strip_xml_illegal(html[:_MAX_HTML]))
    if doc is None:
        return ArticleMeta(None, "", host, "", None, "", None)
    meta = _metas(doc)
    ld, ids = _json_ld(doc)
    for junk in doc.xpath("//script | //style | //noscript | //template"):
        junk.drop_tree()
    site = _first(_clean(meta.get("og:site_name"), 255), *_names(ld.get("publisher"), ids), host)
    return ArticleMeta(
        canonical_url=_first_url(url, *_canonical_links(doc), meta.get("og:url")),
        title=_strip_site(_title(doc, meta, ld), site, host),
        site_name=site,
        author=_author(doc, meta, ld, ids),
        published=_published(doc, meta, ld),
        description=_first(*(_clean(meta.get(key), 500) for key in
                             ("og:description", "description", "twitter:description")),
                           _clean(_first_paragraph(doc), 500)),
        image_url=_first_url(url, *(meta.get(key) for key in _IMAGE_METAS),
                             *_ld_images(ld.get("image"), ids)),
    )


def _parse(html: str) -> lxml.html.HtmlElement | None:
    # The text is already decoded, so UTF-8 is forced: <meta charset> must not re-decode it.
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
    return next((value for value in values if value), values[-1])


def _markup_text(value) -> str:
    # JSON-LD strings sometimes carry HTML tags or entities; parse them rather than trust them.
    if not isinstance(value, str) or not any(c in value for c in "<&"):
        return value if isinstance(value, str) else ""
    try:
        return lxml.html.fragment_fromstring(value, create_parent="div").text_content()
    except (lxml.etree.LxmlError, ValueError):
        return ""


def _canonical_links(doc) -> list[str]:
    return [link.get("href") for link in doc.iter("link")
            if "canonical" in (link.get("rel") or "").lower().split()]


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
    for script in doc.iter("script"):
        if (script.get("type") or "").strip().lower() != "application/ld+json":
            continue
        try:
            data = json.loads((script.text or "")[:_MAX_JSON])
        except (ValueError, RecursionError):
            continue  # broken JSON-LD is common; the other sources still apply
        for item in data if isinstance(data, list) else [data]:
            if isinstance(item, dict):
                graph = item.get("@graph")
                nodes.extend(n for n in (graph if isinstance(graph, list) else [item])
                             if isinstance(n, dict))
    nodes += [n["mainEntity"] for n in nodes if isinstance(n.get("mainEntity"), dict)]
    ids = {n["@id"]: n for n in nodes if isinstance(n.get("@id"), str)}
    articles = [n for n in nodes if _types(n) & _ARTICLE_TYPES]
    return _first(*articles, *(n for n in nodes if "headline" in n), {}), ids


def _types(node: dict) -> set[str]:
    kind = node.get("@type")
    return {k.lower() for k in (kind if isinstance(kind, list) else [kind]) if isinstance(k, str)}


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
        name = _markup_text(name[0] if isinstance(name, list) and name else name)
        name = _clean(_BY.sub("", _clean(name, 255)), 255)
        if name and not _is_url(name) and name not in names:
            names.append(name)
    return names


def _join_names(names: list[str]) -> str:
    names = names[:3]
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
        cleaned = re.sub(r"[\t\n\r]", "", strip_xml_illegal(candidate).strip()).replace(" ", "%20")
        try:
            # urljoin would resolve a hostless "https://" against the base; browsers refuse it.
            absolute = cleaned if urlsplit(cleaned).scheme else urljoin(base, cleaned)
            parts = urlsplit(absolute)
            ok = parts.scheme in ("http", "https") and bool(parts.hostname)
        except ValueError:
            continue
        if ok and len(absolute) <= _MAX_URL:
            return absolute
    return None


def _title(doc, meta: dict[str, str], ld: dict) -> str:
    titles = doc.xpath("//head/title") or doc.xpath("//title")
    return _first(_clean(meta.get("og:title"), 500), _clean(meta.get("twitter:title"), 500),
                  _clean(_markup_text(ld.get("headline")), 500),
                  _clean(titles[0].text_content() if titles else "", 500))


def _strip_site(title: str, site: str, host: str) -> str:
    """The title without a trailing ' | Site' naming the site or the host."""
    cut = max(title.rfind(sep) for sep in _SEPARATORS)
    if cut <= 0:
        return title
    suffix = _alnum(title[cut + 3:])
    labels = host.split(".")
    exact = {n for n in (_alnum(site), _alnum(host), *map(_alnum, labels[:-1])) if len(n) >= 3}
    # "Antiwar.com Original" names antiwar.com, but "Reuters poll" must not name reuters.com.
    prefixes = {_alnum(host), _alnum(".".join(labels[-2:]))} if len(labels) > 1 else set()
    named = (suffix in exact or suffix.removeprefix("the") in exact
             or any(suffix.startswith(p) for p in prefixes))
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
        for el in doc.xpath(_SCAN.format(path)):
            # Testing the element's own leading text first keeps this cheap on huge pages.
            if needs_by and not _BY.match(el.text or ""):
                continue
            text = el.text_content()
            name = _clean(_BYLINE_CUT.split(_BY.sub("", text.strip()), 1)[0], 255)
            if len(text) <= 160 and name and not _is_url(name) and len(name) <= 100:
                return name
    return ""


def _published(doc, meta: dict[str, str], ld: dict) -> date | None:
    candidates = [meta.get("article:published_time"), ld.get("datePublished"),
                  *doc.xpath(_SCAN.format("//time/@datetime")),
                  *(meta.get(key) for key in _DATE_METAS)]
    for value in candidates:
        parsed = _parse_date(value) if isinstance(value, str) else None
        if parsed:
            return parsed
    for el in doc.xpath(_SCAN.format(_DATE_PATHS)) + doc.xpath(_SCAN.format("//p")):
        text = el.text_content()
        parsed = _month_date(text) if len(text) <= 160 else None
        if parsed:  # a date written out near the byline, such as "December 27, 2023"
            return parsed
    return None


def _parse_date(value: str) -> date | None:
    """A date from ISO-8601 (with or without time and zone), keeping the publisher's local day."""
    value = value.strip()[:64]
    try:
        parsed = datetime.fromisoformat(value)
        return _make_date(parsed.year, parsed.month, parsed.day)
    except ValueError:
        pass
    match = re.match(r"(\d{4})-(\d{2})-(\d{2})", value)
    return _make_date(*match.groups()) if match else _month_date(value)


def _month_date(text: str) -> date | None:
    for match in _TEXT_DATE.finditer(text):
        month, day, year = match.group(1, 2, 3) if match.group(1) else match.group(5, 4, 6)
        made = _make_date(year, _MONTHS[month.lower()], day) if month.lower() in _MONTHS else None
        if made:
            return made
    return None


def _make_date(year, month, day) -> date | None:
    try:
        made = date(int(year), int(month), int(day))
    except ValueError:
        return None
    return made if 1990 <= made.year <= 2100 else None


def _first_paragraph(doc) -> str:
    for path in _BODY_SCOPES:
        for scope in doc.xpath(path)[:1]:
            for p in scope.xpath(_SCAN.format(_LEAD)):
                text = " ".join(p.text_content().split())
                if len(text) >= 40 and not _BY.match(text):
                    return text
    return ""
