"""What an install writes to disk that others on the machine must not read: the instance folder
(0700), the SQLite database with its password hashes and its WAL files, and the secret key (0600),
even under the usual umask of 022."""
import os
import stat
from pathlib import Path

import pytest

from showbiz import create_app
from showbiz.db import db


@pytest.fixture
def loose_umask():
    old = os.umask(0o022)
    yield
    os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _fresh_install(instance: Path, **config) -> dict[str, int]:
    """Make an install with one user; the modes of its database files while it is open."""
    from showbiz.db import transaction
    from showbiz.migrate import upgrade
    from showbiz.users import create_user

    app = create_app({"INSTANCE_PATH": str(instance), "MEDIA_DIR": str(instance.parent / "m"),
                      **config})
    with app.app_context():
        upgrade()
        with transaction():
            create_user("admin@example.com", "correct horse battery staple", is_admin=True)
        folder = Path(db.engine.url.database).parent
        modes = {path.name: mode(path) for path in folder.glob("*.sqlite*")}
        db.session.remove()
        db.engine.dispose()
    return modes


def test_a_new_install_is_private(tmp_path, loose_umask):
    instance = tmp_path / "instance"
    modes = _fresh_install(instance)
    assert mode(instance) == 0o700
    assert mode(instance / "secret_key") == 0o600
    assert modes == {"showbiz.sqlite": 0o600, "showbiz.sqlite-wal": 0o600,
                     "showbiz.sqlite-shm": 0o600}


def test_an_instance_folder_made_world_readable_is_closed_again(tmp_path, loose_umask):
    instance = tmp_path / "instance"
    instance.mkdir(mode=0o755)  # as git checks out the repository's instance/
    instance.chmod(0o755)
    _fresh_install(instance)
    assert mode(instance) == 0o700


def test_a_database_elsewhere_is_private_too(tmp_path, loose_umask):
    database = tmp_path / "data" / "shows.sqlite"
    database.parent.mkdir()
    modes = _fresh_install(tmp_path / "instance", DATABASE_URL=f"sqlite:///{database}")
    assert modes == {"shows.sqlite": 0o600, "shows.sqlite-wal": 0o600, "shows.sqlite-shm": 0o600}


def test_init_closes_a_database_an_older_version_left_world_readable(tmp_path, loose_umask):
    instance = tmp_path / "instance"
    _fresh_install(instance)
    database = instance / "showbiz.sqlite"
    database.chmod(0o644)  # as every install before this change
    app = create_app({"INSTANCE_PATH": str(instance), "MEDIA_DIR": str(tmp_path / "m")})
    result = app.test_cli_runner().invoke(args=["init"])
    with app.app_context():
        db.engine.dispose()
    assert result.exit_code == 0, result.output
    assert "Made the database readable by its owner only." in result.output
    assert mode(database) == 0o600
    again = app.test_cli_runner().invoke(args=["init"])
    with app.app_context():
        db.engine.dispose()
    assert "readable by its owner" not in again.output
