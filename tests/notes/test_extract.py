"""Article metadata from real-shaped news pages, and from pages that try to break the extractor."""
from __future__ import annotations

import random
from datetime import date
from pathlib import Path

import pytest

from showbiz.notes.extract import ArticleMeta, extract

PAGES = Path(__file__).parent.parent / "pages"
LI_URL = ("https://libertarianinstitute.org/news/japan-to-send-patriot-interceptors-to-the-us-"
          "freeing-up-american-supplies-to-send-to-ukraine/")
LI_FIRST_PARAGRAPH = (
    "Japan will send Patriot Air Defense missiles to the US. The move will allow Washington to "
    "dive deeper into its own stockpiles for transfers supporting Ukraine’s war effort. Tokyo is "
    "altering its arms export laws to send the Patriots to Washington.")
AP_URL = ("https://apnews.com/article/"
          "japan-patriot-missiles-arms-exports-ukraine-5d2f8a61c0b94e7f9b3a4c1d2e6f7a80")
REUTERS_URL = ("https://www.reuters.com/world/asia-pacific/"
               "japan-eases-arms-export-curbs-ship-patriot-missiles-us-2023-12-22/")
GUARDIAN_URL = ("https://www.theguardian.com/world/2023/dec/22/"
                "japan-patriot-missiles-us-arms-export-rules")
SUBSTACK_IMAGE = (
    "https://substackcdn.com/image/fetch/w_1200,h_600,c_fill,f_jpg,q_auto:good,"
    "fl_progressive:steep,g_auto/https%3A%2F%2Fsubstack-post-media.s3.amazonaws.com%2Fpublic%2F"
    "images%2F8c1f2e3d-4a5b-6c7d-8e9f-0a1b2c3d4e5f_1600x1067.jpeg")

FIXTURES = {
    "libertarianinstitute": (LI_URL, ArticleMeta(
        canonical_url=LI_URL,
        title="Japan to Send Patriot Interceptors to the US, Freeing Up American Supplies to Send "
              "to Ukraine",
        site_name="The Libertarian Institute",
        author="Kyle Anzalone",
        published=date(2023, 12, 26),
        description=LI_FIRST_PARAGRAPH,
        image_url="https://libertarianinstitute.org/wp-content/uploads/2023/12/"
                  "patriot-launcher-japan.jpg")),
    "apnews": (AP_URL, ArticleMeta(
        canonical_url=AP_URL,
        title="Japan loosens arms export rules, clearing way for Patriot missiles to go to the US",
        site_name="AP News",
        author="Kenji Mori, Laura Bennett and Tom Hadley",
        published=date(2023, 12, 22),  # 23:45 in New York: the publisher's day, not UTC's
        description="Japan has revised its arms export rules to allow the sale of licensed "
                    "weapons back to the countries that hold the licenses, clearing the way to "
                    "ship Patriot interceptors to the United States.",
        image_url="https://dims.apnews.com/dims4/default/3f4e5d6/2147483647/strip/true/crop/"
                  "5472x3648+0+0/resize/1440x960!/quality/90/?url=https%3A%2F%2Fassets.apnews.com"
                  "%2F7a%2F1b%2Fc2d3e4f5a6b7c8d9e0f1a2b3c4d5%2Fpatriot.jpg")),
    "reuters": (REUTERS_URL + "?utm_source=twitter&utm_medium=Social", ArticleMeta(
        canonical_url=REUTERS_URL,
        title="Japan eases arms export curbs, to ship Patriot missiles to US",
        site_name="Reuters",
        author="Jane Doe and John Roe",
        published=date(2023, 12, 22),
        description="Japan on Friday eased its arms export rules and said it would ship Patriot "
                    "air defence missiles to the United States, a move that could help Washington "
                    "free up its own stocks for Ukraine.",
        image_url="https://www.reuters.com/resizer/v2/ZK4TQ3PXMBLHJD7Y2WRV6NQF5A.jpg?auth="
                  "9f8e7d6c5b4a39281706f5e4d3c2b1a0&height=1005&width=1920&quality=80&smart=true")),
    "guardian": (GUARDIAN_URL, ArticleMeta(
        canonical_url=GUARDIAN_URL,
        title="Japan to send Patriot missiles to US in first shift of arms export rules since 2014",
        site_name="the Guardian",
        author="Helen Marsh",
        published=date(2023, 12, 22),
        description="Tokyo revises rules so it can sell licensed weapons back to licence holders, "
                    "freeing up US stocks for Ukraine",
        image_url="https://i.guim.co.uk/img/media/4c7d2a1e9b8f6e5d4c3b2a1f0e9d8c7b6a5f4e3d/"
                  "0_0_5000_3000/master/5000.jpg?width=1200&height=630&quality=85&auto=format&"
                  "fit=crop&overlay-align=bottom%2Cleft&overlay-width=100p&"
                  "s=1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d")),
    "antiwar": ("https://www.antiwar.com/orig/decamp.php?articleid=14871", ArticleMeta(
        canonical_url=None,
        title="US Weapons Makers Line Up Billions in New Orders as Ukraine Aid Stalls",
        site_name="antiwar.com",
        author="Dave DeCamp",
        published=date(2023, 12, 27),
        description="As Congress deadlocks over new money for Ukraine, the largest American arms "
                    "makers are booking record orders from the Pentagon and from European "
                    "governments racing to refill their own depleted arsenals.",
        image_url=None)),
    "substack": ("https://restraintledger.substack.com/p/who-pays-for-the-patriot-shuffle",
                 ArticleMeta(
        canonical_url="https://www.restraintledger.com/p/who-pays-for-the-patriot-shuffle",
        title="Who Pays for the Patriot Shuffle?",
        site_name="The Restraint Ledger",
        author="Maya Lindqvist and Owen Castellano",
        published=date(2024, 1, 3),
        description="Tokyo's missiles backfill Washington's stockpile so that Washington can empty "
                    "it into Ukraine. The bill lands on taxpayers in both countries.",
        image_url=SUBSTACK_IMAGE)),
    "hostile": ("https://www.evil.example/story", ArticleMeta(
        canonical_url=None,  # the canonical link is 100 KB long and og:url is javascript:
        title="<script>alert(1)</script> Ministry & Co. admits leak",
        site_name="evil.example",
        author="Mallory",
        published=date(2024, 3, 1),
        description="Leaked memo shows spending tripled.",
        image_url=None)),
    "brokenjsonld": ("https://theledgerdaily.com/2023/11/16/pentagon-audit-fails-again/?ref=feed",
                     ArticleMeta(
        canonical_url="https://theledgerdaily.com/2023/11/16/pentagon-audit-fails-again/",
        title="Pentagon audit fails for sixth year",
        site_name="The Ledger Daily",
        author="Riley Chen",
        published=date(2023, 11, 16),
        description="The Department of Defense could not account for more than half of its "
                    "$3.8 trillion in assets.",
        image_url="https://theledgerdaily.com/uploads/2023/11/pentagon.jpg")),
}


def page(name: str) -> str:
    return (PAGES / f"{name}.html").read_text(encoding="utf-8")


def head(*tags: str, body: str = "") -> str:
    return f"<html><head>{''.join(tags)}</head><body>{body}</body></html>"


@pytest.mark.parametrize("name", FIXTURES)
def test_fixture_pages(name):
    url, expected = FIXTURES[name]
    assert extract(page(name), url) == expected


def test_windows_1252_page_decoded_by_its_charset():
    html = (PAGES / "latin1.html").read_bytes().decode("cp1252")
    url = "http://www.boroughcourier.co.uk/news/2023/12/28/councils-green-budget.html"
    assert extract(html, url) == ArticleMeta(
        canonical_url=url,
        title="Council’s “green” budget adds £4m – and a new café",
        site_name="boroughcourier.co.uk",
        author="Siân O’Connell",
        published=date(2023, 12, 28),
        description="Councillors approved a “green” budget on Tuesday, adding £4m for cycle lanes "
                    "and €200,000 for a café in the park’s old bandstand.",
        image_url=None)


def test_no_field_carries_markup_or_illegal_characters():
    meta = extract(page("hostile"), "https://www.evil.example/story")
    for text in (meta.site_name, meta.author, meta.description):
        assert "<" not in text and ">" not in text
    for text in (meta.title, meta.site_name, meta.author, meta.description):
        assert not any(ord(c) < 32 or c in "\ufffe\uffff" for c in text)


def test_relative_image_and_canonical_made_absolute():
    html = head('<link rel="canonical" href="../story/">',
                '<meta property="og:image" content="/img/a b.jpg">')
    meta = extract(html, "https://news.example.org/world/2024/item.html?x=1")
    assert meta.canonical_url == "https://news.example.org/world/story/"
    assert meta.image_url == "https://news.example.org/img/a%20b.jpg"


def test_protocol_relative_urls_take_the_page_scheme():
    html = head('<meta property="og:url" content="//example.com/a">',
                '<meta name="twitter:image" content="//cdn.example.com/i.png">')
    meta = extract(html, "https://example.com/a?utm=1")
    assert (meta.canonical_url, meta.image_url) == ("https://example.com/a",
                                                   "https://cdn.example.com/i.png")


@pytest.mark.parametrize("href", ["ftp://example.com/a", "javascript:alert(1)", "mailto:a@b.c",
                                  "data:text/html,hi", "http://", "https://", "https:///path"])
def test_canonical_and_image_without_http_scheme_are_none(href):
    html = head(f'<link rel="canonical" href="{href}">',
                f'<meta property="og:image" content="{href}">')
    meta = extract(html, "https://example.com/page")
    assert meta.canonical_url is None and meta.image_url is None


def test_og_url_used_when_canonical_is_unusable():
    html = head('<link rel="canonical" href="javascript:x">',
                '<meta property="og:url" content="https://example.com/b">')
    assert extract(html, "https://example.com/a").canonical_url == "https://example.com/b"


@pytest.mark.parametrize("title, site, url, expected", [
    ("Storm hits coast | AP News", "", "https://apnews.com/a", "Storm hits coast"),
    ("Storm hits coast | Reuters", "", "https://www.reuters.com/a", "Storm hits coast"),
    ("Storm hits coast - The Libertarian Institute", "The Libertarian Institute",
     "https://libertarianinstitute.org/a", "Storm hits coast"),
    ("Storm hits coast – Antiwar.com Original", "", "https://original.antiwar.com/a",
     "Storm hits coast"),
    ("Storm hits coast — The Borough Courier", "", "https://boroughcourier.co.uk/a",
     "Storm hits coast"),
    ("Storm hits coast | Daily Planet", "Daily Planet", "https://example.com/a",
     "Storm hits coast"),
    ("Left - right | Reuters", "", "https://reuters.com/a", "Left - right"),
    ("Voters shrug - Reuters poll", "", "https://reuters.com/a", "Voters shrug - Reuters poll"),
    ("Storm hits coast | Other Paper", "Daily Planet", "https://example.com/a",
     "Storm hits coast | Other Paper"),
    ("| AP News", "", "https://apnews.com/a", "| AP News"),
    ("AP News", "", "https://apnews.com/a", "AP News"),
])
def test_title_site_suffix_stripped(title, site, url, expected):
    tags = [f"<title>{title}</title>"]
    if site:
        tags.append(f'<meta property="og:site_name" content="{site}">')
    assert extract(head(*tags), url).title == expected


def test_title_sources_in_order():
    url = "https://example.com/a"
    ld = ('<script type="application/ld+json">'
          '{"@type": "Article", "headline": "LD &amp; <b>co</b>"}</script>')
    assert extract(head("<title>Plain</title>", ld), url).title == "LD & co"
    twitter = '<meta name="twitter:title" content="Tweeted">'
    assert extract(head("<title>Plain</title>", ld, twitter), url).title == "Tweeted"
    # <title> holds text only (RCDATA): this is what a browser's tab shows, not markup.
    assert extract(head("<title>Plain <b>bold</b></title>"), url).title == "Plain <b>bold</b>"
    assert extract(head(), url).title == ""


def test_json_ld_graph_references_resolved():
    graph = """{"@context": "https://schema.org", "@graph": [
        {"@type": ["ReportageNews"], "headline": "H", "datePublished": "2022-05-01",
         "author": [{"@id": "#p1"}, {"@id": "#p2"}, "Third Writer", {"@id": "#p4"}],
         "publisher": {"@id": "#org"}, "image": {"@id": "#img"}},
        {"@type": "Person", "@id": "#p1", "name": "First Writer"},
        {"@type": "Person", "@id": "#p2", "name": ["Second Writer"]},
        {"@type": "Person", "@id": "#p4", "name": "Fourth Writer"},
        {"@type": "NewsMediaOrganization", "@id": "#org", "name": "Graph Gazette"},
        {"@type": "ImageObject", "@id": "#img", "contentUrl": "/i.jpg"}]}"""
    meta = extract(head(f'<script type="application/ld+json">{graph}</script>'),
                   "https://www.gazette.example/h")
    assert meta == ArticleMeta(None, "H", "Graph Gazette",
                               "First Writer, Second Writer and Third Writer",
                               date(2022, 5, 1), "", "https://www.gazette.example/i.jpg")


@pytest.mark.parametrize("tags, body, expected", [
    (['<meta property="article:author" content="Ann Author">'], "", "Ann Author"),
    (['<meta property="article:author" content="https://fb.com/ann">',
      '<meta name="author" content="Meta Name">'], "", "Meta Name"),
    ([], '<a rel="author" href="/u/1">Link One</a> and '
         '<a rel="nofollow author" href="/u/2">Link Two</a>', "Link One and Link Two"),
    ([], '<span itemprop="author">Item Prop</span>', "Item Prop"),
    ([], '<div class="c-byline">BY Byline Person | Jan 2, 2024</div>', "Byline Person"),
    ([], "<p>by Text Person</p>", "Text Person"),
    ([], "<p>Bystanders gathered in the square to watch.</p>", ""),
])
def test_author_sources(tags, body, expected):
    assert extract(head(*tags, body=body), "https://example.com/a").author == expected


@pytest.mark.parametrize("value, expected", [
    ("2023-12-26", date(2023, 12, 26)),
    ("2023-12-26T17:31:08+00:00", date(2023, 12, 26)),
    ("2023-12-26T17:31:08Z", date(2023, 12, 26)),
    ("2023-12-26T17:31:08.512Z", date(2023, 12, 26)),
    ("2023-12-26T23:31:08-0500", date(2023, 12, 26)),
    ("2023-12-26 17:31", date(2023, 12, 26)),
    ("2023-12-26T17:31:08+00:00Z", date(2023, 12, 26)),
    ("December 26, 2023", date(2023, 12, 26)),
    ("26 Dec 2023", date(2023, 12, 26)),
    ("2023-02-30", None),
    ("tomorrow", None),
    ("", None),
    ("9999-12-31", None),
])
def test_published_dates(value, expected):
    html = head(f'<meta property="article:published_time" content="{value}">')
    assert extract(html, "https://example.com/a").published == expected


@pytest.mark.parametrize("tags, body, expected", [
    ([], '<time datetime="2021-07-04T10:00">July 4</time>', date(2021, 7, 4)),
    (['<meta name="pubdate" content="20210705">'], "", date(2021, 7, 5)),
    (['<meta itemprop="datePublished" content="2021-07-06">'], "", date(2021, 7, 6)),
    (['<meta name="sailthru.date" content="Wed, 07 Jul 2021 10:00:00 GMT">'], "",
     date(2021, 7, 7)),
    ([], '<div class="entry-date">Posted Sept. 8th, 2021 by staff</div>', date(2021, 9, 8)),
    ([], "<p>The Mayor 12 2021 plan</p>", None),
])
def test_published_fallbacks(tags, body, expected):
    assert extract(head(*tags, body=body), "https://example.com/a").published == expected


def test_description_falls_back_to_first_substantial_paragraph_and_is_cut():
    words = " ".join(["word"] * 200)
    body = (f"<nav><p>{'Navigation text that is long enough to count ' * 2}</p></nav>"
            f"<article><p>Too short.</p><p>By Some Writer, staff reporter at the paper</p>"
            f"<p>{words}</p></article>")
    description = extract(head(body=body), "https://example.com/a").description
    assert description == " ".join(["word"] * 100) + "…"
    assert len(description) == 500


def test_fields_capped():
    long_title = "Title " * 200
    html = head(f'<meta property="og:title" content="{long_title}">',
                f'<meta property="og:site_name" content="{"S" * 1000}">',
                f'<meta name="author" content="{"Name " * 100}">')
    meta = extract(html, "https://example.com/a")
    assert len(meta.title) <= 500 and meta.title.endswith("Title…")
    assert len(meta.site_name) == 255 and meta.site_name.endswith("…")
    assert len(meta.author) <= 255


@pytest.mark.parametrize("html", [
    "", "   ", "\x00\x01\x02", "<", "<html>", "<?xml version='1.0' encoding='utf-8'?><html/>",
    "<!-- only a comment -->", "\ud800\udfff broken surrogates", "{\"not\": \"html\"}",
    "<html><head><script type='application/ld+json'>" + "[" * 100_000 + "</script></head></html>",
    "<meta property='og:title' content='" + "x" * 2_000_000 + "'>",
])
def test_bad_documents_never_raise(html):
    meta = extract(html, "https://www.example.com/a")
    assert isinstance(meta, ArticleMeta)
    assert meta.site_name == "example.com"
    assert len(meta.title) <= 500


@pytest.mark.parametrize("encoding", ["utf-8", "latin-1", "cp1252", "utf-16"])
def test_garbage_bytes_decoded_as_text_never_raise(encoding):
    rng = random.Random(20231226)
    for _ in range(20):
        html = rng.randbytes(5000).decode(encoding, "replace")
        assert isinstance(extract(html, "https://example.com/"), ArticleMeta)


@pytest.mark.parametrize("url", ["", "not a url", "http://[::1", "javascript:alert(1)"])
def test_bad_page_urls_never_raise(url):
    html = head('<link rel="canonical" href="/a">', '<meta property="og:image" content="b.png">')
    meta = extract(html, url)
    assert meta.canonical_url is None and meta.image_url is None
