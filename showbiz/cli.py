"""The `showbiz` command line: a Flask CLI group over the same domain functions as the web."""
from __future__ import annotations

import os
import re
import sys

import click
from flask import Flask
from flask.cli import AppGroup, FlaskGroup, with_appcontext

from . import create_app


def _fail(message: str) -> None:
    """Stop with a one-line message and a non-zero exit."""
    raise click.ClickException(message)


@click.group(cls=FlaskGroup, create_app=create_app, add_version_option=False,
             load_dotenv=False, set_debug_flag=False)
def main() -> None:
    """showbiz: podcast publishing for news-driven shows."""


def register(app: Flask) -> None:
    """Add showbiz's commands to the app's CLI."""
    for command in (init, demo, user, show, episode, feeds, serve):
        app.cli.add_command(command)


@click.command()
@with_appcontext
def init() -> None:
    """Create or upgrade the database (safe to run again)."""
    from .db import db, make_sqlite_private
    from .feed import rebuild_due
    from .migrate import upgrade

    upgrade()
    private = make_sqlite_private(db.engine) and "Made the database readable by its owner only."
    click.echo(" ".join(filter(None, ["Database is up to date.", private, _sweep()])))
    rebuilt = rebuild_due()  # a new format, base URL or slug: no stored feed says the old one
    if rebuilt:
        click.echo(f"Rebuilt {len(rebuilt)} feed{'s' if len(rebuilt) != 1 else ''}.")


def _sweep() -> str:
    """Remove the temp files of uploads and feed rebuilds a crash or kill left behind (only
    those old enough that nothing can still be writing them); say what went, if anything."""
    from .feed import feed_dir
    from .feed.store import remove_temp_files
    from .media.storage import media_store

    uploads, rebuilds = media_store().remove_orphans(), remove_temp_files(feed_dir())
    said = [f"{uploads} unfinished upload{'s' if uploads != 1 else ''}" if uploads else "",
            f"{rebuilds} unfinished feed file{'s' if rebuilds != 1 else ''}" if rebuilds else ""]
    said = [part for part in said if part]
    return f"Removed {' and '.join(said)}." if said else ""


@click.command()
@with_appcontext
def demo() -> None:
    """Load the demo show, Conflicts of Interest (safe to run again)."""
    from .demo import load_demo

    for line in load_demo():
        click.echo(line)


@click.group(cls=AppGroup)
def user() -> None:
    """Manage users."""


@user.command("add")
@click.argument("email")
@click.option("--admin", is_flag=True, help="May manage every show.")
@click.option("--name", default="", help="Display name.")
def user_add(email: str, admin: bool, name: str) -> None:
    """Add a user; the password comes from SHOWBIZ_PASSWORD or a prompt."""
    from .users import add_user

    password = os.environ.get("SHOWBIZ_PASSWORD")
    if password is None:
        if not sys.stdin.isatty():
            _fail("Set SHOWBIZ_PASSWORD or run in a terminal to type the password.")
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    with _refusals():
        created = add_user(email, password, name=name, is_admin=admin)
    click.echo(f"Added {'admin ' if admin else ''}user {created.email}.")


@click.group(cls=AppGroup)
def show() -> None:
    """Manage shows."""


@show.command("add")
@click.argument("slug")
@click.option("--title", required=True, help="The show's title.")
@click.option("--owner", "owner_email", help="E-mail of the user who owns the show.")
def show_add(slug: str, title: str, owner_email: str | None) -> None:
    """Add a show."""
    from .shows import add_show
    from .users import user_by_email

    owner = None
    if owner_email:
        owner = user_by_email(owner_email)
        if owner is None:
            _fail(f"No user has the e-mail {owner_email}; add one with `showbiz user add`.")
    with _refusals():
        created = add_show(slug, title, owner=owner)
    click.echo(f"Added show {created.slug}.")


@click.group(cls=AppGroup)
def episode() -> None:
    """Manage episodes."""


@episode.command("add")
@click.argument("show_slug")
@click.argument("audio_file", type=click.Path(exists=True, dir_okay=False, readable=True))
@click.option("--title", default="", help="Title (default: the file's title tag).")
@click.option("--note", "notes", multiple=True, metavar="URL[@MM:SS]",
              help="An article discussed, optionally at a time. Repeatable.")
@click.option("--host", "hosts", multiple=True, metavar="NAME", help="A host. Repeatable.")
@click.option("--guest", "guests", multiple=True, metavar="NAME", help="A guest. Repeatable.")
@click.option("--publish", is_flag=True, help="Publish now (default: draft).")
def episode_add(show_slug, audio_file, title, notes, hosts, guests, publish) -> None:
    """Add an episode from an audio file and print its public address."""
    from .episodes import NewEpisode, create_episode
    from .models import utcnow
    from .shows import show_by_slug
    from .urls import absolute_url

    target = show_by_slug(show_slug)
    if target is None:
        _fail(f"There is no show with the slug {show_slug!r}.")
    with _refusals():
        details = NewEpisode(title=title, notes=[_parse_note(n) for n in notes],
                             hosts=list(hosts), guests=list(guests),
                             publish_at=utcnow() if publish else None)
    with _refusals(), open(audio_file, "rb") as stream:
        created = create_episode(target, stream, os.path.basename(audio_file), details)
    click.echo(absolute_url("public.episode", slug=target.slug, episode_slug=created.slug))


def _parse_note(value: str):
    """URL@12:34 -> NoteLine(URL, 754); the address is checked at once."""
    from .notes.articles import normalize_url
    from .notes.citations import NoteLine
    from .timecodes import parse_timecode

    match = re.fullmatch(r"(.+?)@(\d+(?::\d{1,2}){0,2})", value)
    url, start = (match.group(1), parse_timecode(match.group(2))) if match else (value, None)
    return NoteLine(normalize_url(url), start)


class _refusals:
    """Turn the domain's refusals into one-line CLI errors."""

    def __enter__(self):
        return self

    def __exit__(self, kind, error, _tb):
        from .media.audio import AudioError
        from .media.storage import StorageError
        from .text import InvalidInput

        if isinstance(error, (InvalidInput, AudioError, StorageError)):
            raise click.ClickException(str(error) or type(error).__name__) from None
        return False


@click.group(cls=AppGroup)
def feeds() -> None:
    """Manage the stored feeds."""


@feeds.command("refresh")
@click.option("--all", "everything", is_flag=True, help="Rebuild every feed, not only due ones.")
def feeds_refresh(everything: bool) -> None:
    """Rebuild feeds that are missing or out of date, such as those whose scheduled episode is
    due (run it every minute from cron, so an episode appears on time in every feed file)."""
    from . import feed
    from .shows import all_shows

    swept = _sweep()  # this runs every minute: the periodic clean-up of killed uploads too
    if everything:
        done = [feed.rebuild(show.id) and show.slug for show in all_shows()]
    else:
        done = feed.rebuild_due()
    click.echo(" ".join(filter(None, [swept, f"Rebuilt {len(done)} feed"
                                              f"{'s' if len(done) != 1 else ''}."])))


@click.command()
@click.option("--host", default=lambda: os.environ.get("HOST", "127.0.0.1"), show_default="127.0.0.1")
@click.option("--port", default=lambda: int(os.environ.get("PORT", "5000")), type=int,
              show_default="5000")
@click.option("--workers", type=click.IntRange(1, 64), default=None,
              help="Worker processes (default: one per core).")
@click.option("--threads", type=click.IntRange(1, 256), default=4, show_default=True,
              help="App threads per worker.")
@click.option("--access-log/--no-access-log", default=False, show_default=True,
              help="Log every request (a proxy in front usually does).")
@with_appcontext
def serve(host: str, port: int, workers: int | None, threads: int, access_log: bool) -> None:
    """Serve the app with granian (production)."""
    from sqlalchemy.exc import SQLAlchemyError

    from .feed import rebuild_due
    from .server import run

    try:
        swept = _sweep()  # before the workers start, so no upload of theirs is running yet
    except OSError as error:  # an unreadable folder: serving still works, say why
        swept = f"Temp files not swept ({error.strerror})."
    if swept:
        click.echo(swept, err=True)
    try:
        rebuild_due()  # once, here, before the workers start: not in each of them
    except SQLAlchemyError as error:  # no database yet: the app still starts and says so
        click.echo(f"Feeds not checked ({type(error).__name__}); run `showbiz init`.", err=True)
    run(host, port, workers, threads, access_log)
