"""MPEG audio (MP3) frames: their headers, and counting them in a stored file, for MP3s whose
first frame does not say how many there are."""
from __future__ import annotations

import functools
import itertools
import mmap
from typing import NamedTuple

_KBPS = {True: (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
         False: (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160)}
_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}


class Frame(NamedTuple):
    """What a frame header says."""

    length: int
    samples: int
    sample_rate: int
    channels: int


def frame_header(h: bytes) -> Frame | None:
    """Parse an MPEG Layer III frame header; None when the bytes aren't one."""
    if len(h) < 4 or h[0] != 0xFF or h[1] & 0xE6 != 0xE2:
        return None
    version, bitrate_index, rate_index = (h[1] >> 3) & 3, h[2] >> 4, (h[2] >> 2) & 3
    if version == 1 or bitrate_index in (0, 15) or rate_index == 3 or h[3] & 3 == 2:
        return None
    mpeg1 = version == 3
    rate = _RATES[version][rate_index]
    samples = 1152 if mpeg1 else 576
    length = samples // 8 * _KBPS[mpeg1][bitrate_index] * 1000 // rate + ((h[2] >> 1) & 1)
    return Frame(length, samples, rate, 1 if h[3] >> 6 == 3 else 2)


@functools.lru_cache(maxsize=16)
def frame_table(b1: int, rate_index: int) -> dict[bytes, int]:
    """Frame length by the first 3 header bytes, for every frame that fits the stream's first."""
    table = {}
    for prot, bitrate, pad, private in itertools.product((0, 1), range(1, 15), (0, 1), (0, 1)):
        key = bytes((0xFF, b1 & 0xFE | prot, bitrate << 4 | rate_index << 2 | pad << 1 | private))
        table[key] = frame_header(key + b"\0").length  # type: ignore[union-attr]
    return table


def table_at(buf: bytes | mmap.mmap, pos: int) -> dict[bytes, int]:
    """frame_table() for the stream whose first frame is at pos."""
    return frame_table(buf[pos + 1], (buf[pos + 2] >> 2) & 3)


_RESYNC_BUDGET = 10000  # candidate syncs tried over junk: bounds the work on hostile input


def count_frames(mm: mmap.mmap, pos: int, size: int) -> tuple[int, int]:
    """(frames, audio bytes) from the first frame at pos to the end of the file (or its ID3v1
    tag), hopping from header to header and skipping junk between frames."""
    get = table_at(mm, pos).get
    end = size - 128 if size - pos > 128 and mm[size - 128:size - 125] == b"TAG" else size
    frames = audio = 0
    budget = _RESYNC_BUDGET
    while pos < end - 3:
        while pos < end - 3 and (length := get(mm[pos:pos + 3])) is not None:
            if pos + length > end:  # cut off by the end: no more frames
                return frames, audio
            frames, audio, pos = frames + 1, audio + length, pos + length
        pos, budget = _resync(mm, get, pos + 1, end, budget)
        if budget <= 0:
            break
    return frames, audio


def _resync(mm: mmap.mmap, get, pos: int, end: int, budget: int) -> tuple[int, int]:
    """The next header after junk, and the budget left; a sync counts when the frame it
    announces ends at another header (or at the end)."""
    while budget > 0 and (pos := mm.find(b"\xff", pos, end)) >= 0 and pos < end - 3:
        budget -= 1
        length = get(mm[pos:pos + 3])
        if length and (pos + length + 4 > end or get(mm[pos + length:pos + length + 3])):
            return pos, budget
        pos += 1
    return end, budget


def has_vbr_header(frame: bytes) -> bool:
    """True when the first frame is a VBRI header, or a Xing/Info header with a frame count."""
    if frame[36:40] == b"VBRI":
        return True
    offsets = (frame.find(magic, 4, 42) for magic in (b"Xing", b"Info"))
    return any(i >= 0 and len(frame) > i + 7 and frame[i + 7] & 1 for i in offsets)
