"""Random byte ranges of a published 50 MiB episode: `showbiz serve` against nginx, side by side.

Run: .venv/bin/python bench/media.py [--duration 8] [--rounds 3]   (needs nginx and wrk)

A throwaway instance holds one published episode whose audio is a 50 MiB file; `showbiz serve
--workers 2 --threads 4` answers /media/<key> through the Flask route (access check, then
send_file), nginx (2 workers, sendfile) serves the same file at the same path. wrk asks each
for random 64 KiB and 1 MiB ranges (-t2 -c16); rounds are interleaved and the median shown.
Targets (issue 14): 64 KiB at >= 0.15x nginx, 1 MiB at >= 0.3x.
"""
from __future__ import annotations

import argparse
import http.client
import os
import re
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from harness import free_port, nginx_command, wait_port

FILE_SIZE = 50 * 1024 * 1024
TARGETS = {64 * 1024: ("64 KiB", 0.15), 1024 * 1024: ("1 MiB", 0.3)}
SHOWBIZ = Path(sys.executable).with_name("showbiz")
WRK_SCRIPT = """
local n = 0
function setup(thread) n = n + 1; thread:set("seed", n) end
function init(args) math.randomseed(os.time() * 1000 + seed) end
function request()
  local start = math.random(0, {size} - {length})
  return wrk.format("GET", "{path}", {{Range = "bytes=" .. start .. "-" .. (start + {length} - 1)}})
end
"""


def publish_episode(tmp: Path, env: dict) -> str:
    """Upload a 50 MiB MP3 through the CLI as a published episode; its media path."""
    subprocess.run([str(SHOWBIZ), "init"], env=env, check=True, capture_output=True)
    subprocess.run([str(SHOWBIZ), "show", "add", "bench", "--title", "Bench"], env=env,
                   check=True, capture_output=True)
    clip = (Path(__file__).resolve().parent.parent / "tests" / "data" / "cbr.mp3").read_bytes()
    audio = tmp / "big.mp3"
    audio.write_bytes((clip * (FILE_SIZE // len(clip) + 1))[:FILE_SIZE])
    url = subprocess.run([str(SHOWBIZ), "episode", "add", "bench", str(audio), "--publish"],
                         env=env, check=True, capture_output=True, text=True).stdout
    os.environ.update({k: v for k, v in env.items() if k.startswith("SHOWBIZ_")})
    from showbiz import create_app
    from showbiz.db import db
    from showbiz.models import Episode

    app = create_app()
    with app.app_context():
        key = db.session.scalar(db.select(Episode.audio_key))
        db.engine.dispose()
    assert url.strip(), "the episode was not published"
    return f"/media/{key}"


def requests_per_second(port: int, path: str, length: int, seconds: int, tmp: Path) -> float:
    """wrk's requests/s for random ranges of `length` bytes; any error stops the benchmark."""
    script = tmp / f"range{length}.lua"
    script.write_text(WRK_SCRIPT.format(size=FILE_SIZE, length=length, path=path))
    out = subprocess.run(["wrk", "-t2", "-c16", f"-d{seconds}s", "-s", str(script),
                          f"http://127.0.0.1:{port}/"], capture_output=True, text=True,
                         check=True).stdout
    if "Non-2xx" in out or "Socket errors" in out:
        raise SystemExit(f"errors on port {port}:\n{out}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


def same_bytes(ports: dict[str, int], path: str) -> None:
    """Both servers answer one range with the same 206 body before anything is timed."""
    bodies = set()
    for port in ports.values():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", path, headers={"Range": "bytes=1000-70535"})
        response = conn.getresponse()
        assert response.status == 206, (port, response.status)
        bodies.add(response.read())
        conn.close()
    assert len(bodies) == 1, "the servers disagree"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=8, help="seconds per measurement")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (median)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="showbiz-bench-media-") as tmpdir:
        tmp = Path(tmpdir)
        env = {**os.environ, "SHOWBIZ_DATABASE_URL": f"sqlite:///{tmp}/db.sqlite",
               "SHOWBIZ_MEDIA_DIR": str(tmp / "media"), "SHOWBIZ_SECRET_KEY": secrets.token_hex(16),
               "SHOWBIZ_FEED_STATIC_DIR": str(tmp / "feeds"), "SHOWBIZ_MAX_UPLOAD_MB": "100"}
        path = publish_episode(tmp, env)
        ports = {"nginx": free_port(), "showbiz": free_port()}
        location = f"location /media/ {{ alias {tmp / 'media'}/; }}"
        procs = {"nginx": subprocess.Popen(nginx_command(tmp, ports["nginx"], "", location),
                                           start_new_session=True),
                 "showbiz": subprocess.Popen(
                     [str(SHOWBIZ), "serve", "--port", str(ports["showbiz"]), "--workers", "2",
                      "--threads", "4"], env=env, start_new_session=True,
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)}
        try:
            for name, port in ports.items():
                wait_port(port, procs[name], name)
            same_bytes(ports, path)
            for port in ports.values():
                requests_per_second(port, path, 65536, 1, tmp)  # warm-up
            rates = {(name, n): [] for name in ports for n in TARGETS}
            for _ in range(args.rounds):
                for length in TARGETS:
                    for name, port in ports.items():
                        rates[name, length].append(
                            requests_per_second(port, path, length, args.duration, tmp))
        finally:
            for proc in procs.values():
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout=20)
    print(f"random ranges of a {FILE_SIZE >> 20} MiB episode, wrk -t2 -c16, median of "
          f"{args.rounds} x {args.duration} s; {os.cpu_count()} CPUs; "
          "showbiz serve --workers 2 --threads 4 vs nginx (2 workers, sendfile)")
    for length, (label, target) in TARGETS.items():
        app, nginx = (statistics.median(rates[name, length]) for name in ("showbiz", "nginx"))
        ratio = app / nginx
        print(f"{label:>7}: showbiz {app:7.0f} req/s, nginx {nginx:7.0f} req/s, "
              f"ratio {ratio:.2f}x (target >= {target}x) {'PASS' if ratio >= target else 'FAIL'}")


if __name__ == "__main__":
    main()
