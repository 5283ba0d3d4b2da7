"""Markdown from hosts rendered to HTML that is safe to put in pages and feeds."""
from __future__ import annotations

import nh3
from markdown_it import MarkdownIt

_md = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")

_TAGS = {"a", "p", "br", "strong", "em", "b", "i", "ul", "ol", "li", "blockquote", "code",
         "pre", "h3", "h4", "hr", "table", "thead", "tbody", "tr", "th", "td"}


def render_markdown(source: str) -> str:
    """Render Markdown to sanitised HTML: absolute http(s) links only, rel=nofollow noopener."""
    if not source.strip():
        return ""
    html = _md.render(source)
    return nh3.clean(html, tags=_TAGS, attributes={"a": {"href", "title"}},
                     url_schemes={"http", "https"}, link_rel="nofollow noopener",
                     attribute_filter=_absolute_links_only)


def _absolute_links_only(tag: str, attribute: str, value: str) -> str | None:
    if tag == "a" and attribute == "href" and not value.startswith(("http://", "https://")):
        return None
    return value
