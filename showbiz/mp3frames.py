"""MPEG audio (MP3) frames: their headers, and counting them in a whole file or in an upload
while it arrives (FrameCounter), for MP3s whose first frame does not say how many there are."""
from __future__ import annotations

import functools
import itertools
import mmap
from collections.abc import Callable
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


_MAX_FRAME = 1441  # bytes: Layer III at 320 kbit/s and 32 kHz with padding (MPEG-2 at 8 kHz too)
_AHEAD = 2 * _MAX_FRAME + 8 + 128  # the furthest a step reads past its start, ID3v1 included


class _Hop:
    """Hops from frame header to frame header, counting; resumable, so that the same steps count
    a whole file at once or an upload while it arrives (FrameCounter)."""

    def __init__(self, get: Callable[[bytes], int | None], pos: int) -> None:
        self.get, self.pos = get, pos
        self.frames = self.audio = 0
        self.resyncing = self.done = False
        self.budget = 10000  # candidate syncs tried over junk: bounds the work on hostile input

    def run(self, buf, end: int, until: int) -> None:
        """Step through buf[pos:end], starting no step at or past `until` (more bytes to come)."""
        get, pos, frames, audio = self.get, self.pos, self.frames, self.audio
        stop = min(until, end - 3)  # a step needs a whole 4-byte header
        while not self.done and pos < stop:
            if not self.resyncing:
                while pos < stop and (length := get(buf[pos:pos + 3])) is not None:
                    if pos + length > end:  # cut off by the end: no more frames
                        self.done = True
                        break
                    frames, audio, pos = frames + 1, audio + length, pos + length
                else:
                    if pos < stop:  # not a header here: look for the next one
                        self.resyncing, pos = True, pos + 1
                continue
            pos = buf.find(b"\xff", pos, end)
            if pos < 0:
                pos = end
            elif pos < stop:
                self.budget -= 1
                self.done = self.budget <= 0
                length = get(buf[pos:pos + 3])
                # A sync counts when the frame it announces ends at another header (or the end).
                if length and (pos + length + 4 > end or get(buf[pos + length:pos + length + 3])):
                    self.resyncing = False
                else:
                    pos += 1
        self.pos, self.frames, self.audio = pos, frames, audio
        if until >= end:
            self.done = True


def _audio_end(size: int, pos: int, tail: bytes) -> int:
    """Where the frames end: before an ID3v1 tag (`tail`: the file's last 128 bytes)."""
    return size - 128 if size - pos > 128 and tail[:3] == b"TAG" else size


def count_frames(mm: mmap.mmap, pos: int, size: int) -> tuple[int, int]:
    """(frames, audio bytes) from the first frame at pos, counted in the whole file."""
    hop = _Hop(table_at(mm, pos).get, pos)
    end = _audio_end(size, pos, mm[size - 128:size])
    hop.run(mm, end, end)
    return hop.frames, hop.audio


class FrameCounter:
    """Counts an MP3's frames while its bytes arrive (storage feeds it on its hashing thread),
    so that probing a long MP3 without a Xing/VBRI header does not read it all again.

    It only follows the plain case (ID3v2 tags, then frames right away); for anything else it
    stops, and probe() counts the file itself.
    """

    def __init__(self) -> None:
        self._buf, self._base = b"", 0  # the bytes kept and their offset in the file
        self._tail, self._size = b"", 0  # the last 128 bytes seen; how many were seen
        self._next = 0  # where the next ID3v2 tag or the first frame starts
        self._tags = 0
        self._hop: _Hop | None = None
        self._off = False

    def update(self, data: bytes) -> None:
        """Take the next bytes of the file."""
        self._size += len(data)
        self._tail = (self._tail + data[-128:])[-128:]
        if self._off:
            return
        try:
            self._update(data)
        except Exception:  # noqa: BLE001 - a failure here must cost a second look, not an upload
            self._hop, self._off = None, True

    def _update(self, data: bytes) -> None:
        buf, hop = self._buf + data, self._hop
        if hop is None:
            buf = self._find_start(buf)
            if (hop := self._hop) is None or self._off:
                self._buf = b"" if self._off else buf
                return
        hop.run(buf, len(buf), len(buf) - _AHEAD)
        self._buf, self._base, hop.pos = buf[hop.pos:], self._base + hop.pos, 0
        self._off = hop.done

    def _find_start(self, buf: bytes) -> bytes:
        """Skip ID3v2 tags up to the first frame; the bytes still needed, from self._base."""
        while not self._off and self._hop is None:
            at = self._next - self._base
            if at >= len(buf):  # inside a tag still arriving: nothing to keep
                self._base += len(buf)
                return b""
            buf, self._base = buf[at:], self._next
            if len(buf) < 10:
                return buf
            if buf[:3] == b"ID3" and buf[6:10] != b"\0\0\0\0":
                damaged = buf[3] > 4 or any(b & 0x80 for b in buf[6:10])
                self._tags += 1
                self._off = damaged or self._tags > 100  # probe() says what is wrong
                self._next += 10 + (buf[6] << 21 | buf[7] << 14 | buf[8] << 7 | buf[9]) \
                    + (10 if buf[5] & 0x10 else 0)
                continue
            first = frame_header(buf[:4])
            if first is None:
                self._off = True  # not MP3, or junk before the audio: probe() looks itself
            elif len(buf) < first.length:
                return buf
            else:
                self._off = has_vbr_header(buf[:first.length])  # the header has the count
                self._hop = _Hop(table_at(buf, 0).get, 0)
        return buf

    def counted(self, pos: int, size: int) -> tuple[int, int] | None:
        """(frames, audio bytes) of the file of `size` bytes whose first frame is at pos; None
        when this counter did not follow that file from that frame."""
        hop = self._hop
        if hop is None or self._size != size or self._next != pos or (self._off and not hop.done):
            return None
        if not hop.done:
            end = _audio_end(size, pos, self._tail) - self._base
            hop.run(self._buf, end, end)
            self._buf = b""
        return hop.frames, hop.audio


def has_vbr_header(frame: bytes) -> bool:
    """True when the first frame is a VBRI header, or a Xing/Info header with a frame count."""
    if frame[36:40] == b"VBRI":
        return True
    offsets = (frame.find(magic, 4, 42) for magic in (b"Xing", b"Info"))
    return any(i >= 0 and len(frame) > i + 7 and frame[i + 7] & 1 for i in offsets)
