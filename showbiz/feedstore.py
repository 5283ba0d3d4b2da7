"""Rendered feeds kept as bytes: the XML, a gzip copy spliced from deflate segments, validators.

A stored feed is three names in the feed folder, replaced atomically under a lock, metadata
last: <slug>.xml, <slug>.xml.gz and <slug>.json. Every worker (and nginx, if configured) reads
them. The two large ones are symbolic links to hidden files written fresh each time: renaming a
file over an existing one makes ext4 start writing it out at once (8 ms for 9 MB), while
swapping a link does not.
The metadata also indexes each item's XML with its episode's revision, and the deflate segments,
so the next rebuild reuses every unchanged item and segment from the last feed.

The gzip copy is one gzip member whose deflate stream is segments laid end to end, each flushed
to a byte boundary. A segment holds up to RUN consecutive items, compressed with the item before
them as its dictionary (the decompressor has just written those bytes, so the references hold),
or with none. That is the ratio of compressing the whole feed at once, and an edit compresses
one segment again, not 9 MB.
"""
from __future__ import annotations

import fcntl
import json
import os
import struct
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from isal import isal_zlib

GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"  # deflate, no name, mtime 0
FINAL_BLOCK = b"\x03\x00"  # an empty last block closes the deflate stream
# ISA-L's level 2 compresses this XML as small as zlib's level 1 (nginx's default) in half the
# time: 23 ms instead of 47 for a 1,000-item feed.
LEVEL = 2
WINDOW = 32768  # how far back deflate can refer
# Items per segment. Each segment costs a fresh compressor and a block of its own: one per item
# took 22 ms for 1,000 items, 16 per segment 11 ms (the whole feed at once: 10 ms). An edit
# compresses up to 16 items again (0.2 ms).
RUN = 16
LAYOUT = 2  # of the metadata file; a stored feed of another layout is rendered again


class Segment(NamedTuple):
    """A deflate segment of consecutive items, flushed to a byte boundary, compressed after the
    item `after` (its XML was the dictionary) or, if None, with no dictionary: valid anywhere."""
    ids: tuple[int, ...]
    after: int | None
    gz: bytes | memoryview


class Rendered(NamedTuple):
    """Items rendered for a rebuild: their XML by episode id, and segments made of them."""
    xml: dict[int, bytes]
    segments: list[Segment]


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
    items: dict[int, tuple[int, int, int]] = field(default_factory=dict)  # id: rev, XML start, end
    # in feed order: (how many items, gzip start, end, whether after the item before them)
    segments: list[tuple[int, int, int, bool]] = field(default_factory=list)
    stamp: tuple = ()  # the metadata file's identity, to notice another process's rebuild

    def revisions(self, context: str) -> dict[int, int]:
        """Each stored item's revision, if rendered in this context (format, base URL, show)."""
        if context != self.context:
            return {}
        return {episode_id: entry[0] for episode_id, entry in self.items.items()}

    def stored_segments(self) -> list[Segment]:
        """The deflate segments, as the rebuild that made them described them."""
        ids, gz, found, at = list(self.items), memoryview(self.gz), [], 0
        for count, start, end, primed in self.segments:
            found.append(Segment(tuple(ids[at:at + count]), ids[at - 1] if primed else None,
                                 gz[start:end]))
            at += count
        return found


class Layout(NamedTuple):
    """A feed's items in order, (episode id, revision, XML), and segments covering them."""
    items: list[tuple[int, int, bytes | memoryview]]
    segments: list[Segment]


def deflate(data: bytes | memoryview, after: bytes | memoryview = b"") -> bytes:
    """A raw deflate segment that follows `after` in the stream, flushed to a byte boundary."""
    return _deflate([data], after)


def _deflate(pieces, after) -> bytes:
    compressor = isal_zlib.compressobj(LEVEL, isal_zlib.DEFLATED, -isal_zlib.MAX_WBITS,
                                       **({"zdict": after[-WINDOW:]} if after else {}))
    return b"".join([*map(compressor.compress, pieces),
                     compressor.flush(isal_zlib.Z_SYNC_FLUSH)])


def compress(items: list[tuple[int, bytes | memoryview]],
             before: tuple[int, bytes | memoryview] | None = None) -> list[Segment]:
    """Consecutive items (episode id, XML) in segments of up to RUN, each after the item before
    it; the first after `before` (episode id, XML), or with no dictionary."""
    return [_segment(run, after) for run, after in _runs(items, before)]


def _runs(items: list, before: tuple | None) -> list[tuple[list, tuple | None]]:
    return [(items[start:start + RUN], items[start - 1] if start else before)
            for start in range(0, len(items), RUN)]


def _segment(run: list, before: tuple | None) -> Segment:
    after_id, after = before or (None, b"")
    return Segment(tuple(i for i, _ in run), after_id, _deflate([xml for _, xml in run], after))


def in_order(order: list[tuple[int, int]], fresh: Rendered, last: Built | None) -> Layout:
    """The feed's items in order (episode id, revision): fresh ones, and the rest from the last
    feed; with every segment, fresh or stored, that still holds, and new ones for the rest."""
    if last is not None:
        xml, stored = memoryview(last.xml), last.items
    items = [(i, rev, fresh.xml[i] if i in fresh.xml else xml[stored[i][1]:stored[i][2]])
             for i, rev in order]
    position = {i: at for at, (i, _) in enumerate(order)}
    holding = {}  # position: a segment that starts there and still holds
    for segment in fresh.segments:
        if _holds(segment, order, position):
            holding[position[segment.ids[0]]] = segment
    for segment in last.stored_segments() if last is not None else ():
        if _holds(segment, order, position) and not any(
                i in fresh.xml for i in (*segment.ids, segment.after)):
            holding[position[segment.ids[0]]] = segment
    pairs, jobs, at = [(i, xml) for i, _, xml in items], [], 0
    while at < len(items):  # the items no segment holds, in runs to compress
        if at in holding:
            at += len(holding[at].ids)
            continue
        end = at + 1
        while end < len(items):
            segment = holding.get(end)
            if segment is not None and len(segment.ids) >= RUN:
                break
            end += len(holding.pop(end).ids) if segment else 1  # a short one joins in
        jobs += _runs(pairs[at:end], pairs[at - 1] if at else None)
        at = end
    for segment in _compress_all(jobs):
        holding[position[segment.ids[0]]] = segment
    return Layout(items, [holding[at] for at in sorted(holding)])


def _holds(segment: Segment, order: list[tuple[int, int]], position: dict[int, int]) -> bool:
    """Whether a segment's items come in the same order, after the same item, in this feed."""
    start = position.get(segment.ids[0])
    if start is None or start + len(segment.ids) > len(order):
        return False
    if segment.after is not None and (start == 0 or order[start - 1][0] != segment.after):
        return False
    return all(order[start + k][0] == i for k, i in enumerate(segment.ids))


def _compress_all(jobs: list) -> list[Segment]:
    if len(jobs) < 4:
        return _compress_each(jobs)
    # ISA-L lets go of the GIL: half the runs are compressed on the other core meanwhile.
    with ThreadPoolExecutor(1) as pool:
        other = pool.submit(_compress_each, jobs[:len(jobs) // 2])
        return _compress_each(jobs[len(jobs) // 2:]) + other.result()


def _compress_each(jobs: list) -> list[Segment]:
    return [_segment(run, before) for run, before in jobs]


# --- writing -------------------------------------------------------------------------------

def store(folder: Path, slug: str, head: bytes, layout: Layout, tail: bytes, *,
          feed_rev: int, context: str, expires_at: float | None, moved_to: str) -> Built:
    """Assemble and write a feed; a feed stored meanwhile from a newer revision wins."""
    xml_parts, gz_parts, items, segments = [head], [GZIP_HEADER, deflate(head)], {}, []
    xml_at, gz_at = len(head), len(GZIP_HEADER) + len(gz_parts[1])
    for episode_id, rev, item in layout.items:
        items[episode_id] = (rev, xml_at, xml_at + len(item))
        xml_parts.append(item)
        xml_at += len(item)
    for segment in layout.segments:
        segments.append((len(segment.ids), gz_at, gz_at + len(segment.gz),
                         segment.after is not None))
        gz_parts.append(segment.gz)
        gz_at += len(segment.gz)
    xml_parts.append(tail)
    xml = b"".join(xml_parts)
    gz_parts += [deflate(tail), FINAL_BLOCK]
    folder.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(1) as pool, _locked(folder):
        crc_job = pool.submit(isal_zlib.crc32, xml)  # no GIL held: CRC while XML is written
        old = _read_meta(folder / f"{slug}.json")
        newer = bool(old and old.get("feed_rev", 0) > feed_rev)
        if not newer:
            token = f"{time.time_ns()}-{os.getpid()}-{threading.get_ident()}"
            _write_linked(folder, f"{slug}.xml", xml, token)
            crc = crc_job.result()
            gz = b"".join([*gz_parts, _trailer(crc, len(xml))])
            _write_linked(folder, f"{slug}.xml.gz", gz, token)
            etag = _etag(crc, len(xml), feed_rev)
            same = old and old["etag"] == etag
            meta = {"layout": LAYOUT, "etag": etag,
                    "last_modified": old["last_modified"] if same else time.time(),
                    "expires_at": expires_at, "moved_to": moved_to, "feed_rev": feed_rev,
                    "context": context, "length": len(xml), "crc": crc,
                    "items": _flat((i, *entry) for i, entry in items.items()),
                    "segments": _flat(segments)}
            _atomic_write(folder / f"{slug}.json", json.dumps(meta, separators=(",", ":")).encode())
            stamp = _stamp(folder / f"{slug}.json")
            _remove_unlinked(folder, slug)
    if newer:  # serve what the newer rebuild stored; ours only if that cannot be read
        crc = crc_job.result()
        return cached(folder, slug) or Built(
            xml, b"".join([*gz_parts, _trailer(crc, len(xml))]), _etag(crc, len(xml), feed_rev),
            time.time(), expires_at, moved_to, feed_rev, context, items, segments)
    built = Built(xml, gz, etag, meta["last_modified"], expires_at, moved_to, feed_rev, context,
                  items, segments, stamp)
    _memory[(str(folder), slug)] = built
    return built


def _etag(crc: int, length: int, feed_rev: int) -> str:
    # The revision changes with every edit and the CRC with the content, so together they are
    # a strong validator without hashing 9 MB again.
    return f'"{crc:08x}{length:x}-{feed_rev}"'


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
        _remove_unlinked(folder, slug)


def _write_linked(folder: Path, name: str, data: bytes, token: str) -> None:
    """Point `name` at a new hidden file holding `data`; the file it pointed at goes."""
    target = f".{name}.{token}"
    with open(folder / target, "wb") as out:
        out.write(data)
    link = folder / f"{target}.link"
    os.symlink(target, link)
    try:
        old = os.readlink(folder / name)
    except OSError:  # none yet, or a plain file from an older version
        old = None
    os.replace(link, folder / name)
    if old and old.startswith(f".{name}."):
        (folder / old).unlink(missing_ok=True)


def _remove_unlinked(folder: Path, slug: str) -> None:
    """Remove hidden feed files nothing points at (left by a crash or a forgotten show)."""
    current = set()
    for name in (f"{slug}.xml", f"{slug}.xml.gz"):
        try:
            current.add(os.readlink(folder / name))
        except OSError:
            pass
    for path in [*folder.glob(f".{slug}.xml*"), *folder.glob(f".{slug}.json.*.tmp")]:
        if path.name not in current:
            path.unlink(missing_ok=True)


def _atomic_write(path: Path, data: bytes) -> None:
    # No fsync: a stored feed is a cache. Loading checks its length and CRC against the
    # metadata, so a file a crash left short is rebuilt, never served.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    with open(tmp, "wb") as out:
        out.write(data)
    os.replace(tmp, path)


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


def cached(folder: Path, slug: str, on_load=None) -> Built | None:
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
            if on_load:
                on_load(built)
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
                or gz[-8:] != _trailer(crc, length) or isal_zlib.crc32(xml) != crc):
            return None
        items = {row[0]: row[1:] for row in _rows(meta["items"], 4)}
        segments = [(count, start, end, bool(primed))
                    for count, start, end, primed in _rows(meta["segments"], 4)]
        return Built(xml, gz, meta["etag"], meta["last_modified"], meta["expires_at"],
                     meta["moved_to"], meta["feed_rev"], meta["context"], items, segments, stamp)
    except (OSError, ValueError, TypeError, KeyError):
        return None


def _flat(rows) -> list:
    """Rows of numbers as one list, for the metadata file (a third of nested lists' encoding
    time)."""
    return [number for row in rows for number in row]


def _rows(flat: list[int], width: int) -> list[tuple]:
    return [tuple(flat[i:i + width]) for i in range(0, len(flat), width)]


def _stamp(path: Path) -> tuple[int, int]:
    # The inode too: every write is a new file, while mtimes can tie within a clock tick.
    st = os.stat(path)
    return st.st_ino, st.st_mtime_ns


def _trailer(crc: int, length: int) -> bytes:
    return struct.pack("<II", crc, length & 0xFFFFFFFF)


def _read_meta(path: Path) -> dict | None:
    try:
        return json.loads(path.read_bytes())
    except (FileNotFoundError, ValueError):
        return None
