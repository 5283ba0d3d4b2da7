"""Search: published episodes by title, summary and notes; articles by title, site and author."""
import random
import re
from datetime import timedelta

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import event

from showbiz.db import db, transaction
from showbiz.episodes import apply_edits, delete_episode, publish, unpublish
from showbiz.migrate import alembic_config, include_name
from showbiz.models import Article, Episode, utcnow
from showbiz.notes.articles import get_or_create_article, set_metadata
from showbiz.notes.citations import cite
from showbiz.search import MAX_QUERY_LENGTH, is_search_object, search, terms
from showbiz.text import InvalidInput

from .conftest import make_episode, make_show


@pytest.fixture
def show_id(app):
    return make_show(app)


def edit(app, episode_id, **fields):
    """Change an episode the way the studio form does."""
    with app.app_context(), transaction():
        episode = db.session.get(Episode, episode_id)
        data = {"title": episode.title, "summary": episode.summary, "notes_md": episode.notes_md,
                "episode_type": episode.episode_type}
        apply_edits(episode, {**data, **fields})


def article(app, url, *, aired=True, **metadata):
    """Add an article with the metadata a host would type, cited in a published episode (or only
    in a draft); return its id."""
    key = "test.carrier" if aired else "test.draft-carrier"
    if key not in app.extensions:
        carrier_show = make_show(app, f"carrier-{aired:d}", title="Qqcarrier")
        app.extensions[key] = make_episode(app, carrier_show, title="Qqcarrier", publish=aired)
    with app.app_context(), transaction():
        found = get_or_create_article(url, **metadata)
        cite(db.session.get(Episode, app.extensions[key]), found)
        return found.id


def found(app, query):
    """Titles of the episodes and of the articles a search finds, best first."""
    with app.app_context():
        results = search(query)
        return [e.title for e in results.episodes], [a.title for a in results.articles]


def episodes_found(app, query):
    return found(app, query)[0]


def articles_found(app, query):
    return found(app, query)[1]


def dialect(app) -> str:
    with app.app_context():
        return db.engine.dialect.name


def test_finds_episodes_by_title_summary_and_notes(app, show_id):
    make_episode(app, show_id, title="Ceasefire talks stall")
    make_episode(app, show_id, title="Second", summary="Why the pipeline exploded")
    third = make_episode(app, show_id, title="Third")
    edit(app, third, notes_md="We read [the memo](https://example.com/memo) on *drones*.")
    make_episode(app, show_id, title="Unrelated")
    assert episodes_found(app, "ceasefire") == ["Ceasefire talks stall"]
    assert episodes_found(app, "PIPELINE") == ["Second"]
    assert episodes_found(app, "memo drones") == ["Third"]
    assert episodes_found(app, "ceasefire drones") == []  # every word must match
    with app.app_context():
        episode = search("ceasefire").episodes[0]
        assert episode.show.slug == "news-hour"


def test_finds_articles_by_title_site_and_author(app):
    article(app, "https://apnews.com/a", title="Drone strike near the border", site_name="AP News")
    article(app, "https://example.org/b", title="Budget vote", site_name="Antiwar.com",
            author_name="Dave DeCamp")
    article(app, "https://example.org/c", title="Unrelated", site_name="Reuters")
    assert articles_found(app, "drone") == ["Drone strike near the border"]
    assert articles_found(app, "apnews") == []  # the address is not searched
    assert articles_found(app, "ap news") == ["Drone strike near the border"]
    assert articles_found(app, "antiwar") == ["Budget vote"]
    assert articles_found(app, "decamp") == ["Budget vote"]
    assert episodes_found(app, "drone") == []


def test_drafts_and_scheduled_episodes_never_appear(app, show_id, client):
    make_episode(app, show_id, title="Sanctions draft", publish=False)
    scheduled = make_episode(app, show_id, title="Sanctions scheduled", publish=False)
    with app.app_context(), transaction():
        publish(db.session.get(Episode, scheduled), utcnow() + timedelta(days=1))
    make_episode(app, show_id, title="Sanctions aired")
    assert episodes_found(app, "sanctions") == ["Sanctions aired"]
    page = client.get("/search?q=sanctions").get_data(as_text=True)
    assert "Sanctions aired" in page
    assert "draft" not in page and "scheduled" not in page


def test_edits_unpublishing_and_deletes_are_reflected(app, show_id):
    episode_id = make_episode(app, show_id, title="Old headline")
    edit(app, episode_id, title="New headline", summary="About tariffs")
    assert episodes_found(app, "old") == []
    assert episodes_found(app, "new tariffs") == ["New headline"]
    with app.app_context(), transaction():
        unpublish(db.session.get(Episode, episode_id))
    assert episodes_found(app, "tariffs") == []
    with app.app_context(), transaction():
        publish(db.session.get(Episode, episode_id))
    assert episodes_found(app, "tariffs") == ["New headline"]
    with app.app_context():
        delete_episode(db.session.get(Episode, episode_id))
    assert episodes_found(app, "headline") == []

    article_id = article(app, "https://example.org/x", title="Original title", site_name="Site")
    with app.app_context(), transaction():
        set_metadata(db.session.get(Article, article_id), title="Corrected title",
                     site_name="The Intercept")
    assert articles_found(app, "original") == []
    assert articles_found(app, "corrected intercept") == ["Corrected title"]
    with app.app_context(), transaction():
        gone = db.session.get(Article, article_id)
        for note in list(gone.notes):
            db.session.delete(note)
        db.session.flush()
        db.session.delete(gone)
    assert articles_found(app, "corrected") == []


def test_the_last_word_matches_as_a_prefix(app, show_id):
    make_episode(app, show_id, title="Sanctions on Ukraine")
    assert episodes_found(app, "sanc") == ["Sanctions on Ukraine"]
    assert episodes_found(app, "sanctions ukr") == ["Sanctions on Ukraine"]
    assert episodes_found(app, "sanc ukraine") == []  # only the word being typed is a prefix
    assert episodes_found(app, "s") == []  # one letter is a word, not a prefix of everything


def test_ranked_by_relevance_then_recency(app, show_id):
    in_notes = make_episode(app, show_id, title="Monday")
    edit(app, in_notes, notes_md="- a long list of links, one of them about the embargo")
    make_episode(app, show_id, title="The embargo")
    older = make_episode(app, show_id, title="Oil embargo")
    newer = make_episode(app, show_id, title="Oil embargo again")
    with app.app_context(), transaction():
        db.session.get(Episode, older).published_at = utcnow() - timedelta(days=2)
        db.session.get(Episode, newer).published_at = utcnow() - timedelta(days=1)
        db.session.get(Episode, in_notes).published_at = utcnow() - timedelta(hours=1)
    # The newest mentions it in its notes only: every title match ranks higher.
    assert episodes_found(app, "embargo")[-1] == "Monday"
    assert episodes_found(app, "embargo again") == ["Oil embargo again"]


def test_ties_go_to_the_newest(app, show_id):
    ids = [make_episode(app, show_id, title="Weekly roundup") for _ in range(3)]
    with app.app_context(), transaction():
        for days, episode_id in zip((3, 1, 2), ids):
            db.session.get(Episode, episode_id).published_at = utcnow() - timedelta(days=days)
    with app.app_context():
        assert [e.id for e in search("roundup").episodes] == [ids[1], ids[2], ids[0]]


def test_accents_and_case_are_ignored(app, show_id):
    make_episode(app, show_id, title="Letter from Kyïv")
    article(app, "https://example.org/k", title="Zelensky in KYIV", site_name="Le Monde")
    article(app, "https://example.org/m", title="Müller's Élysée visit", site_name="Der Spiegel")
    assert episodes_found(app, "kyiv") == ["Letter from Kyïv"]
    assert episodes_found(app, "Kyïv") == ["Letter from Kyïv"]
    assert articles_found(app, "kyïv") == ["Zelensky in KYIV"]
    assert articles_found(app, "muller elysee") == ["Müller's Élysée visit"]
    assert articles_found(app, "ÉLYS") == ["Müller's Élysée visit"]
    # Decomposed input (e + combining acute) is the same word as the composed one.
    assert articles_found(app, "e\u0301lyse\u0301e") == ["Müller's Élysée visit"]


HOSTILE = ['"', '""', '*', '**', 'NEAR(', 'NEAR(a b, 1)', 'OR', 'a OR b', 'AND', 'NOT', '-',
           '-war', '^', '^war', "'", "''", "war'", '\\', '\\x', '(', ')', '{title}: war',
           'title:war', 'war:*', "'war':*", '&', '|', '!', '!war', '<->', 'war <-> peace',
           '%', '_', '?', ';', '; DROP TABLE episode; --', "' OR 1=1 --", '\x00', 'war\x00',
           '\u200b', '\u0301', 'x\u0301', '🙂', 'こんにちは世界', 'مرحبا', 'हिन्दी', '١٢٣',
           '²', 'ǅ', 'ﬁ', '\ufeff', ' ', '\t\n', 'a' * MAX_QUERY_LENGTH]


@pytest.mark.parametrize("query", HOSTILE)
def test_hostile_queries_are_answered(app, show_id, client, query):
    make_episode(app, show_id, title="War and peace")
    with app.app_context():
        search(query)
    response = client.get("/search", query_string={"q": query})
    assert response.status_code == 200


@pytest.mark.parametrize("query", ['-war', '^war', ':war', "'war':*", '"war', '!war', '(war)',
                                   'war*', 'wa*', '<war>', '{war}', 'war\\', '+war'])
def test_operators_are_dropped_and_the_words_still_searched(app, show_id, query):
    make_episode(app, show_id, title="War and peace")
    assert episodes_found(app, query) == ["War and peace"]


def test_random_text_never_breaks_search(app, show_id):
    make_episode(app, show_id, title="Ceasefire")
    rng = random.Random(7)
    alphabet = [chr(c) for c in range(0x20, 0x3000) if not 0xD800 <= c < 0xE000]
    alphabet += list('"*^():-\'\\&|!<>{}') * 20
    with app.app_context():
        for _ in range(300):
            search("".join(rng.choices(alphabet, k=rng.randint(1, 30))))


def test_too_long_a_query_is_refused_with_a_message(app, client):
    with app.app_context(), pytest.raises(InvalidInput):
        search("x" * (MAX_QUERY_LENGTH + 1))
    for query in ("x" * (MAX_QUERY_LENGTH + 1), "war " * 2500):
        response = client.get("/search", query_string={"q": query})
        assert response.status_code == 400
        page = response.get_data(as_text=True)
        assert f"at most {MAX_QUERY_LENGTH} characters" in page
        assert 'aria-invalid="true"' in page and '<label for="q"' in page


def test_blank_queries_find_nothing_and_show_the_form(app, show_id, client):
    make_episode(app, show_id, title="Anything")
    with app.app_context():
        assert search("").empty and search("   ").empty and search("*** ---").empty
    page = client.get("/search").get_data(as_text=True)
    assert '<label for="q"' in page and 'name="q"' in page and 'maxlength="200"' in page
    assert "Nothing matches" not in page and "<h2" not in page


def test_page_shows_results_in_two_sections_and_keeps_the_query(app, show_id, client):
    make_episode(app, show_id, title="Gaza ceasefire", summary="What the deal says")
    article(app, "https://example.org/g", title="Ceasefire text", site_name="Reuters",
            author_name="Jane Roe")
    page = client.get("/search?q=ceasefire").get_data(as_text=True)
    assert 'value="ceasefire"' in page
    assert re.search(r'<h2 id="episodes-heading">Episodes</h2>.*Gaza ceasefire.*'
                     r'<h2 id="articles-heading">Articles</h2>.*Ceasefire text', page, re.S)
    assert 'href="/shows/news-hour/episodes/gaza-ceasefire/"' in page
    assert "Reuters" in page and "Jane Roe" in page
    nothing = client.get("/search?q=zzyzx").get_data(as_text=True)
    assert "Nothing matches “zzyzx”" in nothing and 'value="zzyzx"' in nothing


def test_page_escapes_queries_and_titles(app, show_id, client):
    make_episode(app, show_id, title="<script>alert(1)</script> sanctions")
    article(app, "https://example.org/s", title='<img src=x onerror=alert(1)> sanctions',
            site_name="<b>site</b>")
    page = client.get("/search?q=sanctions").get_data(as_text=True)
    assert "<script>" not in page and "<img" not in page and "<b>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; sanctions" in page
    assert "&lt;img src=x onerror=alert(1)&gt; sanctions" in page
    query = '"><script>alert(2)</script>'
    page = client.get("/search", query_string={"q": query}).get_data(as_text=True)
    assert "<script>" not in page
    assert 'value="&#34;&gt;&lt;script&gt;alert(2)&lt;/script&gt;"' in page
    assert "Nothing matches “&#34;&gt;&lt;script&gt;alert(2)&lt;/script&gt;”" in page


def test_a_search_takes_the_same_few_queries_however_much_it_finds(app, show_id, client):
    make_episode(app, show_id, title="Lonely word")
    for n in range(6):
        make_episode(app, make_show(app, f"show-{n}", title=f"Show {n}"), title=f"Common {n}")
        article(app, f"https://example.org/{n}", title=f"Common {n}", site_name="Site")

    def statements(run) -> int:
        seen = []

        def count(conn, cursor, statement, *args):
            seen.append(statement)

        with app.app_context():
            engine = db.engine
        event.listen(engine, "before_cursor_execute", count)
        try:
            run()
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return len([s for s in seen if s.lstrip().upper().startswith("SELECT")])

    def call(query):
        def run():
            with app.app_context():
                results = search(query)
                [e.show.title for e in results.episodes]  # the show is loaded already
        return run

    few, many = statements(call("lonely")), statements(call("common"))
    assert few == many == 2
    assert statements(lambda: client.get("/search?q=lonely")) == \
        statements(lambda: client.get("/search?q=common"))
    with app.app_context():
        assert len(search("common").episodes) == 6


def test_existing_rows_are_indexed_by_the_migration_and_downgrade_works(app, show_id):
    make_episode(app, show_id, title="Before the index")
    article(app, "https://example.org/before", title="Article before the index")
    with app.app_context():
        command.downgrade(alembic_config(), "0001")
        db.session.remove()
    with app.app_context():
        with db.engine.connect() as conn:
            names = db.inspect(conn).get_table_names()
        assert "episode" in names and not any(is_search_object(n) for n in names)
        command.upgrade(alembic_config(), "head")
        db.session.remove()
    assert found(app, "index") == (["Before the index"], ["Article before the index"])


def test_search_objects_are_the_only_difference_from_the_models(app):
    with app.app_context(), db.engine.connect() as conn:
        opts = {"compare_type": True, "include_name": include_name}
        assert compare_metadata(MigrationContext.configure(conn, opts=opts), db.metadata) == []
        everything = compare_metadata(MigrationContext.configure(conn), db.metadata)
    assert everything  # the filter does hide something: what migration 0002 made
    assert not is_search_object("episode") and not is_search_object("article")
    assert not is_search_object(None) and not is_search_object("ix_episode_show_id")


def test_query_words(app):
    assert terms(' "Kyïv" NEAR(war*, 2) -peace ^x ') == ["kyïv", "near", "war", "2", "peace", "x"]
    assert terms("e\u0301te\u0301") == ["été"]
    assert terms("o'neil_smith") == ["o", "neil", "smith"]
    assert terms("\x00*\"'\\") == []


def test_postgresql_search_uses_the_gin_indexes(app, show_id):
    if dialect(app) != "postgresql":
        pytest.skip("PostgreSQL's plans; SQLite always reads its FTS5 tables")
    make_episode(app, show_id, title="Indexed")
    article(app, "https://example.org/i", title="Indexed")
    seen = []

    def keep(conn, cursor, statement, parameters, *args):
        seen.append((statement, parameters))

    with app.app_context():
        engine = db.engine
        event.listen(engine, "before_cursor_execute", keep)
        try:
            assert search("indexed").episodes
        finally:
            event.remove(engine, "before_cursor_execute", keep)
        with engine.connect() as conn:
            conn.exec_driver_sql("SET enable_seqscan = off")  # two rows: otherwise read whole
            episodes, articles = ["\n".join(conn.exec_driver_sql("EXPLAIN " + s, p).scalars())
                                  for s, p in seen if s.lstrip().startswith("SELECT")]
    assert "ix_episode_search" in episodes and "ix_article_search" in articles


def test_articles_cited_only_in_drafts_stay_private(app):
    article(app, "https://news.example/secret", title="Secret scoop", aired=False)
    article(app, "https://news.example/public", title="Public scoop")
    assert articles_found(app, "scoop") == ["Public scoop"]
