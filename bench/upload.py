"""Upload throughput and worker memory for a ~500 MB MP3 (prints figures; not a test).

Run: .venv/bin/python bench/upload.py [--size-mb 500] [--rounds 3] [--only raw|form] [--timeout 900]

Targets (from the issue): a 500 MB upload raises the server worker's peak memory (VmHWM) by
at most 32 MB and runs at >= 0.5x the speed of copying the same file on the same disk
(`cp` + `sync -f`, the way the app fsyncs). Both upload routes are measured: the raw body the
upload page's script sends (POST .../episodes/upload) and the no-JavaScript multipart form
(POST .../episodes/new). Each route gets a fresh `showbiz serve --workers 1 --threads 4`, so
each worker's peak is its own.

Everything lives in a temp dir (database, media, the generated MP3, server log) that is removed
at the end, the server is started in its own process group and killed on exit, and only
127.0.0.1 is contacted. Needs `lame` to make the MP3 frames (falls back to tests/data/cbr.mp3).
"""

from __future__ import annotations

import argparse
import array
import hashlib
import http.client
import math
import os
import random
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

from harness import exit_after, free_port
from probe import measure as probe_after_upload

ROOT = Path(__file__).resolve().parent.parent
SHOWBIZ = Path(sys.executable).with_name("showbiz")
FIXTURE = ROOT / "tests" / "data" / "cbr.mp3"
MiB = 1024 * 1024
SLUG = "bench"
EMAIL = "bench@example.com"
MEM_TARGET_MB = 32
SPEED_TARGET = 0.5


# --- MPEG audio frames ---------------------------------------------------------------------------

_KBPS_V1 = (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)
_KBPS_V2 = (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160)
_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}


def frame_length(h: bytes) -> int | None:
    """Length of the MPEG-1/2/2.5 Layer III frame whose header starts h, or None."""
    if len(h) < 4 or h[0] != 0xFF or h[1] & 0xE6 != 0xE2:
        return None
    version, br, sr, pad = (h[1] >> 3) & 3, h[2] >> 4, (h[2] >> 2) & 3, (h[2] >> 1) & 1
    if version == 1 or br in (0, 15) or sr == 3:
        return None
    kbps = (_KBPS_V1 if version == 3 else _KBPS_V2)[br]
    return (144 if version == 3 else 72) * kbps * 1000 // _RATES[version][sr] + pad


def samples_per_frame(h: bytes) -> tuple[int, int]:
    """(samples per frame, sample rate) of a valid Layer III header."""
    version = (h[1] >> 3) & 3
    return (1152 if version == 3 else 576), _RATES[version][(h[2] >> 2) & 3]


def vbr_header_at(frame: bytes) -> int:
    """Offset of the Xing/Info magic in a frame, or -1."""
    for magic in (b"Xing", b"Info"):
        i = frame.find(magic, 4, 42)
        if i >= 0:
            return i
    return -1


def split_mp3(data: bytes) -> tuple[bytes | None, list[bytes]]:
    """(Xing/Info frame or None, audio frames) of an MP3 file, skipping ID3v2 and ID3v1."""
    pos = 0
    while data[pos:pos + 3] == b"ID3":
        size = data[pos + 6] << 21 | data[pos + 7] << 14 | data[pos + 8] << 7 | data[pos + 9]
        pos += 10 + size + (10 if data[pos + 5] & 0x10 else 0)
    frames = []
    while pos + 4 <= len(data):
        length = frame_length(data[pos:pos + 4])
        if length is None or pos + length > len(data):
            break  # ID3v1 "TAG", or a cut-off last frame
        frames.append(data[pos:pos + length])
        pos += length
    header = frames.pop(0) if frames and vbr_header_at(frames[0]) >= 0 else None
    return header, frames


def patch_vbr_header(header: bytes, frames: int, total_bytes: int) -> bytes:
    """The Xing/Info frame with its frame and byte counts replaced (LAME counts the audio frames,
    not the Info frame itself, and the bytes of the whole stream including it)."""
    b = bytearray(header)
    i = vbr_header_at(header)
    flags = int.from_bytes(b[i + 4:i + 8], "big")
    at = i + 8
    if flags & 1:
        b[at:at + 4] = frames.to_bytes(4, "big")
        at += 4
    if flags & 2:
        b[at:at + 4] = total_bytes.to_bytes(4, "big")
    return bytes(b)


def write_repeated(path: Path, header: bytes | None, frames: list[bytes],
                   target_bytes: int) -> float:
    """Write header (patched) + frames repeated until target_bytes; return the duration in s."""
    block = b"".join(frames)
    repeats = max(1, round((target_bytes - len(header or b"")) / len(block)))
    count = repeats * len(frames)
    total = len(header or b"") + repeats * len(block)
    with open(path, "wb") as out:
        if header is not None:
            out.write(patch_vbr_header(header, count, total))
        big = block * max(1, (8 * MiB) // len(block))
        per_big = len(big) // len(block)
        left = repeats
        while left >= per_big:
            out.write(big)
            left -= per_big
        out.write(block * left)
    samples, rate = samples_per_frame(frames[0])
    return count * samples / rate


def make_wav(path: Path, seconds: float, rate: int = 44100) -> None:
    """A mono 16-bit WAV: a 440 Hz tone with a burst of noise every other second (so VBR varies)."""
    import wave

    rnd = random.Random(1)
    n = int(seconds * rate)
    step = 2 * math.pi * 440 / rate
    samples = array.array("h", (int(32767 * (0.3 * math.sin(i * step)
                                              + (0.4 * (rnd.random() - 0.5) if (i // rate) % 2 == 0
                                                 else 0.0)))
                                for i in range(n)))
    if sys.byteorder == "big":
        samples.byteswap()
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(samples.tobytes())


def lame_clip(tmp: Path, seconds: float, *lame_args: str) -> bytes | None:
    """Encode a short clip with lame; None when lame is not installed."""
    lame = shutil.which("lame")
    if lame is None:
        return None
    wav, mp3 = tmp / f"clip-{seconds}.wav", tmp / f"clip-{seconds}-{'_'.join(lame_args)}.mp3"
    if not wav.exists():
        make_wav(wav, seconds)
    subprocess.run([lame, "--quiet", *lame_args, str(wav), str(mp3)], check=True, timeout=120)
    return mp3.read_bytes()


def build_cbr_mp3(tmp: Path, path: Path, target_bytes: int) -> tuple[float, str]:
    """A CBR MP3 with a correct LAME Info header, ~target_bytes long; returns (duration, source)."""
    data = lame_clip(tmp, 10.0, "-b", "128")
    source = "lame -b 128, 44.1 kHz mono, 10 s clip repeated"
    if data is None:
        data = FIXTURE.read_bytes()
        source = f"{FIXTURE.relative_to(ROOT)} frames repeated (lame not found)"
    header, frames = split_mp3(data)
    assert header is not None, "the source MP3 has no Info header"
    return write_repeated(path, header, frames, target_bytes), source


# --- the server -------------------------------------------------------------------------------

def cli(env: dict, *args: str) -> str:
    done = subprocess.run([str(SHOWBIZ), *args], env=env, capture_output=True, text=True,
                          timeout=120)
    if done.returncode:
        raise SystemExit(f"showbiz {' '.join(args)} failed: {done.stderr.strip() or done.stdout}")
    return done.stdout.strip()


def children(pid: int) -> list[int]:
    kids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                kids.append(int(entry))
    return kids


def status_kb(pid: int) -> dict[str, int]:
    """The kB figures of /proc/<pid>/status (VmHWM, VmRSS, RssAnon, RssFile, ...)."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if value.strip().endswith(" kB"):
            out[key] = int(value.split()[0])
    return out


class Server:
    """`showbiz serve --workers 1 --threads 4` in its own process group."""

    def __init__(self, env: dict, log: Path) -> None:
        self.port = free_port()
        self.log = open(log, "ab")
        self.proc = subprocess.Popen(
            [str(SHOWBIZ), "serve", "--host", "127.0.0.1", "--port", str(self.port),
             "--workers", "1", "--threads", "4"],
            env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            self.worker = self._wait()
        except BaseException:
            self.stop()
            raise

    def _wait(self) -> int:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"showbiz serve exited with {self.proc.returncode}; "
                                 f"see {self.log.name}")
            kids = children(self.proc.pid)
            if kids:
                try:
                    socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                    return kids[0]
                except OSError:
                    pass
            time.sleep(0.05)
        raise SystemExit("showbiz serve did not start within 30 s")

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)  # the group we started, nothing else
                self.proc.wait(timeout=25)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
            except ProcessLookupError:
                pass
        self.log.close()


class RssSampler(threading.Thread):
    """Samples the worker's RssAnon and RssFile every 20 ms, keeping the maxima."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.stop_event = pid, threading.Event()
        self.max_anon = self.max_file = 0

    def run(self) -> None:
        while not self.stop_event.wait(0.02):
            try:
                s = status_kb(self.pid)
            except OSError:
                return
            self.max_anon = max(self.max_anon, s.get("RssAnon", 0))
            self.max_file = max(self.max_file, s.get("RssFile", 0))

    def stop(self) -> None:
        self.stop_event.set()
        self.join()


# --- the client -------------------------------------------------------------------------------

class Client:
    """Plain http.client with a cookie jar, talking to 127.0.0.1 only."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}
        self.sent_at = 0.0  # perf_counter() when the last request's body was all sent

    def request(self, method: str, path: str, body=None, headers: dict | None = None,
                timeout: float = 60) -> tuple[int, http.client.HTTPMessage, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout,
                                          blocksize=MiB)
        try:
            headers = dict(headers or {})
            if self.cookies:
                headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
            conn.request(method, path, body=body, headers=headers)
            self.sent_at = time.perf_counter()
            resp = conn.getresponse()
            data = resp.read()
            for raw in resp.msg.get_all("Set-Cookie") or []:
                jar = SimpleCookie()
                jar.load(raw)
                for name, morsel in jar.items():
                    if morsel["max-age"] == "0" or not morsel.value:
                        self.cookies.pop(name, None)
                    else:
                        self.cookies[name] = morsel.value
            return resp.status, resp.msg, data
        finally:
            conn.close()

    def csrf(self, path: str) -> str:
        status, _, page = self.request("GET", path)
        m = re.search(rb'name="csrf_token" value="([^"]+)"', page)
        if status != 200 or not m:
            raise SystemExit(f"GET {path}: {status}, no csrf_token")
        return m.group(1).decode()

    def login(self, email: str, password: str) -> None:
        token = self.csrf("/login")
        form = urlencode({"csrf_token": token, "next": "", "email": email, "password": password})
        status, _, _ = self.request("POST", "/login", body=form.encode(), headers={
            "Content-Type": "application/x-www-form-urlencoded"})
        if status != 302:
            raise SystemExit(f"sign-in failed: {status}")


def upload_raw(client: Client, path: Path, token: str, timeout: float) -> tuple[int, bytes]:
    size = path.stat().st_size
    with open(path, "rb") as f:
        status, _, body = client.request(
            "POST", f"/studio/shows/{SLUG}/episodes/upload?title=Bench", body=f, timeout=timeout,
            headers={"Content-Type": "application/octet-stream", "Content-Length": str(size),
                     "X-Filename": path.name, "X-CSRFToken": token})
    return status, body


def upload_form(client: Client, path: Path, token: str, timeout: float) -> tuple[int, bytes]:
    """A multipart/form-data body streamed from disk: the envelope is built by hand."""
    boundary = "----showbizbench" + secrets.token_hex(12)
    head = (f"--{boundary}\r\n"
            'Content-Disposition: form-data; name="csrf_token"\r\n\r\n'
            f"{token}\r\n"
            f"--{boundary}\r\n"
            'Content-Disposition: form-data; name="title"\r\n\r\n'
            "Bench\r\n"
            f"--{boundary}\r\n"
            f'Content-Disposition: form-data; name="audio"; filename="{path.name}"\r\n'
            "Content-Type: audio/mpeg\r\n\r\n").encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    size = len(head) + path.stat().st_size + len(tail)

    def body():
        yield head
        with open(path, "rb") as f:
            while chunk := f.read(MiB):
                yield chunk
        yield tail

    status, _, data = client.request(
        "POST", f"/studio/shows/{SLUG}/episodes/new", body=body(), timeout=timeout,
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}",
                 "Content-Length": str(size)})
    return status, data


# --- measurements -----------------------------------------------------------------------------

def timed_copy(src: Path, dest: Path, how: str) -> float:
    """Copy src to dest and flush it to disk, the way the app fsyncs before answering:
    "cp" is `cp` + `sync -f` (coreutils cp copies in the kernel with copy_file_range), "dd" is
    `dd bs=1M conv=fsync`, a read()/write() loop through user space like a server's."""
    dest.unlink(missing_ok=True)
    start = time.perf_counter()
    if how == "cp":
        subprocess.run(["cp", str(src), str(dest)], check=True, timeout=600)
        subprocess.run(["sync", "-f", str(dest)], check=True, timeout=600)
    else:
        subprocess.run(["dd", f"if={src}", f"of={dest}", "bs=1M", "conv=fsync", "status=none"],
                       check=True, timeout=600)
    seconds = time.perf_counter() - start
    dest.unlink()
    return seconds


def measure_route(name: str, send, env: dict, tmp: Path, mp3: Path, media: Path,
                  timeout: float, rounds: int) -> dict:
    """Upload, cp and dd in turn, `rounds` times, on one fresh server (medians are reported:
    the first round pays for a cold page cache and, on VMs, for first-touched memory)."""
    server = Server(env, tmp / "server.log")
    runs: dict[str, list[float]] = {"upload": [], "tail": [], "cp": [], "dd": []}
    try:
        client = Client(server.port)
        client.login(EMAIL, env["SHOWBIZ_PASSWORD"])
        token = client.csrf(f"/studio/shows/{SLUG}/episodes/new")
        # Warm-up with the small fixture: imports, templates, first DB queries are done now.
        status, body = send(client, FIXTURE, token, 60)
        if status not in (201, 302):
            raise SystemExit(f"{name} warm-up upload: {status} {body[:300]!r}")
        before = status_kb(server.worker)
        sampler = RssSampler(server.worker)
        sampler.start()
        for _ in range(rounds):
            start = time.perf_counter()
            status, body = send(client, mp3, token, timeout)
            runs["upload"].append(time.perf_counter() - start)
            runs["tail"].append(time.perf_counter() - client.sent_at)
            if status not in (201, 302):
                raise SystemExit(f"{name} upload: {status} {body[:300]!r}")
            for how in ("cp", "dd"):
                runs[how].append(timed_copy(mp3, media / "copy.mp3", how))
        sampler.stop()
        after = status_kb(server.worker)
    finally:
        server.stop()
    return {"name": name, "runs": runs, "before": before, "after": after,
            "max_anon": sampler.max_anon, "max_file": sampler.max_file}


def components(mp3: Path) -> dict[str, float]:
    """What the app does to the bytes besides receiving them, timed here in-process."""
    from showbiz.media import audio

    out = {}
    start = time.perf_counter()
    digest = hashlib.sha256()
    with open(mp3, "rb") as f:
        while chunk := f.read(MiB):
            digest.update(chunk)
    out["sha256"] = time.perf_counter() - start
    start = time.perf_counter()
    audio.probe(mp3)
    out["probe"] = time.perf_counter() - start
    return out


def report(r: dict, size: int) -> bool:
    mb = size / MiB
    runs = r["runs"]
    med = {key: statistics.median(values) for key, values in runs.items()}
    # upload MiB/s / copy MiB/s, per round (each upload is paired with the cp right after it,
    # so drifting load on a shared machine hits both); the verdict is on the median
    per_round = [c / u for c, u in zip(runs["cp"], runs["upload"])]
    ratio = statistics.median(per_round)
    hwm_before, hwm_after = r["before"]["VmHWM"] / 1024, r["after"]["VmHWM"] / 1024
    grew = hwm_after - hwm_before
    speed_ok, mem_ok = ratio >= SPEED_TARGET, grew <= MEM_TARGET_MB

    def listed(key: str) -> str:
        return "runs " + ", ".join(f"{v:.2f}" for v in runs[key]) + " s"

    print(f"\n== {r['name']}")
    print(f"file size              {size:,} bytes ({mb:.1f} MiB); medians of {len(runs['upload'])} "
          "rounds of upload, cp, dd")
    print(f"upload                 {med['upload']:6.2f} s {mb / med['upload']:8.1f} MiB/s   "
          f"({listed('upload')})")
    print(f"  after the last byte  {med['tail']:6.2f} s                  ({listed('tail')}; "
          "fsync, probe, database, response)")
    print(f"copy: cp + sync -f     {med['cp']:6.2f} s {mb / med['cp']:8.1f} MiB/s   "
          f"({listed('cp')})")
    print(f"copy: dd bs=1M fsync   {med['dd']:6.2f} s {mb / med['dd']:8.1f} MiB/s   "
          f"({listed('dd')}; for context)")
    print(f"speed ratio            {ratio:6.2f}x of cp   target >= {SPEED_TARGET}x   "
          f"{'PASS' if speed_ok else 'FAIL'}   (median of per-round "
          + ", ".join(f"{x:.2f}" for x in per_round)
          + f"; vs dd: {med['dd'] / med['upload']:.2f}x)")
    print(f"worker peak RSS        before {hwm_before:6.1f} MiB, after {hwm_after:6.1f} MiB: "
          f"increase {grew:+6.1f} MiB   target <= {MEM_TARGET_MB} MiB   "
          f"{'PASS' if mem_ok else 'FAIL'}")
    print(f"  sampled every 20 ms  max RssAnon {r['max_anon'] / 1024:.1f} MiB, RssFile "
          f"{r['max_file'] / 1024:.1f} MiB (before: "
          f"{r['before'].get('RssAnon', 0) / 1024:.1f}, "
          f"{r['before'].get('RssFile', 0) / 1024:.1f} MiB)")
    return speed_ok and mem_ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size-mb", type=float, default=500, help="MiB of MP3 (default 500)")
    parser.add_argument("--timeout", type=float, default=900, help="give up after this many s")
    parser.add_argument("--rounds", type=int, default=3,
                        help="upload+copy rounds per route; medians are reported (default 3)")
    parser.add_argument("--only", choices=("raw", "form"), help="measure one route only")
    args = parser.parse_args()
    if not hasattr(signal, "SIGALRM"):
        raise SystemExit("needs a POSIX system")

    exit_after(args.timeout)  # and clean up (server, temp dir) when killed
    tmp = Path(tempfile.mkdtemp(prefix="showbiz-bench-upload-"))
    try:
        media = tmp / "media"
        env = {**os.environ,
               "SHOWBIZ_DATABASE_URL": f"sqlite:///{tmp}/db.sqlite",
               "SHOWBIZ_MEDIA_DIR": str(media),
               "SHOWBIZ_SECRET_KEY": secrets.token_hex(32),
               "SHOWBIZ_MAX_UPLOAD_MB": "2048",
               "SHOWBIZ_PASSWORD": secrets.token_urlsafe(16)}
        for key in ("HOST", "PORT"):
            env.pop(key, None)
        cli(env, "init")
        cli(env, "user", "add", EMAIL, "--admin")
        cli(env, "show", "add", SLUG, "--title", "Bench")
        media.mkdir(parents=True, exist_ok=True)

        mp3 = tmp / f"bench-{args.size_mb:g}mib.mp3"
        start = time.perf_counter()
        duration, source = build_cbr_mp3(tmp, mp3, int(args.size_mb * MiB))
        size = mp3.stat().st_size
        from showbiz.media import audio

        info = audio.probe(mp3)
        print(f"made {mp3.name}: {size:,} bytes, {duration / 3600:.2f} h of {source}, "
              f"in {time.perf_counter() - start:.1f} s")
        print(f"showbiz.media.audio.probe: {info.codec}, {info.duration_seconds / 3600:.2f} h, "
              f"{info.bitrate} bit/s, {info.sample_rate} Hz, {info.channels} ch, "
              f"warnings={list(info.warnings)}")
        if abs(info.duration_seconds - duration) > 1:
            raise SystemExit(f"probe says {info.duration_seconds} s, expected {duration} s")
        parts = components(mp3)
        print(f"in-process, same file: sha256 {parts['sha256']:.2f} s, "
              f"probe {parts['probe'] * 1000:.1f} ms")
        lines, _ = probe_after_upload(repeat=5)  # bench/probe.py: the headerless worst case
        print("\n".join(lines))

        load = " ".join(f"{x:.2f}" for x in os.getloadavg())
        print(f"load average {load} on {os.cpu_count()} CPUs at the start "
              "(other work on the machine skews the timings)")
        routes = [("raw body: POST /studio/shows/bench/episodes/upload", upload_raw, "raw"),
                  ("multipart form: POST /studio/shows/bench/episodes/new", upload_form, "form")]
        ok = True
        for name, send, key in routes:
            if args.only and args.only != key:
                continue
            ok &= report(measure_route(name, send, env, tmp, mp3, media, args.timeout,
                                      max(1, args.rounds)), size)
        load = " ".join(f"{x:.2f}" for x in os.getloadavg())
        print(f"\nload average {load} at the end")
        print(f"overall: {'PASS' if ok else 'FAIL'}")
        return 0 if ok else 1
    finally:
        signal.alarm(0)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
