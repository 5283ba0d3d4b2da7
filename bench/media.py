"""Random-range throughput: file_response under gunicorn against nginx (prints figures).

Run: .venv/bin/python bench/media.py [--duration 10] [--rounds 3]
Needs the Debian packages nginx and wrk (falls back to a Python client without wrk).
This module is also the WSGI app gunicorn loads, as `media:app` with --chdir bench.
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from harness import free_port, nginx_command, wait_port
from werkzeug import Request
from werkzeug.utils import send_file

from showbiz.web.sendfile import file_response

FILE_SIZE = 50 * 1024 * 1024
SIZES = {"64KiB": 64 * 1024, "1MiB": 1024 * 1024}
HERE = Path(__file__).resolve().parent
GUNICORN = Path(sys.executable).with_name("gunicorn")


def app(environ, start_response):
    """WSGI app serving SHOWBIZ_BENCH_FILE the way SHOWBIZ_BENCH_MODE says."""
    mode, path = (
        os.environ.get("SHOWBIZ_BENCH_MODE", "file_response"),
        os.environ["SHOWBIZ_BENCH_FILE"],
    )
    if mode == "hello":  # gunicorn's own ceiling: no file at all
        start_response("200 OK", [("Content-Length", "5")])
        return [b"hello"]
    if mode == "send_file":  # the werkzeug baseline this module replaces
        resp = send_file(path, environ, mimetype="audio/mpeg", conditional=True)
    else:
        st = os.stat(path)
        resp = file_response(
            Request(environ),
            open(path, "rb"),
            size=st.st_size,
            mtime=st.st_mtime,
            mime_type="audio/mpeg",
            etag="bench",
        )
    return resp(environ, start_response)


def start_nginx(tmp: Path, port: int) -> subprocess.Popen:
    return subprocess.Popen(nginx_command(
        tmp, port, "    default_type audio/mpeg;",
        f"        root {tmp}/www;\n"
        "        location / { add_header X-Content-Type-Options nosniff; }"))


def start_gunicorn(media: Path, port: int, worker_args: list[str], mode: str) -> subprocess.Popen:
    env = dict(os.environ, SHOWBIZ_BENCH_FILE=str(media), SHOWBIZ_BENCH_MODE=mode)
    cmd = [
        str(GUNICORN),
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        "2",
        "--chdir",
        str(HERE),
        "--log-level",
        "warning",
        "--keep-alive",
        "30",
        *worker_args,
        "media:app",
    ]
    return subprocess.Popen(cmd, env=env)


def stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGQUIT if proc.args[0] == "nginx" else signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


WRK_SCRIPT = """
local size, len = {size}, {length}
local counter = 0
function setup(thread) counter = counter + 1; thread:set("seed", counter) end
function init(args) math.randomseed(os.time() * 1000 + seed) end
function request()
  local start = math.random(0, size - len)
  return wrk.format("GET", "/big.mp3", {{Range = "bytes=" .. start .. "-" .. (start + len - 1)}})
end
"""


def run_wrk(port: int, length: int, duration: int, tmp: Path) -> float:
    script = tmp / f"range{length}.lua"
    script.write_text(WRK_SCRIPT.format(size=FILE_SIZE, length=length))
    out = subprocess.run(
        ["wrk", "-t2", "-c16", f"-d{duration}s", "-s", str(script), f"http://127.0.0.1:{port}/"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    if "Non-2xx" in out or "Socket errors" in out:
        print(out)
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


def run_python_client(port: int, length: int, duration: int, tmp: Path) -> float:
    """Fallback when wrk is missing: 8 keep-alive threads, checks each length."""
    deadline, counts = time.monotonic() + duration, []

    def worker():
        rng, n = random.Random(), 0
        conn = http.client.HTTPConnection("127.0.0.1", port)
        while time.monotonic() < deadline:
            start = rng.randrange(FILE_SIZE - length)
            conn.request(
                "GET", "/big.mp3", headers={"Range": f"bytes={start}-{start + length - 1}"}
            )
            resp = conn.getresponse()
            assert resp.status == 206 and len(resp.read()) == length
            if resp.will_close:
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port)
            n += 1
        counts.append(n)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts) / duration


GTHREAD = ["--worker-class", "gthread", "--threads", "4"]
SERVERS = {  # name: (gunicorn args or None for nginx, app mode)
    "nginx": (None, ""),
    "file_response, gunicorn sync x2": (["--worker-class", "sync"], "file_response"),
    "file_response, gunicorn gthread x2/4": (GTHREAD, "file_response"),
    "werkzeug send_file, gthread x2/4": (GTHREAD, "send_file"),
    "5-byte hello (ceiling), gthread x2/4": (GTHREAD, "hello"),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per measurement")
    parser.add_argument(
        "--rounds", type=int, default=1, help="interleaved rounds; the median is shown"
    )
    args = parser.parse_args()
    client = run_wrk if shutil.which("wrk") else run_python_client
    print(
        f"client: {client.__name__}, {args.rounds} x {args.duration}s per figure, "
        f"file {FILE_SIZE >> 20} MiB, {os.cpu_count()} CPUs"
    )
    servers = {k: v for k, v in SERVERS.items() if k != "nginx" or shutil.which("nginx")}
    samples: dict[str, dict[str, list[float]]] = {
        n: {label: [] for label in SIZES} for n in servers
    }
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        (tmp / "www").mkdir()
        media = tmp / "www" / "big.mp3"
        media.write_bytes(os.urandom(FILE_SIZE))
        ports, procs = {}, []
        try:
            # All servers run at once and are measured in turn, so the
            # machine's drift spreads over all of them alike.
            for name, (worker_args, mode) in servers.items():
                ports[name] = free_port()
                procs.append(
                    start_nginx(tmp, ports[name])
                    if worker_args is None
                    else start_gunicorn(media, ports[name], worker_args, mode)
                )
                wait_port(ports[name], procs[-1])
                client(ports[name], SIZES["64KiB"], 1, tmp)  # warm-up
            for _ in range(args.rounds):
                for label, length in SIZES.items():
                    for name in servers:
                        samples[name][label].append(client(ports[name], length, args.duration, tmp))
        finally:
            for proc in procs:
                stop(proc)
    median = {
        n: {label: statistics.median(v) for label, v in d.items()} for n, d in samples.items()
    }
    for name, figures in median.items():
        print(
            f"{name:38s}"
            + "".join(f"{label:>7s}: {rps:8.0f} req/s" for label, rps in figures.items())
        )
    if "nginx" not in median:
        return
    for label in SIZES:
        best = max(
            (n for n in median if n.startswith("file_response")), key=lambda n: median[n][label]
        )
        ratio = median[best][label] / median["nginx"][label]
        verdict = "ok" if ratio >= 0.5 else "below the 0.5 target"
        print(f"{label}: best file_response ({best}) / nginx = {ratio:.2f}x  {verdict}")


if __name__ == "__main__":
    main()
