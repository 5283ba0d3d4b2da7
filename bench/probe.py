"""Probe plus frame count of a 60-minute VBR MP3 without a Xing/VBRI header, after its upload.

Run: .venv/bin/python bench/probe.py [--repeat 21]

The file is stored the way an upload is (LocalStore.incoming: copied, hashed, fsynced), then
probed the way an upload is (showbiz.media.audio.probe, which counts every frame because no
header says how many there are). Target (issue 14): <= 250 ms, and exact. The 60 minutes
repeat the frames of a 60-second clip that `lame -V 6 -t` made from noise bursts and hush
(without lame: tests/data/vbr_noxing.mp3), so the exact duration is 60 (or 180) times the clip's.
"""
from __future__ import annotations

import argparse
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path

from showbiz.media import audio
from showbiz.media.storage import LocalStore

ROOT = Path(__file__).resolve().parent.parent
TARGET_MS = 250


def clip(tmp: Path) -> tuple[bytes, str]:
    """MPEG frames of a VBR clip with no Xing/Info header and no tags; where they came from."""
    if shutil.which("lame") is None:
        data = (ROOT / "tests" / "data" / "vbr_noxing.mp3").read_bytes()
        tag = 10 + (data[6] << 21 | data[7] << 14 | data[8] << 7 | data[9])
        return (data[tag:] if data[:3] == b"ID3" else data), "tests/data/vbr_noxing.mp3"
    rng, rate, wav = random.Random(1), 44100, tmp / "clip.wav"
    with wave.open(str(wav), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        for _ in range(30):  # two seconds each: loud noise, faint noise or hush
            loud = rng.choice([0, 1, 2])
            block = rng.randbytes(4 * rate) if loud == 2 else bytes(4 * rate)
            if loud == 1:
                block = bytes(b & 0x07 for b in rng.randbytes(4 * rate))
            out.writeframes(block)
    subprocess.run(["lame", "--quiet", "-V", "6", "-t", str(wav), str(tmp / "clip.mp3")],
                   check=True)
    return (tmp / "clip.mp3").read_bytes(), "lame -V 6 -t, 60 s at 44.1 kHz mono"


def measure(repeat: int) -> tuple[list[str], bool]:
    """Store and probe the 60-minute file; the lines to print and whether the target is met."""
    with tempfile.TemporaryDirectory(prefix="showbiz-bench-probe-") as tmpdir:
        tmp = Path(tmpdir)
        frames, origin = clip(tmp)
        (tmp / "clip-only.mp3").write_bytes(frames)
        clip_seconds = audio.probe(tmp / "clip-only.mp3").duration_seconds
        copies = round(3600 / clip_seconds)
        (tmp / "long.mp3").write_bytes(frames * copies)
        store = LocalStore(tmp / "media")
        with (tmp / "long.mp3").open("rb") as source:
            started = time.perf_counter()
            with store.incoming(source, max_bytes=1 << 32) as upload:
                stored = time.perf_counter() - started
                started = time.perf_counter()
                info = audio.probe(upload.path)
                first = time.perf_counter() - started
                runs = []
                for _ in range(repeat):
                    started = time.perf_counter()
                    audio.probe(upload.path)
                    runs.append(time.perf_counter() - started)
                size = upload.size_bytes
    exact = abs(info.duration_seconds - copies * clip_seconds) < 1e-6
    median = statistics.median(runs)
    ok = exact and max(first, median) * 1000 <= TARGET_MS
    return [f"{size / 1048576:.1f} MiB MP3, VBR, no Xing/VBRI header ({origin}, x{copies}): "
            f"{info.duration_seconds / 60:.2f} min, {'exact' if exact else 'NOT EXACT'}",
            f"storing it as an upload (copy, SHA-256, fsync): {stored * 1000:.0f} ms",
            f"probe + frame count after the upload: first {first * 1000:.0f} ms, median of "
            f"{repeat} more {median * 1000:.0f} ms (min {min(runs) * 1000:.0f}); "
            f"target <= {TARGET_MS} ms: {'PASS' if ok else 'FAIL'}"], ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=21, help="timed probes after the first")
    lines, ok = measure(parser.parse_args().repeat)
    print("\n".join(lines))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
