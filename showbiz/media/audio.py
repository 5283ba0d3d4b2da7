"""Inspect uploaded audio files: the only module of the app that talks to mutagen."""
from __future__ import annotations

import base64
import binascii
import mmap
import os
import re
import struct
from dataclasses import dataclass, field
from typing import BinaryIO

import mutagen
from mutagen import flac, mp3, mp4, oggopus, oggvorbis, wave

from . import mp3frames, tags
from .tags import Chapter, Picture, write_chapters

__all__ = ["AudioError", "AudioInfo", "Chapter", "Picture", "probe", "write_chapters"]

MAX_TAG_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class AudioInfo:
    """What probing found in an audio file that can be published."""

    container: str
    codec: str
    mime_type: str
    extension: str
    duration_seconds: float
    bitrate: int | None
    sample_rate: int | None
    channels: int | None
    tags: dict[str, str]
    picture: Picture | None
    chapters: tuple[Chapter, ...]
    warnings: tuple[str, ...]


class AudioError(ValueError):
    """A refused file; the message is meant for the person who uploaded it."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class _Probe(tags.Metadata):
    codec: str
    duration: float
    bitrate: int | None
    sample_rate: int | None
    channels: int | None
    warnings: list[str] = field(default_factory=list)


# codec -> (container, mime type, extension, name shown to people)
_FORMATS = {"mp3": ("mp3", "audio/mpeg", ".mp3", "MP3"),
            "aac": ("mp4", "audio/x-m4a", ".m4a", "M4A"),
            "vorbis": ("ogg", "audio/ogg", ".ogg", "Ogg Vorbis"),
            "opus": ("ogg", "audio/opus", ".opus", "Opus"),
            "flac": ("flac", "audio/flac", ".flac", "FLAC"),
            "pcm": ("wav", "audio/wav", ".wav", "WAV")}
_HINT = "Please upload an MP3 or M4A (AAC) file."


def probe(path: str | os.PathLike) -> AudioInfo:
    """Describe the audio file at path, or raise AudioError saying why it can't be published."""
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        if size == 0:
            raise AudioError("The file is empty.", 400)
        start = _skip_id3v2(f, size)
        f.seek(start)
        head = f.read(512)
        kind = _sniff(head)
        try:
            result = _PROBERS[kind](f, size, start, head)
        except AudioError:
            raise
        except (mutagen.MutagenError, ValueError, struct.error, IndexError, KeyError,
                EOFError, OverflowError) as exc:
            raise AudioError(f"The {kind.upper()} file could not be read; it is probably "
                             "damaged.", 400) from exc
    return _finish(result)


def _finish(p: _Probe) -> AudioInfo:
    if not p.duration or p.duration <= 0:
        raise AudioError("The file contains no audio (its duration is 0 seconds).", 400)
    container, mime, ext, name = _FORMATS[p.codec]
    if container not in ("mp3", "mp4"):
        p.warnings.insert(0, f"Apple Podcasts accepts only MP3 and M4A; this {name} file "
                             "may not play everywhere.")
    found = {k: tags.clean(p.tags.get(k, ""), k == "comment") for k in tags.TAG_KEYS}
    chapters = sorted((c for c in p.chapters if c.start_seconds < p.duration),
                      key=lambda c: c.start_seconds)
    return AudioInfo(container, p.codec, mime, ext, p.duration, p.bitrate, p.sample_rate,
                     p.channels, {k: v for k, v in found.items() if v}, p.picture,
                     tuple(chapters), tuple(p.warnings))


def _check_complete(have: float, announced: float) -> None:
    if announced > 0 and have < 0.5 * announced:
        raise AudioError(f"The file seems to be cut off: it holds only "
                         f"{round(100 * have / announced)}% of the audio its header announces. "
                         "Please upload it again.", 400)


# --- telling audio from everything else ------------------------------------

def _skip_id3v2(f: BinaryIO, size: int) -> int:
    # Checked here because mutagen would read (and allocate) whatever size a tag declares.
    offset = 0
    for _ in range(100):
        f.seek(offset)
        header = f.read(10)
        if len(header) < 10 or header[:3] != b"ID3" or header[6:10] == b"\0\0\0\0":
            return offset
        if header[3] > 4 or any(b & 0x80 for b in header[6:10]):
            raise AudioError("The file starts with a damaged ID3 tag.", 400)
        declared = header[6] << 21 | header[7] << 14 | header[8] << 7 | header[9]
        tag_size = 10 + declared + (10 if header[5] & 0x10 else 0)
        if offset + tag_size > size:
            raise AudioError("The file's ID3 tag claims to be larger than the whole file; "
                             "the file is damaged or incomplete.", 400)
        if tag_size > MAX_TAG_BYTES:
            raise AudioError("The file's ID3 tag is larger than 16 MB (probably huge cover "
                             "art); please shrink it and upload again.", 400)
        offset += tag_size
    raise AudioError("The file starts with too many ID3 tags; it is damaged.", 400)


def _sniff(head: bytes) -> str:
    if head[:2] in (b"\xff\xf1", b"\xff\xf9"):
        raise AudioError("This is raw AAC (ADTS) audio; please wrap it in an M4A file.", 415)
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "wav"
    magic = {b"fLaC": "flac", b"OggS": "ogg"}.get(head[:4])
    return magic or ("mp4" if head[4:8] == b"ftyp" else "mp3")  # MP3 has no reliable magic


_SIGNATURES = ((b"\x7fELF", "a program (ELF executable)"), (b"MZ", "a Windows program"),
               (b"PK\x03\x04", "a ZIP archive"), (b"PK\x05\x06", "a ZIP archive"),
               (b"\xff\xd8\xff", "a JPEG image"), (b"\x89PNG\r\n\x1a\n", "a PNG image"),
               (b"GIF8", "a GIF image"), (b"%PDF", "a PDF document"), (b"\x1f\x8b", "a gzip file"))
_MARKUP = ((b"<?php", "a PHP script"), (b"<svg", "an SVG image"), (b"<!doctype html", "a web page"),
           (b"<html", "a web page"), (b"<head", "a web page"), (b"<body", "a web page"),
           (b"<script", "a web page"), (b"<?xml", "an XML document"))


def _not_audio(head: bytes, anything: bool) -> AudioError | None:
    """The refusal for bytes that are clearly not audio; with anything=True, for any bytes."""
    what = next((name for magic, name in _SIGNATURES if head.startswith(magic)), None)
    what = what or next((name for tag, name in _MARKUP if tag in head[:1024].lower()), None)
    if not what and anything and not re.search(b"[\x00-\x08\x0e-\x1f\x7f]", head):
        what = "a text file"
    if what:
        return AudioError(f"This file is {what}, not audio. {_HINT}", 415)
    if anything:
        return AudioError(f"This file is not in an audio format we support. {_HINT}", 415)
    return None


# --- MP3 --------------------------------------------------------------------

def _first_frame(mm: mmap.mmap, start: int, end: int) -> int:
    # Like mutagen, tolerate junk before the audio, but demand 3 chained frames (or EOF/ID3v1).
    pos = start
    while 0 <= pos < min(end, start + 65536):
        if mp3frames.frame_header(mm[pos:pos + 4]):
            table, p = mp3frames.table_at(mm, pos), pos
            for _ in range(3):
                if p + 4 > end or mm[p:p + 3] == b"TAG":
                    return pos
                if (length := table.get(mm[p:p + 3])) is None:
                    break
                p += length
            else:
                return pos
        pos = mm.find(b"\xff", pos + 1, min(end, start + 65536))
    raise _not_audio(mm[start:start + 1024], anything=True)  # type: ignore[misc]


def _probe_mp3(f: BinaryIO, size: int, start: int, head: bytes) -> _Probe:
    if start == 0 and (refusal := _not_audio(head, anything=False)):
        raise refusal
    with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        pos = _first_frame(mm, start, size)
        first = mp3frames.frame_header(mm[pos:pos + 4])
        assert first is not None
        # A Xing/VBRI header says how many frames there are; without one they are counted.
        scanned = None
        if not mp3frames.has_vbr_header(mm[pos:pos + first.length]):
            scanned = mp3frames.count_frames(mm, pos, size)
    f.seek(0)
    audio = mp3.MP3(f)
    p = _Probe("mp3", audio.info.length, audio.info.bitrate, first.sample_rate, first.channels)
    if scanned is None:
        _check_complete(size - pos, p.duration * (p.bitrate or 0) / 8)
    else:
        frames, audio_bytes = scanned
        p.duration = frames * first.samples / first.sample_rate
        p.bitrate = round(audio_bytes * 8 / p.duration) if p.duration else None
        if frames and abs(audio_bytes / frames - first.length) > 2:
            p.warnings.append("This variable-bitrate MP3 has no Xing/VBRI header, so some players "
                              "will show a wrong duration and seek badly.")
    if audio.tags is not None:
        tags.read_id3(audio.tags, p)
        tlen = audio.tags.get("TLEN")
        # Without a VBR header the frames are all we know, so the ID3 length is the only witness.
        if scanned is not None and tlen and tlen.text and str(tlen.text[0]).isdigit():
            _check_complete(p.duration, int(str(tlen.text[0])) / 1000)
    return p


# --- MP4 --------------------------------------------------------------------

_MP4_CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"udta", b"edts", b"ilst", b"meta"}


def _mp4_atoms(f: BinaryIO, start: int, end: int, depth: int = 0) -> list[bytes]:
    """Names of the atoms in start..end, after checking that no atom overruns its parent."""
    names, pos = [], start
    while pos + 8 <= end:
        f.seek(pos)
        size, name = struct.unpack(">I4s", f.read(8))
        header = 16 if size == 1 else 8
        if size == 1:
            size = struct.unpack(">Q", f.read(8))[0]
        size = size or end - pos
        if size < 8 or pos + size > end:
            if depth:
                raise AudioError("The M4A file is damaged: its structure runs past the end "
                                 "of the file.", 400)
            if name != b"mdat":
                what = "its index (moov atom)" if name == b"moov" else "a section"
                raise AudioError(f"The M4A file is incomplete: it ends in the middle of {what}.",
                                 400)
            _check_complete(end - pos, size)
        names.append(name)
        if depth < 8 and name in _MP4_CONTAINERS:
            # iTunes "meta" is a full box (4 bytes of version/flags), QuickTime's is not
            full_box = name == b"meta" and f.read(4) == b"\0\0\0\0"
            _mp4_atoms(f, pos + header + 4 * full_box, min(end, pos + size), depth + 1)
        pos += size
    return names


def _probe_mp4(f: BinaryIO, size: int, start: int, head: bytes) -> _Probe:
    names = _mp4_atoms(f, 0, size)
    if b"moov" not in names:
        raise AudioError("The M4A file is incomplete: its index (moov atom) is missing.", 400)
    f.seek(0)
    audio = mp4.MP4(f)
    info = audio.info
    if not info.codec.startswith("mp4a.40"):
        what = info.codec_description or info.codec or "no audio"
        raise AudioError(f"This MP4 file contains {what}; only AAC audio is supported. "
                         f"{_HINT}", 415)
    p = _Probe("aac", info.length, info.bitrate or None, info.sample_rate or None,
               info.channels or None)
    if b"mdat" in names and names.index(b"moov") > names.index(b"mdat"):
        p.warnings.append("This M4A file is not optimized for streaming (its index comes after "
                          "the audio), so some apps must download it completely before playing.")
    atoms = audio.tags or {}
    p.tags = {key: str(atoms[atom][0]) for atom, key in tags.MP4_TEXT.items() if atoms.get(atom)}
    if atoms.get("trkn") and atoms["trkn"][0][0]:
        p.tags["track"] = str(atoms["trkn"][0][0])
    p.picture = next(filter(None, (tags.picture(c) for c in atoms.get("covr", []))), None)
    chapters = list(audio.chapters or [])
    ends = [c.start for c in chapters[1:]] + [info.length]
    p.chapters = [Chapter(c.start, end, tags.clean(c.title, False) or f"Chapter {n}", None)
                  for n, (c, end) in enumerate(zip(chapters, ends), 1)]
    return p


# --- Ogg, FLAC, WAV ---------------------------------------------------------

def _probe_ogg(f: BinaryIO, size: int, start: int, head: bytes) -> _Probe:
    packet = head[27 + head[26]:]
    f.seek(0)
    if packet.startswith(b"\x01vorbis"):
        audio, codec = oggvorbis.OggVorbis(f), "vorbis"
    elif packet.startswith(b"OpusHead"):
        audio, codec = oggopus.OggOpus(f), "opus"
    else:
        raise AudioError(f"Only Vorbis and Opus audio are supported in Ogg files. {_HINT}", 415)
    info = audio.info
    # Vorbis headers only hold the encoder's nominal target; measure the file instead.
    bitrate = round(size * 8 / info.length) if info.length else None
    bitrate = info.bitrate if codec == "opus" and info.bitrate else bitrate
    p = _Probe(codec, info.length, bitrate, 48000 if codec == "opus" else info.sample_rate,
               info.channels)
    comments = {k.lower(): v for k, v in (audio.tags or {}).items()}
    tags.read_vorbis(comments, p)
    pictures = []
    for value in comments.get("metadata_block_picture", []):
        try:
            pictures.append(flac.Picture(base64.b64decode(value, validate=True)))
        except (binascii.Error, mutagen.MutagenError, struct.error, ValueError):
            continue
    p.picture = tags.flac_picture(pictures)
    f.seek(max(0, size - 65307))  # the largest possible Ogg page
    tail = f.read()
    last = tail.rfind(b"OggS")
    if last < 0 or len(tail) < last + 6 or not tail[last + 5] & 4:
        p.warnings.append("This Ogg file has no end-of-stream marker; it may be cut off.")
    return p


def _probe_flac(f: BinaryIO, size: int, start: int, head: bytes) -> _Probe:
    f.seek(0)
    audio = flac.FLAC(f)
    info = audio.info
    p = _Probe("flac", info.length, info.bitrate or None, info.sample_rate, info.channels)
    tags.read_vorbis({k.lower(): v for k, v in (audio.tags or {}).items()}, p)
    p.picture = tags.flac_picture(audio.pictures)
    return p


def _wav_chunks(f: BinaryIO, size: int) -> dict[bytes, tuple[int, int]]:
    """Offset and declared size of each RIFF chunk; only "data" may run past the end (cut off)."""
    chunks: dict[bytes, tuple[int, int]] = {}
    pos = 12
    while pos + 8 <= size and len(chunks) < 1000:
        f.seek(pos)
        name, length = struct.unpack("<4sI", f.read(8))
        if pos + 8 + length > size and name != b"data":
            raise AudioError("The WAV file is damaged: a chunk runs past the end of the file.", 400)
        chunks.setdefault(name, (pos + 8, length))
        pos += 8 + length + (length & 1)
    return chunks


def _probe_wav(f: BinaryIO, size: int, start: int, head: bytes) -> _Probe:
    chunks = _wav_chunks(f, size)
    if b"fmt " not in chunks or b"data" not in chunks:
        raise AudioError("The WAV file is damaged: it has no format or data section.", 400)
    data_at, data_len = chunks[b"data"]
    _check_complete(size - data_at, data_len)
    f.seek(0)
    audio = wave.WAVE(f)
    info = audio.info
    if info.audio_format not in (1, 3, 0xFFFE):  # PCM, float, extensible (nearly always PCM)
        raise AudioError(f"This WAV file holds compressed audio (format 0x{info.audio_format:04x}"
                         f"); only plain PCM WAV is supported. {_HINT}", 415)
    # A cut-off file plays as far as its bytes go, whatever the header says.
    duration = info.length * min(1.0, (size - data_at) / data_len) if data_len else 0.0
    p = _Probe("pcm", duration, info.bitrate or None, info.sample_rate, info.channels)
    if audio.tags is not None:
        tags.read_id3(audio.tags, p)
    return p


_PROBERS = {"mp3": _probe_mp3, "mp4": _probe_mp4, "ogg": _probe_ogg, "flac": _probe_flac,
            "wav": _probe_wav}
