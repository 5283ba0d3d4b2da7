"""The studio's people: hosts, guests and authors, and their credits on shows and episodes."""
from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for

from .. import people, shows
from ..db import db, transaction
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
    return render_template("studio/people.html", people=people.all_people(), error=None,
                           form=None)


@bp.post("/people/")
def add():
    """Add a person."""
    try:
        with transaction():
            if people.person_by_name(request.form.get("name", "")):
                raise InvalidInput("Someone with that name already exists.", "name")
            person = people.get_or_create_person(request.form.get("name", ""))
            people.update_person(person, request.form)
    except InvalidInput as error:
        return render_template("studio/people.html", people=people.all_people(), error=error,
                               form=request.form), 400
    return redirect(url_for("people.edit", person_id=person.id))


@bp.route("/people/<int:person_id>/", methods=["GET", "POST"])
def edit(person_id: int):
    """Edit a person's name, bio, website and photo; merge a duplicate."""
    person = editable_person(person_id)
    if request.method == "POST":
        try:
            with transaction():
                people.update_person(db.session.get(Person, person_id), request.form)
        except InvalidInput as error:
            db.session.rollback()
            return _edit_page(person, error, request.form), 400
        flash("Saved.")
        return redirect(url_for("people.edit", person_id=person_id))
    return _edit_page(person)


def editable_person(person_id: int) -> Person:
    """A person the user may change: admins any; others those on their shows, or uncredited."""
    person = db.get_or_404(Person, person_id)
    if g.user.is_admin or not person.credits:
        return person
    mine = {s.id for s in shows.manageable_shows(g.user)}
    if any((c.show_id or c.episode.show_id) in mine for c in person.credits):
        return person
    abort(404)


def _edit_page(person: Person, error=None, form=None):
    return render_template("studio/person_edit.html", person=person, error=error, form=form,
                           others=[p for p in people.all_people() if p.id != person.id])


@bp.post("/people/<int:person_id>/photo")
def photo(person_id: int):
    """Upload a person's photo."""
    person = editable_person(person_id)
    try:
        uploads.set_person_photo(person, _form_file("photo").stream)
    except UPLOAD_ERRORS as error:
        return _edit_page(person, _field_error(error, "photo")), _upload_status(error)
    flash("Photo updated.")
    return redirect(url_for("people.edit", person_id=person_id))


@bp.post("/people/<int:person_id>/merge")
def merge(person_id: int):
    """Merge this person into another (for duplicates such as 'Will Porter' and 'William Porter')."""
    if not g.user.is_admin:
        abort(404)  # merging rewrites every show's credits: admins only
    duplicate = db.get_or_404(Person, person_id)
    keep = db.session.get(Person, request.form.get("keep", type=int) or 0)
    if keep is None:
        return _edit_page(duplicate, InvalidInput("Choose who to keep.", "keep")), 400
    try:
        with transaction():
            people.merge_people(db.session.get(Person, person_id), db.session.get(Person, keep.id))
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
        with transaction():
            owner = db.session.get(type(target), target.id)
            person = people.get_or_create_person(request.form.get("name", ""))
            people.credit(person, role=request.form.get("role", "host"),
                          **{"episode" if episode_id else "show": owner})
    except InvalidInput as error:
        flash(f"Not added: {error}")
    return _back(slug, episode_id)


@bp.post("/shows/<slug>/credits/<int:credit_id>/delete", defaults={"episode_id": None})
@bp.post("/shows/<slug>/episodes/<int:episode_id>/credits/<int:credit_id>/delete")
def remove_credit(slug: str, episode_id: int | None, credit_id: int):
    """Take a credit off."""
    target = _credit_target(slug, episode_id)
    try:
        with transaction():
            people.remove_credit(db.session.get(type(target), target.id), credit_id)
    except InvalidInput:
        abort(404)
    return _back(slug, episode_id)


@bp.post("/shows/<slug>/episodes/<int:episode_id>/cast")
def episode_cast(slug: str, episode_id: int):
    """Leave one of the show's cast out of this episode, or bring them back."""
    episode = managed_episode(slug, episode_id)
    person = db.get_or_404(Person, request.form.get("person", type=int) or 0)
    with transaction():
        people.set_excluded(db.session.get(Episode, episode.id), person,
                            request.form.get("role", "host"),
                            request.form.get("excluded") == "1")
    return _back(slug, episode_id)
