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
                 title=f"Episode {n}", audio_key=f"audio/copy-{show_id}-{n}.mp3", published_at=utcnow(), summary="s",
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
        assert len(counter.statements) <= 8, (url, counter.statements)
