"""Members of a show: owners manage them; editors may not; a show keeps an owner."""
from sqlalchemy import select

from showbiz.db import db
from showbiz.models import Membership

from .conftest import csrf_token, login, make_show, make_user


def roles(app):
    with app.app_context():
        return sorted((m.user.email, m.role) for m in db.session.scalars(select(Membership)))


def test_owner_adds_changes_and_removes_members(app, client):
    make_user(app, "owner@example.com")
    make_user(app, "editor@example.com")
    make_show(app, "news-hour", owner_email="owner@example.com")
    login(client, "owner@example.com")
    token = csrf_token(client, "/studio/")
    url = "/studio/shows/news-hour/members"
    assert client.post(url, data={"csrf_token": token, "member_email": "editor@example.com",
                                  "role": "editor"}).status_code == 302
    assert roles(app) == [("editor@example.com", "editor"), ("owner@example.com", "owner")]
    missing = client.post(url, data={"csrf_token": token, "member_email": "ghost@example.com",
                                     "role": "editor"})
    assert missing.status_code == 400 and "No user has the e-mail" in missing.get_data(True)
    with app.app_context():
        owner_id = db.session.scalar(select(Membership.id).where(Membership.role == "owner"))
    last = client.post(url, data={"csrf_token": token, "remove": owner_id})
    assert last.status_code == 400 and "at least one owner" in last.get_data(True)
    client.post(url, data={"csrf_token": token, "member_email": "editor@example.com",
                           "role": "owner"})
    assert client.post(url, data={"csrf_token": token, "remove": owner_id}).status_code == 302
    assert roles(app) == [("editor@example.com", "owner")]


def test_editors_cannot_manage_members(app, client):
    make_user(app, "owner@example.com")
    make_user(app, "editor@example.com")
    make_show(app, "news-hour", owner_email="owner@example.com")
    owner = app.test_client()
    login(owner, "owner@example.com")
    owner.post("/studio/shows/news-hour/members", data={
        "csrf_token": csrf_token(owner, "/studio/"), "member_email": "editor@example.com",
        "role": "editor"})
    login(client, "editor@example.com")
    token = csrf_token(client, "/studio/")
    assert "Members" not in client.get("/studio/shows/news-hour/").get_data(True)
    response = client.post("/studio/shows/news-hour/members", data={
        "csrf_token": token, "member_email": "editor@example.com", "role": "owner"})
    assert response.status_code == 404
    assert roles(app) == [("editor@example.com", "editor"), ("owner@example.com", "owner")]
