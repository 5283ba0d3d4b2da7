"""showbiz: self-hosted podcast publishing for news-driven shows."""
from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

ROOT = Path(__file__).resolve().parent.parent

DEFAULTS: dict[str, Any] = {
    "DATABASE_URL": None,            # default: sqlite:///<instance>/showbiz.sqlite
    "MEDIA_DIR": None,               # default: <project>/media
    "BASE_URL": "http://127.0.0.1:5000",
    "MAX_UPLOAD_MB": 1024,
    "FETCH_ALLOW_PRIVATE": False,
    "LOGIN_LIMIT_PER_ACCOUNT": 5,    # failed sign-ins per account per window
    "LOGIN_LIMIT_PER_ADDRESS": 20,   # failed sign-ins per client address per window
    "LOGIN_LIMIT_WINDOW_SECONDS": 900,
    "TRUST_PROXY": False,            # trust X-Forwarded-For/-Proto from one proxy
    "PAGE_SIZE": 20,
}


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Assemble the app: defaults, then instance/config.py, then SHOWBIZ_* variables, then `config`."""
    instance = (config or {}).get("INSTANCE_PATH") or ROOT / "instance"
    app = Flask(__name__, instance_path=str(instance), instance_relative_config=True,
                template_folder=str(ROOT / "templates"))
    app.config.from_mapping(DEFAULTS)
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_prefixed_env("SHOWBIZ")
    if config:
        app.config.from_mapping(config)
    _derive_settings(app)
    _init_extensions(app)
    return app


def _derive_settings(app: Flask) -> None:
    """Fill the settings that depend on others: database URL, media folder, secret key, cookies."""
    instance = Path(app.instance_path)
    instance.mkdir(mode=0o700, parents=True, exist_ok=True)
    if instance.stat().st_uid == os.getuid():
        instance.chmod(0o700)  # holds the secret key and the database: also git's 0755 folder
    cfg = app.config
    cfg["DATABASE_URL"] = cfg["DATABASE_URL"] or f"sqlite:///{instance / 'showbiz.sqlite'}"
    cfg["SQLALCHEMY_DATABASE_URI"] = _sqlalchemy_url(cfg["DATABASE_URL"])
    cfg["MEDIA_DIR"] = str(cfg["MEDIA_DIR"] or ROOT / "media")
    cfg["BASE_URL"] = str(cfg["BASE_URL"]).rstrip("/")
    cfg["SECRET_KEY"] = cfg.get("SECRET_KEY") or _instance_secret(instance)
    cfg["MAX_CONTENT_LENGTH"] = int(cfg["MAX_UPLOAD_MB"]) * 1024 * 1024
    cfg["SESSION_COOKIE_HTTPONLY"] = True
    cfg["SESSION_COOKIE_SAMESITE"] = "Lax"
    cfg["SESSION_COOKIE_SECURE"] = cfg["BASE_URL"].startswith("https://")
    cfg["WTF_CSRF_TIME_LIMIT"] = None  # the token lives as long as the session
    cfg.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {"pool_pre_ping": True})


def _sqlalchemy_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL URLs written the common way."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _instance_secret(instance: Path) -> str:
    """A random key made once and kept in instance/, so sessions survive restarts."""
    path = instance / "secret_key"
    if not path.exists():
        tmp = instance / f".secret_key.{secrets.token_hex(4)}"
        tmp.touch(mode=0o600)
        tmp.write_text(secrets.token_hex(32))
        try:
            os.link(tmp, path)  # atomic: if two processes race, both read the winner's key
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path.read_text().strip()


def _init_extensions(app: Flask) -> None:
    """Bind the database, CSRF protection, blueprints and commands to the app."""
    from werkzeug.middleware.proxy_fix import ProxyFix

    from . import changes, cli, web
    from .db import db
    from .web.auth import csrf, login_manager_init

    db.init_app(app)
    changes.install()  # what a commit makes stale: feed revisions, feeds to rebuild
    csrf.init_app(app)
    login_manager_init(app)
    web.register(app)
    cli.register(app)
    if app.config["TRUST_PROXY"]:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)
