"""The demo show: loaded offline, idempotent, and shown on the pages and in the feed."""
import feedparser
import podcastparser
from PIL import Image
from sqlalchemy import func, select

from showbiz.db import db
from showbiz.models import Article, Credit, Episode, Person, Show, ShowNote, User

SHOW = "/shows/conflicts-of-interest/"
EPISODE = SHOW + "episodes/japans-patriots-for-ukraine/"
SEED_URL = ("https://libertarianinstitute.org/news/japan-to-send-patriot-interceptors-to-the-us-"
            "freeing-up-american-supplies-to-send-to-ukraine/")


def load(runner):
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    return result.output


def counts(app):
    with app.app_context():
        return {m.__name__: db.session.scalar(select(func.count()).select_from(m))
                for m in (User, Show, Episode, Person, Credit, Article, ShowNote)}


def test_demo_loads_once_and_prints_a_generated_password(app, runner):
    first = load(runner)
    before = counts(app)
    second = load(runner)
    assert counts(app) == before
    assert before == {"User": 1, "Show": 1, "Episode": 2, "Person": 3, "Credit": 3,
                      "Article": 1, "ShowNote": 2}
    assert "admin@showbiz.example" in first and "already loaded" in second
    password = first.split("with the password ")[1].split()[0]
    assert len(password) >= 12 and password in second


def test_demo_passwords_differ_between_instances(make_app, app_config, tmp_path, runner):
    other = make_app({**app_config, "INSTANCE_PATH": str(tmp_path / "other"),
                      "DATABASE_URL": f"sqlite:///{tmp_path / 'other.sqlite'}"})
    first = load(runner).split("password ")[1]
    second = load(other.test_cli_runner()).split("password ")[1]
    assert first != second


def test_demo_content(app, runner):
    load(runner)
    with app.app_context():
        article = db.session.scalar(select(Article))
        assert article.url == SEED_URL
        assert article.title == ("Japan to Send Patriot Interceptors to the US, Freeing Up "
                                 "American Supplies to Send to Ukraine")
        assert article.author.name == "Kyle Anzalone"
        assert (article.site_name, str(article.published_on)) == ("Libertarian Institute",
                                                                  "2023-12-26")
        show = db.session.scalar(select(Show))
        assert [c.person.name for c in show.credits] == ["Kyle Anzalone", "Will Porter",
                                                         "Connor Freeman"]
        assert all(c.role == "host" and c.person.bio for c in show.credits)
        episode = db.session.scalar(select(Episode).order_by(Episode.id))
        assert episode.is_public and episode.audio_mime == "audio/mpeg"
        assert 30 < episode.duration_seconds < 120 and episode.audio_size_bytes < 1_000_000
        assert episode.notes[0].start_seconds == 12 and episode.notes[0].comment_md
        artwork = app.config["MEDIA_DIR"] + "/" + show.artwork_key
    with Image.open(artwork) as image:
        assert (image.format, image.mode, image.size) == ("JPEG", "RGB", (1400, 1400))


def test_demo_pages(app, runner, client):
    load(runner)
    home = client.get("/").get_data(as_text=True)
    assert "Conflicts of Interest" in home and SHOW in home
    show = client.get(SHOW).get_data(as_text=True)
    for text in ("Kyle Anzalone", "Will Porter", "Connor Freeman", "Japan’s Patriots for Ukraine",
                 'rel="alternate" type="application/rss+xml"'):
        assert text in show
    episode = client.get(EPISODE).get_data(as_text=True)
    assert "<audio" in episode and "/media/audio/" in episode
    assert "Japan to Send Patriot Interceptors to the US" in episode
    assert "Libertarian Institute" in episode and 'href="#t=0:12"' in episode
    assert 'href="/people/kyle-anzalone/"' in episode
    article = client.get("/articles/1/").get_data(as_text=True)
    assert "Japan’s Patriots for Ukraine" in article and "at 0:12" in article
    person = client.get("/people/kyle-anzalone/").get_data(as_text=True)
    assert "news editor of the Libertarian Institute" in person
    assert "The Scale, the Scope and the Speed" in person and "Articles written" in person


def test_demo_feed_parses(app, runner, client):
    load(runner)
    response = client.get(SHOW + "feed.xml")
    assert response.status_code == 200
    assert response.content_type == "application/rss+xml; charset=utf-8"
    parsed = feedparser.parse(response.data)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.feed.title == "Conflicts of Interest"
    assert parsed.feed.link == "http://podcasts.test" + SHOW
    assert [e.title for e in parsed.entries] == ["The Scale, the Scope and the Speed",
                                                 "Japan’s Patriots for Ukraine"]
    entry = parsed.entries[1]
    assert entry.link == "http://podcasts.test" + EPISODE
    assert entry.enclosures[0].type == "audio/mpeg"
    podcast = podcastparser.parse("http://podcasts.test" + SHOW + "feed.xml",
                                  __import__("io").BytesIO(response.data))
    assert len(podcast["episodes"]) == 2
    assert all(e["total_time"] > 30 for e in podcast["episodes"])
    with client.get(entry.enclosures[0].href.replace("http://podcasts.test", ""),
                    headers={"Range": "bytes=0-9"}) as media:
        assert media.status_code == 206 and len(media.data) == 10


def test_demo_chapters_json_follows_the_podcasting_2_rules(app, runner, client):
    load(runner)
    response = client.get(EPISODE + "chapters.json")
    assert response.content_type == "application/json+chapters; charset=utf-8"
    data = response.get_json(force=True)
    assert data["version"] == "1.2"
    starts = [c["startTime"] for c in data["chapters"]]
    assert starts == sorted(starts) and starts[0] == 12
    assert data["chapters"][0]["url"] == SEED_URL
    assert data["chapters"][0]["title"].startswith("Japan to Send Patriot Interceptors")
