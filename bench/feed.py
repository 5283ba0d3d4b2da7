"""Feed rebuild time and feed serving rate against nginx and a bare Flask app (prints figures).

Run: .venv/bin/python bench/feed.py [--duration 10] [--rounds 3] [--configs 2x4,5x4]
     [--sizes 1000,5000] [--profile] [--skip-serve] [--keep]

Targets (from the issue), each printed with PASS/FAIL:
  rebuild   a full rebuild (no cached items, database read included) of a 1,000-episode feed
            <= 150 ms and of a 5,000-episode feed <= 750 ms, linear in episodes (here: the
            5,000 feed's ms per episode within 1.25x of the 1,000 feed's);
  edit      after editing one episode of the 1,000-episode show, the rebuild (the other items
            from the cache) <= 25 ms: timed as the whole ORM transaction, since its commit
            triggers the rebuild; a plain rebuild() with every item cached is shown as well;
  serve     cached 200 responses under `showbiz serve` >= 0.8x nginx serving the same bytes as
            a static file (plain, and gzip with nginx's gzip_static serving the .gz the app
            wrote into SHOWBIZ_FEED_STATIC_DIR);
  304       If-None-Match with the current ETag >= 0.9x a bare Flask route that answers an empty
            304, served with the same server settings as `showbiz serve` (showbiz.server.run
            with this module's bare app, run as `feed.py --serve-bare`).

The synthetic show: 3 hosts credited on the show plus 1 guest per episode (4 podcast:person per
item), 10 show notes per episode each citing its own article (title, site, author, a time, a
comment on every third), a summary of four sentences, published in the past; written with Core
bulk inserts. Rebuilds are timed in-process with showbiz.feeds.rebuild() (its feed helper
process started and ready first, as after a server's first large feed); a full rebuild first
removes the stored feed (showbiz.feeds.forget), so no item can be reused. Where a rebuild
target is missed (or with --profile), a stage breakdown and a cProfile summary are printed.

Serving: nginx, `showbiz serve --workers W --threads T` and the bare app run side by side, each
in its own process group on a free 127.0.0.1 port, and are measured in turn with
`wrk -t2 -c16 -d<duration>s`, rounds interleaved, median shown. Everything lives in a temp dir
that is removed at the end (--keep leaves it). Needs the Debian packages nginx and wrk.
"""

from __future__ import annotations

import argparse
import cProfile
import gzip
import hashlib
import http.client
import io
import json
import os
import pstats
import random
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
import zlib
from contextlib import contextmanager, suppress
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from harness import free_port, nginx_command, wait_port
from isal import isal_zlib

ROOT = Path(__file__).resolve().parent.parent
SHOWBIZ = Path(sys.executable).with_name("showbiz")
FULL_TARGET_MS = {1000: 150.0, 5000: 750.0}
EDIT_TARGET_MS = 25.0
LINEAR_SLACK = 1.25
SERVE_RATIO, NOT_MODIFIED_RATIO = 0.8, 0.9
HOSTS, GUEST_POOL, NOTES_PER_EPISODE = 3, 200, 10

WORDS = (
    "minister budget election court ruling climate summit energy prices market inflation "
    "strike union vote parliament coalition border trade tariff report investigation data "
    "privacy platform regulator merger bank rates housing transit heatwave drought harvest "
    "satellite launch vaccine hospital school teachers police protest council mayor city "
    "river flood storm wildfire leak hearing lawsuit verdict appeal senate reform pension "
    "deficit growth exports chips factory workers wages"
).split()
SITES = (
    ("Reuters", "reuters.com"),
    ("The Guardian", "theguardian.com"),
    ("Ars Technica", "arstechnica.com"),
    ("BBC News", "bbc.co.uk"),
    ("Le Monde", "lemonde.fr"),
    ("Der Spiegel", "spiegel.de"),
    ("The Verge", "theverge.com"),
    ("Financial Times", "ft.com"),
    ("NPR", "npr.org"),
    ("Wired", "wired.com"),
)
FIRST = "Ana Ben Chloé Dmitri Ewa Farid Grace Hiro Ines Jonas Kemi Luis Maya Nils Omar".split()
LAST = "Adler Brandt Castillo Dubois Eriksen Fischer García Haddad Ito Jansen Kowalski".split()


# --- the bare app for the 304 baseline -------------------------------------------------------


def bare_app():
    """A Flask app whose one route answers an empty 304 (the ceiling for the feed's 304)."""
    from flask import Flask, Response

    app = Flask("bare304")

    @app.get("/shows/<slug>/feed.xml")
    def feed(slug: str):
        return Response(status=304)

    return app


def serve_bare(port: int, workers: int, threads: int) -> None:
    """Serve bare_app with exactly `showbiz serve`'s server settings (showbiz.server.run)."""
    from showbiz import server

    os.chdir(Path(__file__).resolve().parent)  # where the workers import `feed` from
    server.run("127.0.0.1", port, workers, threads, access_log=False, factory="feed:bare_app")


# --- synthetic data --------------------------------------------------------------------------


def _words(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


def _sentence(rng: random.Random) -> str:
    return _words(rng, rng.randint(12, 20)).capitalize() + "."


def populate(sizes: list[int]) -> dict[int, int]:
    """Insert one show per size (Core bulk inserts); returns {size: show_id}."""
    from showbiz.db import db, transaction
    from showbiz.models import Article, Credit, Episode, Person, Show, ShowNote

    rng = random.Random(20261127)
    now = datetime.now(UTC).replace(microsecond=0)
    people, credits, shows, episodes, articles, notes = [], [], [], [], [], []
    for i in range(HOSTS + GUEST_POOL):
        name = f"{FIRST[i % len(FIRST)]} {LAST[(i // len(FIRST)) % len(LAST)]} {i}"
        people.append(
            dict(
                id=i + 1,
                slug=f"person-{i + 1}",
                name=name,
                bio=_sentence(rng),
                website=f"https://people.example/{i + 1}",
                image_key=f"people/person-{i + 1}.jpg" if i < HOSTS else None,
                created_at=now,
            )
        )
    show_ids, episode_id, article_id = {}, 0, 0
    for show_no, size in enumerate(sizes, 1):
        slug = f"bench-{size}"
        show_ids[size] = show_no
        shows.append(
            dict(
                id=show_no,
                slug=slug,
                title=f"The Bench Hour ({size} episodes)",
                subtitle="News, argued over",
                description=" ".join(_sentence(rng) for _ in range(3)),
                language="en",
                author="Bench Media",
                owner_name="Bench Media",
                owner_email="feeds@bench.example",
                website="https://bench.example",
                artwork_key=f"shows/{slug}.jpg",
                categories=["News > Daily News", "Technology"],
                explicit=False,
                show_type="episodic",
                copyright="© Bench Media",
                podcast_guid=str(uuid.uuid5(uuid.NAMESPACE_URL, slug)),
                locked=False,
                funding=[{"url": "https://bench.example/support", "text": "Support the show"}],
                time_zone="UTC",
                block=False,
                complete=False,
                new_feed_url="",
                medium="podcast",
                update_frequency="",
                txt=[],
                transcript_language="",
                created_at=now,
                updated_at=now,
            )
        )
        for h in range(HOSTS):
            credits.append(
                dict(
                    person_id=h + 1,
                    show_id=show_no,
                    episode_id=None,
                    role="host",
                    group="cast",
                    position=h,
                    excluded=False,
                )
            )
        for n in range(1, size + 1):
            episode_id += 1
            published = now - timedelta(hours=12 * (size - n + 1))
            title = f"#{n}: {_words(rng, rng.randint(4, 8)).capitalize()}"
            episodes.append(
                dict(
                    id=episode_id,
                    show_id=show_no,
                    guid=str(uuid.uuid4()),
                    slug=f"episode-{n}",
                    title=title,
                    summary=" ".join(_sentence(rng) for _ in range(4)),
                    notes_md="Produced by Bench Media.",
                    notes_html="<p>Produced by Bench Media.</p>",
                    number=n,
                    season=1 + (n - 1) // 100,
                    episode_type="full",
                    explicit=False,
                    published_at=published,
                    audio_key=f"audio/{slug}/{n:05d}.mp3",
                    audio_mime="audio/mpeg",
                    audio_size_bytes=rng.randint(20_000_000, 60_000_000),
                    audio_sha256=hashlib.sha256(f"{slug}/{n}".encode()).hexdigest(),
                    audio_filename=f"episode-{n}.mp3",
                    audio_warnings=[],
                    chapters_from="notes",
                    feed_item_rev=0,
                    duration_seconds=rng.uniform(1500, 3600),
                    bitrate=128_000,
                    sample_rate=44_100,
                    channels=2,
                    artwork_key=None,
                    created_at=published,
                    updated_at=published,
                    version=1,
                )
            )
            guest = HOSTS + 1 + rng.randrange(GUEST_POOL)
            credits.append(
                dict(
                    person_id=guest,
                    show_id=None,
                    episode_id=episode_id,
                    role="guest",
                    group="cast",
                    position=0,
                    excluded=False,
                )
            )
            for j in range(NOTES_PER_EPISODE):
                article_id += 1
                site, domain = SITES[rng.randrange(len(SITES))]
                headline = _words(rng, rng.randint(7, 13)).capitalize()
                articles.append(
                    dict(
                        id=article_id,
                        url=f"https://www.{domain}/{published:%Y/%m/%d}/"
                        f"{headline.lower().replace(' ', '-')}-{article_id}",
                        source_url="",
                        title=headline,
                        site_name=site,
                        author_name=f"{rng.choice(FIRST)} {rng.choice(LAST)}",
                        author_id=None,
                        published_on=date(published.year, published.month, published.day),
                        description=_sentence(rng),
                        image_url="",
                        fetched_at=published,
                        fetch_status="ok",
                        fetch_error="",
                        created_at=published,
                    )
                )
                comment = _sentence(rng) if j % 3 == 0 else ""
                notes.append(
                    dict(
                        episode_id=episode_id,
                        article_id=article_id,
                        position=j,
                        start_seconds=60 + 240 * j,
                        comment_md=comment,
                        comment_html=f"<p>{comment}</p>" if comment else "",
                    )
                )
    with transaction() as session:
        for model, rows in (
            (Person, people),
            (Show, shows),
            (Episode, episodes),
            (Credit, credits),
            (Article, articles),
            (ShowNote, notes),
        ):
            for start in range(0, len(rows), 5000):
                session.execute(model.__table__.insert(), rows[start : start + 5000])
    db.session.remove()
    return show_ids


# --- rebuild timing --------------------------------------------------------------------------


def clear_items(show_id: int) -> None:
    """Remove the stored feed, so the next rebuild renders every item."""
    from showbiz.db import db
    from showbiz.feeds import forget
    from showbiz.models import Show

    forget(db.session.get(Show, show_id).slug)
    db.session.remove()


def timed_full(show_id: int) -> float:
    from showbiz.db import db
    from showbiz.feeds import rebuild

    clear_items(show_id)
    start = time.perf_counter()
    rebuild(show_id)
    elapsed = time.perf_counter() - start
    db.session.remove()
    return elapsed * 1000


def timed_cached(show_id: int) -> float:
    from showbiz.db import db
    from showbiz.feeds import rebuild

    db.session.remove()
    start = time.perf_counter()
    rebuild(show_id)
    elapsed = time.perf_counter() - start
    db.session.remove()
    return elapsed * 1000


def timed_edit(show_id: int, episode_id: int, k: int) -> float:
    """Rename one episode through the ORM; the commit's hook rebuilds the feed."""
    from showbiz.db import db, transaction
    from showbiz.models import Episode

    db.session.remove()
    start = time.perf_counter()
    with transaction():
        episode = db.session.get(Episode, episode_id)
        episode.title = f"Edited title, take {k}"
    elapsed = time.perf_counter() - start
    db.session.remove()
    return elapsed * 1000


class Renders:
    """Counts the items each rebuild renders (wraps showbiz.feeds.render_items)."""

    def __init__(self):
        from showbiz import feeds

        self.feeds, self.original, self.counts = feeds, feeds.render_items, []

    def __enter__(self):
        def counting(show, episode_ids, *rest):
            self.counts.append(len(episode_ids))
            return self.original(show, episode_ids, *rest)

        self.feeds.render_items = counting
        return self

    def __exit__(self, *_):
        self.feeds.render_items = self.original


@contextmanager
def stage_timer(totals: dict[str, float]):
    """Time rebuild()'s parts by wrapping the functions it calls (bench process only)."""
    from showbiz import feed, feeddata, feedhelper, feeds, feedstore

    targets = [
        (feeds, "rebuild", "rebuild() (total)"),
        (feeds, "render_items", "items: query + render (total)"),
        (feedhelper, "_plain", "items: handing items to the helper"),
        (feed, "render_items", "items: feedgen/lxml render, this process"),
        (feedstore, "compress", "items: deflate here while the helper works"),
        (feedhelper.Helper, "answer", "items: waiting for the helper, its answer"),
        (feedstore, "in_order", "items: order + deflate"),
        (feeddata, "channel", "channel: data"),
        (feed, "render_channel", "channel: render"),
        (feedstore, "previous", "stored feed: load for reuse"),
        (feedstore, "store", "store (total)"),
        (isal_zlib, "crc32", "store: crc32"),
        (feedstore, "_write_linked", "store: write XML, gzip"),
        (feedstore, "_atomic_write", "store: write metadata"),
    ]
    saved = []
    for module, name, label in targets:
        original = getattr(module, name)
        saved.append((module, name, original))

        def wrapper(*a, _original=original, _label=label, **kw):
            start = time.perf_counter()
            try:
                return _original(*a, **kw)
            finally:
                totals[_label] = totals.get(_label, 0.0) + time.perf_counter() - start

        setattr(module, name, wrapper)
    try:
        yield
    finally:
        for module, name, original in saved:
            setattr(module, name, original)


def breakdown(run, repeat: int = 3) -> list[tuple[str, float]]:
    """Median ms per stage of `run` (which returns its total ms)."""
    samples: dict[str, list[float]] = {}
    for _ in range(repeat):
        totals: dict[str, float] = {}
        with stage_timer(totals):
            total = run()
        parts = sum(
            totals.get(k, 0.0)
            for k in (
                "items: query + render (total)",
                "items: order + deflate",
                "channel: data",
                "channel: render",
                "stored feed: load for reuse",
                "store (total)",
            )
        )
        inside = totals.get("rebuild() (total)", 0.0)
        totals = {k: v * 1000 for k, v in totals.items()}
        totals["rest of rebuild (revisions read, reuse, pieces)"] = (inside - parts) * 1000
        totals["outside rebuild (edit: load, flush, commit)"] = total - inside * 1000
        totals["TOTAL"] = total
        for k, v in totals.items():
            samples.setdefault(k, []).append(v)
    return [(k, statistics.median(v)) for k, v in samples.items()]


CATEGORIES = (
    ("gzip/zlib/ISA-L", ("zlib", "gzip.py", "isal")),
    ("sqlite3 (C)", ("sqlite3",)),
    ("SQLAlchemy", ("sqlalchemy",)),
    ("feedgen", ("feedgen",)),
    ("lxml", ("lxml",)),
    ("dateutil", ("dateutil",)),
    ("markupsafe", ("markupsafe",)),
    ("string.Formatter (Markup.format)", ("string.py",)),
    ("werkzeug/flask (URLs)", ("werkzeug", "flask")),
    ("hashlib", ("sha256", "hashlib")),
    ("showbiz", ("showbiz",)),
)


def profile(run, label: str, top: int = 14) -> None:
    """cProfile one run: own time grouped by library, then the costliest functions."""
    prof = cProfile.Profile()
    prof.enable()
    run()
    prof.disable()
    stats = pstats.Stats(prof)
    groups: dict[str, float] = {}
    total = 0.0
    for (filename, _line, name), (_cc, _nc, tottime, _ct, _callers) in stats.stats.items():
        where = f"{filename} {name}"
        group = next(
            (g for g, keys in CATEGORIES if any(k in where for k in keys)),
            "other (builtins, stdlib)",
        )
        groups[group] = groups.get(group, 0.0) + tottime
        total += tottime
    print(
        f"  cProfile of {label} (profiled total {total * 1000:.0f} ms; "
        "profiling inflates Python-heavy parts):"
    )
    for group, seconds in sorted(groups.items(), key=lambda kv: -kv[1]):
        print(f"    {group:34s} {seconds * 1000:8.1f} ms  {100 * seconds / total:5.1f} %")
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(top)
    lines = out.getvalue().splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith("ncalls"))
    print("    top functions by own time:")
    for line in lines[start : start + top + 1]:
        if line.strip():
            print("    " + line.replace(str(ROOT) + "/", "").rstrip()[:150])


def gzip_alternatives(xml: bytes) -> None:
    """What the gzip copy costs on this feed with the stdlib, by level (best of 3)."""

    figures = []
    for level in (1, 4, 6, 9):
        best = min(
            _clock(lambda level=level: gzip.compress(xml, compresslevel=level, mtime=0))
            for _ in range(3)
        )
        size = len(gzip.compress(xml, compresslevel=level, mtime=0))
        figures.append(f"level {level} {best:.0f} ms / {size / 1e6:.2f} MB")
    crc = min(_clock(lambda: zlib.crc32(xml)) for _ in range(3))
    sha = min(_clock(lambda: hashlib.sha256(xml).digest()) for _ in range(3))
    print(
        f"  stdlib gzip of this {len(xml) / 1e6:.1f} MB feed: {'; '.join(figures)}; "
        f"for scale: zlib.crc32 {crc:.1f} ms, sha256 {sha:.1f} ms"
    )


def _clock(run) -> float:
    start = time.perf_counter()
    run()
    return (time.perf_counter() - start) * 1000


def load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def machine_speed() -> str:
    """A fixed pure-Python loop, timed: on a shared VM the same code runs up to 1.7x slower
    from one minute to the next, and this shows which kind of minute the figures came from."""
    def loop() -> None:
        total = 0
        for i in range(3_000_000):
            total += i
    return f"reference loop {min(_clock(loop) for _ in range(3)):.0f} ms"


class OtherCpu:
    """CPU time the rest of the machine used meanwhile (all but this process and its feed
    helper), as a share of one core. The rebuild needs both cores: a process busy on one slows
    it to its one-process speed while the reference loop, on the other core, looks normal."""

    def __enter__(self):
        self.start, self.busy, self.own = time.perf_counter(), _busy_ticks(), _own_ticks()
        return self

    def __exit__(self, *_):
        other = (_busy_ticks() - self.busy) - (_own_ticks() - self.own)
        self.share = max(0, other) / os.sysconf("SC_CLK_TCK") / (time.perf_counter() - self.start)

    def __str__(self):
        return f"other processes {self.share:.0%} of a core"


def _busy_ticks() -> int:
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return sum(values) - values[3] - values[4]  # all but idle and iowait


def _own_ticks() -> int:
    from showbiz import feedhelper

    pids = [os.getpid()] + ([feedhelper._helper.proc.pid] if feedhelper._helper else [])
    total = 0
    for pid in pids:
        with suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total


def wait_for_quiet(most: float = 0.1, patience: float = 60.0) -> str:
    """Wait (up to `patience` s) until the rest of the machine uses under `most` of a core."""
    deadline = time.monotonic() + patience
    while True:
        with OtherCpu() as other:
            time.sleep(1.0)
        if other.share < most or time.monotonic() > deadline:
            return str(other)


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def rebuild_figures(
    show_ids: dict[int, int], full_runs: int, edit_runs: int, want_profile: bool
) -> tuple[bool, int]:
    from sqlalchemy import select

    from showbiz import feedhelper
    from showbiz.db import db
    from showbiz.feeds import cached, rebuild
    from showbiz.models import Episode

    passed, per_episode, per_episode_min = True, {}, {}
    quiet = wait_for_quiet()
    print(f"\n== rebuild (in-process showbiz.feeds.rebuild, database read included; {load()}; "
          f"{machine_speed()}; before: {quiet}) ==")
    # A process starts its helper on its first large feed and uses it from the next one on.
    used = feedhelper.helper(wait=30) is not None
    print(f"feed helper process: {'ready' if used else 'none (one core)'}; feeds of "
          f">= {feedhelper.PARALLEL_FROM} items hand it their first {feedhelper.SHARE:.0%}")
    for size, show_id in show_ids.items():
        timed_full(show_id)  # warm-up: imports, statement caches, OS page cache
        with Renders() as renders, OtherCpu() as other:
            samples = [timed_full(show_id) for _ in range(full_runs)]
        assert all(n == size for n in renders.counts), renders.counts
        med = statistics.median(samples)
        per_episode[size] = med / size
        per_episode_min[size] = min(samples) / size
        built = cached(f"bench-{size}")
        target = FULL_TARGET_MS.get(size, 0.15 * size)
        ok = med <= target
        passed &= ok
        print(
            f"full rebuild, {size:5d} episodes: median {med:7.1f} ms, min {min(samples):7.1f} ms"
            f" over {full_runs} runs; {per_episode[size] * 1000:6.1f} us/episode; "
            f"feed {len(built.xml) / 1e6:.2f} MB, gzip {len(built.gz) / 1e6:.2f} MB; "
            f"target <= {target:.0f} ms  {verdict(ok)}; meanwhile: {other}; "
            f"after it: {machine_speed()}"
        )
        if not ok or want_profile:
            print(f"  stage breakdown, {size} episodes (median of 3 instrumented runs, ms):")
            for label, ms in breakdown(lambda show_id=show_id: timed_full(show_id)):
                print(f"    {label:44s} {ms:8.1f}")
            if size == min(show_ids):
                clear_items(show_id)
                profile(
                    lambda show_id=show_id: rebuild(show_id), f"a full rebuild of {size} episodes"
                )
                db.session.remove()
    if len(per_episode) >= 2:
        small, large = min(per_episode), max(per_episode)
        ratio = per_episode[large] / per_episode[small]
        ratio_min = per_episode_min[large] / per_episode_min[small]
        ok = ratio <= LINEAR_SLACK
        passed &= ok
        print(
            f"linear: {per_episode[small] * 1000:.1f} us/episode at {small}, "
            f"{per_episode[large] * 1000:.1f} us/episode at {large} "
            f"(ratio of medians {ratio:.2f}, of minima {ratio_min:.2f}; "
            f"target <= {LINEAR_SLACK})  {verdict(ok)}"
        )

    size = 1000 if 1000 in show_ids else min(show_ids)
    show_id = show_ids[size]
    timed_full(show_id)  # every item cached again
    episode_id = db.session.scalar(
        select(Episode.id)
        .where(Episode.show_id == show_id)
        .order_by(Episode.id)
        .offset(size // 2)
        .limit(1)
    )
    db.session.remove()
    timed_edit(show_id, episode_id, 0)
    with Renders() as renders:
        edits = [timed_edit(show_id, episode_id, k) for k in range(1, edit_runs + 1)]
    print("  edit samples (ms): " + " ".join(f"{x:.1f}" for x in edits))
    assert renders.counts == [1] * edit_runs, f"edit rebuilt {renders.counts} items"
    built = cached(f"bench-{size}")
    assert f"Edited title, take {edit_runs}".encode() in built.xml, "the edit is not in the feed"
    with Renders() as renders:
        plain = [timed_cached(show_id) for _ in range(edit_runs)]
    assert renders.counts == [0] * edit_runs, renders.counts
    med = statistics.median(edits)
    ok = med <= EDIT_TARGET_MS
    passed &= ok
    print(
        f"edit one episode of {size} (ORM transaction, its commit rebuilds, 1 item rendered): "
        f"median {med:.1f} ms, min {min(edits):.1f} ms over {edit_runs} runs; "
        f"target <= {EDIT_TARGET_MS:.0f} ms  {verdict(ok)}"
    )
    print(
        f"plain rebuild() of {size}, every item cached: median {statistics.median(plain):.1f} ms,"
        f" min {min(plain):.1f} ms over {edit_runs} runs (shown for reference)"
    )
    if not ok or want_profile:
        k = iter(range(1000, 2000))
        print("  stage breakdown of the edit (median of 3 instrumented runs, ms):")
        for label, ms in breakdown(lambda: timed_edit(show_id, episode_id, next(k))):
            print(f"    {label:44s} {ms:8.1f}")
        print("  stage breakdown of the plain rebuild() with every item cached (ms):")
        for label, ms in breakdown(lambda: timed_cached(show_id)):
            print(f"    {label:44s} {ms:8.1f}")
        profile(lambda: timed_edit(show_id, episode_id, next(k)), f"the one-episode edit of {size}")
        gzip_alternatives(cached(f"bench-{size}").xml)
    return passed, show_id


# --- serving ---------------------------------------------------------------------------------


def start_group(cmd: list[str], env: dict, log: Path) -> subprocess.Popen:
    with open(log, "ab") as out:
        return subprocess.Popen(
            cmd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def stop_group(proc: subprocess.Popen, sig=signal.SIGTERM) -> None:
    """Stop a process group this script started (and nothing else)."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, sig)
        proc.wait(timeout=25)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)
    except ProcessLookupError:
        pass


def start_nginx(tmp: Path, port: int, static: Path, slug: str) -> subprocess.Popen:
    location = f"""        location = /shows/{slug}/feed.xml {{
            alias {static}/{slug}.xml;
            types {{ }}
            default_type "application/rss+xml; charset=utf-8";
            gzip_static on;
            gzip_vary on;
            add_header Cache-Control "public, max-age=300";
        }}"""
    return start_group(nginx_command(tmp, port, "", location), dict(os.environ),
                       tmp / "nginx.log")


def fetch(port: int, path: str, headers: dict) -> tuple[int, dict, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path, headers=headers)
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def group_cpu(pgid: int) -> float:
    """CPU seconds (user + system) used so far by the live processes of a process group."""
    ticks = 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid:  # fields: state ppid pgrp ... utime(11) stime(12)
                ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def run_wrk(
    port: int, path: str, headers: dict, duration: int, pgid: int | None = None
) -> tuple[float, float, float]:
    """(requests/s, MB/s, server CPU us per request) of one wrk run against a process group."""
    before = group_cpu(pgid) if pgid else 0.0
    cmd = ["wrk", "-t2", "-c16", f"-d{duration}s", "--timeout", "10s"]
    for key, value in headers.items():
        cmd += ["-H", f"{key}: {value}"]
    out = subprocess.run(
        cmd + [f"http://127.0.0.1:{port}{path}"],
        capture_output=True,
        text=True,
        check=True,
        timeout=duration + 60,
    ).stdout
    if "Non-2xx" in out or "Socket errors" in out:
        print(out)
    cpu = group_cpu(pgid) - before if pgid else 0.0
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    rate = re.search(r"Transfer/sec:\s+([\d.]+)(\w+)", out)
    scale = {"B": 1e-6, "KB": 1.024e-3, "MB": 1.048576, "GB": 1073.741824}[rate.group(2)]
    return rps, float(rate.group(1)) * scale, cpu / max(requests, 1) * 1e6


def check_servers(ports: dict[str, int], path: str, etag: str, xml: bytes, gz: bytes) -> None:
    """The compared servers really answer the same bytes (and the 304s are 304s)."""
    for name in ("nginx", "app"):
        status, headers, body = fetch(ports[name], path, {})
        assert status == 200 and body == xml, f"{name} plain: {status}, {len(body)} bytes"
        status, headers, body = fetch(ports[name], path, {"Accept-Encoding": "gzip"})
        assert status == 200 and headers.get("content-encoding") == "gzip" and body == gz, (
            f"{name} gzip: {status} {headers.get('content-encoding')}, {len(body)} bytes"
        )
    status, headers, body = fetch(ports["app"], path, {"If-None-Match": etag})
    assert status == 304 and not body and headers.get("etag") == etag, f"app 304: {status}"
    status, headers, body = fetch(ports["bare"], path, {"If-None-Match": etag})
    assert status == 304 and not body, f"bare 304: {status}"


def serve_figures(
    env: dict, tmp: Path, slug: str, configs: list[tuple[int, int]], duration: int, rounds: int
) -> bool:
    static = Path(env["SHOWBIZ_FEED_STATIC_DIR"])
    xml, gz = (static / f"{slug}.xml").read_bytes(), (static / f"{slug}.xml.gz").read_bytes()
    etag = json.loads((static / f"{slug}.json").read_bytes())["etag"]
    path = f"/shows/{slug}/feed.xml"
    plain, gzipped, conditional = {}, {"Accept-Encoding": "gzip"}, {"If-None-Match": etag}
    print(
        f"\n== serving {path}: {len(xml):,} bytes, gzip {len(gz):,} bytes; "
        f"wrk -t2 -c16 -d{duration}s, {rounds} interleaved rounds, median; "
        f"{os.cpu_count()} CPUs; {load()} =="
    )
    print(
        "showbiz serve and the bare app: showbiz.server.run (granian, WSGI, no access log); "
        "nginx: 2 workers, sendfile, no access log"
    )
    nginx_port = free_port()
    nginx = start_nginx(tmp, nginx_port, static, slug)
    passed = True
    try:
        wait_port(nginx_port, nginx, "nginx")
        for workers, threads in configs:
            ports = {"nginx": nginx_port, "app": free_port(), "bare": free_port()}
            app = start_group(
                [
                    str(SHOWBIZ),
                    "serve",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(ports["app"]),
                    "--workers",
                    str(workers),
                    "--threads",
                    str(threads),
                ],
                env,
                tmp / f"app-{workers}x{threads}.log",
            )
            bare = start_group(
                [
                    sys.executable,
                    str(Path(__file__).resolve()),
                    "--serve-bare",
                    str(ports["bare"]),
                    str(workers),
                    str(threads),
                ],
                env,
                tmp / f"bare-{workers}x{threads}.log",
            )
            try:
                wait_port(ports["app"], app, "showbiz serve")
                wait_port(ports["bare"], bare, "bare app")
                check_servers(ports, path, etag, xml, gz)
                runs = [
                    ("nginx 200 plain", "nginx", plain),
                    ("app 200 plain", "app", plain),
                    ("nginx 200 gzip_static", "nginx", gzipped),
                    ("app 200 gzip", "app", gzipped),
                    ("bare Flask 304", "bare", conditional),
                    ("app 304 (If-None-Match)", "app", conditional),
                ]
                groups = {"nginx": nginx.pid, "app": app.pid, "bare": bare.pid}
                for _label, name, headers in runs:  # warm-up: every worker, every path
                    run_wrk(ports[name], path, headers, 1)
                samples: dict[str, list[tuple[float, float, float]]] = {r[0]: [] for r in runs}
                for _ in range(rounds):  # each pair runs back to back, so drift hits both
                    for label, name, headers in runs:
                        samples[label].append(
                            run_wrk(ports[name], path, headers, duration, groups[name])
                        )
            finally:
                stop_group(app)
                stop_group(bare)
            med = {
                label: tuple(statistics.median(x[i] for x in s) for i in range(3))
                for label, s in samples.items()
            }
            print(
                f"-- showbiz serve --workers {workers} --threads {threads} "
                f"(bare app: the same); after it: {load()} --"
            )
            for label, (rps, mbs, cpu) in med.items():
                spread = ", ".join(f"{x[0]:.0f}" for x in samples[label])
                print(
                    f"  {label:24s} {rps:7.0f} req/s {mbs:7.1f} MB/s  server CPU {cpu:6.0f} us/req"
                    f"  (rounds: {spread})"
                )
            for label, num, den, target in (
                ("200 plain: app / nginx", "app 200 plain", "nginx 200 plain", SERVE_RATIO),
                ("200 gzip: app / nginx", "app 200 gzip", "nginx 200 gzip_static", SERVE_RATIO),
                (
                    "304: app / bare Flask",
                    "app 304 (If-None-Match)",
                    "bare Flask 304",
                    NOT_MODIFIED_RATIO,
                ),
            ):
                ratio = med[num][0] / med[den][0]
                paired = sorted(a[0] / b[0] for a, b in zip(samples[num], samples[den]))
                by_cpu = med[den][2] / med[num][2] if med[num][2] else float("nan")
                ok = ratio >= target
                if (workers, threads) == configs[0]:
                    passed &= ok
                print(
                    f"  {label:24s} {ratio:5.2f}x  target >= {target}  {verdict(ok)}"
                    f"   (per-round pairs: {', '.join(f'{r:.2f}' for r in paired)}; "
                    f"server CPU per request, {den.split()[0]} / app: {by_cpu:.2f}x)"
                )
    finally:
        stop_group(nginx, signal.SIGQUIT)
    return passed


# --- main ------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds; median shown")
    parser.add_argument(
        "--configs",
        default="2x4",
        help="showbiz serve WORKERSxTHREADS to try, comma-separated; the first one "
        "decides PASS/FAIL (default 2x4)",
    )
    parser.add_argument("--sizes", default="1000,5000", help="episodes per synthetic show")
    parser.add_argument("--runs", type=int, default=7, help="timed rebuilds per figure (>= 5)")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="stage breakdown and cProfile even when targets are met",
    )
    parser.add_argument("--skip-serve", action="store_true", help="rebuild figures only")
    parser.add_argument("--keep", action="store_true", help="leave the temp dir")
    parser.add_argument(
        "--serve-bare",
        nargs=3,
        type=int,
        metavar=("PORT", "WORKERS", "THREADS"),
        help=argparse.SUPPRESS,
    )
    args = parser.parse_args()
    if args.serve_bare:
        serve_bare(*args.serve_bare)
        return
    sizes = sorted({int(s) for s in args.sizes.split(",")})
    configs = [tuple(int(x) for x in c.split("x")) for c in args.configs.split(",")]
    missing = [tool for tool in ("nginx", "wrk") if not shutil.which(tool)]
    if missing and not args.skip_serve:
        raise SystemExit(f"needs {' and '.join(missing)} (Debian packages); or --skip-serve")

    tmp = Path(tempfile.mkdtemp(prefix="showbiz-bench-feed-"))
    try:
        env = {
            **os.environ,
            "SHOWBIZ_DATABASE_URL": f"sqlite:///{tmp}/db.sqlite",
            "SHOWBIZ_MEDIA_DIR": str(tmp / "media"),
            "SHOWBIZ_SECRET_KEY": secrets.token_hex(32),
            "SHOWBIZ_BASE_URL": "https://podcasts.bench.example",
            "SHOWBIZ_FEED_STATIC_DIR": str(tmp / "static"),
        }
        for key in ("HOST", "PORT"):
            env.pop(key, None)
        os.environ.update({k: v for k, v in env.items() if k.startswith("SHOWBIZ_")})
        done = subprocess.run(
            [str(SHOWBIZ), "init"], env=env, capture_output=True, text=True, timeout=120
        )
        if done.returncode:
            raise SystemExit(f"showbiz init failed: {done.stderr.strip() or done.stdout}")

        from showbiz import create_app
        from showbiz.db import db

        app = create_app()
        with app.app_context():
            start = time.perf_counter()
            show_ids = populate(sizes)
            print(
                f"temp instance {tmp} (disk: {os.statvfs(tmp).f_bsize}-byte blocks); "
                f"{os.cpu_count()} CPUs; synthetic shows {', '.join(map(str, sizes))} episodes,"
                f" {NOTES_PER_EPISODE} notes + {HOSTS} hosts + 1 guest each, inserted in "
                f"{time.perf_counter() - start:.1f} s"
            )
            passed, show_id = rebuild_figures(
                show_ids, max(5, args.runs), max(15, args.runs), args.profile
            )
            slug = f"bench-{1000 if 1000 in show_ids else min(show_ids)}"
            db.session.remove()
            db.engine.dispose()
            if not args.skip_serve:
                passed &= serve_figures(env, tmp, slug, configs, args.duration, args.rounds)
        print(f"\noverall: {'all targets met' if passed else 'some targets missed'}")
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
