"""Tags, cover pictures and chapters in audio files: read from ID3, Vorbis comments and MP4
atoms while probing, and ID3 chapters written into MP3s."""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

from mutagen import flac, id3

MAX_TEXT_CHARS = 4000
TAG_KEYS = ("title", "artist", "album", "track", "date", "comment")


@dataclass(frozen=True)
class Chapter:
    """A chapter: where it starts (and ends, if known), its title and its link."""

    start_seconds: float
    end_seconds: float | None
    title: str
    url: str | None


@dataclass(frozen=True)
class Picture:
    """Cover art found in a file: its bytes (a JPEG or PNG) and their type."""

    data: bytes
    mime_type: str


@dataclass(kw_only=True)
class Metadata:
    """What a file says about itself besides its audio: text tags, a cover, chapters."""

    tags: dict[str, str] = field(default_factory=dict)
    picture: Picture | None = None
    chapters: list[Chapter] = field(default_factory=list)


_ID3_TEXT = {"TIT2": "title", "TPE1": "artist", "TALB": "album", "TRCK": "track", "TDRC": "date"}
_VORBIS_TEXT = {"title": "title", "artist": "artist", "album": "album", "tracknumber": "track",
                "date": "date", "comment": "comment", "description": "comment"}
MP4_TEXT = {"\xa9nam": "title", "\xa9ART": "artist", "\xa9alb": "album", "\xa9day": "date",
            "\xa9cmt": "comment"}


def read_id3(tags: id3.ID3, p: Metadata) -> None:
    """Fill p from an ID3 tag: text, the front cover (or any picture), chapters."""
    for frame_id, key in _ID3_TEXT.items():
        texts = [fr.text[0] for fr in tags.getall(frame_id) if fr.text]
        if texts:
            p.tags[key] = str(texts[0])
    comments = sorted((c for c in tags.getall("COMM") if c.text), key=lambda c: c.desc != "")
    if comments:
        p.tags["comment"] = str(comments[0].text[0])
    covers = sorted(tags.getall("APIC"), key=lambda a: a.type != 3)
    p.picture = next(filter(None, (picture(a.data) for a in covers)), None)
    p.chapters = _id3_chapters(tags)


def _id3_chapters(tags: id3.ID3) -> list[Chapter]:
    chaps = {c.element_id: c for c in tags.getall("CHAP")}
    tocs = sorted(tags.getall("CTOC"), key=lambda t: not t.flags & id3.CTOCFlags.TOP_LEVEL)
    order = [i for i in tocs[0].child_element_ids if i in chaps] if tocs else []
    chapters = []
    for n, element_id in enumerate(order or list(chaps), 1):
        c = chaps[element_id]
        titles = [str(t.text[0]) for t in c.sub_frames.getall("TIT2") if t.text]
        urls = [_clean_url(w.url) for w in c.sub_frames.getall("WXXX")]
        end = c.end_time / 1000 if c.end_time > c.start_time else None
        title = clean(titles[0] if titles else "", False) or f"Chapter {n}"
        chapters.append(Chapter(c.start_time / 1000, end, title, next(filter(None, urls), None)))
    return chapters


def read_vorbis(comments: dict, p: Metadata) -> None:
    """Fill p's text tags from Vorbis comments (lower-cased names), keeping what it has."""
    for name, key in _VORBIS_TEXT.items():
        if comments.get(name) and key not in p.tags:
            p.tags[key] = comments[name][0]


def picture(data: bytes) -> Picture | None:
    """Keep cover art only when its bytes really are a JPEG or PNG."""
    if data.startswith(b"\xff\xd8\xff"):
        return Picture(bytes(data), "image/jpeg")
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return Picture(bytes(data), "image/png")
    return None


def flac_picture(pictures: list[flac.Picture]) -> Picture | None:
    """The front cover of FLAC picture blocks (or any picture), if it is a JPEG or PNG."""
    ordered = sorted(pictures, key=lambda pic: pic.type != 3)
    return next(filter(None, (picture(pic.data) for pic in ordered)), None)


_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff]")


def clean(value: str, multiline: bool) -> str:
    """Tag text made safe to show and to put in XML: no control characters, spaces folded."""
    value = _ILLEGAL.sub("", value.replace("\r\n", "\n").replace("\r", "\n"))
    lines = value.split("\n") if multiline else [value]
    return "\n".join(" ".join(line.split()) for line in lines).strip()[:MAX_TEXT_CHARS].rstrip()


def _clean_url(url: str) -> str | None:
    url = clean(url or "", False)
    return url if re.fullmatch(r"https?://[^\s<>\"]+", url, re.IGNORECASE) else None


def write_chapters(path: str | os.PathLike, chapters: list[Chapter],
                   duration_seconds: float) -> None:
    """Write ID3 chapters (CHAP with title and link, one CTOC) into an MP3, replacing old ones."""
    try:
        tags = id3.ID3(path)
    except id3.ID3NoHeaderError:
        tags = id3.ID3()
    tags.delall("CHAP")
    tags.delall("CTOC")
    ids = [f"chp{n}" for n in range(len(chapters))]
    ends = [c.start_seconds for c in chapters[1:]] + [duration_seconds]
    for element_id, chapter, end in zip(ids, chapters, ends):
        frames = [id3.TIT2(encoding=3, text=[chapter.title])]
        if chapter.url:
            frames.append(id3.WXXX(encoding=3, desc="", url=chapter.url))
        tags.add(id3.CHAP(element_id=element_id, start_time=int(chapter.start_seconds * 1000),
                          end_time=int(end * 1000), sub_frames=frames))
    if chapters:
        tags.add(id3.CTOC(element_id="toc", flags=id3.CTOCFlags.TOP_LEVEL | id3.CTOCFlags.ORDERED,
                          child_element_ids=ids,
                          sub_frames=[id3.TIT2(encoding=3, text=["Chapters"])]))
    tags.save(path, v2_version=3)
