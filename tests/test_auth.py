"""Sign-in, sessions, CSRF and who may touch which show."""
import pytest
from argon2 import PasswordHasher, extract_parameters
from argon2 import Type as ArgonType

from showbiz.db import db
from showbiz.models import User

from .conftest import PASSWORD, csrf_token, login, make_show, make_user


def test_sign_in_and_out(app, client):
    make_user(app)
    response = login(client)
    assert response.status_code == 302 and response.headers["Location"] == "/studio/"
    assert client.get("/studio/").status_code == 200
    token = csrf_token(client, "/studio/")
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/studio/").status_code == 302


def test_unknown_email_and_wrong_password_look_the_same(app, client):
    make_user(app)
    wrong = login(client, password="not the password at all")
    unknown = login(client, email="nobody@example.com")
    assert wrong.status_code == unknown.status_code == 200
    message = "That e-mail and password do not match an account."
    assert message in wrong.get_data(as_text=True)
    assert message in unknown.get_data(as_text=True)
    assert "/studio/" != wrong.headers.get("Location")


def test_passwords_are_hashed_with_argon2id_at_owasp_strength(app):
    make_user(app)
    with app.app_context():
        stored = db.session.scalar(db.select(User.password_hash))
    params = extract_parameters(stored)
    assert params.type is ArgonType.ID
    assert params.memory_cost >= 19 * 1024 and params.time_cost >= 2
    assert PasswordHasher().verify(stored, PASSWORD)


def test_too_many_failures_for_one_account_get_429(app, client):
    make_user(app)
    for _ in range(app.config["LOGIN_LIMIT_PER_ACCOUNT"]):
        assert login(client, password="wrong password here").status_code == 200
    refused = login(client)  # even the right password, for a while
    assert refused.status_code == 429
    assert "Too many failed attempts" in refused.get_data(as_text=True)


def test_too_many_failures_from_one_address_get_429(app, client):
    app.config["LOGIN_LIMIT_PER_ADDRESS"] = 4
    make_user(app)
    for n in range(4):
        assert login(client, email=f"guess{n}@example.com").status_code == 200
    assert login(client).status_code == 429


def test_success_clears_the_account_failures(app, client):
    make_user(app)
    for _ in range(app.config["LOGIN_LIMIT_PER_ACCOUNT"] - 1):
        login(client, password="wrong password here")
    assert login(client).status_code == 302
    client.post("/logout", data={"csrf_token": csrf_token(client, "/studio/")})
    assert login(client, password="wrong password here").status_code == 200


def test_session_is_renewed_at_sign_in(app, client):
    make_user(app)
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    login(client)
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session["user_id"]


@pytest.mark.parametrize("target", ["//evil.example", "\\\\evil.example", "/\\evil.example",
                                    "https:evil.example", "javascript:alert(1)",
                                    "https://evil.example/", "/\r\nSet-Cookie:x=1", "/\t/evil.example", "evil.example"])
def test_next_only_accepts_local_paths(app, client, target):
    make_user(app)
    response = login(client, next_url=target)
    assert response.status_code == 302
    assert response.headers["Location"] == "/studio/"


def test_next_local_path_is_followed(app, client):
    make_user(app)
    response = login(client, next_url="/studio/shows/new")
    assert response.headers["Location"] == "/studio/shows/new"


def test_studio_sends_anonymous_users_to_sign_in_and_back(client):
    response = client.get("/studio/shows/new")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=/studio/shows/new")


def test_post_without_csrf_token_is_refused(app, client):
    make_user(app)
    response = client.post("/login", data={"email": "host@example.com", "password": PASSWORD})
    assert response.status_code == 400
    assert "expired" in response.get_data(as_text=True)
    login(client)
    assert client.post("/logout").status_code == 400
    assert client.post("/studio/shows/new", data={"slug": "x", "title": "X"}).status_code == 400


def test_csrf_is_checked_on_every_unsafe_method_of_a_route(app, client):
    """Unsafe methods of a route are checked; GETs are not; an address with no route is 404."""
    make_user(app)
    login(client)
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        response = client.open("/studio/shows/new", method=method, data={"slug": "x"})
        assert response.status_code in (400, 405), method
    assert client.post("/studio/shows/new", data={"slug": "x", "title": "X"}).status_code == 400
    assert client.get("/studio/shows/new").status_code == 200
    assert client.post("/no-such-page", data={}).status_code == 404


def test_the_user_is_loaded_only_when_asked_for(app, client):
    """g.user: None outside a request (commands); the signed-in user once a page asks."""
    from flask import g

    make_user(app)
    with app.app_context():
        assert g.user is None
    login(client)
    assert "Sign out" in client.get("/studio/").get_data(as_text=True)
    other = client.application.test_client().get("/")  # another visitor: nobody signed in
    assert "Sign out" not in other.get_data(as_text=True)


def test_cookie_flags(app, client):
    make_user(app)
    cookie = login(client).headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie


def test_cookie_is_secure_when_base_url_is_https(make_app, app_config):
    app = make_app({**app_config, "BASE_URL": "https://podcasts.example"})
    make_user(app)
    cookie = login(app.test_client()).headers["Set-Cookie"]
    assert "Secure" in cookie


def test_other_shows_studio_pages_are_404_whatever_the_method(app, client):
    make_user(app, "mine@example.com")
    make_user(app, "theirs@example.com")
    make_show(app, "mine", title="Mine", owner_email="mine@example.com")
    make_show(app, "theirs", title="Theirs", owner_email="theirs@example.com")
    login(client, "mine@example.com")
    token = csrf_token(client, "/studio/")
    assert client.get("/studio/shows/mine/").status_code == 200
    assert client.get("/studio/shows/theirs/").status_code == 404
    assert client.post("/studio/shows/theirs/", data={"csrf_token": token,
                                                      "title": "Stolen"}).status_code == 404
    assert client.get("/studio/shows/theirs/episodes/new").status_code == 404
    assert client.post("/studio/shows/theirs/episodes/new",
                       data={"csrf_token": token}).status_code == 404
    assert client.get("/studio/shows/nonexistent/").status_code == 404
    assert "Theirs" not in client.get("/studio/").get_data(as_text=True)


def test_admin_may_manage_every_show(app, client):
    make_user(app, "admin@example.com", admin=True)
    make_show(app, "any", title="Any show")
    login(client, "admin@example.com")
    assert client.get("/studio/shows/any/").status_code == 200
    assert "Any show" in client.get("/studio/").get_data(as_text=True)


def test_create_show_and_edit_settings_in_the_studio(app, client):
    make_user(app)
    login(client)
    token = csrf_token(client, "/studio/shows/new")
    response = client.post("/studio/shows/new", data={"csrf_token": token, "slug": "my-show",
                                                      "title": "My <Show>"})
    assert response.status_code == 302 and response.headers["Location"] == "/studio/shows/my-show/"
    response = client.post("/studio/shows/my-show/", data={
        "csrf_token": token, "title": "My Show", "subtitle": "Daily", "description": "About",
        "language": "en-US", "author": "Me", "owner_name": "Me", "owner_email": "me@example.com",
        "website": "https://example.com", "copyright": "", "show_type": "serial",
        "explicit": "on"})
    assert response.status_code == 302
    page = client.get("/shows/my-show/").get_data(as_text=True)
    assert "My Show" in page and "Daily" in page


def test_bad_settings_are_refused_next_to_the_field_and_keep_the_input(app, client):
    make_user(app)
    make_show(app, "my-show", owner_email="host@example.com")
    login(client)
    token = csrf_token(client, "/studio/")
    response = client.post("/studio/shows/my-show/", data={
        "csrf_token": token, "title": "Bad\x0btitle", "language": "en", "show_type": "episodic",
        "subtitle": "kept input"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "control character" in html and 'aria-invalid="true"' in html
    assert 'value="kept input"' in html
    response = client.post("/studio/shows/new", data={"csrf_token": token, "slug": "Bad Slug",
                                                      "title": "T"})
    assert response.status_code == 400 and "lower-case" in response.get_data(as_text=True)


@pytest.mark.parametrize("path, status", [
    ("/shows/news-hour%00/", 404), ("/people/x%00/", 404), ("/shows/news-hour/feed.xml%00", 404),
    ("/search?q=a%00b", 200), ("/articles/?site=%00", 200), ("/articles/?q=%00", 200)])
def test_a_nul_in_an_address_is_refused_on_every_database(app, client, path, status):
    """PostgreSQL cannot hold a NUL in text: such an address must not reach a query."""
    make_show(app, "news-hour")
    with client.get(path) as response:
        assert response.status_code == status
