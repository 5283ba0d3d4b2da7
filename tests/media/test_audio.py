"""Real-file tests for showbiz.media.audio.probe (fixtures: tests/data/make_fixtures.sh)."""
from __future__ import annotations

import random
import shutil
import statistics
import struct
import subprocess
import time
import tracemalloc
import wave
import zipfile
from pathlib import Path

import mutagen.mp3
import pytest

from showbiz.media.audio import AudioError, AudioInfo, Chapter, probe

DATA = Path(__file__).parent.parent / "data"

# name: container, codec, mime, extension, seconds asked for, sample rate, channels, kbit/s
EXPECTED = {
    "cbr.mp3": ("mp3", "mp3", "audio/mpeg", ".mp3", 5.0, 22050, 1, 56),
    "vbr_xing.mp3": ("mp3", "mp3", "audio/mpeg", ".mp3", 6.0, 24000, 2, None),
    "vbr_noxing.mp3": ("mp3", "mp3", "audio/mpeg", ".mp3", 20.0, 22050, 1, None),
    "chapters.mp3": ("mp3", "mp3", "audio/mpeg", ".mp3", 12.0, 22050, 1, 24),
    "faststart.m4a": ("mp4", "aac", "audio/x-m4a", ".m4a", 6.0, 22050, 2, 32),
    "notfaststart.m4a": ("mp4", "aac", "audio/x-m4a", ".m4a", 6.0, 22050, 2, 32),
    "chapters.m4a": ("mp4", "aac", "audio/x-m4a", ".m4a", 12.0, 22050, 2, 24),
    "vorbis.ogg": ("ogg", "vorbis", "audio/ogg", ".ogg", 4.0, 22050, 1, None),
    "opus.opus": ("ogg", "opus", "audio/opus", ".opus", 4.0, 48000, 1, 16),
    "flac.flac": ("flac", "flac", "audio/flac", ".flac", 2.0, 16000, 1, None),
    "wav.wav": ("wav", "pcm", "audio/wav", ".wav", 1.0, 8000, 1, 128),
}
APPLE_WARNING = "Apple Podcasts accepts only MP3 and M4A"


def within(value: float, expected: float, tolerance: float) -> bool:
    return abs(value - expected) <= tolerance * expected


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_probe_fixture_stream_info(name: str) -> None:
    container, codec, mime, ext, seconds, rate, channels, kbps = EXPECTED[name]
    info = probe(DATA / name)
    assert isinstance(info, AudioInfo)
    assert info.container == container and info.codec == codec
    assert info.mime_type == mime and info.extension == ext
    assert within(info.duration_seconds, seconds, 0.01), info.duration_seconds
    assert info.sample_rate == rate
    assert info.channels == channels
    assert info.bitrate is not None
    size_kbps = (DATA / name).stat().st_size * 8 / seconds / 1000
    if kbps is not None:
        assert within(info.bitrate / 1000, kbps, 0.10), info.bitrate
    else:  # VBR: the average bitrate must match what the bytes on disk say
        assert within(info.bitrate / 1000, size_kbps, 0.20), (info.bitrate, size_kbps)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_apple_warning_only_for_non_mp3_m4a(name: str) -> None:
    info = probe(DATA / name)
    warned = any(w.startswith(APPLE_WARNING) for w in info.warnings)
    assert warned == (info.container not in ("mp3", "mp4"))


def test_flac_warning_text() -> None:
    assert probe(DATA / "flac.flac").warnings[0] == (
        "Apple Podcasts accepts only MP3 and M4A; this FLAC file may not play everywhere.")


def test_mp3_tags() -> None:
    assert probe(DATA / "cbr.mp3").tags == {
        "title": "CBR Test Tone", "artist": "Showbiz Fixtures", "album": "Test Album",
        "track": "3", "date": "2023", "comment": "Made by make_fixtures.sh"}


def test_m4a_tags() -> None:
    assert probe(DATA / "faststart.m4a").tags == {
        "title": "Fast Start", "artist": "Showbiz Fixtures", "album": "Test Album",
        "track": "2", "date": "2024", "comment": "m4a comment"}


def test_vorbis_opus_flac_tags() -> None:
    assert probe(DATA / "vorbis.ogg").tags == {
        "title": "Vorbis Tone", "artist": "Showbiz Fixtures", "track": "1", "date": "2022"}
    assert probe(DATA / "opus.opus").tags == {"title": "Opus Tone", "artist": "Showbiz Fixtures"}
    assert probe(DATA / "flac.flac").tags == {"title": "FLAC Tone"}
    assert probe(DATA / "wav.wav").tags == {}


@pytest.mark.parametrize("name, mime, source", [
    ("chapters.mp3", "image/jpeg", "cover.jpg"),
    ("chapters.m4a", "image/png", "cover.png"),
    ("opus.opus", "image/png", "cover.png"),
    ("flac.flac", "image/jpeg", "cover.jpg"),
])
def test_cover_art(name: str, mime: str, source: str) -> None:
    picture = probe(DATA / name).picture
    assert picture is not None
    assert picture.mime_type == mime
    assert picture.data == (DATA / source).read_bytes()


@pytest.mark.parametrize("name", ["cbr.mp3", "faststart.m4a", "vorbis.ogg", "wav.wav"])
def test_no_cover_art(name: str) -> None:
    assert probe(DATA / name).picture is None


def test_id3_chapters_follow_ctoc_and_sort_by_start() -> None:
    assert probe(DATA / "chapters.mp3").chapters == (
        Chapter(0.0, 4.0, "Intro", "https://example.com/intro"),
        Chapter(4.0, 8.0, "News & Views", None),
        Chapter(8.0, 12.0, "Outro", "https://example.com/outro"),
    )


def test_mp4_nero_chapters() -> None:
    info = probe(DATA / "chapters.m4a")
    assert [(c.title, c.start_seconds, c.url) for c in info.chapters] == [
        ("Opening", 0.0, None), ("Middle", 5.0, None), ("Closing", 9.0, None)]
    assert [c.end_seconds for c in info.chapters[:2]] == [5.0, 9.0]
    assert info.chapters[2].end_seconds == pytest.approx(info.duration_seconds)


def test_no_chapters_elsewhere() -> None:
    assert probe(DATA / "cbr.mp3").chapters == ()
    assert probe(DATA / "faststart.m4a").chapters == ()


def test_streaming_warning_only_when_moov_after_mdat() -> None:
    assert not probe(DATA / "faststart.m4a").warnings
    (warning,) = probe(DATA / "notfaststart.m4a").warnings
    assert "not optimized for streaming" in warning


def test_vbr_without_header_is_flagged() -> None:
    assert any("no Xing/VBRI header" in w for w in probe(DATA / "vbr_noxing.mp3").warnings)
    for name in ("cbr.mp3", "vbr_xing.mp3", "chapters.mp3"):
        assert probe(DATA / name).warnings == ()


def test_vbr_without_xing_duration_is_counted_not_guessed() -> None:
    path = DATA / "vbr_noxing.mp3"
    ours = probe(path).duration_seconds
    theirs = mutagen.mp3.MP3(path).info.length
    assert within(ours, 20.0, 0.01), ours
    assert not within(theirs, 20.0, 0.10), theirs  # the estimate our frame scan replaces


def _mpeg_frames(path: Path) -> bytes:
    """The MPEG frames of a fixture, without its ID3v2 tag or ID3v1 trailer."""
    data = path.read_bytes()
    assert data[:3] == b"ID3"
    tag_size = 10 + (data[6] << 21 | data[7] << 14 | data[8] << 7 | data[9])
    end = len(data) - 128 if data[-128:-125] == b"TAG" else len(data)
    return data[tag_size:end]


def test_type_comes_from_content_not_name(tmp_path: Path) -> None:
    for source, fake in [("cbr.mp3", "episode.m4a"), ("flac.flac", "episode.mp3"),
                         ("faststart.m4a", "episode.txt"), ("opus.opus", "noext")]:
        shutil.copy(DATA / source, tmp_path / fake)
        assert probe(tmp_path / fake) == probe(DATA / source)


def test_accepts_str_paths() -> None:
    assert probe(str(DATA / "wav.wav")).codec == "pcm"


# --- refusals ---------------------------------------------------------------

def refused(path: Path) -> AudioError:
    with pytest.raises(AudioError) as caught:
        probe(path)
    assert isinstance(caught.value, ValueError)
    return caught.value


SVG = b'<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg"></svg>'
HOSTILE = {
    "html": (b"<!DOCTYPE html>\n<html><body>Not found</body></html>", "This file is a web page"),
    "html_bom": (b"\xef\xbb\xbf\n  <HTML><HEAD></HEAD></HTML>", "This file is a web page"),
    "php": (b"<?php system($_GET['c']); ?>", "This file is a PHP script"),
    "svg": (SVG, "This file is an SVG image"),
    "elf": (b"\x7fELF\x02\x01\x01\x00" + bytes(120), "This file is a program"),
    "exe": (b"MZ\x90\x00\x03" + bytes(60), "This file is a Windows program"),
    "png": (None, "This file is a PNG image"),
    "jpeg": (None, "This file is a JPEG image"),
    "pdf": (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "This file is a PDF document"),
    "text": ("Episode notes: café ☕\nline two\n".encode(), "This file is a text file"),
    "binary": (random.Random(1).randbytes(4096), "This file is not in an audio format we support"),
    "adts": (b"\xff\xf1\x50\x80\x02\x1f\xfc" + bytes(64), "raw AAC (ADTS)"),
}


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_non_audio_named_mp3_is_refused_with_415(tmp_path: Path, kind: str) -> None:
    data, message = HOSTILE[kind]
    if data is None:
        data = (DATA / ("cover.png" if kind == "png" else "cover.jpg")).read_bytes()
    path = tmp_path / "episode.mp3"
    path.write_bytes(data)
    error = refused(path)
    assert error.status == 415
    assert message in str(error)
    if kind != "adts":
        assert "Please upload an MP3 or M4A (AAC) file." in str(error)


def test_zip_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "episode.mp3"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("episode.mp3", (DATA / "cbr.mp3").read_bytes())
    error = refused(path)
    assert (error.status, str(error).split(",")[0]) == (415, "This file is a ZIP archive")


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.mp3"
    path.write_bytes(b"")
    error = refused(path)
    assert (error.status, str(error)) == (400, "The file is empty.")


def test_id3_tag_hiding_html(tmp_path: Path) -> None:
    path = tmp_path / "sneaky.mp3"
    path.write_bytes(id3_tag([text_frame("TIT2", "hi")]) + HOSTILE["html"][0])
    error = refused(path)
    assert error.status == 415 and "web page" in str(error)


def test_huge_id3_tag_is_refused_without_allocating() -> None:
    tracemalloc.start()
    try:
        error = refused(DATA / "hugetag.mp3")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert error.status == 400
    assert "ID3 tag claims to be larger than the whole file" in str(error)
    assert peak < 5_000_000


def test_id3_tag_over_16_mb_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bigcover.mp3"
    size = 17 * 1024 * 1024
    with path.open("wb") as f:
        f.write(b"ID3\x04\x00\x00" + syncsafe(size))
        f.truncate(10 + size + 100_000)  # sparse: cheap to make
    error = refused(path)
    assert error.status == 400 and "larger than 16 MB" in str(error)


def test_truncated_mp3_with_xing_header() -> None:
    error = refused(DATA / "truncated.mp3")
    assert error.status == 400
    assert str(error).startswith("The file seems to be cut off: it holds only 10% of the audio")


@pytest.mark.parametrize("name, keep", [("vbr_noxing.mp3", 0.3), ("chapters.mp3", 0.3),
                                        ("faststart.m4a", 0.3), ("wav.wav", 0.2)])
def test_truncated_files(tmp_path: Path, name: str, keep: float) -> None:
    data = (DATA / name).read_bytes()
    path = tmp_path / name
    path.write_bytes(data[:int(len(data) * keep)])
    error = refused(path)
    assert error.status == 400 and "cut off" in str(error), str(error)


def test_m4a_cut_before_or_inside_its_index(tmp_path: Path) -> None:
    data = (DATA / "notfaststart.m4a").read_bytes()
    path = tmp_path / "cut.m4a"
    path.write_bytes(data[:data.index(b"moov") - 4])
    error = refused(path)
    assert error.status == 400
    assert str(error) == "The M4A file is incomplete: its index (moov atom) is missing."
    path.write_bytes(data[:-500])
    error = refused(path)
    assert error.status == 400
    assert str(error) == (
        "The M4A file is incomplete: it ends in the middle of its index (moov atom).")


def test_m4a_with_overrunning_atom(tmp_path: Path) -> None:
    data = bytearray((DATA / "faststart.m4a").read_bytes())
    moov = data.index(b"moov") - 4
    child = moov + 8  # first atom inside moov (mvhd)
    struct.pack_into(">I", data, child, 10_000_000)
    path = tmp_path / "broken.m4a"
    path.write_bytes(bytes(data))
    error = refused(path)
    assert error.status == 400 and "damaged" in str(error)


def test_zero_duration_wav(tmp_path: Path) -> None:
    path = tmp_path / "silence.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"")
    error = refused(path)
    assert error.status == 400
    assert str(error) == "The file contains no audio (its duration is 0 seconds)."


def test_compressed_wav_is_unsupported(tmp_path: Path) -> None:
    fmt = struct.pack("<HHIIHH", 0x55, 1, 22050, 4000, 1, 0)
    data = b"\x00" * 400
    body = (b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
            + b"data" + struct.pack("<I", len(data)) + data)
    path = tmp_path / "mp3inside.wav"
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    error = refused(path)
    assert error.status == 415 and "format 0x0055" in str(error)


def test_ogg_with_unsupported_codec(tmp_path: Path) -> None:
    packet = b"Speex   1.2" + bytes(69)
    header = b"OggS\x00\x02" + bytes(8) + struct.pack("<II", 7, 0) + bytes(4)
    page = header + bytes([1, len(packet)])
    path = tmp_path / "speex.ogg"
    path.write_bytes(page + packet)
    error = refused(path)
    assert error.status == 415 and "Vorbis and Opus" in str(error)


def test_garbage_after_mpeg_sync_is_damaged_or_not_audio(tmp_path: Path) -> None:
    path = tmp_path / "junk.mp3"
    path.write_bytes(b"\xff\xfb\x90\x00" + bytes(50))
    assert refused(path).status in (400, 415)


# --- tag cleaning, via a hand-built ID3v2.4 tag on real MPEG frames -------------

def syncsafe(n: int) -> bytes:
    return bytes((n >> shift) & 0x7F for shift in (21, 14, 7, 0))


def frame(frame_id: str, body: bytes) -> bytes:
    return frame_id.encode() + syncsafe(len(body)) + b"\x00\x00" + body


def text_frame(frame_id: str, text: str) -> bytes:
    return frame(frame_id, b"\x03" + text.encode("utf-8", "surrogatepass"))


def id3_tag(frames: list[bytes]) -> bytes:
    body = b"".join(frames)
    return b"ID3\x04\x00\x00" + syncsafe(len(body)) + body


def test_tags_are_cleaned(tmp_path: Path) -> None:
    long_comment = "first line\r\n  second\tline\x0b" + "x" * 5000
    tag = id3_tag([
        text_frame("TIT2", "  Hello\x07 \x1bWorld\ufffe\x7f  "),
        text_frame("TPE1", "Ann\u0085 & <Bob>"),
        text_frame("TALB", "   "),
        frame("COMM", b"\x03eng\x00" + long_comment.encode()),
        frame("APIC", b"\x00text/html\x00\x03\x00<html>not a picture</html>"),
        frame("CHAP", b"c1\x00" + struct.pack(">IIII", 0, 1000, 2**32 - 1, 2**32 - 1)
              + text_frame("TIT2", "\x01Part\none\x02")
              + frame("WXXX", b"\x00\x00javascript:alert(1)")),
    ])
    path = tmp_path / "dirty.mp3"
    path.write_bytes(tag + _mpeg_frames(DATA / "cbr.mp3"))
    info = probe(path)
    assert info.tags["title"] == "Hello World"
    assert info.tags["artist"] == "Ann & <Bob>"
    assert "album" not in info.tags
    assert info.tags["comment"].startswith("first line\nsecond line")
    assert len(info.tags["comment"]) == 4000
    assert info.picture is None
    assert info.chapters == (Chapter(0.0, 1.0, "Part one", None),)
    assert info.codec == "mp3" and within(info.duration_seconds, 5.0, 0.01)


def test_stacked_id3_tags_are_skipped(tmp_path: Path) -> None:
    path = tmp_path / "stacked.mp3"
    path.write_bytes(id3_tag([text_frame("TIT2", "One")]) + id3_tag([text_frame("TIT2", "Two")])
                     + _mpeg_frames(DATA / "cbr.mp3"))
    info = probe(path)
    assert info.tags == {"title": "One"}
    assert within(info.duration_seconds, 5.0, 0.01)


def test_mime_types_are_what_podcast_apps_expect() -> None:
    mimes = {probe(DATA / name).mime_type for name in EXPECTED}
    assert mimes == {"audio/mpeg", "audio/x-m4a", "audio/ogg", "audio/opus", "audio/flac",
                     "audio/wav"}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_damaged_copies_are_described_or_refused_never_crash(tmp_path: Path, name: str) -> None:
    data = (DATA / name).read_bytes()
    rng = random.Random(name)
    variants = [data[:cut] for cut in (1, 7, 64, 300, len(data) // 3, len(data) - 1)]
    for _ in range(12):
        damaged = bytearray(data)
        for _ in range(8):
            damaged[rng.randrange(min(len(data), 2048))] = rng.randrange(256)
        variants.append(bytes(damaged))
    path = tmp_path / "damaged"
    for variant in variants:
        path.write_bytes(variant)
        try:
            info = probe(path)
        except AudioError as error:
            assert error.status in (400, 415) and str(error).endswith(".")
        else:
            assert info.duration_seconds > 0


# --- long MP3s without a Xing/VBRI header: sampled, not counted ------------------

# An oracle independent of showbiz.media: frame lengths straight from the MPEG tables.
_KBPS = {True: (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
         False: (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160)}
_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}


def _split_frames(audio: bytes) -> list[bytes]:
    """Cut MPEG Layer III audio (nothing else: no tags, no junk) into its frames."""
    frames, pos = [], 0
    while pos < len(audio):
        h = audio[pos:pos + 4]
        assert h[0] == 0xFF and h[1] & 0xE6 == 0xE2, f"no frame header at {pos}"
        version = (h[1] >> 3) & 3
        mpeg1 = version == 3
        bitrate = _KBPS[mpeg1][h[2] >> 4] * 1000
        length = (144 if mpeg1 else 72) * bitrate // _RATES[version][(h[2] >> 2) & 3]
        frames.append(audio[pos:pos + length + ((h[2] >> 1) & 1)])
        pos += len(frames[-1])
    return frames


def _seconds(frames: int, first: bytes) -> float:
    """The exact duration of `frames` frames like `first`."""
    version = (first[1] >> 3) & 3
    return frames * (1152 if version == 3 else 576) / _RATES[version][(first[2] >> 2) & 3]


def _fixture_frames(name: str) -> list[bytes]:
    """A fixture's audio frames, without its tags or its LAME Info frame."""
    frames = _split_frames(_mpeg_frames(DATA / name))
    return [f for f in frames if b"Info" not in f[4:42] and b"Xing" not in f[4:42]]


def _bursty(frames: list[bytes], seconds: float, seed: int) -> list[bytes]:
    """Random runs of a fixture's frames: loud and quiet passages at irregular places."""
    rng, out = random.Random(seed), []
    while _seconds(len(out), frames[0]) < seconds:
        start = rng.randrange(len(frames))
        out += frames[start:start + rng.randrange(5, 400)]
    return out


def _probe_cpu_seconds(path: Path, runs: int = 7) -> float:
    """Median CPU time of probe(path): unlike wall time, barely moved by a busy machine."""
    probe(path)  # warm-up: page cache
    times = []
    for _ in range(runs):
        started = time.thread_time()
        probe(path)
        times.append(time.thread_time() - started)
    return statistics.median(times)


def test_long_cbr_without_info_header_is_exact_to_a_frame(tmp_path: Path) -> None:
    frames = _fixture_frames("cbr.mp3")  # 56 kbit/s, 22,050 Hz: 5 s, ~195 frames
    path = tmp_path / "cbr-60min.mp3"
    path.write_bytes(b"".join(frames) * 720 + b"TAG" + bytes(125))  # 60 minutes + ID3v1
    info = probe(path)
    assert info.duration_seconds == pytest.approx(_seconds(720 * len(frames), frames[0]),
                                                  rel=1e-12)
    assert info.warnings == ()
    assert within(info.bitrate, 56000, 0.01), info.bitrate


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_long_bursty_vbr_without_xing_is_exact(tmp_path: Path, seed: int) -> None:
    frames = _bursty(_fixture_frames("vbr_noxing.mp3"), 3600, seed)
    path = tmp_path / "vbr-60min.mp3"
    path.write_bytes(b"".join(frames))
    info = probe(path)
    truth = _seconds(len(frames), frames[0])
    assert info.duration_seconds == pytest.approx(truth, rel=1e-12)
    assert info.bitrate == round(path.stat().st_size * 8 / truth)
    assert any("no Xing/VBRI header" in w for w in info.warnings)


def test_repeated_vbr_fixture_is_exact(tmp_path: Path) -> None:
    frames = _mpeg_frames(DATA / "vbr_noxing.mp3")
    short, long = tmp_path / "short.mp3", tmp_path / "long.mp3"
    short.write_bytes(frames)
    long.write_bytes(frames * 180)  # 180 x 20 s = 60 minutes, ~138,000 frames
    assert probe(long).duration_seconds == pytest.approx(180 * probe(short).duration_seconds,
                                                         rel=1e-12)


def test_counting_is_exact_around_tags_and_at_a_cut_off_end(tmp_path: Path) -> None:
    frames = _bursty(_fixture_frames("vbr_noxing.mp3"), 120, seed=9)
    body, tag = b"".join(frames), id3_tag([text_frame("TIT2", "Tagged")])
    whole, cut = (_seconds(n, frames[0]) for n in (len(frames), len(frames) - 1))
    shapes = {"ID3v2 and ID3v1": (tag + body + b"TAG" + bytes(125), whole),
              "two ID3v2 tags": (tag + tag + body, whole),
              "cut off in the last frame": (body[:-(len(frames[-1]) // 2)], cut)}
    for name, (data, seconds) in shapes.items():
        path = tmp_path / "file.mp3"
        path.write_bytes(data)
        assert probe(path).duration_seconds == pytest.approx(seconds, rel=1e-12), name


def test_probing_a_60_minute_headerless_vbr_takes_under_250_ms(tmp_path: Path) -> None:
    """Counting every frame after the upload is fast enough to need no counting during it."""
    frames = _bursty(_fixture_frames("vbr_noxing.mp3"), 3600, seed=5)
    path = tmp_path / "vbr-60min.mp3"
    path.write_bytes(b"".join(frames))
    assert probe(path).duration_seconds == pytest.approx(_seconds(len(frames), frames[0]),
                                                         rel=1e-12)
    cpu = _probe_cpu_seconds(path, runs=3)
    assert cpu < 0.25, f"{cpu * 1000:.0f} ms"


def test_id3_length_still_witnesses_a_cut_off_long_vbr(tmp_path: Path) -> None:
    frames = _bursty(_fixture_frames("vbr_noxing.mp3"), 3600, seed=6)
    truth_ms = round(_seconds(len(frames), frames[0]) * 1000)
    path = tmp_path / "tlen.mp3"
    path.write_bytes(id3_tag([text_frame("TLEN", str(truth_ms))]) + b"".join(frames))
    assert within(probe(path).duration_seconds, truth_ms / 1000, 0.01)
    path.write_bytes(id3_tag([text_frame("TLEN", str(3 * truth_ms))]) + b"".join(frames))
    error = refused(path)
    assert error.status == 400 and "cut off" in str(error), str(error)


def test_junk_inside_a_long_mp3_is_not_counted_as_audio(tmp_path: Path) -> None:
    frames = _fixture_frames("cbr.mp3") * 720
    junk = random.Random(7).randbytes(200_000)
    path = tmp_path / "junk.mp3"
    path.write_bytes(b"".join(frames[:50_000]) + junk + b"".join(frames[50_000:]))
    truth = _seconds(len(frames), frames[0])
    assert within(probe(path).duration_seconds, truth, 0.01)


def test_long_hostile_mp3_is_refused_or_described_quickly(tmp_path: Path) -> None:
    frames = _fixture_frames("cbr.mp3")
    fake = frames[0][:4] + bytes(7)  # a real header every 11 bytes, never a chain of frames
    path = tmp_path / "hostile.mp3"
    path.write_bytes(b"".join(frames[:3]) + fake * 600_000)
    started = time.perf_counter()
    try:
        info = probe(path)
    except AudioError as error:
        assert error.status in (400, 415)
    else:
        assert info.duration_seconds > 0
    assert time.perf_counter() - started < 1.0


@pytest.mark.skipif(shutil.which("lame") is None, reason="needs lame")
def test_real_long_lame_vbr_without_xing_is_exact(tmp_path: Path) -> None:
    rng, rate = random.Random(8), 44100
    sign = bytes(0 if i < 128 else 255 for i in range(256))
    wav_path, mp3_path = tmp_path / "long.wav", tmp_path / "long.mp3"
    with wave.open(str(wav_path), "wb") as w:  # 12 minutes of loud noise, faint noise, hush
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        left = 12 * 60 * rate
        while left:
            n = min(int(rng.uniform(0.2, 6) * rate), left)
            block, kind = bytearray(rng.randbytes(2 * n)), rng.random()
            if kind > 0.4:  # keep the low byte: faint noise around 0, or near silence
                block[1::2] = block[1::2].translate(sign) if kind < 0.8 else bytes(n)
            w.writeframes(block)
            left -= n
    subprocess.run(["lame", "--quiet", "-V", "6", "-t", str(wav_path), str(mp3_path)],
                   check=True, timeout=120)
    frames = _split_frames(mp3_path.read_bytes())
    truth = _seconds(len(frames), frames[0])
    info = probe(mp3_path)
    assert info.duration_seconds == pytest.approx(truth, rel=1e-12)
    assert any("no Xing/VBRI header" in w for w in info.warnings)
