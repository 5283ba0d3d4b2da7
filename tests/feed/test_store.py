"""Store: the XML and its gzip copy, kept valid and reused item by item through every change."""
from __future__ import annotations

import gzip
import json
import random

from showbiz.feed import store

HEAD = b'<?xml version="1.0"?><rss><channel><title>T</title>'
TAIL = b"</channel></rss>"
WORDS = "court ruling climate summit energy prices market inflation strike union vote".split()


def item(episode_id: int, rev: int, rng: random.Random) -> bytes:
    text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(50, 400)))
    return f"<item><guid>{episode_id}</guid><rev>{rev}</rev><p>{text}</p></item>".encode()


def build(folder, order, rendered, last, *, feed_rev=1, slug="show"):
    """Store a feed of `order` [(id, rev)], rendering only what `last` lacks, as rebuild does."""
    stored = last.revisions() if last else {}
    fresh = {i: rendered[(i, rev)] for i, rev in order if stored.get(i) != rev}
    built = store.store(folder, slug, HEAD, store.in_order(order, fresh, last), TAIL, last=last,
                        feed_rev=feed_rev, context="ctx", expires_at=None, moved_to="")
    assert gzip.decompress(built.gz) == built.xml
    return built, set(fresh)


def segments(built) -> set[bytes]:
    """A feed's gzip segments."""
    return {built.gz[start:end] for start, end in built.segments}


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
    # Segments of RUN items, counted from the oldest: close to compressing the feed whole.
    assert len(built.gz) <= 1.05 * len(gzip.compress(built.xml, compresslevel=1))
    assert len(built.segments) == 4
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
        if change in ("edit", "publish"):  # one segment is compressed again, not the feed
            assert len(segments(built) - segments(before)) == 1, change


def test_publishing_week_after_week_compresses_only_the_newest_segment(tmp_path):
    rng = random.Random(9)
    order = [(i, 0) for i in range(100, 0, -1)]
    rendered = {key: item(*key, rng) for key in order}
    built, _ = build(tmp_path, order, rendered, None)
    for week in range(1, 41):
        order.insert(0, (1000 + week, 0))
        rendered[order[0]] = item(*order[0], rng)
        before = built
        built, fresh = build(tmp_path, order, rendered, built, feed_rev=week + 1)
        assert fresh == {1000 + week}
        assert segments(before) - segments(built) <= {before.gz[slice(*before.segments[0])]}
    assert len(built.segments) == 3


def test_an_older_rebuild_never_overwrites_a_newer_one(tmp_path):
    rng = random.Random(1)
    rendered = {(1, 0): item(1, 0, rng), (1, 1): item(1, 1, rng)}
    newer, _ = build(tmp_path, [(1, 1)], rendered, None, feed_rev=5)
    store._memory.clear()
    older, _ = build(tmp_path, [(1, 0)], rendered, None, feed_rev=4)
    assert older.xml == newer.xml and older.etag == newer.etag
    assert (tmp_path / "show.xml").read_bytes() == newer.xml


def test_damaged_files_are_never_served(tmp_path):
    rng = random.Random(2)
    rendered = {(n, 0): item(n, 0, rng) for n in range(1, 4)}
    built, _ = build(tmp_path, [(3, 0), (2, 0), (1, 0)], rendered, None)
    store._memory.clear()
    assert store.cached(tmp_path, "show").etag == built.etag
    (tmp_path / "show.xml").write_bytes(built.xml[:-10])  # what a crash could leave behind
    store._memory.clear()
    assert store.cached(tmp_path, "show") is None


def test_a_feed_stored_by_an_older_layout_is_rendered_again(tmp_path):
    """Metadata of another layout is neither served nor reused."""
    rng = random.Random(4)
    rendered = {(n, 0): item(n, 0, rng) for n in range(1, 4)}
    build(tmp_path, [(3, 0), (2, 0), (1, 0)], rendered, None)
    meta_path = tmp_path / "show.json"
    meta = json.loads(meta_path.read_bytes())
    meta["layout"] = store.LAYOUT - 1
    meta_path.write_text(json.dumps(meta))
    store._memory.clear()
    store._previous.clear()
    assert store.cached(tmp_path, "show") is None
    assert store.previous(tmp_path, "show") is None


def test_a_retired_feed_is_not_served_but_its_items_are_reused(tmp_path):
    rng = random.Random(6)
    rendered = {(n, 0): item(n, 0, rng) for n in range(1, 4)} | {(2, 1): item(2, 1, rng)}
    build(tmp_path, [(3, 0), (2, 0), (1, 0)], rendered, None)
    store.retire(tmp_path, "show")
    store._previous.clear()  # as another process sees it: from the files
    assert store.cached(tmp_path, "show") is None
    last = store.previous(tmp_path, "show")
    built, fresh = build(tmp_path, [(3, 0), (2, 1), (1, 0)], rendered, last, feed_rev=2)
    assert fresh == {2} and store.cached(tmp_path, "show").etag == built.etag


def test_nothing_is_left_behind(tmp_path):
    rng = random.Random(3)
    rendered = {(1, rev): item(1, rev, rng) for rev in range(5)}
    built = None
    for rev in range(5):
        built, _ = build(tmp_path, [(1, rev)], rendered, built, feed_rev=rev)
        store.retire(tmp_path, "show")
    build(tmp_path, [(1, 4)], rendered, built, feed_rev=9)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["show.json", "show.xml", "show.xml.gz"]
    store.forget(tmp_path, "show")
    assert list(tmp_path.iterdir()) == []
