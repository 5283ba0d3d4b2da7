"""Show notes from article links: fetched once, shared across episodes, ordered, timed, and
never blocking the host when a page cannot be fetched."""
import json
import socket

import pytest
from sqlalchemy import func, select

from showbiz.db import db
from showbiz.models import Article, Episode, ShowNote

from ..conftest import PAGES, csrf_token, login, make_episode, make_show, make_user

SEED = "/libertarianinstitute.html"  # on the fixture server; its canonical names another site


@pytest.fixture
def editor(app, client, page_server):
    """A signed-in host with a 12-second published episode; fixture pages reachable."""
    app.config["FETCH_ALLOW_PRIVATE"] = True
    make_user(app)
    show_id = make_show(app, "news-hour", owner_email="host@example.com")
    episode_id = make_episode(app, show_id, "chapters.mp3", title="Monday")
    login(client)
    token = csrf_token(client, "/studio/")
    base = f"/studio/shows/news-hour/episodes/{episode_id}"
    return {"token": token, "base": base, "id": episode_id, "pages": page_server,
            "show_id": show_id}


def paste(client, editor, text):
    return client.post(editor["base"] + "/notes", data={"csrf_token": editor["token"],
                                                        "urls": text})


def notes_of(app, episode_id):
    with app.app_context():
        return [(n.article.title, n.start_seconds, n.position) for n in db.session.scalars(
            select(ShowNote).where(ShowNote.episode_id == episode_id)
            .order_by(ShowNote.position))]


def count(app, model):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def test_pasting_several_links_with_times_fetches_each_article(app, client, editor):
    pages = editor["pages"]
    response = paste(client, editor, f"0:02 {pages}/libertarianinstitute.html?utm_source=x\n"
                                     f"\n[0:05] {pages}/reuters.html\n{pages}/guardian.html")
    assert response.status_code == 302
    notes = notes_of(app, editor["id"])
    assert [(start, position) for _, start, position in notes] == [(2, 0), (5, 1), (None, 2)]
    with app.app_context():
        seed = db.session.scalar(select(Article).where(Article.url == pages + SEED))
        assert seed.title == ("Japan to Send Patriot Interceptors to the US, Freeing Up "
                              "American Supplies to Send to Ukraine")
        assert (seed.author_name, str(seed.published_on)) == ("Kyle Anzalone", "2023-12-26")
        assert seed.fetch_status == "ok" and seed.site_name == "The Libertarian Institute"
    page = client.get(editor["base"] + "/").get_data(as_text=True)
    assert "Added 3 articles." in page


def test_one_article_shared_by_episodes_and_addresses(app, client, editor):
    pages = editor["pages"]
    other = make_episode(app, editor["show_id"], "cbr.mp3", title="Tuesday")
    paste(client, editor, f"{pages}/libertarianinstitute.html")
    client.post(f"/studio/shows/news-hour/episodes/{other}/notes",
                data={"csrf_token": editor["token"],
                      "urls": f"{pages}/libertarianinstitute.html?fbclid=abc#comments"})
    assert count(app, Article) == 1 and count(app, ShowNote) == 2
    response = client.get("/articles/1/").get_data(as_text=True)
    assert "Monday" in response and "Tuesday" in response


def test_article_author_links_to_a_matching_person(app, client, editor, runner):
    runner.invoke(args=["demo"])  # Kyle Anzalone is a host of the demo show
    paste(client, editor, f"{editor['pages']}/libertarianinstitute.html")
    person = client.get("/people/kyle-anzalone/").get_data(as_text=True)
    assert "Japan to Send Patriot Interceptors" in person


@pytest.mark.parametrize("line, message", [
    ("javascript:alert(1)", "Only http"), ("data:text/html,hi", "Only http"),
    ("file:///etc/passwd", "Only http"), ("ftp://example.com/x", "Only http"),
    ("https://", "no host name"), ("https://user:pw@example.com/", "user name or password"),
    ("https://example.com/" + "a" * 2100, "longer than 2048"),
    ("12:99 https://example.com/", "not a time"),
])
def test_bad_addresses_are_refused_and_nothing_is_stored(app, client, editor, line, message):
    response = paste(client, editor, f"{editor['pages']}/reuters.html\n{line}")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert message in html and "Line 2" in html or message in html
    assert count(app, ShowNote) == 0 and count(app, Article) == 0


def test_times_past_the_end_are_refused(app, client, editor):
    response = paste(client, editor, f"1:00:00 {editor['pages']}/reuters.html")
    assert response.status_code == 400 and "past the end" in response.get_data(as_text=True)
    assert count(app, ShowNote) == 0


def test_a_failed_fetch_keeps_the_note_and_says_why(app, client, editor):
    paste(client, editor, f"{editor['pages']}/missing-page.html")
    with app.app_context():
        article = db.session.scalar(select(Article))
        assert article.fetch_status == "failed" and "404" in article.fetch_error
        article_id = article.id
    page = client.get(editor["base"] + "/").get_data(as_text=True)
    assert "Could not fetch this page" in page and "404" in page
    with app.app_context():
        db.session.get(Episode, editor["id"]).published_at = db.func.now()
    public = client.get("/articles/%d/" % article_id).get_data(as_text=True)
    assert "could not be fetched" in public
    # The host types the details by hand.
    response = client.post(f"/studio/articles/{article_id}/", data={
        "csrf_token": editor["token"], "title": "Typed title", "author_name": "Dave DeCamp",
        "site_name": "Antiwar.com", "published_on": "2024-01-02", "description": ""})
    assert response.status_code == 302
    with app.app_context():
        article = db.session.get(Article, article_id)
        assert (article.title, article.fetch_status) == ("Typed title", "manual")
    response = client.post(f"/studio/articles/{article_id}/", data={
        "csrf_token": editor["token"], "title": "T", "published_on": "yesterday"})
    assert response.status_code == 400 and "YYYY-MM-DD" in response.get_data(as_text=True)


def test_the_guard_stops_private_addresses_and_the_note_is_still_saved(app, client, editor):
    app.config["FETCH_ALLOW_PRIVATE"] = False
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.setblocking(False)
    port = listener.getsockname()[1]
    try:
        paste(client, editor, f"http://127.0.0.1:{port}/\nhttp://localhost:{port}/a\n"
                              f"http://2130706433:{port}/b")
        with pytest.raises(BlockingIOError):
            listener.accept()  # nobody ever connected
    finally:
        listener.close()
    with app.app_context():
        articles = db.session.scalars(select(Article)).all()
        assert len(articles) == 3
        assert all(a.fetch_status == "failed" and "not public" in a.fetch_error
                   for a in articles)


def test_hostile_page_metadata_is_escaped(app, client, editor):
    paste(client, editor, f"{editor['pages']}/hostile.html")
    page = client.get(editor["base"] + "/").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page
    with app.app_context():
        article = db.session.scalar(select(Article))
        assert article.image_url == "" and "\x0b" not in article.description


def test_retry_fetches_again(app, client, editor):
    paste(client, editor, f"{editor['pages']}/reuters.html")
    with app.app_context():
        article = db.session.scalar(select(Article))
        article.title = "stale"
        db.session.commit()
        article_id = article.id
    response = client.post(f"/studio/articles/{article_id}/refetch",
                           data={"csrf_token": editor["token"]})
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(Article, article_id).title.startswith("Japan eases arms export")


def test_times_comments_and_order(app, client, editor):
    pages = editor["pages"]
    paste(client, editor, f"{pages}/reuters.html\n{pages}/guardian.html\n{pages}/apnews.html")
    with app.app_context():
        ids = [n.id for n in db.session.scalars(select(ShowNote).order_by(ShowNote.position))]
    base, token = editor["base"] + "/notes/", editor["token"]
    for value, expected in [("7", 7), ("0:09", 9), ("0:00:11", 11), ("", None)]:
        client.post(base + str(ids[0]), data={"csrf_token": token, "start": value,
                                              "comment": "See [this](https://x.example/)"})
        assert notes_of(app, editor["id"])[0][1] == expected
    response = client.post(base + str(ids[0]), data={"csrf_token": token, "start": "0:30"})
    assert response.status_code == 400 and "past the end" in response.get_data(as_text=True)
    client.post(base + f"{ids[2]}/move", data={"csrf_token": token, "direction": "up"})
    with app.app_context():
        order = [n.id for n in db.session.scalars(select(ShowNote).order_by(ShowNote.position))]
    assert order == [ids[0], ids[2], ids[1]]
    client.post(base + "order", data={"csrf_token": token, "note": [ids[1], ids[0], ids[2]]})
    with app.app_context():
        order = [n.id for n in db.session.scalars(select(ShowNote).order_by(ShowNote.position))]
    assert order == [ids[1], ids[0], ids[2]]
    assert client.post(base + "order", data={"csrf_token": token,
                                             "note": [ids[1]]}).status_code == 400
    client.post(base + f"{ids[0]}/delete", data={"csrf_token": token})
    assert [p for _, _, p in notes_of(app, editor["id"])] == [0, 1]
    assert count(app, Article) == 3  # the article stays for other episodes


def test_comments_are_sanitised_markdown(app, client, editor):
    paste(client, editor, f"{editor['pages']}/reuters.html")
    with app.app_context():
        note_id = db.session.scalar(select(ShowNote.id))
    client.post(editor["base"] + f"/notes/{note_id}", data={
        "csrf_token": editor["token"], "start": "",
        "comment": "**Key** [link](https://ok.example/) [bad](javascript:alert(1)) "
                   "[rel](/local) <script>x()</script>"})
    with app.app_context():
        html = db.session.get(ShowNote, note_id).comment_html
    assert "<strong>Key</strong>" in html
    assert '<a href="https://ok.example/" rel="nofollow noopener">link</a>' in html
    assert 'href="javascript' not in html and "<script>" not in html and 'href="/local"' not in html


def test_chapters_from_timed_notes(app, client, editor):
    pages = editor["pages"]
    paste(client, editor, f"0:08 {pages}/reuters.html\n0:01 {pages}/libertarianinstitute.html")
    with app.app_context():
        episode = db.session.get(Episode, editor["id"])
        episode.chapters_from = "notes"
        db.session.commit()
        url = f"/shows/news-hour/episodes/{episode.slug}/chapters.json"
    response = client.get(url)
    assert response.content_type == "application/json+chapters; charset=utf-8"
    data = json.loads(response.data)
    assert data["version"] == "1.2"
    starts = [c["startTime"] for c in data["chapters"]]
    assert starts == sorted(starts) == [1, 8]
    assert data["chapters"][0]["url"] == editor["pages"] + SEED
    assert data["chapters"][0]["title"].startswith("Japan")
    assert data["chapters"][0]["img"].startswith("https://")


def test_chapters_from_the_audio_file_when_chosen(app, client, editor):
    paste(client, editor, f"0:08 {editor['pages']}/reuters.html")
    with app.app_context():
        slug = db.session.get(Episode, editor["id"]).slug  # uploaded with ID3 chapters
    data = client.get(f"/shows/news-hour/episodes/{slug}/chapters.json").get_json(force=True)
    assert [c["title"] for c in data["chapters"]] == ["Intro", "News & Views", "Outro"]


def test_other_hosts_cannot_touch_the_notes(app, client, editor):
    paste(client, editor, f"{editor['pages']}/reuters.html")
    make_user(app, "other@example.com")
    other = app.test_client()
    login(other, "other@example.com")
    token = csrf_token(other, "/studio/")
    assert other.post(editor["base"] + "/notes", data={"csrf_token": token,
                                                       "urls": "https://x.example/"}
                      ).status_code == 404
    assert other.get("/studio/articles/1/").status_code == 404
    assert other.post("/studio/articles/1/refetch", data={"csrf_token": token}).status_code == 404


def test_article_list_filters_by_site_and_words_and_hides_drafts(app, client, editor):
    pages = editor["pages"]
    paste(client, editor, f"{pages}/reuters.html\n{pages}/guardian.html\n{pages}/apnews.html")
    draft = make_episode(app, editor["show_id"], "cbr.mp3", title="Draft", publish=False)
    client.post(f"/studio/shows/news-hour/episodes/{draft}/notes", data={
        "csrf_token": editor["token"], "urls": f"{pages}/substack.html"})
    listing = client.get("/articles/").get_data(as_text=True)
    assert "Reuters (1)" in listing and "the Guardian (1)" in listing
    with app.app_context():
        substack = db.session.scalar(select(Article).where(
            Article.source_url.contains("substack")))
        reuters = db.session.scalar(select(Article).where(Article.site_name == "Reuters"))
    assert substack.title not in listing  # only cited by a draft
    assert client.get(f"/articles/{substack.id}/").status_code == 404
    assert client.get(f"/articles/{reuters.id}/").status_code == 200
    by_site = client.get("/articles/?site=Reuters").get_data(as_text=True)
    assert reuters.title in by_site and "Guardian" not in by_site.split("</nav>")[-1]
    by_words = client.get("/articles/?q=eases+arms").get_data(as_text=True)
    assert reuters.title in by_words
    assert "No article matches" in client.get("/articles/?q=zebra%25_").get_data(as_text=True)


@pytest.mark.parametrize("path, reason", [("/bomb", "larger than"), ("/drip", "longer than"),
                                          ("/loop", "redirects"), ("/pdf", "not HTML")])
def test_attacking_pages_end_in_a_saved_note_with_a_clear_status(app, client, editor, path,
                                                                 reason):
    import gzip
    import http.server
    import threading
    import time

    class Hostile(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            if self.path == "/loop":
                self.send_response(302)
                self.send_header("Location", "/loop")
                self.end_headers()
            elif self.path == "/pdf":
                self.send_response(200)
                self.send_header("Content-Type", "application/pdf")
                self.end_headers()
                self.wfile.write(b"%PDF-1.4")
            elif self.path == "/bomb":
                body = gzip.compress(b"<p>" + b"a" * 30_000_000)
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Encoding", "gzip")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            else:
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.end_headers()
                try:
                    for _ in range(30):
                        self.wfile.write(b"<")
                        self.wfile.flush()
                        time.sleep(1)
                except OSError:
                    pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hostile)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        started = time.monotonic()
        response = paste(client, editor, f"http://127.0.0.1:{server.server_port}{path}")
        assert response.status_code == 302 and time.monotonic() - started < 15
    finally:
        server.shutdown()
        server.server_close()
    with app.app_context():
        article = db.session.scalar(select(Article))
        assert article.fetch_status == "failed" and reason in article.fetch_error
    assert count(app, ShowNote) == 1


@pytest.mark.parametrize("page", ["libertarianinstitute", "apnews", "reuters", "guardian",
                                  "antiwar", "substack"])
def test_each_news_site_shape_is_read_through_the_real_fetcher(app, editor, page):
    from showbiz.notes import articles, extract

    url = f"{editor['pages']}/{page}.html"
    expected = extract.extract((PAGES / f"{page}.html").read_bytes().decode("utf-8"), url)
    with app.app_context():
        fetched = articles.fetch_metadata([url])[url]
    assert fetched.error == "" and fetched.meta == expected
    assert expected.title and expected.site_name and expected.author and expected.published
