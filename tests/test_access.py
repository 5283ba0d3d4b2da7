"""Who may see or change what: role × object state × action, asked of access.py and of the routes.

One table says, for every action on every object, which roles may; each role's test builds the
same small world (show A with a draft, a scheduled and a published episode; show B with a
published one; people credited on A, on B and nowhere; articles cited on A, on B and only by A's
draft), then checks both the predicate in access.py and a sample of real HTTP routes.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest

from showbiz import access
from showbiz.db import db, transaction
from showbiz.models import Article, Episode, Person, Show, User, utcnow

from .conftest import csrf_token, login, make_episode, make_show, make_user

ROLES = ("anonymous", "other host", "editor", "owner", "admin")
HOSTS_OF_A = {"editor", "owner", "admin"}
EVERYONE = set(ROLES)
NOBODY: set[str] = set()


@dataclass(frozen=True)
class Rule:
    """One row: an action on an object, the roles that may, and how to ask."""
    action: str
    target: str            # a key of the world
    allowed: set[str]
    predicate: str         # the access function, called with (user, object)
    route: str | None      # the path; {id}, {slug}, {key} come from the object
    method: str = "GET"

    def __str__(self) -> str:
        return f"{self.action} {self.target}"


TABLE = [
    # Listeners' pages: only published episodes, and only articles a published episode cites.
    Rule("see page", "draft", NOBODY, "may_see_episode_page", "/shows/a/episodes/{slug}/"),
    Rule("see page", "scheduled", NOBODY, "may_see_episode_page", "/shows/a/episodes/{slug}/"),
    Rule("see page", "published", EVERYONE, "may_see_episode_page",
         "/shows/a/episodes/{slug}/"),
    Rule("see media", "draft", HOSTS_OF_A, "may_see_episode", "/media/{key}"),
    Rule("see media", "scheduled", HOSTS_OF_A, "may_see_episode", "/media/{key}"),
    Rule("see media", "published", EVERYONE, "may_see_episode", "/media/{key}"),
    Rule("see page", "article on A", EVERYONE, "may_see_article_page", "/articles/{id}/"),
    Rule("see page", "article on B", EVERYONE, "may_see_article_page", "/articles/{id}/"),
    Rule("see page", "draft-only article", NOBODY, "may_see_article_page", "/articles/{id}/"),
    Rule("see page", "person on A", EVERYONE, "may_see_person_page", "/people/{slug}/"),
    Rule("see page", "person nowhere", NOBODY, "may_see_person_page", "/people/{slug}/"),
    Rule("see page", "person on A's draft", NOBODY, "may_see_person_page", "/people/{slug}/"),
    # The studio: a show's members change it, whatever its episodes' state.
    Rule("change", "draft", HOSTS_OF_A, "may_change_episode", "/studio/shows/a/episodes/{id}/"),
    Rule("change", "scheduled", HOSTS_OF_A, "may_change_episode",
         "/studio/shows/a/episodes/{id}/"),
    Rule("change", "published", HOSTS_OF_A, "may_change_episode",
         "/studio/shows/a/episodes/{id}/"),
    Rule("change", "show A", HOSTS_OF_A, "may_change_show", "/studio/shows/a/"),
    Rule("change", "show B", {"other host", "admin"}, "may_change_show", "/studio/shows/b/"),
    Rule("manage members", "show A", {"owner", "admin"}, "may_manage_members",
         "/studio/shows/a/members", "POST"),
    Rule("manage members", "show B", {"other host", "admin"}, "may_manage_members",
         "/studio/shows/b/members", "POST"),
    # People: hosts edit those credited on their shows, or credited nowhere yet.
    Rule("edit person", "person on A", HOSTS_OF_A, "may_edit_person", "/studio/people/{id}/"),
    Rule("edit person", "person on B", {"other host", "admin"}, "may_edit_person",
         "/studio/people/{id}/"),
    Rule("edit person", "person nowhere", EVERYONE - {"anonymous"}, "may_edit_person",
         "/studio/people/{id}/"),
    Rule("merge people", "person nowhere", {"admin"}, "may_merge_people",
         "/studio/people/{id}/merge", "POST"),
    # Articles: hosts edit those cited on their shows, drafts included.
    Rule("edit article", "article on A", HOSTS_OF_A, "may_edit_article",
         "/studio/articles/{id}/"),
    Rule("edit article", "article on B", {"other host", "admin"}, "may_edit_article",
         "/studio/articles/{id}/"),
    Rule("edit article", "draft-only article", HOSTS_OF_A, "may_edit_article",
         "/studio/articles/{id}/"),
]

EMAILS = {"other host": "b@example.com", "editor": "editor@example.com",
          "owner": "owner@example.com", "admin": "admin@example.com"}


def build_world(app) -> dict[str, tuple[type, int]]:
    """The objects of the table, as (model, id)."""
    from showbiz.notes.articles import get_or_create_article
    from showbiz.notes.citations import cite
    from showbiz.people import credit, get_or_create_person
    from showbiz.shows import add_member

    for role, email in EMAILS.items():
        make_user(app, email, admin=role == "admin")
    show_a = make_show(app, "a", title="A", owner_email=EMAILS["owner"])
    show_b = make_show(app, "b", title="B", owner_email=EMAILS["other host"])
    world = {"show A": (Show, show_a), "show B": (Show, show_b),
             "draft": (Episode, make_episode(app, show_a, title="Draft", publish=False)),
             "scheduled": (Episode, make_episode(app, show_a, title="Later", publish=False)),
             "published": (Episode, make_episode(app, show_a, title="Out")),
             "published on B": (Episode, make_episode(app, show_b, title="Out on B"))}
    with app.app_context():
        add_member(db.session.get(Show, show_a), EMAILS["editor"], "editor")
        with transaction():
            get = {name: db.session.get(model, id_) for name, (model, id_) in world.items()}
            get["scheduled"].published_at = utcnow() + timedelta(days=2)
            people = {"person on A": get_or_create_person("Ann On A"),
                      "person on B": get_or_create_person("Bob On B"),
                      "person nowhere": get_or_create_person("Nora Nowhere"),
                      "person on A's draft": get_or_create_person("Dora Draft")}
            credit(people["person on A"], show=get["show A"], role="host")
            credit(people["person on B"], episode=get["published on B"], role="guest")
            credit(people["person on A's draft"], episode=get["draft"], role="guest")
            articles = {name: get_or_create_article(f"https://news.example/{n}", title=name)
                        for n, name in enumerate(("article on A", "article on B",
                                                  "draft-only article"))}
            cite(get["published"], articles["article on A"])
            cite(get["published on B"], articles["article on B"])
            cite(get["draft"], articles["draft-only article"])
        world.update({name: (Person, p.id) for name, p in people.items()})
        world.update({name: (Article, a.id) for name, a in articles.items()})
    return world


def path_of(rule: Rule, obj) -> str:
    """The rule's route for the object."""
    return rule.route.format(id=obj.id, slug=getattr(obj, "slug", ""),
                             key=getattr(obj, "audio_key", ""))


def answer(client, rule: Rule, path: str) -> int:
    """The route's status; POSTs send something harmless a permitted user gets refused (400)."""
    if rule.method == "GET":
        with client.get(path) as response:  # closes a media file being sent
            return response.status_code
    token = csrf_token(client)
    form = {"csrf_token": token}
    if rule.action == "manage members":
        form.update(member_email="nobody@example.com", role="editor")  # no such user: 400
    elif rule.action == "merge people":
        form.update(keep=path.split("/")[3])  # into themselves: 400
    return client.post(path, data=form).status_code


def expected_status(rule: Rule, role: str, allowed: bool) -> int:
    if allowed:
        return 200 if rule.method == "GET" else 400
    if role == "anonymous" and rule.route.startswith("/studio/"):
        return 302  # to the sign-in page
    return 404  # never reveal what exists


@pytest.mark.parametrize("role", ROLES)
def test_access_table(app, role):
    """Each rule's predicate and route agree with the table for this role."""
    world = build_world(app)
    client = app.test_client()
    if role != "anonymous":
        assert login(client, EMAILS[role]).status_code == 302
    wrong = []
    for rule in TABLE:
        allowed = role in rule.allowed
        with app.app_context():
            user = db.session.scalar(db.select(User).where(User.email == EMAILS.get(role)))
            model, id_ = world[rule.target]
            obj = db.session.get(model, id_)
            ask = getattr(access, rule.predicate)
            said = ask(user) if rule.predicate == "may_merge_people" else ask(user, obj)
            path = path_of(rule, obj)
        if said is not allowed:
            wrong.append(f"access.{rule.predicate}: {rule} said {said}, table says {allowed}")
        status = answer(client, rule, path)
        if status != expected_status(rule, role, allowed):
            wrong.append(f"{rule.method} {path} ({rule}): {status}, "
                         f"expected {expected_status(rule, role, allowed)}")
    assert not wrong, f"{role}:\n" + "\n".join(wrong)


def test_the_table_covers_every_role_state_and_action():
    """Every episode state, person and article placement appears, with every action."""
    targets = {rule.target for rule in TABLE}
    assert {"draft", "scheduled", "published", "person on A", "person on B", "person nowhere",
            "article on A", "article on B", "draft-only article"} <= targets
    assert {rule.action for rule in TABLE} == {"see page", "see media", "change",
                                               "manage members", "edit person", "merge people",
                                               "edit article"}


def test_role_names_each_kind_of_user(app):
    """access.role: None for listeners and strangers, the membership's role, admin for admins."""
    world = build_world(app)
    with app.app_context():
        show = db.session.get(Show, world["show A"][1])
        users = {role: db.session.scalar(db.select(User).where(User.email == email))
                 for role, email in EMAILS.items()}
        assert access.role(None, show) is None
        assert access.role(users["other host"], show) is None
        assert access.role(users["editor"], show) == "editor"
        assert access.role(users["owner"], show) == "owner"
        assert access.role(users["admin"], show) == "admin"
