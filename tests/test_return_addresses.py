"""Return addresses taken from a request (`next` at sign-in, `back` from the article editor)
lead only to paths of this site: a crafted link cannot run script or send a host elsewhere."""
from urllib.parse import quote

import pytest

from showbiz.db import db, transaction
from showbiz.models import Episode
from showbiz.urls import safe_next

from .conftest import csrf_token, login, make_episode, make_show, make_user

HOSTILE = [
    "javascript:alert(document.cookie)",
    "JaVaScRiPt:alert(1)",
    " javascript:alert(1)",
    "javascript:/studio/",
    "data:text/html,<script>alert(1)</script>",
    "//evil.example/",
    "\\\\evil.example/",
    "/\\evil.example/",
    "\\/evil.example/",
    "/\t/evil.example/",
    "/\n/evil.example/",
    " //evil.example/",
    "\t/studio/",
    "//evil.example/ ",
    "https://evil.example/",
    "http:evil.example",
    "/\x00/evil.example",
]
# The same, as an attacker would put them in a link: percent-encoded in the query string.
ENCODED = ["javascript%3Aalert(1)", "%2F%2Fevil.example", "%5C%5Cevil.example",
           "%2F%5Cevil.example", "%20%2F%2Fevil.example", "%09%2F%2Fevil.example",
           "%2F%09%2Fevil.example", "data%3Atext%2Fhtml%2C%3Cscript%3E", "%252F%252Fevil.example"]


@pytest.mark.parametrize("target", HOSTILE)
def test_the_rule_refuses_every_way_out_of_the_site(app, target):
    with app.test_request_context():
        assert safe_next(target, "/fallback") == "/fallback"


@pytest.mark.parametrize("target", ["/studio/", "/studio/shows/a/episodes/1/?tab=notes#n",
                                    "/%2F%2Fevil.example", "/articles/?q=a:b"])
def test_the_rule_keeps_paths_of_this_site(app, target):
    with app.test_request_context():
        assert safe_next(target, "/fallback") == target


@pytest.fixture
def article(app, client):
    """A signed-in host whose episode cites an article (at an address never fetched); yields
    (CSRF token, article id, the episode editor's path)."""
    from showbiz.notes.articles import get_or_create_article
    from showbiz.notes.citations import cite

    make_user(app)
    show_id = make_show(app, "news-hour", owner_email="host@example.com")
    episode_id = make_episode(app, show_id)
    with app.app_context(), transaction():
        found = get_or_create_article("http://127.0.0.1:9/story", title="A story")
        cite(db.session.get(Episode, episode_id), found)
        db.session.flush()
        article_id = found.id
    login(client)
    return (csrf_token(client, "/studio/"), article_id,
            f"/studio/shows/news-hour/episodes/{episode_id}/")


def _refused_on_page(page: str) -> None:
    assert "Back to the episode" not in page
    assert page.count('name="back" value=""') == 2  # the forms carry no return address either


@pytest.mark.parametrize("target", HOSTILE)
def test_article_editor_never_links_back_to_a_hostile_address(client, article, target):
    _, article_id, _ = article
    response = client.get(f"/studio/articles/{article_id}/", query_string={"back": target})
    assert response.status_code == 200
    _refused_on_page(response.get_data(as_text=True))


@pytest.mark.parametrize("raw", ENCODED)
def test_article_editor_refuses_percent_encoded_addresses(client, article, raw):
    _, article_id, _ = article
    page = client.get(f"/studio/articles/{article_id}/?back={raw}").get_data(as_text=True)
    _refused_on_page(page)
    assert "evil" not in page and "<script>" not in page  # no inline script; files only


def test_article_editor_links_back_to_the_episode(client, article):
    _, article_id, episode_path = article
    page = client.get(f"/studio/articles/{article_id}/?back={quote(episode_path)}").get_data(
        as_text=True)
    assert f'<a href="{episode_path}">Back to the episode</a>' in page


@pytest.mark.parametrize("target", HOSTILE + ["%2F%2Fevil.example"])
def test_saving_or_refetching_an_article_never_redirects_to_a_hostile_address(
        client, article, target):
    token, article_id, _ = article
    editor = f"/studio/articles/{article_id}/"
    saved = client.post(editor, data={"csrf_token": token, "title": "Mine", "back": target})
    refetched = client.post(editor + "refetch", data={"csrf_token": token, "back": target})
    for response in (saved, refetched):
        assert response.status_code == 302
        assert response.headers["Location"] == editor


def test_saving_an_article_returns_to_the_episode(client, article):
    token, article_id, episode_path = article
    response = client.post(f"/studio/articles/{article_id}/",
                           data={"csrf_token": token, "title": "Mine", "back": episode_path})
    assert response.headers["Location"] == episode_path


@pytest.mark.parametrize("target", HOSTILE + ["%2F%2Fevil.example"])
def test_sign_in_never_redirects_to_a_hostile_address(app, client, target):
    make_user(app)
    response = login(client, next_url=target)
    assert response.status_code == 302
    assert response.headers["Location"] == "/studio/"


@pytest.mark.parametrize("raw", ENCODED)
def test_sign_in_page_with_an_encoded_next_still_lands_in_the_studio(app, client, raw):
    make_user(app)
    token = csrf_token(client)
    response = client.post(f"/login?next={raw}", data={"email": "host@example.com",
                                                       "password": "correct horse battery staple",
                                                       "csrf_token": token})
    assert response.headers["Location"] == "/studio/"
