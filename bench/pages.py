"""Server time of the listener pages of a long-running show.

Targets (issue 6): the show page of a show with 3,000 episodes <= 50 ms, an episode page with 30
show notes <= 30 ms, measured in-process through the Flask test client (no network).
Run: .venv/bin/python bench/pages.py
"""
from __future__ import annotations

import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import insert, select

from showbiz import create_app
from showbiz.db import db
from showbiz.migrate import upgrade
from showbiz.models import Article, Credit, Episode, Person, Show, ShowNote, utcnow

EPISODES, NOTES = 3000, 30


def build(app) -> tuple[str, str]:
    """A show with EPISODES published episodes, 3 hosts, and NOTES notes on the newest one."""
    with app.app_context():
        upgrade()
        session = db.session
        show = Show(slug="long-runner", title="The Long Runner", description="Daily news. " * 20)
        session.add(show)
        session.flush()
        now = utcnow()
        session.execute(insert(Episode), [dict(
            show_id=show.id, guid=f"guid-{n}", slug=f"episode-{n}", title=f"Episode {n}: the news",
            summary="What happened today, and why it matters. " * 4, notes_md="", notes_html="",
            episode_type="full", explicit=False, published_at=now - timedelta(days=n),
            audio_key=f"audio/e{n}.mp3", audio_mime="audio/mpeg", audio_size_bytes=50_000_000,
            audio_sha256="0" * 64, audio_filename="", audio_warnings=[], chapters_from="notes",
            duration_seconds=3600.0, version=1, feed_item_rev=0, number=EPISODES - n,
            created_at=now, updated_at=now) for n in range(EPISODES)])
        hosts = [Person(name=f"Host {n}", slug=f"host-{n}", bio="Bio.") for n in range(3)]
        session.add_all(hosts)
        session.flush()
        session.add_all(Credit(person=h, show_id=show.id, role="host", position=n)
                        for n, h in enumerate(hosts))
        newest = session.scalar(select(Episode.id).where(Episode.slug == "episode-0"))
        for n in range(NOTES):
            article = Article(url=f"https://news.example/story-{n}", title=f"Story number {n}",
                              site_name="News Example", author_name="Host 0", author=hosts[0],
                              fetch_status="ok", description="About the story.")
            session.add(ShowNote(episode_id=newest, article=article, position=n,
                                 start_seconds=n * 60, comment_md="Why it matters.",
                                 comment_html="<p>Why it matters.</p>"))
        session.add(Credit(person=hosts[1], episode_id=newest, role="guest"))
        session.commit()
    return "/shows/long-runner/", "/shows/long-runner/episodes/episode-0/"


def timed(client, url: str, runs: int = 60) -> list[float]:
    """Milliseconds per request, after warming up."""
    for _ in range(5):
        assert client.get(url).status_code == 200
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200
    return times


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "media").mkdir()
        app = create_app({"INSTANCE_PATH": tmp, "DATABASE_URL": f"sqlite:///{tmp}/bench.sqlite",
                          "MEDIA_DIR": f"{tmp}/media", "SECRET_KEY": "bench"})
        show_url, episode_url = build(app)
        client = app.test_client()
        print(f"show with {EPISODES} episodes, episode with {NOTES} notes (SQLite, in-process)")
        for label, url, target in (("show page 1", show_url, 50),
                                   ("show page 150 (oldest)", show_url + "?page=150", 50),
                                   ("episode page", episode_url, 30)):
            times = timed(client, url)
            median = statistics.median(times)
            p95 = sorted(times)[int(len(times) * 0.95) - 1]
            verdict = "PASS" if median <= target else "FAIL"
            print(f"{label:24} median {median:6.2f} ms  p95 {p95:6.2f} ms  "
                  f"target <= {target} ms  {verdict}")


if __name__ == "__main__":
    main()
