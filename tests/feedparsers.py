"""Parse a podcast feed with three independent real parsers and normalise what each returns.

`parse_all(xml, url)` gives ``{"feedparser": ..., "podcastparser": ..., "partytime": ...}``, each
in the same shape (the one tests/js/parse-feed.mjs prints for podcast-partytime, the Podcast
Index's parser, run under Node.js)::

    {title, link, guid, locked, lockedOwner, categories, explicit, author, ownerEmail, itunesType,
     funding: [{url, message}], persons: [{name, role, group, img, href}], medium,
     episodes: [{title, guid, link, pubDate, enclosure: {url, length, type}, duration, explicit,
                 episode, season, episodeType, podcastEpisode, podcastSeason, image,
                 persons: [...], chapters, transcripts: [{url, type, language}], description,
                 content}]}

What each value means:
- None: this parser doesn't expose the field (or, for an optional list, found nothing). A
  comparison must skip None; `disagreements()` does. `PARSER_GAPS` lists the fields each parser
  can't give, and why.
- guid is podcast:guid; locked is podcast:locked as a bool; lockedOwner its owner attribute.
- categories: "Parent > Child" paths (partytime, podcastparser), but only the flat list of
  category names from feedparser, which loses the nesting: compare `category_terms()`.
- episode/season are itunes:episode/itunes:season; podcastEpisode/podcastSeason the podcast:
  tags; duration is whole seconds; pubDate is UTC ISO 8601 ("2024-05-14T06:00:00Z").
- description is the item's <description> with runs of whitespace collapsed to one space;
  content is content:encoded as that parser returns it (HTML).
- role and group of persons are lower-cased.
- Episodes come in each parser's order: document order, except podcastparser, which sorts
  newest first (oldest first for itunes:type serial). Match episodes by guid.

A parser that can't parse the feed raises FeedParseFailed; feedparser's does for any "bozo"
feed too (malformed XML, a declared encoding that doesn't fit). partytime's log lines go to the
script's stderr and are dropped when it succeeds.

Node side: `ensure_partytime()` finds node and runs `npm ci` in tests/js once when the pinned
podcast-partytime isn't installed; `partytime_available()` tells whether that works;
`require_partytime()` skips a test loudly without it, or fails it when CI is set.

Run this file to see the three normalised results for tests/js/sample-feed.xml.
"""

from __future__ import annotations

import calendar
import contextlib
import datetime as dt
import fcntl
import hashlib
import html
import io
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterable
from pathlib import Path

import feedparser
import podcastparser

JS_DIR = Path(__file__).resolve().parent / "js"
PARSE_SCRIPT = JS_DIR / "parse-feed.mjs"
SAMPLE_FEED = JS_DIR / "sample-feed.xml"
PARSERS = ("feedparser", "podcastparser", "partytime")
NODE_TIMEOUT = 60  # seconds for one parse of one feed
NPM_TIMEOUT = 600  # seconds for `npm ci`
MIN_NODE = 18

ITUNES_TAG_SCHEME = "http://www.itunes.com/"

# Fields a parser can't give, with the reason, as dotted paths ("episodes.x" is a field of each
# episode). The value there is None, or as noted.
PARSER_GAPS: dict[str, dict[str, str]] = {
    "feedparser": {
        "locked": "podcast:locked with an owner attribute keeps only the attributes (yes/no is lost)",
        "persons": "podcast:person keeps only the last element's attributes, not the name",
        "episodes.persons": "podcast:person keeps only the last element's attributes, not the name",
        "funding": "only the last podcast:funding, and only its url (message is None)",
        "episodes.transcripts": "only the last podcast:transcript of an item",
        "explicit": "itunes:explicit is True only for 'yes', False for 'clean', None otherwise: "
        "Apple's true/false both give None",
        "episodes.explicit": "as explicit",
        "author": "itunes:author is overwritten by itunes:owner/itunes:name when the owner comes "
        "after the author",
        "categories": "a flat list of names; nesting is lost and itunes:keywords land there too",
        "episodes.podcastEpisode": "None when podcast:episode has a display attribute",
        "episodes.podcastSeason": "None when podcast:season has a name attribute",
    },
    "podcastparser": {
        "title": "the feed URL's file name without extension when <title> is missing",
        "guid": "podcast:guid is not read",
        "medium": "podcast:medium is not read",
        "lockedOwner": "podcast:locked's owner is not read",
        "persons": "channel-level podcast:person is not read",
        "episodes.podcastEpisode": "podcast:episode is not read",
        "episodes.podcastSeason": "podcast:season is not read",
        "podcast namespace": "podcast:locked, funding, person, chapters and transcript are read "
        "only under the old namespace URI https://github.com/Podcastindex-org/"
        "podcast-namespace/blob/main/docs/1.0.md, not under "
        "https://podcastindex.org/namespace/1.0: there all are None",
        "funding": "only one url (the last), message None",
        "episodes.transcripts": "only one url (the last); type and language None",
        "episodes.enclosure.length": "None when missing or 0",
        "episodes.description": "None when <description> holds HTML (podcastparser then gives "
        "content:encoded stripped of its tags, which isn't reported)",
        "episodes.content": "<description> when there is no content:encoded and it holds HTML",
    },
    "partytime": {
        "explicit": "False when itunes:explicit is missing (never None)",
        "episodes.explicit": "False when itunes:explicit is missing (never None)",
        "episodes.duration": "0 when itunes:duration is missing; 1800 when it can't be read",
        "categories": "only Apple's own categories, named as Apple spells them; a parent with a "
        "child gives only the 'Parent > Child' path",
        "episodes": "items without an enclosure url or a guid are dropped",
        "episodes.description": "content:encoded, then itunes:summary, when <description> is "
        "missing",
        "episodes.content": "HTML entities inside content:encoded are decoded (&#8217; gives ’, "
        "&lt; gives <)",
        "persons": "an unknown role becomes 'host', an unknown group 'cast'",
        "text": "HTML entities in any text are decoded a second time: a title 'Tom &amp;lt;3' "
        "(text 'Tom &lt;3') gives 'Tom <3'; a double-escaped description looks right",
        "prefixes": "tags are matched by their literal prefix: only itunes:, podcast:, content: "
        "are read; the same namespace under another prefix (ns0:) is ignored",
        "numbers": "element text that looks like a number is turned into one: guid '0002' gives "
        "'2', '1e3' gives '1000'; an item <title>1984</title> gives None",
    },
}

# Differences that come from a parser, not from the feed: disagreements(results,
# ignore=KNOWN_DIFFERENCES) leaves them out.
KNOWN_DIFFERENCES = frozenset({("feedparser", "author")})


class FeedParseFailed(ValueError):
    """One of the parsers could not parse the feed."""

    def __init__(self, parser: str, message: str):
        super().__init__(f"{parser}: {message}")
        self.parser = parser


# --- running all three ----------------------------------------------------------------------


def parse_all(xml: bytes, url: str, parsers: Iterable[str] = PARSERS) -> dict[str, dict]:
    """The feed `xml` (fetched from `url`, the base of relative links) parsed by each parser."""
    functions = {
        "feedparser": lambda: parse_feedparser(xml, url),
        "podcastparser": lambda: parse_podcastparser(xml, url),
        "partytime": lambda: parse_partytime(xml),
    }
    return {name: functions[name]() for name in parsers}


# --- feedparser ----------------------------------------------------------------------------


def parse_feedparser(xml: bytes, url: str) -> dict:
    parsed = feedparser.parse(
        xml, response_headers={"content-type": "application/rss+xml", "content-location": url}
    )
    if parsed.bozo:
        raise FeedParseFailed("feedparser", repr(parsed.get("bozo_exception")))
    if not parsed.version.startswith("rss"):
        raise FeedParseFailed("feedparser", f"not an RSS feed: {parsed.version or 'unknown'}")
    feed = parsed.feed
    locked = feed.get("podcast_locked")
    funding = feed.get("podcast_funding")
    if isinstance(funding, dict):
        funding = [{"url": funding.get("url"), "message": None}]
    elif isinstance(funding, str):  # no attributes: only the text
        funding = [{"url": None, "message": funding.strip()}]
    return {
        "title": feed.get("title"),
        "link": feed.get("link"),
        "guid": _text(feed.get("podcast_guid")),
        "locked": _yes_no(locked) if isinstance(locked, str) else None,
        "lockedOwner": locked.get("owner") if isinstance(locked, dict) else None,
        "categories": [
            tag.term
            for tag in feed.get("tags", [])
            if tag.get("scheme") == ITUNES_TAG_SCHEME and tag.get("term")
        ],
        "explicit": feed.get("itunes_explicit"),
        "author": feed.get("author"),
        "ownerEmail": feed.get("publisher_detail", {}).get("email"),
        "itunesType": feed.get("itunes_type"),
        "funding": funding or [],
        "persons": None,
        "medium": _text(feed.get("podcast_medium")),
        "episodes": [_feedparser_episode(entry) for entry in parsed.entries],
    }


def _feedparser_episode(entry) -> dict:
    enclosure = entry.enclosures[0] if entry.get("enclosures") else None
    chapters = entry.get("podcast_chapters")
    transcript = entry.get("podcast_transcript")
    return {
        "title": entry.get("title"),
        "guid": entry.get("id"),
        "link": entry.get("link"),
        "pubDate": _iso(entry.get("published_parsed")),
        "enclosure": None
        if enclosure is None
        else {
            "url": enclosure.get("href"),
            "length": _int(enclosure.get("length")),
            "type": enclosure.get("type"),
        },
        "duration": _seconds(entry.get("itunes_duration")),
        "explicit": entry.get("itunes_explicit"),
        "episode": _int(entry.get("itunes_episode")),
        "season": _int(entry.get("itunes_season")),
        "episodeType": entry.get("itunes_episodetype"),
        "podcastEpisode": _int(_text(entry.get("podcast_episode"))),
        "podcastSeason": _int(_text(entry.get("podcast_season"))),
        "image": entry.get("image", {}).get("href"),
        "persons": None,
        "chapters": chapters.get("url") if isinstance(chapters, dict) else None,
        "transcripts": [
            {
                "url": transcript.get("url"),
                "type": transcript.get("type"),
                "language": transcript.get("language"),
            }
        ]
        if isinstance(transcript, dict)
        else [],
        "description": _collapse(entry.get("summary")),
        "content": entry.content[0].value if entry.get("content") else None,
    }


# --- podcastparser -------------------------------------------------------------------------


def parse_podcastparser(xml: bytes, url: str) -> dict:
    try:
        feed = podcastparser.parse(url, io.BytesIO(xml))
    except podcastparser.FeedParseError as error:
        raise FeedParseFailed("podcastparser", str(error)) from error
    funding = feed.get("funding_url")
    owner = feed.get("itunes_owner") or {}
    return {
        "title": feed.get("title"),
        "link": feed.get("link"),
        "guid": None,
        "locked": feed.get("import_prohibited"),
        "lockedOwner": None,
        "categories": [
            " > ".join(part for part in path if part)
            for path in feed.get("itunes_categories", [])
            if any(path)
        ],
        "explicit": feed.get("explicit"),
        "author": feed.get("itunes_author"),
        "ownerEmail": owner.get("email"),
        "itunesType": feed.get("type"),
        "funding": [{"url": funding, "message": None}] if funding else None,
        "persons": None,
        "medium": None,
        "episodes": [_podcastparser_episode(episode) for episode in feed["episodes"]],
    }


def _podcastparser_episode(episode: dict) -> dict:
    enclosure = episode["enclosures"][0] if episode.get("enclosures") else None
    persons = episode.get("persons")
    transcript = episode.get("transcript_url")
    description, content = episode.get("description"), episode.get("description_html")
    if description and content and description == podcastparser.remove_html_tags(content):
        description = None  # <description> held HTML: this is content:encoded without its tags
    return {
        "title": episode.get("title"),
        "guid": episode.get("guid"),
        "link": episode.get("link") or None,
        "pubDate": _iso(episode.get("published") or None),
        "enclosure": None
        if enclosure is None
        else {
            "url": enclosure["url"],
            "length": enclosure["file_size"] if enclosure["file_size"] >= 0 else None,
            "type": enclosure["mime_type"],
        },
        "duration": episode.get("total_time"),
        "explicit": episode.get("explicit"),
        "episode": episode.get("number"),
        "season": episode.get("season"),
        "episodeType": episode.get("type"),
        "podcastEpisode": None,
        "podcastSeason": None,
        "image": episode.get("episode_art_url"),
        "persons": None
        if persons is None
        else [
            {
                "name": (p.get("name") or "").strip() or None,
                "role": p.get("role"),
                "group": p.get("group"),
                "img": p.get("img"),
                "href": p.get("href"),
            }
            for p in persons
        ],
        "chapters": episode.get("chapters_json_url"),
        "transcripts": [{"url": transcript, "type": None, "language": None}]
        if transcript
        else None,
        "description": _collapse(description),
        "content": content,
    }


# --- podcast-partytime under Node.js ---------------------------------------------------------

_install_lock = threading.Lock()
_node: str | None = None
_unavailable: str | None = None


def _pinned_partytime() -> str:
    return json.loads((JS_DIR / "package.json").read_text())["dependencies"]["podcast-partytime"]


def _partytime_installed() -> bool:
    manifest = JS_DIR / "node_modules" / "podcast-partytime" / "package.json"
    try:
        return json.loads(manifest.read_text())["version"] == _pinned_partytime()
    except (OSError, ValueError, KeyError):
        return False


@contextlib.contextmanager
def _interprocess_lock():
    """Keep two test processes from running `npm ci` into the same folder at once."""
    digest = hashlib.sha256(str(JS_DIR).encode()).hexdigest()[:16]
    path = Path(tempfile.gettempdir()) / f"showbiz-npm-ci-{digest}.lock"
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_partytime() -> str:
    """The path of node, with tests/js's packages installed (`npm ci`, once, when missing).

    Raises RuntimeError saying what is missing when Node.js or npm isn't there or the install
    fails; a failure is remembered, so `npm ci` is tried at most once per process.
    """
    global _node, _unavailable
    with _install_lock:
        if _node is not None:
            return _node
        if _unavailable is not None:
            raise RuntimeError(_unavailable)
        try:
            _node = _find_node_and_install()
        except RuntimeError as error:
            _unavailable = str(error)
            raise
        return _node


def _find_node_and_install() -> str:
    """node, checked, with podcast-partytime installed."""
    node = shutil.which("node")
    if node is None:
        raise RuntimeError(
            "Node.js is not installed ('node' is not on PATH): the partytime "
            f"feed checks need Node.js >= {MIN_NODE} and npm"
        )
    version = subprocess.run(
        [node, "--version"], capture_output=True, text=True, timeout=30
    ).stdout.strip()
    major = re.match(r"v(\d+)\.", version)
    if not major or int(major.group(1)) < MIN_NODE:
        raise RuntimeError(
            f"{node} is Node.js {version or '?'}; the partytime feed checks "
            f"need Node.js >= {MIN_NODE}"
        )
    if not _partytime_installed():
        npm = shutil.which("npm")
        if npm is None:
            raise RuntimeError(
                "npm is not installed ('npm' is not on PATH): it is needed "
                f"once to install podcast-partytime into {JS_DIR}/node_modules"
            )
        with _interprocess_lock():
            if not _partytime_installed():
                _npm_ci(npm)
    return node


def _npm_ci(npm: str) -> None:
    command = [npm, "ci", "--prefix", str(JS_DIR), "--no-audit", "--no-fund", "--loglevel=error"]
    try:
        done = subprocess.run(
            command,
            cwd=JS_DIR,
            capture_output=True,
            text=True,
            timeout=NPM_TIMEOUT,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired as error:
        raise RuntimeError(f"`{' '.join(command)}` took more than {NPM_TIMEOUT} s") from error
    if done.returncode != 0 or not _partytime_installed():
        output = (done.stdout + done.stderr).strip()[-3000:]
        raise RuntimeError(f"`{' '.join(command)}` failed (exit {done.returncode}):\n{output}")


def partytime_available() -> bool:
    """Whether node and podcast-partytime can be used (installing it if needed)."""
    try:
        ensure_partytime()
    except RuntimeError:
        return False
    return True


def require_partytime() -> None:
    """In a test: go on if partytime can run; else fail under CI, skip loudly elsewhere."""
    import pytest

    if partytime_available():
        return
    message = f"podcast-partytime (Node.js) is unavailable: {_unavailable}"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(f"SKIPPED THE PARTYTIME FEED CHECK: {message}")


def parse_partytime(xml: bytes, timeout: float = NODE_TIMEOUT) -> dict:
    node = ensure_partytime()
    env = {**os.environ, "PARTYTIME_LOG": os.environ.get("PARTYTIME_LOG", "warn")}
    try:
        done = subprocess.run(
            [node, str(PARSE_SCRIPT)],
            input=xml,
            capture_output=True,
            timeout=timeout,
            cwd=JS_DIR,
            env=env,
        )
    except subprocess.TimeoutExpired as error:
        raise RuntimeError(f"partytime took more than {timeout} s to parse the feed") from error
    stderr = done.stderr.decode("utf-8", "replace").strip()
    if done.returncode != 0:
        raise FeedParseFailed("partytime", stderr[-3000:] or f"exit {done.returncode}")
    result = json.loads(done.stdout)
    for episode in result["episodes"]:
        episode["description"] = _collapse(episode["description"])
    return result


# --- comparing -----------------------------------------------------------------------------


def category_terms(categories: list[str] | None) -> set[str] | None:
    """The lower-cased category names in `categories`, paths split: for comparing parsers."""
    if categories is None:
        return None
    return {part.strip().lower() for path in categories for part in path.split(">") if part.strip()}


def _agree(a, b, decoded: bool = False) -> bool:
    """Equal where both parsers give a value; None on either side agrees with anything.

    With `decoded`, `b` comes from partytime, which decodes HTML entities a second time, so a
    string of `a` agrees when it equals `b` once its entities are decoded too.
    """
    if a is None or b is None:
        return True
    if isinstance(a, dict) and isinstance(b, dict):
        return all(_agree(a.get(key), b.get(key), decoded) for key in a.keys() | b.keys())
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_agree(x, y, decoded) for x, y in zip(a, b))
    if decoded and isinstance(a, str) and isinstance(b, str):
        return a == b or html.unescape(a) == b
    return a == b


def _comparable(path: str, value):
    if value is None:
        return None
    if path == "categories":
        return category_terms(value)
    return value


def disagreements(results: dict[str, dict], ignore: Iterable[tuple[str, str]] = ()) -> list[str]:
    """Where two parsers give different non-None values, as readable lines.

    Fields are dotted paths ("explicit", "episodes.duration"); `ignore` holds (parser, path)
    pairs to leave out, e.g. known gaps from PARSER_GAPS. Episodes are matched by guid.
    """
    ignored = set(ignore)
    names = list(results)
    lines: list[str] = []

    # Pairs of parsers, partytime always second (its strings are compared leniently).
    pairs = [
        (a, b) if b == "partytime" or a != "partytime" else (b, a)
        for i, a in enumerate(names)
        for b in names[i + 1 :]
    ]

    def compare(path: str, where: str, values: dict[str, object]) -> None:
        for first, second in pairs:
            if (first, path) in ignored or (second, path) in ignored:
                continue
            a = _comparable(path, values.get(first))
            b = _comparable(path, values.get(second))
            if not _agree(a, b, decoded=second == "partytime"):
                lines.append(
                    f"{where}: {first}={values.get(first)!r} {second}={values.get(second)!r}"
                )

    for key in results[names[0]]:
        if key != "episodes":
            compare(key, key, {name: result.get(key) for name, result in results.items()})
    by_guid = {name: {e["guid"]: e for e in result["episodes"]} for name, result in results.items()}
    guids = list(dict.fromkeys(g for episodes in by_guid.values() for g in episodes))
    for guid in guids:
        missing = [name for name in names if guid not in by_guid[name]]
        present = [name for name in names if guid in by_guid[name]]
        for name in missing:
            if (name, "episodes") not in ignored:
                lines.append(f"episodes: guid {guid!r} is missing from {name}")
        for key in by_guid[present[0]][guid]:
            compare(
                f"episodes.{key}",
                f"episodes[{guid}].{key}",
                {name: by_guid[name][guid].get(key) for name in present},
            )
    return lines


# --- small helpers -------------------------------------------------------------------------


def _text(value) -> str | None:
    """The text of an unknown-namespace element in feedparser (a dict if it had attributes)."""
    return value.strip() or None if isinstance(value, str) else None


def _yes_no(value: str) -> bool | None:
    return {"yes": True, "true": True, "no": False, "false": False}.get(value.strip().lower())


def _int(value) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def _seconds(value) -> int | None:
    """itunes:duration ("1834", "30:34", "0:30:34", "1834.5") as whole seconds."""
    if value is None:
        return None
    parts = str(value).strip().split(":")
    try:
        numbers = [float(part) for part in parts]
    except ValueError:
        return None
    if not 1 <= len(numbers) <= 3:
        return None
    seconds = 0.0
    for number in numbers:
        seconds = seconds * 60 + number
    return int(seconds)


def _iso(value) -> str | None:
    """A time.struct_time in UTC (feedparser) or Unix seconds (podcastparser) as ISO 8601."""
    if value is None:
        return None
    if isinstance(value, time.struct_time):
        value = calendar.timegm(value)
    return dt.datetime.fromtimestamp(value, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _collapse(text: str | None) -> str | None:
    return " ".join(text.split()) or None if text else None


if __name__ == "__main__":
    started = time.monotonic()
    all_results = parse_all(
        SAMPLE_FEED.read_bytes(), "http://podcasts.test/shows/dispatch-review/feed.xml"
    )
    for parser_name, parsed_feed in all_results.items():
        print(f"== {parser_name}")
        print(json.dumps(parsed_feed, indent=2, ensure_ascii=False))
    print(f"== disagreements between non-None values, but for {sorted(KNOWN_DIFFERENCES)}")
    for line in disagreements(all_results, ignore=KNOWN_DIFFERENCES) or ["none"]:
        print(line)
    print(f"== {time.monotonic() - started:.2f} s")
