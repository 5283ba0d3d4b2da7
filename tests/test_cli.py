"""The `showbiz` commands: each one's success and its refusals."""
import re
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select

from showbiz.db import db
from showbiz.models import Episode, Membership, Show, User

from .conftest import DATA, PASSWORD, make_show, make_user


def count(app, model):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def test_init_twice(runner):
    for _ in range(2):
        result = runner.invoke(args=["init"])
        assert result.exit_code == 0, result.output
        assert "up to date" in result.output


def test_user_add_with_password_from_environment(app, runner, monkeypatch):
    monkeypatch.setenv("SHOWBIZ_PASSWORD", PASSWORD)
    result = runner.invoke(args=["user", "add", "Ann@Example.com", "--admin"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        user = db.session.scalar(select(User))
        assert (user.email, user.is_admin) == ("ann@example.com", True)


def test_user_add_refusals(app, runner, monkeypatch):
    monkeypatch.setenv("SHOWBIZ_PASSWORD", PASSWORD)
    assert runner.invoke(args=["user", "add", "ann@example.com"]).exit_code == 0
    for args, message in [(["user", "add", "ann@example.com"], "already exists"),
                          (["user", "add", "not-an-email"], "not an e-mail address")]:
        result = runner.invoke(args=args)
        assert result.exit_code != 0 and message in result.output
    monkeypatch.setenv("SHOWBIZ_PASSWORD", "short")
    result = runner.invoke(args=["user", "add", "bob@example.com"])
    assert result.exit_code != 0 and "at least 12 characters" in result.output
    assert count(app, User) == 1


def test_user_add_prompts_for_the_password(app, runner, monkeypatch):
    monkeypatch.delenv("SHOWBIZ_PASSWORD", raising=False)
    result = runner.invoke(args=["user", "add", "bob@example.com"],
                           input=f"{PASSWORD}\n{PASSWORD}\n")
    # CliRunner's input is not a terminal: the command asks for the variable instead.
    assert result.exit_code != 0 and "SHOWBIZ_PASSWORD" in result.output
    assert count(app, User) == 0


def test_show_add(app, runner):
    make_user(app, "owner@example.com")
    result = runner.invoke(args=["show", "add", "my-show", "--title", "My & <Show>",
                                 "--owner", "owner@example.com"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        show = db.session.scalar(select(Show))
        assert show.title == "My & <Show>"
        assert db.session.scalar(select(Membership.role)) == "owner"


def test_show_add_refusals(app, runner):
    make_show(app, "taken")
    cases = [(["show", "add", "Bad_Slug", "--title", "X"], "lower-case"),
             (["show", "add", "taken", "--title", "X"], "already exists"),
             (["show", "add", "fine", "--title", "X", "--owner", "ghost@example.com"],
              "No user has the e-mail"),
             (["show", "add", "fine", "--title", "   "], "Title is required"),
             (["show", "add", "fine", "--title", "Bad\x0btitle"], "control character"),
             (["show", "add", "fine"], "Missing option '--title'")]
    for args, message in cases:
        result = runner.invoke(args=args)
        assert result.exit_code != 0, args
        assert message in result.output, (args, result.output)
        assert "Traceback" not in result.output
    assert count(app, Show) == 1


def test_episode_add_prints_the_public_address(app, runner, page_server):
    app.config["FETCH_ALLOW_PRIVATE"] = True
    make_show(app, "news-hour")
    result = runner.invoke(args=["episode", "add", "news-hour", str(DATA / "cbr.mp3"),
                                 "--title", "First", "--publish",
                                 "--note", f"{page_server}/reuters.html?utm_source=x@0:03",
                                 "--host", "Kyle Anzalone", "--guest", "Scott Horton"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "http://podcasts.test/shows/news-hour/episodes/first/"
    with app.app_context():
        episode = db.session.scalar(select(Episode))
        assert episode.is_public and episode.audio_mime == "audio/mpeg"
        assert [(n.article.url, n.start_seconds) for n in episode.notes] == [
            (f"{page_server}/reuters.html", 3)]  # its canonical link names another site
        assert episode.notes[0].article.site_name == "Reuters"
        assert sorted((c.person.name, c.role) for c in episode.credits) == [
            ("Kyle Anzalone", "host"), ("Scott Horton", "guest")]


def test_episode_add_refusals_leave_nothing(app, runner, tmp_path):
    make_show(app, "news-hour")
    html = tmp_path / "page.mp3"
    html.write_text("<html><body>not audio</body></html>")
    cases = [(["episode", "add", "nope", str(DATA / "cbr.mp3")], "no show"),
             (["episode", "add", "news-hour", str(html)], "web page"),
             (["episode", "add", "news-hour", str(tmp_path / "missing.mp3")], "does not exist"),
             (["episode", "add", "news-hour", str(DATA / "cbr.mp3"), "--note", "ftp://x/y"],
              "Only http"),
             (["episode", "add", "news-hour", str(DATA / "cbr.mp3"), "--note",
               "http://127.0.0.1:9/x@9:00"], "past the end")]
    for args, message in cases:
        result = runner.invoke(args=args)
        assert result.exit_code != 0, args
        assert message in result.output, (args, result.output)
    assert count(app, Episode) == 0
    media = Path(app.config["MEDIA_DIR"])
    assert [p for p in media.rglob("*") if p.is_file()] == []


def test_console_script_lists_every_command():
    script = Path(sys.executable).with_name("showbiz")
    result = subprocess.run([str(script), "--help"], capture_output=True, text=True, check=True)
    for command in ("init", "demo", "user", "show", "episode", "serve", "run"):
        assert f"\n  {command} " in result.stdout


def test_interfaces_leave_transactions_to_the_domain():
    """Views and commands parse, call one domain function, then render or print: none of them
    opens a write transaction or fetches again an object it already holds."""
    package = Path(__file__).parent.parent / "showbiz"
    for source in [package / "cli.py", *sorted((package / "web").glob("*.py"))]:
        text = source.read_text()
        assert "transaction(" not in text, f"{source.name} opens a transaction"
        refetch = re.search(r"db\.session\.get\([^,]+, \w+\.id\)", text)
        assert refetch is None, f"{source.name}: {refetch and refetch.group()}"
