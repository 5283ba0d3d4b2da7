"""The journeys of a host and a listener, in a real browser."""
import re

from sqlalchemy import select

from showbiz.db import db
from showbiz.models import Episode

from ..conftest import DATA, PASSWORD, make_show, make_user
from .conftest import accessibility_problems, shoot


def sign_in(page, base, email="host@example.com", password=PASSWORD):
    page.goto(base + "/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_host_and_listener_journey(app, live_server, page_server, page):
    app.config["FETCH_ALLOW_PRIVATE"] = True
    make_user(app)
    base = live_server
    pages_checked = {}

    sign_in(page, base)
    assert page.url == base + "/studio/"
    pages_checked["studio-dashboard"] = page.url
    page.get_by_role("link", name="New show").click()
    page.get_by_label("Title").fill("The Morning Brief")
    page.get_by_label("Address name").fill("morning-brief")
    page.get_by_role("button", name="Create show").click()
    assert page.url.endswith("/studio/shows/morning-brief/")
    pages_checked["studio-show-settings"] = page.url
    page.get_by_label("Name", exact=True).fill("Kyle Anzalone")
    page.get_by_role("button", name="Credit").click()
    assert "Kyle Anzalone" in page.locator("#cast").inner_text()

    page.goto(base + "/studio/shows/morning-brief/episodes/new")
    pages_checked["studio-upload"] = page.url
    page.get_by_label("Audio file").set_input_files(str(DATA / "chapters.mp3"))
    page.get_by_role("button", name="Upload", exact=True).click()
    page.wait_for_function("() => document.getElementById('progress-bar').value === 100")
    page.get_by_role("link", name="Open the episode editor").wait_for()
    assert "Chapters" in page.locator("#upload-facts").inner_text()
    page.get_by_role("link", name="Open the episode editor").click()
    pages_checked["studio-episode-editor"] = page.url

    pages = page_server
    page.get_by_label("Add articles: one address a line, optionally after a time").fill(
        f"0:01 {pages}/libertarianinstitute.html\n0:05 {pages}/reuters.html\n"
        f"0:09 {pages}/guardian.html")
    page.get_by_role("button", name="Add articles").click()
    titles = page.locator(".note strong")
    assert titles.count() == 3
    last = titles.nth(2).inner_text()
    page.locator(".note").nth(2).get_by_role("button", name="Move up").click()
    assert page.locator(".note strong").nth(1).inner_text() == last
    page.get_by_label("From the timed show notes").check()
    page.get_by_role("button", name="Save and publish now").click()
    assert "published" in page.locator(".meta .state").inner_text()
    page.get_by_role("button", name="Sign out").click()

    # A listener finds the show, its feed, the episode; a chapter seeks the player.
    page.goto(base + "/")
    page.get_by_role("link", name="The Morning Brief").click()
    pages_checked["show"] = page.url
    feed = page.locator('link[rel="alternate"][type="application/rss+xml"]').get_attribute("href")
    assert feed.endswith("/shows/morning-brief/feed.xml")
    page.locator(".episodes a").first.click()
    pages_checked["episode"] = page.url
    player_time = "document.getElementById('player').currentTime"
    page.locator(".chapters a").nth(1).click()
    page.wait_for_function(f"() => Math.abs({player_time} - 5) < 1")
    card = page.locator(".card h3 a").first
    article_title = card.inner_text()
    card.click()
    assert re.search(r"/articles/\d+/$", page.url)
    assert page.get_by_role("heading", level=1).inner_text() == article_title
    pages_checked["article"] = page.url
    page.go_back()
    assert page.url.startswith(pages_checked["episode"])
    page.locator(".card .meta a").first.click()
    pages_checked["person"] = page.url

    page.goto(base + "/articles/")
    pages_checked["articles"] = page.url
    page.goto(base + "/search?q=japan")
    pages_checked["search"] = page.url
    page.goto(base + "/nowhere")
    pages_checked["not-found"] = page.url
    page.goto(base + "/login")
    pages_checked["login"] = page.url

    # Every page: screenshots at phone and desktop widths, and no serious a11y violation.
    problems = {}
    sign_in(page, base)
    for name, url in pages_checked.items():
        page.goto(url)
        shoot(page, name)
        found = accessibility_problems(page)
        if found:
            problems[name] = found
    assert problems == {}


def test_wrong_password_shows_the_error(app, live_server, page):
    make_user(app)
    sign_in(page, live_server, password="not the right one")
    alert = page.get_by_role("alert")
    assert alert.inner_text() == "That e-mail and password do not match an account."
    assert page.get_by_label("E-mail").input_value() == "host@example.com"


def test_a_host_cannot_reach_another_shows_studio(app, live_server, page):
    make_user(app, "mine@example.com")
    make_user(app, "theirs@example.com")
    make_show(app, "mine", owner_email="mine@example.com")
    make_show(app, "theirs", title="Their Show", owner_email="theirs@example.com")
    sign_in(page, live_server, "mine@example.com")
    response = page.goto(live_server + "/studio/shows/theirs/")
    assert response.status == 404
    assert "Their Show" not in page.content()
    with app.app_context():
        assert db.session.scalars(select(Episode)).all() == []
