"""Cross-show isolation (issue 15): host B attacks the people and articles on host A's show.

Show A has a published episode crediting Alice (show cast) and Gus (episode guest) and citing two
articles, one on the fixture site and one on news.example. Host B owns show B. Each row of the
table is one mutating route (or the CLI) that touches people or articles, run as B against
objects on A's show; after each, what A's listeners see (episode page, person pages, article
pages, feed bytes) must be byte for byte what it was. The allowed rows check that B still edits
what only B credits, and that an admin may change anyone.
"""
from __future__ import annotations

import functools
import http.server
from dataclasses import dataclass, field

import pytest
from sqlalchemy import select

from showbiz import access
from showbiz.db import db, transaction
from showbiz.models import Article, Credit, Episode, Person, ShowNote, User

from .conftest import DATA, csrf_token, login, make_episode, make_show, make_user, serving

A, B, ADMIN = "a@example.com", "b@example.com", "admin@example.com"


def page(title: str, canonical: str = "") -> str:
    link = f'<link rel="canonical" href="{canonical}">' if canonical else ""
    return (f"<!doctype html><html><head><title>{title}</title>{link}"
            f'<meta name="description" content="{title} described."></head>'
            f"<body><p>{title}</p></body></html>")


@pytest.fixture
def site(tmp_path):
    """A real HTTP site on 127.0.0.1 whose pages the test writes once it knows its address."""
    root = tmp_path / "site"
    root.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                             functools.partial(Quiet, directory=str(root)))
    with serving(server) as base:
        (root / "a-story.html").write_text(page("A's story"))
        # B's pages: one naming A's article on the same site, one naming A's article elsewhere.
        (root / "b-same.html").write_text(page("B's takeover", f"{base}/a-story.html"))
        (root / "b-other.html").write_text(page("B's takeover", "https://news.example/a-report"))
        (root / "b-own.html").write_text(page("B's own"))
        yield base


@dataclass
class World:
    base: str
    ids: dict[str, int] = field(default_factory=dict)


@pytest.fixture
def world(app, client, site):
    """Show A (published episode, a draft), show B (a draft), and the people and articles."""
    from showbiz.notes.articles import get_or_create_article
    from showbiz.notes.citations import add_notes, cite, parse_paste
    from showbiz.people import credit, get_or_create_person

    app.config["FETCH_ALLOW_PRIVATE"] = True
    for email in (A, B):
        make_user(app, email)
    make_user(app, ADMIN, admin=True)
    show_a = make_show(app, "a", title="Show A", owner_email=A)
    show_b = make_show(app, "b", title="Show B", owner_email=B)
    out = make_episode(app, show_a, title="Out on A")
    b_draft = make_episode(app, show_b, "chapters.mp3", title="B draft", publish=False)
    ids = {"show A": show_a, "show B": show_b, "out": out, "b draft": b_draft}
    with app.app_context():
        episode = db.session.get(Episode, out)
        add_notes(episode, parse_paste(f"{site}/a-story.html"))
        with transaction():
            alice = get_or_create_person("Alice Host", bio="Alice's bio.",
                                         website="https://alice.example")
            gus = get_or_create_person("Gus Guest", bio="Gus's bio.")
            bea = get_or_create_person("Bea B")
            credit(alice, show=episode.show, role="host")
            credit(gus, episode=episode, role="guest")
            credit(bea, episode=db.session.get(Episode, b_draft), role="guest")
            report = get_or_create_article("https://news.example/a-report", title="A's report",
                                           description="Typed by A.")
            cite(episode, report)
        ids.update(alice=alice.id, gus=gus.id, bea=bea.id, report=report.id,
                   story=db.session.scalar(select(Article.id).where(
                       Article.url == f"{site}/a-story.html")),
                   note=episode.notes[0].id,
                   alice_credit=db.session.scalar(select(Credit.id).where(
                       Credit.person_id == alice.id)))
    return World(site, ids)


def listeners_view(client) -> dict[str, bytes]:
    """Everything A's listeners see, as bytes (an anonymous client)."""
    return {path: client.get(path).data for path in (
        "/shows/a/episodes/out-on-a/", "/people/alice-host/", "/people/gus-guest/",
        "/shows/a/feed.xml", "/shows/a/")}


def post(client, path: str, **form):
    return client.post(path, data={"csrf_token": csrf_token(client, "/studio/"), **form})


@dataclass(frozen=True)
class Attack:
    """One route B tries against A's objects, and the status B must get."""
    name: str
    path: str
    form: dict
    status: int
    says: str = ""


def attacks(w: World) -> list[Attack]:
    i = w.ids
    who = {"name": "Mallory", "bio": "Owned by B.", "website": "https://b.example"}
    return [
        # B credits A's people on B's own show: allowed, and changes nothing on A.
        Attack("credit Alice on B", "/studio/shows/b/credits",
               {"name": "Alice Host", "role": "co-host"}, 302),
        Attack("credit Gus on B's episode", f"/studio/shows/b/episodes/{i['b draft']}/credits",
               {"name": "Gus Guest", "role": "guest"}, 302),
        Attack("edit Alice", f"/studio/people/{i['alice']}/", who, 403, "an admin"),
        Attack("edit Gus", f"/studio/people/{i['gus']}/", who, 403, "an admin"),
        Attack("merge Alice", f"/studio/people/{i['alice']}/merge", {"keep": i["bea"]}, 404),
        Attack("merge into Alice", f"/studio/people/{i['bea']}/merge", {"keep": i["alice"]},
               404),
        Attack("credit on A", "/studio/shows/a/credits", {"name": "Mallory", "role": "host"},
               404),
        Attack("remove A's credit through B", f"/studio/shows/b/credits/{i['alice_credit']}"
               "/delete", {}, 404),
        Attack("remove A's credit", f"/studio/shows/a/credits/{i['alice_credit']}/delete", {},
               404),
        Attack("exclude Alice from A's episode", f"/studio/shows/a/episodes/{i['out']}/cast",
               {"person": i["alice"], "role": "host", "excluded": "1"}, 404),
        # B cites A's articles, directly and through canonical links: allowed, A unchanged.
        Attack("cite A's article", f"/studio/shows/b/episodes/{i['b draft']}/notes",
               {"urls": f"{w.base}/a-story.html\nhttps://news.example/a-report"}, 302),
        Attack("cite a same-site page naming A's article",
               f"/studio/shows/b/episodes/{i['b draft']}/notes",
               {"urls": f"{w.base}/b-same.html"}, 302),
        Attack("cite a page naming A's article on another site",
               f"/studio/shows/b/episodes/{i['b draft']}/notes",
               {"urls": f"{w.base}/b-other.html"}, 302),
        Attack("edit A's article by hand", f"/studio/articles/{i['story']}/",
               {"title": "B's title", "description": "B's text"}, 403, "an admin"),
        Attack("edit A's typed article", f"/studio/articles/{i['report']}/",
               {"title": "B's title"}, 403, "an admin"),
        Attack("re-fetch A's article", f"/studio/articles/{i['story']}/refetch", {}, 403,
               "an admin"),
        Attack("add notes to A", f"/studio/shows/a/episodes/{i['out']}/notes",
               {"urls": f"{w.base}/b-own.html"}, 404),
        Attack("edit A's note", f"/studio/shows/a/episodes/{i['out']}/notes/{i['note']}",
               {"start": "0:01", "comment": "B was here"}, 404),
        Attack("edit A's note through B", f"/studio/shows/b/episodes/{i['b draft']}/notes/"
               f"{i['note']}", {"start": "", "comment": "B was here"}, 404),
        Attack("remove A's note", f"/studio/shows/a/episodes/{i['out']}/notes/{i['note']}"
               "/delete", {}, 404),
    ]


def test_host_b_changes_nothing_a_listeners_see(app, client, world):
    """Every people and articles route, as B against A's objects: A's pages and feed stay."""
    listener = app.test_client()
    before = listeners_view(listener)
    assert b"Alice&#39;s bio." in before["/people/alice-host/"]
    login(client, B)
    wrong = []
    for attack in attacks(world):
        response = post(client, attack.path, **attack.form)
        text = response.get_data(as_text=True)
        if response.status_code != attack.status or attack.says not in text:
            wrong.append(f"{attack.name}: {response.status_code}, expected {attack.status}")
        after = listeners_view(listener)
        changed = [path for path in before if after[path] != before[path]]
        if changed:
            wrong.append(f"{attack.name} changed {changed}")
    assert not wrong, "\n".join(wrong)
    with app.app_context():
        story = db.session.get(Article, world.ids["story"])
        assert (story.url, story.source_url, story.title) == (
            f"{world.base}/a-story.html", f"{world.base}/a-story.html", "A's story")
        report = db.session.get(Article, world.ids["report"])
        assert (report.url, report.title) == ("https://news.example/a-report", "A's report")
        # B's pages are cited under their own addresses (the other site's canonical is ignored).
        b_notes = db.session.scalars(select(ShowNote).where(
            ShowNote.episode_id == world.ids["b draft"])).all()
        assert {n.article.url for n in b_notes} == {
            f"{world.base}/a-story.html", "https://news.example/a-report",
            f"{world.base}/b-other.html"}


def test_b_cannot_change_alices_photo(app, client, world):
    """The photo route refuses like the form: 403, and A's person page keeps its photo."""
    import io

    from PIL import Image

    photo = io.BytesIO()
    Image.new("RGB", (300, 300), "red").save(photo, "JPEG")
    photo.seek(0)
    login(client, B)
    post(client, "/studio/shows/b/credits", name="Alice Host", role="co-host")
    before = listeners_view(app.test_client())
    response = client.post(f"/studio/people/{world.ids['alice']}/photo", data={
        "csrf_token": csrf_token(client, "/studio/"), "photo": (photo, "me.jpg")})
    assert response.status_code == 403 and "an admin" in response.get_data(as_text=True)
    assert listeners_view(app.test_client()) == before
    with app.app_context():
        assert db.session.get(Person, world.ids["alice"]).image_key in (None, "")


def test_cli_episode_add_for_b_changes_nothing_on_a(app, world):
    """`showbiz episode add b ... --note <pages naming A's article> --host Alice`: A unchanged."""
    listener = app.test_client()
    before = listeners_view(listener)
    result = app.test_cli_runner().invoke(args=[
        "episode", "add", "b", str(DATA / "cbr.mp3"), "--title", "B out", "--publish",
        "--note", f"{world.base}/b-same.html", "--note", f"{world.base}/b-other.html",
        "--host", "Alice Host", "--guest", "Gus Guest"])
    assert result.exit_code == 0, result.output
    after = listeners_view(listener)
    # B's published episode now appears on Alice's and Gus's pages (B's own credit); all of
    # A's show, its feed and what the people pages say about them stays.
    for path in ("/shows/a/episodes/out-on-a/", "/shows/a/feed.xml", "/shows/a/"):
        assert after[path] == before[path], path
    assert b"Alice&#39;s bio." in after["/people/alice-host/"]
    with app.app_context():
        story = db.session.get(Article, world.ids["story"])
        assert (story.title, story.source_url) == ("A's story", f"{world.base}/a-story.html")


@pytest.mark.parametrize("email, person, status", [
    (B, "bea", 302),         # only B credits Bea: B edits her
    (B, "nobody", 302),      # credited nowhere: any host
    (ADMIN, "alice", 302),   # admins edit anyone, even when shows share them
    (A, "alice", 403),       # once B credits Alice too, A needs an admin as well
])
def test_the_rows_it_allows(app, client, world, email, person, status):
    """What isolation still allows, and the one shared case where A is refused too."""
    from showbiz.people import get_or_create_person

    with app.app_context(), transaction():
        world.ids["nobody"] = get_or_create_person("Nick Nobody").id
    login(client, B)
    post(client, "/studio/shows/b/credits", name="Alice Host", role="co-host")
    client.post("/logout", data={"csrf_token": csrf_token(client, "/studio/")})
    other = app.test_client()
    login(other, email)
    response = post(other, f"/studio/people/{world.ids[person]}/", name="New Name",
                    bio="New bio.", website="")
    assert response.status_code == status
    with app.app_context():
        name = db.session.get(Person, world.ids[person]).name
    assert (name == "New Name") is (status == 302)
    if email == ADMIN:
        assert b"New bio." in app.test_client().get("/people/new-name/").data or \
            b"New bio." in app.test_client().get("/people/alice-host/").data


def test_a_article_only_a_cites_stays_editable_by_a(app, client, world):
    """A edits an article only A cites; after B cites it, only an admin may."""
    login(client, A)
    ok = post(client, f"/studio/articles/{world.ids['report']}/", title="A's better title")
    assert ok.status_code == 302
    b = app.test_client()
    login(b, B)
    post(b, f"/studio/shows/b/episodes/{world.ids['b draft']}/notes",
         urls="https://news.example/a-report")
    refused = post(client, f"/studio/articles/{world.ids['report']}/", title="Again")
    assert refused.status_code == 403
    with app.app_context():
        assert db.session.get(Article, world.ids["report"]).title == "A's better title"


def test_studio_lists_only_a_hosts_people(app, client, world):
    """B's people list holds B's people and the uncredited, never A's cast or guests."""
    login(client, B)
    listed = client.get("/studio/people/").get_data(as_text=True)
    assert "Bea B" in listed and "Alice Host" not in listed and "Gus Guest" not in listed
    assert client.get(f"/studio/people/{world.ids['gus']}/").status_code == 404
    with app.app_context():
        admin = db.session.scalar(select(User).where(User.email == ADMIN))
        assert len(db.session.scalars(select(Person).where(
            access.people_listed_clause(admin))).all()) == 3


def test_people_are_private_until_credited_on_something_published(app, client, world):
    """Bea (only on B's draft) has no public page; Alice (A's cast) and Gus (published) do."""
    assert client.get("/people/bea-b/").status_code == 404
    assert client.get("/people/alice-host/").status_code == 200
    assert client.get("/people/gus-guest/").status_code == 200


def test_details_a_typed_for_a_draft_never_reach_b(app, client, world):
    """A types details for an article only A's draft cites; B cites the same address: B's
    editor shows the page's own metadata, never A's typing (the article takes B's fetch)."""
    draft = make_episode(app, world.ids["show A"], title="A draft", publish=False)
    login(client, A)
    post(client, f"/studio/shows/a/episodes/{draft}/notes", urls=f"{world.base}/b-own.html")
    with app.app_context():
        article_id = db.session.scalar(select(Article.id).where(
            Article.url == f"{world.base}/b-own.html"))
    typed = post(client, f"/studio/articles/{article_id}/", title="A's secret plan",
                 description="Not yet aired.")
    assert typed.status_code == 302
    b = app.test_client()
    login(b, B)
    editor = f"/studio/shows/b/episodes/{world.ids['b draft']}/"
    assert post(b, editor + "notes", urls=f"{world.base}/b-own.html").status_code == 302
    for page in (b.get(editor), b.get(f"/studio/articles/{article_id}/")):
        assert page.status_code == 200
        assert "secret plan" not in page.get_data(as_text=True)
        assert "Not yet aired" not in page.get_data(as_text=True)
    with app.app_context():
        article = db.session.get(Article, article_id)
        assert (article.title, article.fetch_status) == ("B's own", "ok")


def test_details_typed_for_a_published_episode_are_public_anyway(app, client, world):
    """Typing on an aired article is public already: B citing it keeps it as it is."""
    login(client, A)
    post(client, f"/studio/articles/{world.ids['story']}/", title="A's typed story")
    b = app.test_client()
    login(b, B)
    post(b, f"/studio/shows/b/episodes/{world.ids['b draft']}/notes",
         urls=f"{world.base}/a-story.html")
    with app.app_context():
        assert db.session.get(Article, world.ids["story"]).title == "A's typed story"
