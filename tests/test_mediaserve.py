"""Public media answered before Flask: no queries, and never a file that is not public now."""
from __future__ import annotations

import time
from datetime import timedelta

from sqlalchemy import event

from showbiz import create_app
from showbiz.db import db, transaction
from showbiz.models import Episode, Transcript, utcnow
from showbiz.publicmedia import PublicMedia

from .conftest import DATA, login, make_episode, make_show, make_user

AUDIO = (DATA / "cbr.mp3").read_bytes()


def get(client, url, **headers):
    with client.get(url, headers=headers) as response:
        response.get_data()
        return response


def count_queries(app, run):
    """Run `run` and return the SQL statements it sent."""
    with app.app_context():
        engine = db.engine
    queries = []
    listener = lambda *args: queries.append(args[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        run()
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    return queries


def audio_url(app, episode_id):
    with app.app_context():
        return "/media/" + db.session.get(Episode, episode_id).audio_key


def test_published_audio_needs_no_query(app, client):
    url = audio_url(app, make_episode(app, make_show(app), "cbr.mp3"))
    assert get(client, url).status_code == 200  # reads the list once
    responses = []
    queries = count_queries(app, lambda: responses.extend(
        [get(client, url, Range="bytes=100-199"), client.head(url), get(client, url)]))
    assert queries == []
    ranged, head, whole = responses
    assert ranged.status_code == 206 and ranged.data == AUDIO[100:200]
    assert ranged.headers["Content-Range"] == f"bytes 100-199/{len(AUDIO)}"
    assert head.status_code == 200 and head.headers["Content-Length"] == str(len(AUDIO))
    assert whole.data == AUDIO and whole.headers["X-Content-Type-Options"] == "nosniff"
    assert "Set-Cookie" not in whole.headers
    etag = whole.headers["ETag"]
    assert get(client, url, **{"If-None-Match": etag}).status_code == 304


def test_drafts_scheduled_and_unpublished_media_stay_private(app, client):
    show_id = make_show(app, owner_email=None)
    draft = make_episode(app, show_id, "cbr.mp3", publish=False)
    later = make_episode(app, show_id, "vbr_xing.mp3", title="Later")
    with app.app_context(), transaction():
        db.session.get(Episode, later).published_at = utcnow() + timedelta(seconds=1.2)
    assert get(client, audio_url(app, draft)).status_code == 404
    assert get(client, audio_url(app, later)).status_code == 404
    time.sleep(1.3)  # its publish time comes: public without any write
    assert get(client, audio_url(app, later)).status_code == 200
    with app.app_context(), transaction():
        db.session.get(Episode, later).published_at = None  # unpublished again
    assert get(client, audio_url(app, later)).status_code == 404


def test_a_member_still_gets_a_draft_through_the_media_route(app, client):
    make_user(app)
    draft = make_episode(app, make_show(app, owner_email="host@example.com"), "cbr.mp3",
                         publish=False)
    login(client)
    assert get(client, audio_url(app, draft)).data == AUDIO


def test_other_processes_see_a_change_at_once(app, app_config):
    """A second app on the same instance (as another worker would be) reads the stamp."""
    episode_id = make_episode(app, make_show(app), "cbr.mp3")
    with app.app_context():
        episode = db.session.get(Episode, episode_id)
        key = episode.audio_key
        db.session.add(Transcript(episode_id=episode_id, key="transcripts/t.vtt",
                                  mime_type="text/vtt"))
        db.session.commit()
    other = create_app(app_config)
    public = PublicMedia(other)
    now = time.time()
    assert public.lookup(key, now) == "audio/mpeg"
    assert public.lookup("transcripts/t.vtt", now) == "text/vtt; charset=utf-8"
    with app.app_context(), transaction():
        db.session.get(Episode, episode_id).published_at = None
    assert public.lookup(key, time.time()) is None
    assert public.lookup("transcripts/t.vtt", time.time()) is None
    with other.app_context():
        db.engine.dispose()


def test_open_files_are_kept_until_the_public_list_changes(app, client):
    """Each public file is opened once; deleting or replacing audio lets the old file go, so a
    cached descriptor never serves bytes that are no longer public."""
    from showbiz.episodes import delete_episode, replace_audio
    from showbiz.web.mediaserve import FastMedia

    fast = app.wsgi_app
    assert isinstance(fast, FastMedia)
    show_id = make_show(app)
    kept, replaced = make_episode(app, show_id, "cbr.mp3"), make_episode(app, show_id)
    kept_url, old_url = audio_url(app, kept), audio_url(app, replaced)
    assert get(client, kept_url).data == AUDIO
    assert get(client, old_url, Range="bytes=0-9").data == AUDIO[:10]
    cached = fast.open[kept_url.removeprefix("/media/")]
    assert get(client, kept_url, Range="bytes=5-").data == AUDIO[5:]
    assert fast.open[kept_url.removeprefix("/media/")] is cached  # no second open
    with app.app_context(), (DATA / "vbr_xing.mp3").open("rb") as stream:
        replace_audio(db.session.get(Episode, replaced), stream, "vbr_xing.mp3")
    new_url = audio_url(app, replaced)
    assert get(client, old_url).status_code == 404
    assert get(client, new_url).data == (DATA / "vbr_xing.mp3").read_bytes()
    assert kept_url.removeprefix("/media/") not in fast.open  # the list changed: reopened
    with app.app_context():
        delete_episode(db.session.get(Episode, kept))
    assert get(client, kept_url).status_code == 404
