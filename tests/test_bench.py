"""The benchmarks stay runnable: they are not run in CI, so what they reach into is checked here."""
from __future__ import annotations

import importlib.util
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "bench"


def test_the_feed_benchmark_times_functions_that_exist(monkeypatch):
    """bench/feed.py's stage breakdown wraps functions by name: each must still be there."""
    monkeypatch.syspath_prepend(str(BENCH))
    spec = importlib.util.spec_from_file_location("bench_feed", BENCH / "feed.py")
    bench_feed = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench_feed)
    totals: dict[str, float] = {}
    with bench_feed.stage_timer(totals):
        from showbiz import feedstore

        feedstore.compress([(1, b"<item>x</item>")])
    assert "items: deflate here while the helper works" in totals
