"""The production server: granian (HTTP in Rust) running the app factory over WSGI.

gunicorn was the first choice; measured here it tops out at a fifth of nginx's rate for 64 KiB
media ranges even with a bare WSGI app, where granian reaches over half (bench/media.py).
"""
from __future__ import annotations

import os

from granian import Granian
from granian.constants import Interfaces


def run(host: str, port: int, workers: int | None, threads: int, access_log: bool,
        factory: str = "showbiz:create_app") -> None:
    """Serve on host:port: one worker process per core by default, `threads` app threads each."""
    Granian(factory, factory=True, interface=Interfaces.WSGI, address=host,
            port=port, workers=workers or os.cpu_count() or 1, blocking_threads=threads,
            log_access=access_log, respawn_failed_workers=True, workers_kill_timeout=20,
            backpressure=None).serve()
