"""Probe time against audio length: a 60-minute file vs a 3-second one (prints figures; not a test).

Run: .venv/bin/python bench/probe.py [--repeat 101] [--timeout 600]

Target (from the issue): probing a 60-minute file takes the same time as probing a 3-second one
(here: the median of the 60-minute file is within 1.5x of the 3-second file's).

Each file is first stored the way uploads are (LocalStore.incoming with an mp3frames.FrameCounter,
which counts MP3 frames while the bytes go by) and probed with that counter, the 3-second and
the 60-minute file in turn so that the machine's drift touches both alike; the time the
counting adds to storing the 60-minute file is printed under its row.

Files, made in a temp dir that is removed at the end:
  MP3 CBR + Info    lame -b 128 (44.1 kHz mono); the LAME Info header's counts are rewritten
  MP3 CBR, no Info  lame -b 128 -t (no header: the frames are counted)
  MP3 VBR + Xing    lame -V 6; the Xing header's counts are rewritten
  MP3 VBR, no Xing  lame -V 6 -t (no header at all, so the frames must be counted)
  M4A (faststart)   ffmpeg aac 32 kbit/s, moov before mdat
  M4A (moov at end) the same audio remuxed with the index after the audio
The 60-minute MP3s repeat a 10-second clip's frames; the 3-second ones are that clip's first
frames; the 60-minute M4As loop a 10-second clip with `ffmpeg -stream_loop ... -c copy`.
Without lame the MP3 frames come from tests/data/ (cbr.mp3, chapters.mp3, vbr_xing.mp3,
vbr_noxing.mp3);
without ffmpeg the M4A rows are skipped with a note.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import exit_after  # noqa: E402
from upload import ROOT, lame_clip, patch_vbr_header, samples_per_frame, split_mp3  # noqa: E402

from showbiz import audio  # noqa: E402
from showbiz.mp3frames import FrameCounter  # noqa: E402
from showbiz.storage import LocalStore  # noqa: E402

DATA = ROOT / "tests" / "data"
SHORT, LONG = 3.0, 3600.0
SAME = 1.5  # "the same time": the long file's median within this factor of the short one's


def write_mp3(path: Path, header: bytes | None, frames: list[bytes], seconds: float) -> None:
    """header (patched with the real counts) + the clip's frames cycled for `seconds`."""
    samples, rate = samples_per_frame(frames[0])
    count = max(1, round(seconds * rate / samples))
    whole, part = divmod(count, len(frames))
    body_len = whole * sum(map(len, frames)) + sum(map(len, frames[:part]))
    block = b"".join(frames)
    with open(path, "wb") as out:
        if header is not None:
            out.write(patch_vbr_header(header, count, len(header) + body_len))
        for _ in range(whole):
            out.write(block)
        out.write(b"".join(frames[:part]))


def mp3_sources(tmp: Path) -> tuple[dict[str, tuple[bytes | None, list[bytes]]], str]:
    """Per row: (Xing/Info frame or None, a ~10 s clip's audio frames); and their origin."""
    encoded = {"MP3 CBR + Info": lame_clip(tmp, 10.0, "-b", "128"),
               "MP3 CBR, no Info": lame_clip(tmp, 10.0, "-b", "128", "-t"),
               "MP3 VBR + Xing": lame_clip(tmp, 10.0, "-V", "6"),
               "MP3 VBR, no Xing": lame_clip(tmp, 10.0, "-V", "6", "-t")}
    note = "lame, 10 s clip at 44.1 kHz mono"
    if None in encoded.values():
        note = "tests/data fixtures (lame not found)"
        encoded = {"MP3 CBR + Info": (DATA / "cbr.mp3").read_bytes(),
                   "MP3 CBR, no Info": (DATA / "chapters.mp3").read_bytes(),
                   "MP3 VBR + Xing": (DATA / "vbr_xing.mp3").read_bytes(),
                   "MP3 VBR, no Xing": (DATA / "vbr_noxing.mp3").read_bytes()}
    out = {}
    for name, data in encoded.items():
        header, frames = split_mp3(data)
        if (header is None) != name.endswith(("no Xing", "no Info")):
            raise SystemExit(f"{name}: unexpected {'missing' if header is None else ''} VBR header")
        out[name] = (header, frames)
    return out, note


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *args],
                   check=True, timeout=300)


def make_m4a(tmp: Path) -> dict[str, tuple[Path, Path]]:
    clip, short = tmp / "clip.m4a", tmp / "short.m4a"
    sine = "sine=frequency=440:sample_rate=44100:duration={}"
    ffmpeg("-f", "lavfi", "-i", sine.format(10), "-ac", "1", "-c:a", "aac", "-b:a", "32k",
           str(clip))
    ffmpeg("-f", "lavfi", "-i", sine.format(SHORT), "-ac", "1", "-c:a", "aac", "-b:a", "32k",
           "-movflags", "+faststart", str(short))
    long = tmp / "long.m4a"
    ffmpeg("-stream_loop", str(int(LONG / 10) - 1), "-i", str(clip), "-c", "copy",
           "-movflags", "+faststart", str(long))
    rows = {"M4A (faststart)": (short, long)}
    late = {}
    for name, src in (("short", short), ("long", long)):
        late[name] = tmp / f"{name}-moov-at-end.m4a"
        ffmpeg("-i", str(src), "-c", "copy", str(late[name]))  # the mp4 muxer's default order
    rows["M4A (moov at end)"] = (late["short"], late["long"])
    return rows


def store_copy(path: Path, store: LocalStore, watch: FrameCounter | None) -> float:
    """Store `path` the way uploads are stored, then drop it; the seconds it took."""
    with path.open("rb") as source:
        started = time.perf_counter()
        with store.incoming(source, max_bytes=1 << 40, watch=watch):
            return time.perf_counter() - started


def timings(short: Path, long: Path, store: LocalStore, repeat: int
            ) -> tuple[list[list[float]], list[audio.AudioInfo]]:
    """Probe times of both files, each stored the way uploads are (MP3 frames counted on the
    way in), probed in turn so that the machine's drift touches both alike."""
    with ExitStack() as stack:
        probes = []
        for path in (short, long):
            watch = FrameCounter()
            source = stack.enter_context(path.open("rb"))
            stored = stack.enter_context(store.incoming(source, max_bytes=1 << 40, watch=watch))
            probes.append((stored.path, watch))
        infos = [audio.probe(*p) for p in probes]  # warm-up: page cache, imports
        runs: list[list[float]] = [[], []]
        for _ in range(repeat):
            for i, p in enumerate(probes):
                start = time.perf_counter()
                audio.probe(*p)
                runs[i].append(time.perf_counter() - start)
    return runs, infos


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=101, help="timed probes per file")
    parser.add_argument("--timeout", type=float, default=600, help="give up after this many s")
    args = parser.parse_args()

    exit_after(args.timeout)  # and clean up (server, temp dir) when killed
    tmp = Path(tempfile.mkdtemp(prefix="showbiz-bench-probe-"))
    try:
        store = LocalStore(tmp / "media")
        rows: dict[str, tuple[Path, Path]] = {}
        sources, note = mp3_sources(tmp)
        print(f"MP3 frames from {note}")
        for i, (name, (header, frames)) in enumerate(sources.items()):
            pair = []
            for seconds in (SHORT, LONG):
                path = tmp / f"{i}-{int(seconds)}s.mp3"
                write_mp3(path, header, frames, seconds)
                pair.append(path)
            rows[name] = (pair[0], pair[1])
        if shutil.which("ffmpeg"):
            rows.update(make_m4a(tmp))
        else:
            print("note: ffmpeg not found, the M4A rows are skipped")

        print(f"showbiz.audio.probe, {args.repeat} timed runs per file after one warm-up; "
              f"times in ms; 'same' = 60-min median within {SAME}x of the 3-s one\n")
        print(f"{'format':19} {'3 s: size':>10} {'median':>8} {'min':>8}   "
              f"{'60 min: size':>13} {'median':>8} {'min':>8}   {'ratio':>6}  verdict  durations")
        ok = True
        for name, (short, long) in rows.items():
            (s_runs, l_runs), (s_info, l_info) = timings(short, long, store, args.repeat)
            copies = {name: store_copy(long, store, watch)
                      for name, watch in (("plain", None), ("counting", FrameCounter()))}
            s_med, l_med = statistics.median(s_runs), statistics.median(l_runs)
            ratio = l_med / s_med
            same = ratio <= SAME
            ok &= same
            durations = f"{s_info.duration_seconds:.1f} s / {l_info.duration_seconds / 60:.1f} min"
            if (abs(s_info.duration_seconds - SHORT) > 0.5
                    or abs(l_info.duration_seconds - LONG) > 5):
                durations += " (WRONG)"
                ok = False
            print(f"{name:19} {short.stat().st_size / 1024:8.0f} K {s_med * 1000:8.2f} "
                  f"{min(s_runs) * 1000:8.2f}   {long.stat().st_size / 1048576:11.1f} M "
                  f"{l_med * 1000:8.2f} {min(l_runs) * 1000:8.2f}   {ratio:5.1f}x  "
                  f"{'PASS' if same else 'FAIL':7}  {durations}")
            counting = copies["counting"] - copies["plain"]
            print(f"{'':19} storing the 60-min file: {copies['plain'] * 1000:.0f} ms, "
                  f"{copies['counting'] * 1000:.0f} ms with frames counted on the way "
                  f"({counting * 1000:+.0f} ms)")
        print(f"\noverall: {'PASS' if ok else 'FAIL'}")
        return 0 if ok else 1
    finally:
        signal.alarm(0)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
