"""Rendered feeds kept as bytes: the XML, its gzip copy and their validators, in the feed folder.

A stored feed is three files, replaced atomically under a lock, metadata last: <slug>.xml,
<slug>.xml.gz and <slug>.json. Every worker (and nginx, if configured) reads them. The metadata
also indexes each item's XML with its episode's revision, so the next rebuild renders only the
items whose revision moved and copies the others from the last feed.

The gzip copy is one gzip member whose deflate stream is independent segments of RUN items laid
end to end, counted from the oldest item (new episodes go on top, so they only touch the newest
segment). A rebuild compresses again only the segments whose items changed.
"""
from __future__ import annotations

import fcntl
import json
import os
import struct
import threading
import time
import zlib
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from ..media.storage import remove_older

LEVEL = 1  # the fastest: a full rebuild compresses the whole feed
RUN = 64  # items per segment: small enough to redo cheaply, large enough to compress well
GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"  # deflate, no name, mtime 0
FINAL_BLOCK = b"\x03\x00"  # an empty last block closes the deflate stream
LAYOUT = 4  # of the metadata file; a stored feed of another layout is rendered again


@dataclass(frozen=True)
class Built:
    """A stored feed as served: bytes, gzip copy, validators and the index of its items."""
    xml: bytes
    gz: bytes
    etag: str
    last_modified: float
    expires_at: float | None = None
    moved_to: str = ""  # the show's new feed address, answered with a 301
    feed_rev: int = 0  # the show's feed revision this was rendered from
    context: str = ""  # what every item depends on: format version, base URL, show slug
    items: dict[int, tuple[int, int, int]] = field(default_factory=dict)  # id: rev, start, end
    segments: list[tuple[int, int]] = field(default_factory=list)  # gzip start, end; feed order
    stamp: tuple = ()  # the metadata file's identity, to notice another process's rebuild

    def revisions(self) -> dict[int, int]:
        """Each stored item's revision, by episode id."""
        return {episode_id: entry[0] for episode_id, entry in self.items.items()}

    def stored_segments(self) -> dict[tuple, memoryview]:
        """Each deflate segment by the (episode id, revision) of its items."""
        keys = [(i, entry[0]) for i, entry in self.items.items()]
        found, gz = {}, memoryview(self.gz)
        for (start, end), span in zip(self.segments, _spans(len(keys))):
            found[tuple(keys[span[0]:span[1]])] = gz[start:end]
        return found

    def item_xml(self, episode_id: int) -> memoryview:
        """The stored XML of one item."""
        _, start, end = self.items[episode_id]
        return memoryview(self.xml)[start:end]


def in_order(order: list[tuple[int, int]], fresh: dict[int, bytes], last: Built | None
             ) -> list[tuple[int, int, bytes | memoryview]]:
    """The feed's items in order (episode id, revision, XML): fresh ones, the rest from `last`."""
    return [(i, rev, fresh[i] if i in fresh else last.item_xml(i)) for i, rev in order]


def _spans(count: int) -> list[tuple[int, int]]:
    """Segment bounds over `count` items in feed order, RUN apiece counted from the oldest."""
    ends = range(count, 0, -RUN)
    return [(max(0, end - RUN), end) for end in ends][::-1]


def _gzip(head: bytes, items: list, tail: bytes, last: Built | None
          ) -> tuple[list[bytes | memoryview], list[tuple[int, int]]]:
    """The gzip copy's pieces (header, segments, trailer to come) and each segment's span."""
    reusable = last.stored_segments() if last is not None else {}
    pieces, spans, at = [GZIP_HEADER, _deflate([head])], [], 0
    at = len(GZIP_HEADER) + len(pieces[1])
    for start, end in _spans(len(items)):
        run = items[start:end]
        segment = reusable.get(tuple((i, rev) for i, rev, _ in run))
        if segment is None:
            segment = _deflate([xml for _, _, xml in run])
        pieces.append(segment)
        spans.append((at, at + len(segment)))
        at += len(segment)
    return pieces + [_deflate([tail]), FINAL_BLOCK], spans


def _deflate(pieces) -> bytes:
    """A raw deflate segment, valid anywhere in the stream, flushed to a byte boundary."""
    compressor = zlib.compressobj(LEVEL, zlib.DEFLATED, -zlib.MAX_WBITS)
    return b"".join([*map(compressor.compress, pieces), compressor.flush(zlib.Z_SYNC_FLUSH)])


# --- writing -------------------------------------------------------------------------------

def store(folder: Path, slug: str, head: bytes, items: list, tail: bytes, *, last: Built | None,
          feed_rev: int, context: str, expires_at: float | None, moved_to: str) -> Built:
    """Assemble and write a feed, reusing `last`'s segments; a newer revision stored meanwhile
    wins."""
    index, at = {}, len(head)
    for episode_id, rev, xml in items:
        index[episode_id] = (rev, at, at + len(xml))
        at += len(xml)
    xml = b"".join([head, *(x for _, _, x in items), tail])
    pieces, segments = _gzip(head, items, tail, last)
    crc = zlib.crc32(xml)
    gz = b"".join([*pieces, struct.pack("<II", crc, len(xml) & 0xFFFFFFFF)])
    etag = f'"{crc:08x}{len(xml):x}-{feed_rev}"'  # strong: content and revision together
    folder.mkdir(parents=True, exist_ok=True)
    with _locked(folder):
        old = _read_meta(folder / f"{slug}.json")
        newer = old is not None and old.get("feed_rev", 0) > feed_rev
        if not newer:
            last_modified = old["last_modified"] if old and old["etag"] == etag else time.time()
            meta = {"layout": LAYOUT, "etag": etag, "last_modified": last_modified,
                    "expires_at": expires_at, "moved_to": moved_to, "feed_rev": feed_rev,
                    "context": context, "length": len(xml), "crc": crc,
                    "items": [[i, *entry] for i, entry in index.items()], "segments": segments}
            _atomic_write(folder / f"{slug}.xml", xml)
            _atomic_write(folder / f"{slug}.xml.gz", gz)
            _atomic_write(folder / f"{slug}.json", json.dumps(meta).encode())
            (folder / f"{slug}.json.stale").unlink(missing_ok=True)
            stamp = _stamp(folder / f"{slug}.json")
    if newer:  # a newer rebuild stored meanwhile: serve that (read outside the write lock)
        return cached(folder, slug) or Built(xml, gz, etag, time.time(), expires_at, moved_to,
                                             feed_rev, context, index, segments)
    built = Built(xml, gz, etag, last_modified, expires_at, moved_to, feed_rev, context, index,
                  segments, stamp)
    _memory[(str(folder), slug)] = built
    return built


def retire(folder: Path, slug: str) -> None:
    """Stop serving a show's stored feed (a change committed), keeping it for item reuse."""
    key = (str(folder), slug)
    if key in _memory:
        _previous[key] = _memory.pop(key)
    try:
        os.replace(folder / f"{slug}.json", folder / f"{slug}.json.stale")
    except FileNotFoundError:
        pass


def forget(folder: Path, slug: str) -> None:
    """Remove a show's stored feed (when the show is deleted or renamed)."""
    _memory.pop((str(folder), slug), None)
    _previous.pop((str(folder), slug), None)
    if not folder.is_dir():
        return
    with _locked(folder):
        for name in (f"{slug}.json", f"{slug}.json.stale", f"{slug}.xml", f"{slug}.xml.gz"):
            (folder / name).unlink(missing_ok=True)


def _atomic_write(path: Path, data: bytes) -> None:
    # No fsync: a stored feed is a cache. Loading checks its length and CRC against the
    # metadata, so a file a crash left short is rebuilt, never served.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    with open(tmp, "wb") as out:
        out.write(data)
    os.replace(tmp, path)


def remove_temp_files(folder: Path, *, older_than: float = 60.0) -> int:
    """Delete temp files a rebuild killed half-way left in the feed folder; return the count."""
    # Writers hold the exclusive lock while their temp files exist, so under it none is being
    # written; the age is a second guard, for a writer on a filesystem where flock is advisory.
    if not folder.is_dir():
        return 0
    with _locked(folder), os.scandir(folder) as entries:
        return remove_older([e for e in entries
                             if e.name.startswith(".") and e.name.endswith(".tmp")], older_than)


@contextmanager
def _locked(folder: Path, shared: bool = False):
    """Hold the feed folder's lock: writers alone, readers together."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


# --- reading -------------------------------------------------------------------------------

_memory: dict[tuple[str, str], Built] = {}
_previous: dict[tuple[str, str], Built] = {}


def cached(folder: Path, slug: str) -> Built | None:
    """The stored feed of a show (expired or not), from memory while its files are unchanged."""
    try:
        stamp = _stamp(folder / f"{slug}.json")
    except FileNotFoundError:
        return None
    built = _memory.get((str(folder), slug))
    if built is None or built.stamp != stamp:
        built = _load(folder, slug)
        if built is not None:
            _memory[(str(folder), slug)] = built
    return built


def previous(folder: Path, slug: str) -> Built | None:
    """The last feed stored for a show, current or retired: the items a rebuild can reuse."""
    key = (str(folder), slug)
    return (cached(folder, slug) or _previous.get(key)
            or _load(folder, slug, f"{slug}.json.stale"))


def _load(folder: Path, slug: str, meta_name: str = "") -> Built | None:
    meta_path = folder / (meta_name or f"{slug}.json")
    try:
        with _locked(folder, shared=True):
            stamp = _stamp(meta_path)
            meta = json.loads(meta_path.read_bytes())
            xml = (folder / f"{slug}.xml").read_bytes()
            gz = (folder / f"{slug}.xml.gz").read_bytes()
        crc, length = meta["crc"], meta["length"]
        if (meta.get("layout") != LAYOUT or len(xml) != length
                or gz[-8:] != struct.pack("<II", crc, length & 0xFFFFFFFF)):
            return None
        items = {i: (rev, start, end) for i, rev, start, end in meta["items"]}
        return Built(xml, gz, meta["etag"], meta["last_modified"], meta["expires_at"],
                     meta["moved_to"], meta["feed_rev"], meta["context"], items,
                     [tuple(span) for span in meta["segments"]], stamp)
    except (OSError, ValueError, TypeError, KeyError):
        return None


def _stamp(path: Path) -> tuple[int, int]:
    # The inode too: every write is a new file, while mtimes can tie within a clock tick.
    st = os.stat(path)
    return st.st_ino, st.st_mtime_ns


def _read_meta(path: Path) -> dict | None:
    try:
        return json.loads(path.read_bytes())
    except (FileNotFoundError, ValueError):
        return None
