"""Hostile query strings on every public page: random text, absurd numbers, huge values and bytes
that are not UTF-8 get an answer below 500, whatever the parameter; absurd page numbers get a
page past the end (404 on a show) instead of an overflow."""
from urllib.parse import quote, quote_from_bytes

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from showbiz.db import db, transaction
from showbiz.models import Episode

from .conftest import login, make_episode, make_show, make_user

TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=300)
VALUES = st.one_of(
    TEXT.map(lambda text: quote(text, safe="")),
    st.integers().map(str),
    st.integers(min_value=10**15, max_value=10**400).map(str),  # past 64 bits and int() limits
    st.binary(max_size=200).map(lambda raw: quote_from_bytes(raw, safe="")),  # not UTF-8
    st.sampled_from(["-1", "0", "1e9", "NaN", "١٢", "1_000", " 2", "%00", "\x00", "'", "\\"]),
    st.integers(min_value=1, max_value=20_000).map(lambda n: "x" * n),  # oversized
)
PAGES = {  # path: the parameters it reads (each page also gets parameters it does not read)
    "/": [],
    "/shows/news-hour/": ["page"],
    "/shows/news-hour/episodes/{episode}/": [],
    "/shows/news-hour/episodes/{episode}/chapters.json": [],
    "/shows/news-hour/feed.xml": [],
    "/articles/": ["site", "q", "page"],
    "/articles/{article}/": [],
    "/people/{person}/": [],
    "/search": ["q"],
}


@pytest.fixture
def world(app):
    """A show with a published episode that cites an article and credits a person."""
    from showbiz.notes.articles import get_or_create_article
    from showbiz.notes.citations import cite
    from showbiz.people import credit_by_name

    make_user(app)
    show_id = make_show(app, "news-hour", owner_email="host@example.com")
    episode_id = make_episode(app, show_id, title="Hello")
    with app.app_context():
        with transaction():
            episode = db.session.get(Episode, episode_id)
            article = get_or_create_article("https://news.example/story", title="A story")
            cite(episode, article, start_seconds=1)
        person = credit_by_name("Alice Host", "host", episode=episode).person
        return {"episode": episode.slug, "article": article.id, "person": person.slug}


@pytest.mark.parametrize("page", PAGES)
def test_no_query_string_makes_a_public_page_fail(app, world, page):
    client = app.test_client()
    path = page.format(**world)
    assert client.get(path).status_code == 200

    @settings(max_examples=60, deadline=None, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.dictionaries(st.sampled_from(PAGES[page] + ["back", "next", "x"]), VALUES,
                           min_size=1))
    def hostile(params):
        query = "&".join(f"{name}={value}" for name, value in params.items())
        response = client.get(f"{path}?{query}")
        assert response.status_code < 500, (query[:200], response.status_code)

    hostile()


@pytest.mark.parametrize("path", ["/shows/news-hour/", "/articles/",
                                  "/studio/shows/news-hour/episodes/"])
@pytest.mark.parametrize("page", ["99999999999999999999", "9" * 5000, "1000000", "-5", "0"])
def test_absurd_page_numbers_are_a_page_past_the_end_not_an_overflow(app, client, world, path,
                                                                     page):
    login(client)
    response = client.get(f"{path}?page={page}")
    if page in ("-5", "0"):
        assert response.status_code == 200  # read as the first page
    elif path == "/shows/news-hour/":
        assert response.status_code == 404
        assert "This page of episodes does not exist." in response.get_data(as_text=True)
    else:
        assert response.status_code == 200
