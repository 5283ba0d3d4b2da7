"""The production server: gunicorn with threads, serving the app factory."""
from __future__ import annotations

import os

from gunicorn.app.base import BaseApplication

from . import create_app


class _Gunicorn(BaseApplication):
    def __init__(self, options: dict):
        self.options = options
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        return create_app()


def run_gunicorn(host: str, port: int, workers: int | None, threads: int) -> None:
    """Serve on host:port with gthread workers (sendfile on for media)."""
    workers = workers or min(2 * (os.cpu_count() or 1) + 1, 8)
    _Gunicorn({"bind": f"{host}:{port}", "workers": workers, "threads": threads,
               "worker_class": "gthread", "sendfile": True, "accesslog": "-",
               "timeout": 120, "graceful_timeout": 20, "keepalive": 5}).run()
