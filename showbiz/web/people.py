"""The studio's people: hosts, guests and authors, and their credits on shows and episodes."""
from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for

from .. import access, people
from ..db import db
from ..media import uploads
from ..models import Episode, Person, Show
from ..text import InvalidInput
from .auth import login_required
from .studio import (
    UPLOAD_ERRORS,
    _field_error,
    _form_file,
    _upload_status,
    managed_episode,
    managed_show,
)

bp = Blueprint("people", __name__, url_prefix="/studio")


@bp.before_request
@login_required
def _signed_in():
    """Every page here needs a signed-in user."""


@bp.get("/people/")
def index():
    """Everyone showbiz knows, with a form to add someone."""
    return _people_page()


@bp.post("/people/")
def add():
    """Add a person."""
    try:
        person = people.add_person(request.form)
    except InvalidInput as error:
        return _people_page(error=error, form=request.form, status=400)
    return redirect(url_for("people.edit", person_id=person.id))


def _people_page(*, error=None, form=None, status: int = 200):
    listed = people.all_people(access.people_listed_clause(g.user))
    return render_template("studio/people.html", people=listed, error=error, form=form), status


@bp.route("/people/<int:person_id>/", methods=["GET", "POST"])
def edit(person_id: int):
    """Edit a person's name, bio, website and photo; merge a duplicate."""
    person = editable_person(person_id)
    if request.method == "POST":
        if not access.may_edit_person(g.user, person):
            return _refused(person, request.form)
        try:
            people.save_person(person, request.form)
        except InvalidInput as error:
            return _edit_page(person, error, request.form), 400
        flash("Saved.")
        return redirect(url_for("people.edit", person_id=person_id))
    return _edit_page(person)


def editable_person(person_id: int) -> Person:
    """The person if the studio shows them to the user (access.may_open_person); 404 otherwise."""
    person = db.get_or_404(Person, person_id)
    if not access.may_open_person(g.user, person):
        abort(404)
    return person


def _edit_page(person: Person, error=None, form=None):
    others = people.all_people() if access.may_merge_people(g.user) else []
    return render_template("studio/person_edit.html", person=person, error=error, form=form,
                           refusal=None if access.may_edit_person(g.user, person)
                           else access.PERSON_NEEDS_ADMIN.format(name=person.name),
                           others=[p for p in others if p.id != person.id])


def _refused(person: Person, form=None):
    """The form again, saying an admin must change a person other shows credit; 403."""
    return _edit_page(person, InvalidInput(access.PERSON_NEEDS_ADMIN.format(name=person.name)),
                      form), 403


@bp.post("/people/<int:person_id>/photo")
def photo(person_id: int):
    """Upload a person's photo."""
    person = editable_person(person_id)
    if not access.may_edit_person(g.user, person):
        return _refused(person)
    try:
        uploads.set_person_photo(person, _form_file("photo").stream)
    except UPLOAD_ERRORS as error:
        return _edit_page(person, _field_error(error, "photo")), _upload_status(error)
    flash("Photo updated.")
    return redirect(url_for("people.edit", person_id=person_id))


@bp.post("/people/<int:person_id>/merge")
def merge(person_id: int):
    """Merge this person into another (duplicates such as 'Will Porter', 'William Porter')."""
    if not access.may_merge_people(g.user):
        abort(404)
    duplicate = db.get_or_404(Person, person_id)
    keep = db.session.get(Person, request.form.get("keep", type=int) or 0)
    if keep is None:
        return _edit_page(duplicate, InvalidInput("Choose who to keep.", "keep")), 400
    try:
        people.merge_people(duplicate, keep)
    except InvalidInput as error:
        return _edit_page(duplicate, error), 400
    flash(f"Merged into {keep.name}.")
    return redirect(url_for("people.edit", person_id=keep.id))


def _credit_target(slug: str, episode_id: int | None) -> Show | Episode:
    return managed_episode(slug, episode_id) if episode_id else managed_show(slug)


def _back(slug: str, episode_id: int | None):
    if episode_id:
        return redirect(url_for("studio.edit_episode", slug=slug, episode_id=episode_id,
                                _anchor="credits"))
    return redirect(url_for("studio.show_settings", slug=slug, _anchor="cast"))


@bp.post("/shows/<slug>/credits", defaults={"episode_id": None})
@bp.post("/shows/<slug>/episodes/<int:episode_id>/credits")
def add_credit(slug: str, episode_id: int | None):
    """Credit someone (found or created by name) on the show or on one episode."""
    target = _credit_target(slug, episode_id)
    try:
        people.credit_by_name(request.form.get("name", ""), request.form.get("role", "host"),
                              **{"episode" if episode_id else "show": target})
    except InvalidInput as error:
        flash(f"Not added: {error}")
    return _back(slug, episode_id)


@bp.post("/shows/<slug>/credits/<int:credit_id>/delete", defaults={"episode_id": None})
@bp.post("/shows/<slug>/episodes/<int:episode_id>/credits/<int:credit_id>/delete")
def remove_credit(slug: str, episode_id: int | None, credit_id: int):
    """Take a credit off."""
    target = _credit_target(slug, episode_id)
    try:
        people.remove_credit(target, credit_id)
    except InvalidInput:
        abort(404)
    return _back(slug, episode_id)


@bp.post("/shows/<slug>/episodes/<int:episode_id>/cast")
def episode_cast(slug: str, episode_id: int):
    """Leave one of the show's cast out of this episode, or bring them back."""
    episode = managed_episode(slug, episode_id)
    person = db.get_or_404(Person, request.form.get("person", type=int) or 0)
    people.set_excluded(episode, person, request.form.get("role", "host"),
                        request.form.get("excluded") == "1")
    return _back(slug, episode_id)
