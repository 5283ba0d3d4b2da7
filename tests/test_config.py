"""Configuration layering and the secret key."""
from pathlib import Path

from showbiz import create_app


def test_defaults_then_instance_file_then_environment_then_mapping(tmp_path, monkeypatch):
    instance = tmp_path / "instance"
    instance.mkdir()
    (instance / "config.py").write_text("BASE_URL = 'https://from-file.example'\n"
                                        "MAX_UPLOAD_MB = 7\nPAGE_SIZE = 5\n")
    monkeypatch.setenv("SHOWBIZ_MAX_UPLOAD_MB", "9")
    monkeypatch.setenv("SHOWBIZ_FETCH_ALLOW_PRIVATE", "true")
    app = create_app({"INSTANCE_PATH": str(instance), "PAGE_SIZE": 3})
    assert app.config["BASE_URL"] == "https://from-file.example"     # file over default
    assert app.config["MAX_UPLOAD_MB"] == 9                           # environment over file
    assert app.config["MAX_CONTENT_LENGTH"] == 9 * 1024 * 1024
    assert app.config["FETCH_ALLOW_PRIVATE"] is True                  # parsed as JSON
    assert app.config["PAGE_SIZE"] == 3                               # mapping over all
    assert app.config["LOGIN_LIMIT_PER_ACCOUNT"] == 5                 # default kept
    assert app.config["SESSION_COOKIE_SECURE"] is True                # https base URL


def test_defaults_need_no_configuration(tmp_path, monkeypatch):
    for name in list(__import__("os").environ):
        if name.startswith("SHOWBIZ_"):
            monkeypatch.delenv(name)
    app = create_app({"INSTANCE_PATH": str(tmp_path)})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'showbiz.sqlite'}"
    assert app.config["SESSION_COOKIE_SECURE"] is False
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert app.config["FETCH_ALLOW_PRIVATE"] is False
    assert Path(app.config["MEDIA_DIR"]).name == "media"


def test_secret_key_is_generated_once_and_kept(tmp_path, monkeypatch):
    monkeypatch.delenv("SHOWBIZ_SECRET_KEY", raising=False)
    first = create_app({"INSTANCE_PATH": str(tmp_path)}).config["SECRET_KEY"]
    second = create_app({"INSTANCE_PATH": str(tmp_path)}).config["SECRET_KEY"]
    other = create_app({"INSTANCE_PATH": str(tmp_path / "other")}).config["SECRET_KEY"]
    assert first == second and len(first) >= 64
    assert other != first
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".secret")] == []


def test_secret_key_from_environment_wins(tmp_path, monkeypatch):
    monkeypatch.setenv("SHOWBIZ_SECRET_KEY", "from-the-environment")
    app = create_app({"INSTANCE_PATH": str(tmp_path)})
    assert app.config["SECRET_KEY"] == "from-the-environment"
    assert not (tmp_path / "secret_key").exists()


def test_postgres_urls_use_psycopg3(tmp_path):
    app = create_app({"INSTANCE_PATH": str(tmp_path),
                      "DATABASE_URL": "postgresql://u:p@localhost/showbiz"})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u:p@localhost/showbiz"
