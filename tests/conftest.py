"""Fixtures: an app on a temporary instance with a real database and media folder."""
from __future__ import annotations

import os
import re
import socket
import subprocess
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa

from showbiz import create_app
from showbiz.db import db, transaction

DATA = Path(__file__).parent / "data"
PASSWORD = "correct horse battery staple"


def _database_url(tmp_path: Path) -> str:
    """SQLite in the test's folder, or a fresh schema on SHOWBIZ_TEST_DATABASE_URL (PostgreSQL)."""
    url = os.environ.get("SHOWBIZ_TEST_DATABASE_URL")
    if not url:
        return f"sqlite:///{tmp_path / 'instance' / 'showbiz.sqlite'}"
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP SCHEMA IF EXISTS public CASCADE")
        conn.exec_driver_sql("CREATE SCHEMA public")
    engine.dispose()
    return url


@pytest.fixture
def app_config(tmp_path):
    """Settings of a throwaway instance."""
    (tmp_path / "instance").mkdir()
    (tmp_path / "media").mkdir()
    return {
        "TESTING": True,
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "DATABASE_URL": _database_url(tmp_path),
        "MEDIA_DIR": str(tmp_path / "media"),
        "BASE_URL": "http://podcasts.test",
        "SECRET_KEY": "test-" + tmp_path.name,
    }


@pytest.fixture
def make_app():
    """Build apps with the migrations applied; their connections are closed at the end."""
    from showbiz.migrate import upgrade

    apps = []

    def build(config):
        app = create_app(config)
        with app.app_context():
            upgrade()
        apps.append(app)
        return app

    yield build
    for app in apps:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def app(make_app, app_config):
    """The app with its database created by the migrations."""
    return make_app(app_config)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def ctx(app):
    """An app context for calling domain functions directly."""
    with app.app_context():
        yield


def csrf_token(client, path: str = "/login") -> str:
    """The CSRF token of the client's session, read from a form the way a browser would."""
    html = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def make_user(app, email="host@example.com", *, admin=False, password=PASSWORD):
    """Add a user and return its id."""
    from showbiz.users import create_user

    with app.app_context(), transaction():
        return create_user(email, password, is_admin=admin).id


def make_show(app, slug="news-hour", *, title="The News Hour", owner_email=None, **fields):
    """Add a show (owned by `owner_email` if given) and return its id."""
    from showbiz.shows import create_show
    from showbiz.users import user_by_email

    with app.app_context(), transaction():
        owner = user_by_email(owner_email) if owner_email else None
        return create_show(slug, title, owner=owner, **fields).id


def make_episode(app, show_id, audio="cbr.mp3", *, title="An episode", publish=True, **details):
    """Add an episode from a real audio file in tests/data and return its id."""
    from showbiz.episodes import NewEpisode, create_episode
    from showbiz.models import Show, utcnow

    with app.app_context(), (DATA / audio).open("rb") as stream:
        show = db.session.get(Show, show_id)
        new = NewEpisode(title=title, publish_at=utcnow() if publish else None, **details)
        return create_episode(show, stream, audio, new).id


def login(client, email="host@example.com", password=PASSWORD, next_url=""):
    """Sign in through the form, with its CSRF token."""
    token = csrf_token(client)
    return client.post("/login", data={"email": email, "password": password,
                                       "csrf_token": token, "next": next_url})


@pytest.fixture
def live_server(app):
    """The app served by a real threaded HTTP server on 127.0.0.1; yields its base URL."""
    from werkzeug.serving import make_server

    with serving(make_server("127.0.0.1", 0, app, threaded=True)) as base:
        yield base


@pytest.fixture
def tiny_disk(tmp_path):
    """A 256 KiB tmpfs, so a full disk is real (CI runs as root, which may mount)."""
    import subprocess

    mount = tmp_path / "tiny"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)],
                          capture_output=True, text=True)
    if done.returncode:
        message = f"cannot mount a tmpfs here: {done.stderr.strip()}"
        if os.environ.get("CI"):
            pytest.fail(message)  # CI runs as root: a missing mount is a broken machine
        pytest.skip(message)
    yield mount
    subprocess.run(["umount", str(mount)], check=True)


def stored_files(app) -> list[str]:
    """Every file in the media folder, temporary ones included."""
    media = Path(app.config["MEDIA_DIR"])
    return sorted(str(p.relative_to(media)) for p in media.rglob("*") if p.is_file())


PAGES = Path(__file__).parent / "pages"


@pytest.fixture
def page_server():
    """Fixture news pages from tests/pages, served by a real HTTP server on 127.0.0.1."""
    import functools
    import http.server

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(PAGES))
    with serving(http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)) as base:
        yield base


@contextmanager
def serving(server):
    """Run a socketserver-style server in a thread; yields its base URL; stops it after."""
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        thread.join(5)
        server.server_close()


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def server_process(command: list[str], port: int, log: Path, env: dict | None = None):
    """Run a server (a real process) until it accepts connections on `port`; stop it after."""
    with log.open("w") as out:
        proc = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"{command[0]} did not start:\n{log.read_text()}")
                time.sleep(0.05)
        yield proc
    finally:
        proc.terminate()
        proc.wait(timeout=30)
