"""Pages load in a fixed number of SQL queries, however long the show or the notes list."""
import pytest
from sqlalchemy import event, insert, select

from showbiz.db import db, transaction
from showbiz.models import Article, Credit, Episode, Person, ShowNote, utcnow

from .conftest import make_episode, make_show


@pytest.fixture
def count_queries(app):
    """Call to get a counter of the SQL statements run while the block runs."""
    class Counter:
        def __init__(self):
            self.statements = []

        def __enter__(self):
            event.listen(self.engine, "before_cursor_execute", self._seen)
            return self

        def __exit__(self, *exc):
            event.remove(self.engine, "before_cursor_execute", self._seen)

        def _seen(self, _conn, _cursor, statement, *args):
            if statement != "BEGIN":
                self.statements.append(statement)

    with app.app_context():
        Counter.engine = db.engine
    return Counter


def add_episodes(app, show_id, count, notes=0):
    """Copies of one real episode (rows only; they share nothing a page would notice)."""
    template_id = make_episode(app, show_id, "cbr.mp3", title="Template")
    with app.app_context(), transaction() as session:
        template = session.get(Episode, template_id)
        columns = {c: getattr(template, c) for c in ("audio_mime", "audio_size_bytes",
                                                     "audio_sha256", "duration_seconds")}
        session.execute(insert(Episode), [
            dict(columns, show_id=show_id, guid=f"g-{show_id}-{n}", slug=f"e-{n}",
                 title=f"Episode {n}", audio_key=f"audio/copy-{show_id}-{n}.mp3",
                 published_at=utcnow(), summary="s",
                 notes_md="", notes_html="", episode_type="full", explicit=False,
                 audio_filename="", audio_warnings=[], chapters_from="notes", version=1,
                 feed_item_rev=0, created_at=utcnow(), updated_at=utcnow())
            for n in range(count)])
        people = [Person(name=f"Host {show_id}-{n}", slug=f"host-{show_id}-{n}")
                  for n in range(3)]
        session.add_all(people)
        session.flush()
        session.add_all(Credit(person=p, show_id=show_id, role="host") for p in people)
        for n in range(notes):
            article = Article(url=f"https://news.example/{show_id}/{n}", title=f"Story {n}",
                              author=people[n % 3], fetch_status="ok")
            session.add(ShowNote(episode_id=template_id, article=article, position=n,
                                 start_seconds=n % 5))
        session.add(Credit(person=people[0], episode_id=template_id, role="guest"))
    return template_id


@pytest.mark.parametrize("page", [1, 2])
def test_show_page_queries_do_not_grow_with_episodes(app, client, count_queries, page):
    small, large = make_show(app, "small"), make_show(app, "large", title="Large")
    add_episodes(app, small, 45)
    add_episodes(app, large, 180)
    counts = []
    for slug in ("small", "large"):
        with count_queries() as counter:
            assert client.get(f"/shows/{slug}/?page={page}").status_code == 200
        counts.append(len(counter.statements))
    assert counts[0] == counts[1] and counts[0] <= 8


def test_episode_page_queries_do_not_grow_with_notes(app, client, count_queries):
    show_id = make_show(app, "news-hour")
    few = add_episodes(app, show_id, 2, notes=3)
    many_show = make_show(app, "other", title="Other")
    many = add_episodes(app, many_show, 2, notes=30)
    counts = []
    for slug, episode_id in (("news-hour", few), ("other", many)):
        with app.app_context():
            episode_slug = db.session.get(Episode, episode_id).slug
        with count_queries() as counter:
            response = client.get(f"/shows/{slug}/episodes/{episode_slug}/")
            assert response.status_code == 200
        counts.append(len(counter.statements))
    assert "Story 29" in response.get_data(as_text=True)
    assert counts[0] == counts[1] and counts[0] <= 14


def test_article_and_person_pages_are_bounded(app, client, count_queries):
    show_id = make_show(app, "news-hour")
    add_episodes(app, show_id, 40, notes=10)
    with app.app_context():
        article_id = db.session.scalar(select(Article.id))
    for url in (f"/articles/{article_id}/", f"/people/host-{show_id}-0/", "/articles/", "/"):
        with count_queries() as counter:
            assert client.get(url).status_code == 200
        limit = 9 if "/people/" in url else 8  # a person page first asks whether it is public
        assert len(counter.statements) <= limit, (url, counter.statements)


def studio_world(app, notes: int, *, episodes: int = 12, members: int = 1, show_count: int = 1):
    """A host's shows: `show_count` shows of `episodes` episodes each, the first episode of each
    with `notes` notes, three cast hosts, a guest, and `members` extra members."""
    from showbiz.models import Membership, User

    ids = []
    for n in range(show_count):
        slug = f"s{notes}-{n}"
        show_id = make_show(app, slug, title=f"Show {slug}", owner_email="host@example.com")
        template_id = add_episodes(app, show_id, episodes, notes=notes)
        with app.app_context(), transaction() as session:
            for m in range(members):
                user = User(email=f"member{m}-{slug}@example.com", password_hash="x")
                session.add(Membership(user=user, show_id=show_id, role="editor"))
            # The first host is on many episodes: the person editor must not read each one.
            first = session.scalar(select(Person).where(Person.slug == f"host-{show_id}-0"))
            for episode_id in session.scalars(select(Episode.id).where(
                    Episode.show_id == show_id, Episode.id != template_id)):
                session.add(Credit(person=first, episode_id=episode_id, role="guest"))
        ids.append((slug, show_id, template_id))
    return ids


def studio_pages(app, slug, show_id, template_id) -> dict[str, str]:
    """The studio's pages for one show, by name."""
    with app.app_context():
        person_id = db.session.scalar(select(Person.id).where(Person.slug == f"host-{show_id}-0"))
        article_id = db.session.scalar(select(ShowNote.article_id).where(
            ShowNote.episode_id == template_id).limit(1))
    return {"dashboard": "/studio/", "episode list": f"/studio/shows/{slug}/episodes/",
            "episode editor": f"/studio/shows/{slug}/episodes/{template_id}/",
            "show settings": f"/studio/shows/{slug}/", "people": "/studio/people/",
            "person editor": f"/studio/people/{person_id}/",
            "article editor": f"/studio/articles/{article_id}/"}


def page_counts(client, count_queries, pages: dict[str, str]) -> dict[str, int]:
    counts = {}
    for name, url in pages.items():
        with count_queries() as counter:
            response = client.get(url)
            assert response.status_code == 200, (name, url, response.status_code)
        counts[name] = len(counter.statements)
    return counts


# The most queries each studio page may run (the user, the show and the role, then its data);
# before issue 14 the editor ran 18 with 5 notes and 53 with 40, the dashboard 2 + 2 a show.
STUDIO_LIMITS = {"dashboard": 4, "episode list": 5, "episode editor": 9, "show settings": 6,
                 "people": 2, "person editor": 5, "article editor": 4}


def test_studio_pages_load_in_a_fixed_number_of_queries(app, client, count_queries):
    """Every studio page runs the same queries for a small show (5 notes, one show, few
    credits and members) and a large one (40 notes, three shows, many credits and members)."""
    from .conftest import login, make_user

    make_user(app)
    login(client)
    small = page_counts(client, count_queries, studio_pages(app, *studio_world(app, 5)[0]))
    worlds = studio_world(app, 40, episodes=30, members=8, show_count=3)
    large = page_counts(client, count_queries, studio_pages(app, *worlds[0]))
    assert small == large, (small, large)
    assert all(large[name] <= limit for name, limit in STUDIO_LIMITS.items()), large
