"""The studio's show-notes editor: cite articles, order them, time them, comment on them."""
from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for

from .. import access
from ..db import db
from ..models import Article, Episode, ShowNote
from ..notes import articles, citations
from ..text import InvalidInput
from ..urls import safe_next
from .auth import login_required
from .studio import editor_page, managed_episode

bp = Blueprint("notes", __name__, url_prefix="/studio")
EPISODE = "/shows/<slug>/episodes/<int:episode_id>/notes"


@bp.before_request
@login_required
def _signed_in():
    """Every page here needs a signed-in user."""


def _back(slug: str, episode_id: int, anchor: str = "notes"):
    return redirect(url_for("studio.edit_episode", slug=slug, episode_id=episode_id,
                            _anchor=anchor))


def _editor_with_error(episode: Episode, error: InvalidInput):
    return editor_page(episode, error=error, status=400, paste=request.form.get("urls", ""))


@bp.post(EPISODE)
def add(slug: str, episode_id: int):
    """Cite one or many pasted addresses (one a line, each optionally after a time)."""
    episode = managed_episode(slug, episode_id)
    try:
        notes = citations.add_notes(episode, citations.parse_paste(request.form.get("urls", "")))
    except InvalidInput as error:
        return _editor_with_error(episode, error)
    failed = [n for n in notes if not n.article.has_metadata]
    flash(f"Added {len(notes)} article{'s' if len(notes) != 1 else ''}."
          + (f" {len(failed)} could not be fetched: type their details or retry."
             if failed else ""))
    return _back(slug, episode_id)


@bp.post(EPISODE + "/<int:note_id>")
def update(slug: str, episode_id: int, note_id: int):
    """Set a note's start time and comment."""
    episode = managed_episode(slug, episode_id)
    note = _note(episode, note_id)
    try:
        citations.edit_note(note, request.form.get("start", ""), request.form.get("comment", ""))
    except InvalidInput as error:
        error.field = f"note-{note_id}"
        return _editor_with_error(episode, error)
    return _back(slug, episode_id, f"note-{note_id}")


@bp.post(EPISODE + "/<int:note_id>/move")
def move(slug: str, episode_id: int, note_id: int):
    """Move a note up or down."""
    episode = managed_episode(slug, episode_id)
    offset = {"up": -1, "down": 1}.get(request.form.get("direction", ""))
    if offset is None:
        abort(400, "Say up or down.")
    citations.move(episode, note_id, offset)
    return _back(slug, episode_id, f"note-{note_id}")


@bp.post(EPISODE + "/order")
def order(slug: str, episode_id: int):
    """Put the notes in a new order (the editor's drag and drop sends it)."""
    episode = managed_episode(slug, episode_id)
    try:
        ids = [int(i) for i in request.form.getlist("note")]
        citations.reorder(episode, ids)
    except (ValueError, InvalidInput):
        abort(400, "The new order must list every note of the episode once.")
    return ("", 204) if request.accept_mimetypes.best == "application/json" else \
        _back(slug, episode_id)


@bp.post(EPISODE + "/<int:note_id>/delete")
def delete(slug: str, episode_id: int, note_id: int):
    """Remove a note from the episode."""
    episode = managed_episode(slug, episode_id)
    citations.remove(episode, note_id)
    flash("Article removed from this episode.")
    return _back(slug, episode_id)


def _note(episode: Episode, note_id: int) -> ShowNote:
    note = citations.note_of(episode, note_id)
    if note is None:
        abort(404)
    return note


def editable_article(article_id: int) -> Article:
    """The article if the studio shows it to the user (access.may_open_article); 404 otherwise."""
    article = db.get_or_404(Article, article_id)
    if not access.may_open_article(g.user, article):
        abort(404)
    return article


@bp.route("/articles/<int:article_id>/", methods=["GET", "POST"])
def edit_article(article_id: int):
    """Type an article's details by hand (when the page could not be fetched or read)."""
    article = editable_article(article_id)
    back = safe_next(request.values.get("back"), fallback="")
    if request.method == "GET":
        return _article_page(article, back)
    if not access.may_edit_article(g.user, article):
        return _article_page(article, back, error=InvalidInput(access.ARTICLE_NEEDS_ADMIN),
                             form=request.form, status=403)
    try:
        articles.edit_by_hand(article, request.form)
    except InvalidInput as error:
        return _article_page(article, back, error=error, form=request.form, status=400)
    flash("Article details saved.")
    return _back_from_article(back, article_id)


def _article_page(article: Article, back: str, *, error=None, form=None, status: int = 200):
    refusal = None if access.may_edit_article(g.user, article) else access.ARTICLE_NEEDS_ADMIN
    return render_template("studio/article_edit.html", article=article, form=form, error=error,
                           back=back, refusal=refusal), status


@bp.post("/articles/<int:article_id>/refetch")
def refetch(article_id: int):
    """Fetch an article's page again."""
    article = editable_article(article_id)
    if not access.may_edit_article(g.user, article):
        return _article_page(article, request.form.get("back", ""),
                             error=InvalidInput(access.ARTICLE_NEEDS_ADMIN), status=403)
    fetched = articles.refetch(article)
    flash("Fetched the article again." if fetched.meta else
          f"Still could not fetch the article: {fetched.error}")
    return _back_from_article(request.form.get("back", ""), article_id)


def _back_from_article(back: str, article_id: int):
    """Back to the studio page the host came from, or to the article's editor."""
    return redirect(safe_next(back, url_for("notes.edit_article", article_id=article_id)))
