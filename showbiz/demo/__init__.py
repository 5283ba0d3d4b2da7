"""The demo show, Conflicts of Interest, built from the seed article; loaded offline, once."""
from __future__ import annotations

import secrets
from datetime import UTC, date, datetime
from pathlib import Path

from ..db import db, transaction
from ..episodes import NewEpisode, create_episode
from ..media.storage import media_store
from ..models import Episode, Show, User
from ..notes.articles import get_or_create_article
from ..notes.citations import cite
from ..people import credit, get_or_create_person
from ..shows import create_show, show_by_slug
from ..users import create_user

HERE = Path(__file__).parent
SLUG = "conflicts-of-interest"
ADMIN_EMAIL = "admin@showbiz.example"
LOGIN_FILE = "demo-login.txt"

HOSTS = {  # bios from the seed article
    "Kyle Anzalone": ("Kyle Anzalone is news editor of the Libertarian Institute, opinion editor "
                      "of Antiwar.com and co-host of Conflicts of Interest with Will Porter and "
                      "Connor Freeman.", "https://libertarianinstitute.org/"),
    # The seed article says only this much about the other two hosts: nothing is invented.
    "Will Porter": ("Will Porter co-hosts Conflicts of Interest with Kyle Anzalone and Connor "
                    "Freeman.", ""),
    "Connor Freeman": ("Connor Freeman co-hosts Conflicts of Interest with Kyle Anzalone and "
                       "Will Porter.", ""),
}
SEED_ARTICLE = {
    "url": "https://libertarianinstitute.org/news/japan-to-send-patriot-interceptors-to-the-us-"
           "freeing-up-american-supplies-to-send-to-ukraine/",
    "title": "Japan to Send Patriot Interceptors to the US, Freeing Up American Supplies to "
             "Send to Ukraine",
    "site_name": "Libertarian Institute",
    "author_name": "Kyle Anzalone",
    "published_on": date(2023, 12, 26),
    "description": "Japan will send Patriot Air Defense missiles to the US. The move will allow "
                   "Washington to dive deeper into its own stockpiles for transfers supporting "
                   "Ukraine’s war effort.",
}
EPISODES = [
    ("japans-patriots-for-ukraine", "Japan’s Patriots for Ukraine",
     datetime(2023, 12, 28, 17, 0, tzinfo=UTC), 12,
     "Tokyo loosens its arms export rules so Washington can send more Patriots to Kyiv.",
     "Kyle explains how Japan’s new export rules free up US Patriot stocks for Ukraine."),
    ("the-scale-the-scope-and-the-speed", "The Scale, the Scope and the Speed",
     datetime(2024, 1, 4, 17, 0, tzinfo=UTC), 30,
     "Rahm Emanuel cheers Japan’s record military budget; the hosts look back at the Patriot deal.",
     "Ambassador Emanuel: the Patriots “give us flexibility in our inventories.”"),
]


def load_demo() -> list[str]:
    """Create the demo admin, people, show, article and episodes unless already there."""
    lines = _ensure_admin()
    if show_by_slug(SLUG) is None:
        _create_show_and_cast()
        for number, spec in enumerate(EPISODES, start=1):
            _create_episode(number, *spec)
        lines.insert(0, "Loaded the demo show “Conflicts of Interest”.")
    else:
        lines.insert(0, "The demo show is already loaded.")
    return lines


def _ensure_admin() -> list[str]:
    """The demo admin with a password made at first run, kept in instance/ to print again."""
    from flask import current_app

    login_file = Path(current_app.instance_path) / LOGIN_FILE
    database = current_app.config["DATABASE_URL"]
    if db.session.query(User.id).filter_by(email=ADMIN_EMAIL).first() is None:
        password = secrets.token_urlsafe(12)
        with transaction():
            create_user(ADMIN_EMAIL, password, name="Demo admin", is_admin=True)
        login_file.touch(mode=0o600)
        login_file.write_text(f"{database}\n{ADMIN_EMAIL}\n{password}\n")
    saved = login_file.read_text().splitlines() if login_file.exists() else []
    if saved[:2] != [database, ADMIN_EMAIL]:  # written for another database
        return [f"Sign in at /login as {ADMIN_EMAIL} with the password printed when this "
                "database got its demo."]
    return [f"Sign in at /login as {ADMIN_EMAIL} with the password {saved[2]}"]


def _create_show_and_cast() -> None:
    with transaction():
        show = create_show(SLUG, "Conflicts of Interest",
                           subtitle="Libertarian Institute and Antiwar.com on war and foreign policy",
                           description="Kyle Anzalone, Will Porter and Connor Freeman break down "
                                       "the week's news on war, diplomacy and the national "
                                       "security state, article by article.",
                           author="The Libertarian Institute", owner_name="The Libertarian Institute",
                           owner_email="podcasts@showbiz.example",
                           website="https://libertarianinstitute.org/", language="en",
                           copyright="© The Libertarian Institute")
        show.categories = ["News > Politics", "Government"]
        show.artwork_key = media_store().put_bytes((HERE / "artwork.jpg").read_bytes(),
                                                   prefix="art", suffix=".jpg")
        for name, (bio, website) in HOSTS.items():
            credit(get_or_create_person(name, bio=bio, website=website), show=show, role="host")
        get_or_create_article(SEED_ARTICLE["url"], **{k: v for k, v in SEED_ARTICLE.items()
                                                     if k != "url"})


def _create_episode(number, slug, title, published_at, start, summary, comment) -> None:
    show = db.session.query(Show).filter_by(slug=SLUG).one()
    with (HERE / "episode.mp3").open("rb") as stream:
        episode = create_episode(show, stream, "episode.mp3",
                                 NewEpisode(title=title, summary=summary, publish_at=published_at))
    with transaction():
        episode = db.session.get(Episode, episode.id)
        episode.slug = slug
        episode.number = number
        cite(episode, get_or_create_article(SEED_ARTICLE["url"]), start_seconds=start,
             comment=comment)
