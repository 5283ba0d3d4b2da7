"""The feed's targets in users' terms; prints each figure with PASS/FAIL (not a timed test).

Run: .venv/bin/python bench/feed.py [--edits 15] [--runs 3] [--duration 5] [--skip-serve]

  edit      after a host edits one episode of a 1,000-episode show (an ORM transaction; its
            commit rebuilds the feed), the stored feed, plain and gzip, is current: <= 50 ms median
  rebuild   a full rebuild (nothing stored to reuse) of 5,000 episodes <= 2.5 s in one process,
            5,000 / 1,000 <= 5.5x, peak memory of a fresh process doing it <= 150 MB
  request   a request after a scheduled episode came out renders that item only; a 304 and a
            200 of a current feed run no query
  serve     a ~300 KiB stored feed under `showbiz serve` >= 0.5x the requests/s of nginx
            serving the same files (gzip_static), plain and gzip; wrk -t2 -c16, rounds
            interleaved, median

Synthetic shows: 3 hosts, 1 guest and 10 cited articles per episode, inserted with Core, in a
temp dir removed at the end. Needs nginx and wrk (Debian packages).
"""
from __future__ import annotations

import argparse
import gzip
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from harness import exit_after, free_port, nginx_command, servers, wrk_rate

SHOWBIZ = Path(sys.executable).with_name("showbiz")
WORDS = ("minister budget election court ruling climate summit energy prices market inflation "
         "strike union vote parliament coalition border trade tariff report investigation data "
         "privacy platform regulator merger bank rates housing transit heatwave drought").split()
SITES = (("Reuters", "reuters.com"), ("The Guardian", "theguardian.com"),
         ("BBC News", "bbc.co.uk"), ("Le Monde", "lemonde.fr"), ("NPR", "npr.org"))


def _text(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words)).capitalize() + "."


def populate(size: int, rng: random.Random) -> int:
    """Insert a show of `size` published episodes (Core bulk inserts); its id."""
    from sqlalchemy import func, select

    from showbiz.db import db, transaction
    from showbiz.models import Article, Credit, Episode, Person, ShowNote
    from showbiz.shows import create_show

    with transaction() as session:
        show = create_show(f"bench-{size}", f"The Bench Hour ({size})", owner=None)
        show.description, show.categories = _text(rng, 30), ["News > Daily News"]
        session.flush()
        first = {m: (session.scalar(select(func.max(m.id))) or 0) + 1
                 for m in (Person, Episode, Article)}
        people = [dict(id=first[Person] + i, slug=f"p-{size}-{i}", name=f"Person {size}-{i}",
                       bio="", website="", image_key=None) for i in range(23)]
        credits = [dict(person_id=first[Person] + h, show_id=show.id, episode_id=None,
                        role="host", group="cast", position=h, excluded=False) for h in range(3)]
        episodes, articles, notes, now = [], [], [], datetime.now(UTC)
        for n in range(size):
            episode_id, published = first[Episode] + n, now - timedelta(hours=12 * (size - n))
            episodes.append(dict(
                id=episode_id, show_id=show.id, guid=str(uuid.uuid4()), slug=f"episode-{n}",
                title=f"#{n}: {_text(rng, 6)}", summary=_text(rng, 60), notes_md="Produced.",
                notes_html="<p>Produced.</p>", number=n + 1, episode_type="full",
                explicit=False, published_at=published, audio_key=f"audio/{size}/{n}.mp3",
                audio_mime="audio/mpeg", audio_size_bytes=rng.randint(2e7, 6e7),
                audio_sha256="0" * 64, audio_filename="e.mp3", audio_warnings=[],
                chapters_from="notes", duration_seconds=rng.uniform(1500, 3600), version=1))
            credits.append(dict(person_id=first[Person] + 3 + rng.randrange(20), show_id=None,
                                episode_id=episode_id, role="guest", group="cast", position=0,
                                excluded=False))
            for j in range(10):
                article_id = first[Article] + 10 * n + j
                site, domain = rng.choice(SITES)
                articles.append(dict(
                    id=article_id, url=f"https://www.{domain}/{article_id}", title=_text(rng, 10),
                    site_name=site, author_name="A. Writer", description=_text(rng, 20),
                    fetched_at=published, fetch_status="ok"))
                comment = _text(rng, 15) if j % 3 == 0 else ""
                notes.append(dict(episode_id=episode_id, article_id=article_id, position=j,
                                  start_seconds=60 + 240 * j, comment_md=comment,
                                  comment_html=f"<p>{comment}</p>" if comment else ""))
        for model, rows in ((Person, people), (Episode, episodes), (Credit, credits),
                            (Article, articles), (ShowNote, notes)):
            session.execute(model.__table__.insert(), rows)
        show_id = show.id
    db.session.remove()
    return show_id


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def _env(config: dict) -> dict:
    return {**os.environ, **{f"SHOWBIZ_{k}": str(v) for k, v in config.items()}}


def edit_figures(show_id: int, edits: int) -> bool:
    """Edit one episode at a time; time until the stored feed (plain and gzip) has the edit."""
    from showbiz import feed
    from showbiz.db import db, transaction
    from showbiz.models import Episode, Show

    slug = db.session.get(Show, show_id).slug
    episode_ids = list(db.session.scalars(db.select(Episode.id).where(Episode.show_id == show_id)))
    rng, times = random.Random(1), []
    for k in range(edits):
        title = f"Edited title {k}"
        start = time.perf_counter()
        with transaction():
            db.session.get(Episode, rng.choice(episode_ids)).title = title
        built = feed.cached(slug)
        elapsed = time.perf_counter() - start
        assert title.encode() in built.xml and title.encode() in gzip.decompress(built.gz)
        times.append(elapsed * 1000)
        db.session.remove()
    median = statistics.median(times)
    print(f"edit one episode of 1,000 -> stored feed current (plain and gzip): median "
          f"{median:.1f} ms, min {min(times):.1f}, max {max(times):.1f} over {edits} edits; "
          f"feed {len(built.xml) / 1e6:.2f} MB, gzip {len(built.gz) / 1e6:.2f} MB; "
          f"target <= 50 ms  {verdict(median <= 50)}")
    return median <= 50


def full_rebuild(show_id: int) -> tuple[float, int]:
    """Seconds of a rebuild with nothing stored to reuse, and the feed's size."""
    from showbiz import feed
    from showbiz.db import db
    from showbiz.models import Show

    feed.forget(db.session.get(Show, show_id).slug)
    start = time.perf_counter()
    length = len(feed.rebuild(show_id).xml)
    elapsed = time.perf_counter() - start
    db.session.remove()
    return elapsed, length


def rebuild_figures(small: int, large: int, runs: int, config: dict) -> bool:
    """Full rebuilds of the two shows in this process, and of the large one in a fresh one."""
    medians = {}
    for size, show_id in (("1,000", small), ("5,000", large)):
        times, length = [], 0
        for _ in range(runs):
            seconds, length = full_rebuild(show_id)
            times.append(seconds)
        medians[size] = statistics.median(times)
        print(f"full rebuild, {size} episodes: median {medians[size] * 1000:.0f} ms, min "
              f"{min(times) * 1000:.0f} ms over {runs} runs; feed {length / 1e6:.1f} MB")
    ratio = medians["5,000"] / medians["1,000"]
    child = subprocess.run([sys.executable, __file__, "--child-rebuild", str(large)],
                           env=_env(config),
                           capture_output=True, text=True, check=True).stdout
    seconds, base_mb, peak_mb = map(float, child.split())
    ok = medians["5,000"] <= 2.5 and ratio <= 5.5 and peak_mb <= 150
    print(f"5,000 episodes: {medians['5,000']:.2f} s in this process (target <= 2.5 s), "
          f"{ratio:.2f}x the 1,000 (target <= 5.5x); a fresh process: {seconds:.2f} s, peak RSS "
          f"{peak_mb:.0f} MB ({base_mb:.0f} MB before the rebuild; target <= 150 MB)  "
          f"{verdict(ok)}")
    return ok


def _rss_mb(field: str) -> float:
    """VmRSS or VmHWM (peak) of this process, in MB (ru_maxrss survives exec: the parent's)."""
    status = Path("/proc/self/status").read_text()
    return int(re.search(rf"{field}:\s+(\d+)", status).group(1)) / 1024


def child_rebuild(show_id: int) -> None:
    """In a fresh process: time a full rebuild; print seconds, RSS before and peak RSS (MB)."""
    from showbiz import create_app
    from showbiz.db import db
    from showbiz.models import Show

    app = create_app()
    with app.app_context():
        db.session.get(Show, show_id)  # connect, import and load what a rebuild would anyway
        base = _rss_mb("VmRSS")
        seconds, _ = full_rebuild(show_id)
    print(seconds, base, _rss_mb("VmHWM"))


def request_figures(app, show_id: int) -> bool:
    """A scheduled episode comes out: what the first request renders; queries of a 304/200."""
    from sqlalchemy import event

    from showbiz.db import db, transaction
    from showbiz.feed import render
    from showbiz.models import Episode, Show

    slug = db.session.get(Show, show_id).slug
    with transaction():
        episode = db.session.scalar(db.select(Episode).where(Episode.show_id == show_id))
        episode.published_at = datetime.now(UTC) + timedelta(seconds=1)
    db.session.remove()
    time.sleep(1.1)
    rendered, original = [], render.items
    render.items = lambda items: rendered.extend(items) or original(items)
    client, path = app.test_client(), f"/shows/{slug}/feed.xml"
    start = time.perf_counter()
    response = client.get(path)
    elapsed = (time.perf_counter() - start) * 1000
    render.items = original
    queries = []
    event.listen(db.engine, "before_cursor_execute", lambda *a: queries.append(a[2]))
    etag = response.headers["ETag"]
    statuses = [client.get(path, headers={"If-None-Match": etag}).status_code,
                client.get(path, headers={"Accept-Encoding": "gzip"}).status_code]
    ok = len(rendered) == 1 and statuses == [304, 200] and not queries
    print(f"request after a scheduled episode came out: {len(rendered)} item rendered, "
          f"{elapsed:.0f} ms; a 304 and a 200 of the current feed: {len(queries)} queries  "
          f"{verdict(ok)}")
    return ok


def serve_figures(tmp: Path, slug: str, config: dict, duration: int, rounds: int) -> bool:
    """nginx (gzip_static) and `showbiz serve` side by side on the same stored files."""
    folder = Path(config["FEED_STATIC_DIR"])
    xml, gz = (folder / f"{slug}.xml").read_bytes(), (folder / f"{slug}.xml.gz").read_bytes()
    path = f"/shows/{slug}/feed.xml"
    location = f"""location = {path} {{ alias {folder}/{slug}.xml; gzip_static on;
            gzip_vary on; types {{ }} default_type "application/rss+xml; charset=utf-8";
            add_header Cache-Control "public, max-age=300"; }}"""
    ports = {"nginx": free_port(), "showbiz serve": free_port()}
    env = _env(config)
    commands = {"nginx": nginx_command(tmp, ports["nginx"], "", location),
                "showbiz serve": [str(SHOWBIZ), "serve", "--port", str(ports["showbiz serve"])]}
    rates = {(name, kind): [] for name in ports for kind in ("plain", "gzip")}
    with servers(commands, ports, env, tmp):
        for _ in range(rounds):
            for name, kind in rates:
                headers = {"Accept-Encoding": "gzip"} if kind == "gzip" else {}
                rates[(name, kind)].append(wrk_rate(ports[name], path, headers, duration))
    print(f"serving {path}: {len(xml) / 1024:.0f} KiB, gzip {len(gz) / 1024:.0f} KiB; "
          f"wrk -t2 -c16 -d{duration}s, {rounds} rounds, median; {os.cpu_count()} CPUs")
    ok = True
    for kind in ("plain", "gzip"):
        nginx, app = (statistics.median(rates[(name, kind)]) for name in ports)
        ok &= app >= 0.5 * nginx
        print(f"  {kind:5}  nginx {nginx:8.0f}/s   showbiz serve {app:8.0f}/s   "
              f"{app / nginx:.2f}x (target >= 0.5x)  {verdict(app >= 0.5 * nginx)}")
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for flag, default in (("--edits", 15), ("--runs", 3), ("--duration", 5), ("--rounds", 3)):
        parser.add_argument(flag, type=int, default=default)
    parser.add_argument("--skip-serve", action="store_true")
    parser.add_argument("--child-rebuild", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_rebuild:
        return child_rebuild(args.child_rebuild)
    exit_after(1800)
    from showbiz import create_app
    from showbiz.feed import cached
    from showbiz.migrate import upgrade

    tmp = Path(tempfile.mkdtemp(prefix="showbiz-bench-feed-"))
    config = {"INSTANCE_PATH": tmp / "instance", "MEDIA_DIR": tmp / "media",
              "DATABASE_URL": f"sqlite:///{tmp / 'bench.sqlite'}",
              "FEED_STATIC_DIR": tmp / "feeds", "SECRET_KEY": "bench",
              "BASE_URL": "https://podcasts.example"}
    try:
        app = create_app({k: str(v) for k, v in config.items()})
        with app.app_context():
            upgrade()
            rng = random.Random(2026)
            small, large = populate(1000, rng), populate(5000, rng)
            size = round(300 * 1024 / (len(cached("bench-1000").xml) / 1000))  # ~300 KiB
            serve_show, serve_slug = populate(size, rng), f"bench-{size}"
            results = [edit_figures(small, args.edits),
                       rebuild_figures(small, large, args.runs, config),
                       request_figures(app, serve_show)]
        if not args.skip_serve:
            results.append(serve_figures(tmp, serve_slug, config, args.duration, args.rounds))
        print("all targets met" if all(results) else "some targets missed")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
