"""The hosts' studio: their shows, show settings, episodes."""
from __future__ import annotations

from urllib.parse import unquote

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from werkzeug.datastructures import FileStorage

from .. import access, episodes, listings, shows
from ..categories import CHOICES
from ..db import db
from ..markup import render_markdown
from ..media import audio, uploads
from ..media.storage import DiskFull, TooLarge
from ..models import Episode, Show
from ..people import ROLES
from ..text import InvalidInput
from . import DISK_FULL, format_duration
from .auth import login_required

bp = Blueprint("studio", __name__, url_prefix="/studio")


@bp.before_request
@login_required
def _signed_in():
    """Every studio page needs a signed-in user."""


def managed_show(slug: str) -> Show:
    """The show if the user may change it; 404 otherwise, so others' shows are not revealed."""
    show = shows.show_by_slug(slug)
    if show is None or not access.may_change_show(g.user, show):
        abort(404)
    return show


def managed_episode(slug: str, episode_id: int, *, for_editor: bool = False) -> Episode:
    """The episode if it belongs to a show the user may change (with everything the editor
    shows, if asked); 404 otherwise."""
    show = managed_show(slug)
    episode = (episodes.editor_episode(show, episode_id) if for_editor
               else db.session.get(Episode, episode_id))
    if episode is None or episode.show_id != show.id:
        abort(404)
    return episode


def editor_page(episode: Episode, *, error=None, form=None, status: int = 200, **extra):
    """The episode editor, as first shown or again with an error (and what the host typed)."""
    return render_template("studio/episode_edit.html", episode=episode, show=episode.show,
                           cast=listings.show_cast(episode.show), error=error, form=form,
                           **extra), status


def settings_page(show: Show, *, error=None, form=None, status: int = 200):
    """The show's settings, as first shown or again with an error (and what the host typed)."""
    manages = access.may_manage_members(g.user, show)
    return render_template("studio/show_settings.html", show=show, form=form, error=error,
                           cast=listings.show_cast(show),
                           members=shows.members(show) if manages else None), status


@bp.post("/preview")
def preview():
    """Markdown rendered and sanitised exactly as listeners will see it (the editor's preview)."""
    return jsonify(html=render_markdown(request.form.get("markdown", "")[:100_000]))


DASHBOARD_EPISODES = 10


@bp.get("/")
def dashboard():
    """The user's shows, each with its latest episodes (drafts first, then newest)."""
    return render_template("studio/dashboard.html",
                           listed=listings.studio_dashboard(g.user, DASHBOARD_EPISODES))


@bp.get("/shows/<slug>/episodes/")
def episode_list(slug: str):
    """Every episode of a show, a page at a time."""
    show = managed_show(slug)
    page = listings.page_number(request.args.get("page"))
    per_page = current_app.config["PAGE_SIZE"]
    episodes, total = listings.studio_episodes(show, page, per_page)
    return render_template("studio/episodes.html", show=show, episodes=episodes, page=page,
                           pages=listings.page_count(total, per_page), total=total)


@bp.route("/shows/new", methods=["GET", "POST"])
def new_show():
    """Create a show; its creator becomes its owner."""
    form = request.form
    if request.method == "POST":
        try:
            show = shows.add_show(form.get("slug", ""), form.get("title", ""), owner=g.user)
            flash(f"“{show.title}” is ready. Fill in its settings, then add episodes.")
            return redirect(url_for("studio.show_settings", slug=show.slug))
        except InvalidInput as error:
            return render_template("studio/show_new.html", form=form, error=error), 400
    return render_template("studio/show_new.html", form=form, error=None)


@bp.route("/shows/<slug>/", methods=["GET", "POST"])
def show_settings(slug: str):
    """Edit what the show page and the feed say about the show."""
    show = managed_show(slug)
    if request.method == "POST":
        data = {field: request.form[field] for field in shows.EDITABLE if field in request.form}
        data.update({flag: flag in request.form for flag in shows.FLAGS})
        data.update(categories=request.form.getlist("categories"))
        data.update({f: request.form[f] for f in ("funding", "txt") if f in request.form})
        try:
            shows.save_settings(show, data)
            flash("Settings saved.")
            return redirect(url_for("studio.show_settings", slug=slug))
        except InvalidInput as error:
            return settings_page(show, error=error, form=request.form, status=400)
    return settings_page(show)


@bp.app_context_processor
def _choices() -> dict:
    """The fixed choices the studio's forms offer (constants: no query)."""
    return {"categories": CHOICES, "mediums": shows.MEDIUMS, "roles": ROLES}


UPLOAD_ERRORS = (InvalidInput, audio.AudioError, TooLarge, DiskFull)


@bp.post("/shows/<slug>/members")
def members(slug: str):
    """Add a member, change a role or remove a member (owners and admins only)."""
    show = managed_show(slug)
    if not access.may_manage_members(g.user, show):
        abort(404)
    try:
        if request.form.get("remove"):
            shows.remove_member(show, request.form.get("remove", type=int) or 0)
        else:
            shows.add_member(show, request.form.get("member_email", ""),
                             request.form.get("role", "editor"))
    except InvalidInput as error:
        return settings_page(show, error=error, status=400)
    flash("Members updated.")
    return redirect(url_for("studio.show_settings", slug=slug, _anchor="members"))


@bp.post("/shows/<slug>/artwork")
def show_artwork(slug: str):
    """Upload the show's artwork (square JPEG or PNG, RGB, 1400 to 3000 pixels)."""
    show = managed_show(slug)
    try:
        uploads.set_show_artwork(show, _form_file("artwork").stream)
    except UPLOAD_ERRORS as error:
        return settings_page(show, error=_field_error(error, "artwork"),
                             status=_upload_status(error))
    flash("Artwork updated.")
    return redirect(url_for("studio.show_settings", slug=slug))


@bp.route("/shows/<slug>/episodes/new", methods=["GET", "POST"])
def new_episode(slug: str):
    """Upload an audio file as a form (works without JavaScript) to make a new draft episode."""
    show = managed_show(slug)
    if request.method == "GET":
        return render_template("studio/episode_new.html", show=show, form={}, error=None)
    try:
        upload = _form_upload()
        details = episodes.NewEpisode(title=request.form.get("title", ""))
        episode = episodes.create_episode(show, upload.stream, upload.filename, details)
    except UPLOAD_ERRORS as error:
        return render_template("studio/episode_new.html", show=show, form=request.form,
                               error=_field_error(error, "audio")), _upload_status(error)
    flash(f"Uploaded “{episode.title}”. Add show notes, then publish.")
    return redirect(url_for("studio.edit_episode", slug=slug, episode_id=episode.id))


@bp.post("/shows/<slug>/episodes/upload")
def upload_episode(slug: str):
    """Receive an audio file as the raw request body (the upload page's script, with progress)."""
    show = managed_show(slug)
    try:
        if (request.content_length or 0) > current_app.config["MAX_CONTENT_LENGTH"]:
            raise TooLarge()  # refused on the declared length, before reading a byte
        filename = unquote(request.headers.get("X-Filename", ""))
        if not filename:
            raise InvalidInput("Choose an audio file to upload.", "audio")
        details = episodes.NewEpisode(title=request.args.get("title", ""))
        episode = episodes.create_episode(show, request.stream, filename, details)
    except UPLOAD_ERRORS as error:
        return jsonify(error=str(_field_error(error, "audio")), field="audio"), \
            _upload_status(error)
    return jsonify(_upload_summary(episode)), 201


@bp.post("/shows/<slug>/episodes/<int:episode_id>/audio")
def replace_audio(slug: str, episode_id: int):
    """Replace an episode's audio; its guid and address stay."""
    episode = managed_episode(slug, episode_id)
    try:
        upload = _form_upload()
        episodes.replace_audio(episode, upload.stream, upload.filename)
    except UPLOAD_ERRORS as error:
        return editor_page(episode, error=_field_error(error, "audio"),
                           status=_upload_status(error))
    flash("Audio replaced.")
    return redirect(url_for("studio.edit_episode", slug=slug, episode_id=episode_id))


def _form_file(field: str) -> FileStorage:
    """The file part of an upload form, or a refusal a host understands."""
    upload = request.files.get(field)
    if upload is None or not upload.filename:
        raise InvalidInput("Choose a file to upload.", field)
    return upload


def _form_upload() -> FileStorage:
    """The audio part of an upload form, or a refusal a host understands."""
    try:
        return _form_file("audio")
    except InvalidInput:
        raise InvalidInput("Choose an audio file to upload.", "audio") from None


def _upload_summary(episode: Episode) -> dict:
    """What the upload page shows once the file is in: the probed metadata and where to go."""
    return {
        "id": episode.id, "title": episode.title, "filename": episode.audio_filename,
        "duration": format_duration(episode.duration_seconds), "mime_type": episode.audio_mime,
        "size_bytes": episode.audio_size_bytes, "bitrate": episode.bitrate,
        "sample_rate": episode.sample_rate, "channels": episode.channels,
        "chapters": len(episode.chapters), "artwork": bool(episode.artwork_key),
        "warnings": episode.audio_warnings,
        "edit_url": url_for("studio.edit_episode", slug=episode.show.slug, episode_id=episode.id),
    }


def _upload_status(error: Exception) -> int:
    if isinstance(error, TooLarge):
        return 413
    if isinstance(error, DiskFull):
        return 507
    return getattr(error, "status", 400)


def _field_error(error: Exception, field: str) -> InvalidInput:
    if isinstance(error, InvalidInput):
        if error.field == "file":
            error.field = field
        return error
    if isinstance(error, TooLarge):
        limit = current_app.config["MAX_UPLOAD_MB"]
        return InvalidInput(f"The file is larger than this server accepts ({limit} MB).", field)
    if isinstance(error, DiskFull):
        return InvalidInput(DISK_FULL, field)
    return InvalidInput(str(error), field)


@bp.route("/shows/<slug>/episodes/<int:episode_id>/", methods=["GET", "POST"])
def edit_episode(slug: str, episode_id: int):
    """Edit an episode's text, and publish or unpublish it."""
    if request.method == "GET":
        return editor_page(managed_episode(slug, episode_id, for_editor=True))
    episode = managed_episode(slug, episode_id)
    try:
        episodes.save_edits(episode, request.form)
    except InvalidInput as error:
        return editor_page(episode, error=error, form=request.form,
                           status=getattr(error, "status", 400))
    except DiskFull:  # the edits are committed; only the copy of the MP3 with chapters failed
        message = ("Your edits are saved, but the chapters could not be written into the MP3: "
                   "the server's disk is full. Tell the administrator.")
        return editor_page(episode, error=InvalidInput(message), status=507)
    flash("Episode saved.")
    return redirect(url_for("studio.edit_episode", slug=slug, episode_id=episode.id))


@bp.post("/shows/<slug>/episodes/<int:episode_id>/artwork")
def episode_artwork(slug: str, episode_id: int):
    """Give the episode its own artwork."""
    return _episode_file(slug, episode_id, "artwork",
                         lambda episode, file: uploads.set_episode_artwork(episode, file.stream))


@bp.post("/shows/<slug>/episodes/<int:episode_id>/transcript")
def transcript(slug: str, episode_id: int):
    """Attach a WebVTT or SRT transcript."""
    return _episode_file(slug, episode_id, "transcript", lambda episode, upload: (
        uploads.add_transcript(episode, upload.stream, request.form.get("language", ""))))


def _episode_file(slug: str, episode_id: int, field: str, store):
    episode = managed_episode(slug, episode_id)
    try:
        store(episode, _form_file(field))
    except UPLOAD_ERRORS as error:
        return editor_page(episode, error=_field_error(error, field),
                           status=_upload_status(error))
    flash(f"{field.capitalize()} saved.")
    return redirect(url_for("studio.edit_episode", slug=slug, episode_id=episode_id))


@bp.post("/shows/<slug>/episodes/<int:episode_id>/delete")
def delete_episode(slug: str, episode_id: int):
    """Delete an episode and its audio."""
    episode = managed_episode(slug, episode_id)
    episodes.delete_episode(episode)
    flash("Episode deleted.")
    return redirect(url_for("studio.dashboard"))
