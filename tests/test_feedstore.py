"""Stored feeds: the spliced gzip copy, item reuse, revisions, damaged files, leftovers."""
from __future__ import annotations

import gzip
import json
import os
import random

import pytest

from showbiz import feedstore

from .conftest import make_episode, make_show

HEAD = b'<?xml version="1.0"?><rss><channel><title>T</title>'
TAIL = b"</channel></rss>"
WORDS = "court ruling climate summit energy prices market inflation strike union vote".split()


def item(episode_id: int, rev: int, rng: random.Random) -> bytes:
    text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(50, 400)))
    return f"<item><guid>{episode_id}</guid><rev>{rev}</rev><p>{text}</p></item>".encode()


def build(folder, order, rendered, last, *, feed_rev=1, slug="show", made=()):
    """Store a feed of `order` [(id, rev)], rendering only what `last` lacks, like feeds.rebuild;
    `made`: deflate segments the renderers made."""
    stored = last.revisions("ctx") if last else {}
    fresh = {i: rendered[(i, rev)] for i, rev in order if stored.get(i) != rev}
    layout = feedstore.in_order(order, feedstore.Rendered(fresh, list(made)),
                                last if stored else None)
    built = feedstore.store(folder, slug, HEAD, layout, TAIL, feed_rev=feed_rev, context="ctx",
                            expires_at=None, moved_to="")
    assert gzip.decompress(built.gz) == built.xml
    return built, set(fresh)


def segments(built):
    """A feed's deflate segments: (episode ids, whether after the item before them, bytes)."""
    ids, found, at = list(built.items), set(), 0
    for count, start, end, primed in built.segments:
        found.add((tuple(ids[at:at + count]), primed, built.gz[start:end]))
        at += count
    return found


def test_gzip_copy_stays_valid_through_every_kind_of_change(tmp_path):
    rng = random.Random(7)
    rendered = {}

    def render(i, rev):
        rendered.setdefault((i, rev), item(i, rev, rng))

    order = [(i, 0) for i in range(200, 0, -1)]
    for key in order:
        render(*key)
    built, fresh = build(tmp_path, order, rendered, None)
    assert len(fresh) == 200
    # Segments of consecutive items, each primed with the item before it: as small as
    # compressing the feed in one go, and well below compressing each item alone.
    whole = len(gzip.compress(built.xml, compresslevel=1))  # nginx's default
    alone = sum(len(feedstore.deflate(rendered[key])) for key in order)
    assert len(built.gz) <= 1.05 * whole and len(built.gz) < 0.75 * alone
    assert [count for count, *_ in built.segments] == [feedstore.RUN] * 12 + [8]
    for step in range(60):
        change = rng.choice(["edit", "publish", "unpublish", "move"])
        if change == "edit":
            at = rng.randrange(len(order))
            order[at] = (order[at][0], order[at][1] + 1)
            render(*order[at])
        elif change == "publish":
            order.insert(0, (1000 + step, 0))
            render(*order[0])
        elif change == "unpublish" and len(order) > 1:
            order.pop(rng.randrange(len(order)))
        else:
            order.insert(rng.randrange(len(order)), order.pop(rng.randrange(len(order))))
        before = built
        built, fresh = build(tmp_path, order, rendered, built, feed_rev=step + 2)
        assert built.xml == HEAD + b"".join(rendered[key] for key in order) + TAIL, change
        assert gzip.decompress((tmp_path / "show.xml.gz").read_bytes()) == built.xml
        assert (tmp_path / "show.xml").read_bytes() == built.xml
        assert len(fresh) <= 1, change  # only an edited or new item is rendered again
        # A change compresses again only the segments around the one or two places it touched
        # (and short ones next to them), never the feed.
        again = segments(built) - segments(before)
        assert sum(len(ids) for ids, *_ in again) <= 4 * feedstore.RUN, change
    assert len(built.gz) <= 1.1 * len(gzip.compress(built.xml, compresslevel=1))


def test_segments_made_while_rendering_are_kept_where_they_hold(tmp_path):
    """The renderers' segments are used as they are where their items stand in the same order
    after the same item (or primed with none); elsewhere their items are compressed again."""
    rng = random.Random(5)
    order = [(i, 0) for i in range(40, 0, -1)]
    rendered = {key: item(*key, rng) for key in order}
    pairs = [(i, rendered[(i, rev)]) for i, rev in order]
    made = feedstore.compress(pairs[:20]) + feedstore.compress(pairs[20:], pairs[19])
    built, _ = build(tmp_path, order, rendered, None, made=made)
    assert segments(built) == {(s.ids, s.after is not None, s.gz) for s in made}
    alone = feedstore.compress(pairs[24:])  # no dictionary: holds anywhere
    misplaced = feedstore.compress(pairs[20:24], pairs[3])  # primed with the wrong item
    built, _ = build(tmp_path, order, rendered, None, feed_rev=2,
                     made=feedstore.compress(pairs[:20]) + misplaced + alone)
    kept = segments(built)
    assert {(s.ids, False, s.gz) for s in alone} <= kept
    assert not {(s.ids, True, s.gz) for s in misplaced} & kept
    assert [count for count, *_ in built.segments] == [16, 4, 4, 16]


def test_publishing_week_after_week_keeps_segments_whole(tmp_path):
    """Each new episode is compressed with the short segment of the ones before it, so the top of
    a feed never turns into one-item segments (each as large as an item compressed alone)."""
    rng = random.Random(9)
    order = [(i, 0) for i in range(40, 0, -1)]
    rendered = {key: item(*key, rng) for key in order}
    built, _ = build(tmp_path, order, rendered, None)
    for week in range(1, 21):
        order.insert(0, (100 + week, 0))
        rendered[order[0]] = item(*order[0], rng)
        built, fresh = build(tmp_path, order, rendered, built, feed_rev=week + 1)
        assert fresh == {100 + week}
    assert [count for count, *_ in built.segments] == [4, 16, 16, 16, 8]


def test_an_older_rebuild_never_overwrites_a_newer_one(tmp_path):
    rng = random.Random(1)
    rendered = {(1, 0): item(1, 0, rng), (1, 1): item(1, 1, rng)}
    newer, _ = build(tmp_path, [(1, 1)], rendered, None, feed_rev=5)
    feedstore._memory.clear()
    older, _ = build(tmp_path, [(1, 0)], rendered, None, feed_rev=4)
    assert older.xml == newer.xml and older.etag == newer.etag
    assert (tmp_path / "show.xml").read_bytes() == newer.xml


def test_damaged_files_are_never_served(tmp_path):
    rng = random.Random(2)
    rendered = {(n, 0): item(n, 0, rng) for n in range(1, 4)}
    built, _ = build(tmp_path, [(3, 0), (2, 0), (1, 0)], rendered, None)
    feedstore._memory.clear()
    assert feedstore.cached(tmp_path, "show").etag == built.etag
    target = tmp_path / os.readlink(tmp_path / "show.xml")
    target.write_bytes(built.xml[:-10])  # what a crash could leave behind
    feedstore._memory.clear()
    assert feedstore.cached(tmp_path, "show") is None


def test_a_feed_stored_by_an_older_layout_is_rendered_again(tmp_path):
    """Metadata from before deflate segments (no "layout") is neither served nor reused."""
    rng = random.Random(4)
    rendered = {(n, 0): item(n, 0, rng) for n in range(1, 4)}
    build(tmp_path, [(3, 0), (2, 0), (1, 0)], rendered, None)
    meta_path = tmp_path / "show.json"
    meta = json.loads(meta_path.read_bytes())
    del meta["layout"]
    meta_path.write_text(json.dumps(meta))
    feedstore._memory.clear()
    feedstore._previous.clear()
    assert feedstore.cached(tmp_path, "show") is None
    assert feedstore.previous(tmp_path, "show") is None


def test_nothing_is_left_behind(tmp_path):
    rng = random.Random(3)
    rendered = {(1, rev): item(1, rev, rng) for rev in range(5)}
    built = None
    for rev in range(5):
        built, _ = build(tmp_path, [(1, rev)], rendered, built, feed_rev=rev)
    (tmp_path / ".show.xml.123-crashed").write_bytes(b"half a feed")
    build(tmp_path, [(1, 4)], rendered, built, feed_rev=9)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == sorted(["show.json", "show.xml", "show.xml.gz",
                            os.readlink(tmp_path / "show.xml"),
                            os.readlink(tmp_path / "show.xml.gz")])
    feedstore.forget(tmp_path, "show")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("path", ["/shows/News-Hour/feed.xml", "/shows/news-hour/../feed.xml",
                                  "/shows/news-hour%00/feed.xml", "/shows/nope/feed.xml"])
def test_anything_but_a_stored_feed_goes_to_the_app(app, client, path):
    """The fast path answers only 200 and 304 for exact slugs; the app answers the rest."""
    make_show(app, "news-hour")
    make_episode(app, 1, title="Stored")
    with client.get("/shows/news-hour/feed.xml") as stored:
        assert stored.status_code == 200 and b"Stored" in stored.data
    with client.get(path) as response:
        assert response.status_code == 404

