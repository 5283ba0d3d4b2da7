"""Temp files left by a killed upload (media/.incoming/*.part) or a killed feed rebuild
(.<name>.<pid>.<thread>.tmp in the feed folder) are swept by `showbiz init`, before `showbiz serve`
starts its workers, and by `showbiz feeds refresh` (the cron job); files young enough to belong
to an upload or rebuild still running are left alone."""
import os
import time
from pathlib import Path

import pytest

from showbiz.feed import feed_dir
from showbiz.feed.store import remove_temp_files

from .conftest import make_episode, make_show

HOUR = 3600


@pytest.fixture
def leftovers(app):
    """A published feed on disk, plus old and fresh temp files of uploads and rebuilds."""
    make_episode(app, make_show(app, "news-hour"))
    with app.app_context():
        feeds = feed_dir()
    incoming = Path(app.config["MEDIA_DIR"]) / ".incoming"
    incoming.mkdir(exist_ok=True)
    files = {
        "old upload": incoming / "0123abcd.part",
        "running upload": incoming / "4567efab.part",
        "old rebuild": feeds / ".news-hour.xml.4242.140000.tmp",
        "running rebuild": feeds / ".news-hour.xml.gz.4343.140001.tmp",
    }
    for name, path in files.items():
        path.write_bytes(b"half of something")
        if name.startswith("old"):
            then = time.time() - 2 * HOUR
            os.utime(path, (then, then))
    return files


def _swept(files) -> None:
    assert not files["old upload"].exists() and not files["old rebuild"].exists()
    assert files["running upload"].exists() and files["running rebuild"].exists()


def test_init_sweeps_old_temp_files(app, runner, leftovers):
    result = runner.invoke(args=["init"])
    assert result.exit_code == 0, result.output
    assert "Removed 1 unfinished upload and 1 unfinished feed file." in result.output
    _swept(leftovers)


def test_the_cron_job_sweeps_old_temp_files(app, runner, leftovers):
    result = runner.invoke(args=["feeds", "refresh"])
    assert result.exit_code == 0, result.output
    assert "Removed 1 unfinished upload and 1 unfinished feed file." in result.output
    _swept(leftovers)


def test_serve_sweeps_before_its_workers_start(app, runner, leftovers, monkeypatch):
    seen = []
    monkeypatch.setattr("showbiz.server.run", lambda *args: seen.append(
        (leftovers["old upload"].exists(), leftovers["old rebuild"].exists())))
    result = runner.invoke(args=["serve", "--port", "1"])
    assert result.exit_code == 0, result.output
    assert seen == [(False, False)]
    _swept(leftovers)


def test_the_served_feed_survives_the_sweep(app, client, runner, leftovers):
    before = client.get("/shows/news-hour/feed.xml")
    runner.invoke(args=["feeds", "refresh"])
    after = client.get("/shows/news-hour/feed.xml")
    assert after.status_code == 200 and after.data == before.data
    with app.app_context():
        names = sorted(p.name for p in feed_dir().iterdir())
    assert names == [".news-hour.xml.gz.4343.140001.tmp", "news-hour.json", "news-hour.xml",
                     "news-hour.xml.gz"]


def test_a_missing_feed_folder_has_nothing_to_sweep(tmp_path):
    assert remove_temp_files(tmp_path / "never-made") == 0
