"""What the benchmarks share: free loopback ports, waiting for servers, nginx, a time limit."""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, proc: subprocess.Popen, what: str = "server") -> None:
    """Wait up to 30 s for a started server to accept connections."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{what} exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"{what} did not start on port {port}")


def nginx_command(tmp: Path, port: int, http_lines: str, server_lines: str,
                  access_log: bool = False, name: str = "nginx") -> list[str]:
    """Write an nginx config for a foreground nginx on 127.0.0.1:port; return its command.

    Without an access log, like `showbiz serve` by default; with one (to a file), like
    `showbiz serve --access-log`: each comparison has both sides do the same work.
    """
    conf = tmp / f"{name}.conf"
    log = f"{tmp}/{name}-access.log" if access_log else "off"
    conf.write_text(f"""
daemon off;
user root;
worker_processes 2;
pid {tmp}/{name}.pid;
error_log {tmp}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log {log};
    sendfile on;
    # tcp_nopush stalls small responses on delayed ACKs (~40 ms each); off is the fast setting.
    tcp_nopush off;
    keepalive_requests 1000000;
{http_lines}
    server {{
        listen 127.0.0.1:{port};
{server_lines}
    }}
}}
""")
    return ["nginx", "-p", str(tmp), "-c", str(conf), "-e", str(tmp / "nginx-error.log")]


def exit_after(seconds: float) -> None:
    """Give up after `seconds`, and exit cleanly on SIGTERM/SIGHUP, so cleanup code runs."""
    def too_long(*_):
        raise SystemExit(f"gave up after {seconds:.0f} s")

    signal.signal(signal.SIGALRM, too_long)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda *_: sys.exit("stopped by signal"))
    signal.alarm(int(seconds))


@contextmanager
def servers(commands: dict[str, list[str]], ports: dict[str, int], env: dict, logs: Path):
    """Start each named server in its own process group, wait for its port; stop them after."""
    procs = {}
    try:
        for name, command in commands.items():
            with open(logs / f"{name}.log", "ab") as log:
                procs[name] = subprocess.Popen(command, env=env, stdout=log, stderr=log,
                                               start_new_session=True)
            wait_port(ports[name], procs[name], name)
        yield
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout=30)


def wrk_rate(port: int, path: str, headers: dict, duration: int) -> float:
    """Requests/s of one `wrk -t2 -c16` run; exits if any response was not 2xx/3xx."""
    command = ["wrk", "-t2", "-c16", f"-d{duration}s"]
    for key, value in headers.items():
        command += ["-H", f"{key}: {value}"]
    out = subprocess.run(command + [f"http://127.0.0.1:{port}{path}"], capture_output=True,
                         text=True, check=True).stdout
    if "Non-2xx" in out:
        raise SystemExit(f"wrk saw errors:\n{out}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
