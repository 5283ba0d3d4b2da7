"""A second process for large feeds: it renders and compresses the first items of a feed while
this process reads and renders the rest.

Rendering an item is Python holding the GIL (feedgen and lxml, ~90 us an item), so threads
cannot share the work: in one process, a 1,000-item rebuild takes about 155 ms (100 with it).
The helper is a plain child process (`python -m showbiz.feedhelper`, started on first need,
never forked from a threaded server), fed ItemData as marshal tuples through a pipe, part by
part as they are read. It answers each part as soon as it is done: each item's XML and the
part's deflate segments (feedstore.compress), the first after the last part's last item. Any
trouble with it, and this process renders those items itself.
"""
from __future__ import annotations

import atexit
import contextlib
import fcntl
import gc
import marshal
import os
import select
import struct
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import TypeVar

from . import feed, feedstore
from .feedstore import Rendered, Segment

PARALLEL_FROM = 200  # items; for fewer, handing them over costs more than it saves
SHARE = 0.68  # of the items, the helper's first: it starts while this process still reads
PIPE_BYTES = 1 << 20  # Linux's default most for an unprivileged process
ANSWER_SECONDS = 60.0  # a helper that takes longer is stuck: kill it, render here
# The helper keeps the memory a job used for the next one: glibc would hand it back to the
# system and fault it in again page by page (4,000-11,000 faults, 10-25 ms, a 5,000-item job).
# (32 MiB is the most glibc takes for mmap_threshold; it drops a tunable it does not take.)
KEEP = f"glibc.malloc.trim_threshold={1 << 30}:glibc.malloc.mmap_threshold={32 << 20}"
KEPT_ITEMS = 2000  # of a job: their rendered trees are freed once it is answered (13 kB each)
_LENGTH = struct.Struct("!I")
_AT = feed.ItemData._fields.index("published_at")
_REFS = feed.ItemData._fields.index("persons")  # from here on, tuples of references


T = TypeVar("T")


class HelperError(Exception):
    """The helper died, hung or answered nonsense."""


# --- this side -----------------------------------------------------------------------------

class Helper:
    """The child process and the pipe to it; one job at a time."""

    def __init__(self):
        package_parent = str(Path(__file__).resolve().parent.parent)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(
            filter(None, [package_parent, os.environ.get("PYTHONPATH")])),
            "GLIBC_TUNABLES": ":".join(filter(None, [os.environ.get("GLIBC_TUNABLES"), KEEP]))}
        self.proc = subprocess.Popen([sys.executable, "-m", "showbiz.feedhelper"], bufsize=0,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
        self.to, self.back = self.proc.stdin.fileno(), self.proc.stdout.fileno()
        for fd in (self.to, self.back):  # fewer, larger reads and writes of megabytes
            with contextlib.suppress(OSError, AttributeError):
                fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, PIPE_BYTES)
        self.busy = threading.Lock()
        self.writer = ThreadPoolExecutor(1, thread_name_prefix="feedhelper")
        self.reader = ThreadPoolExecutor(1, thread_name_prefix="feedhelper-answers")
        self.answers = None
        self.ready = False

    def is_ready(self, timeout: float = 0.0) -> bool:
        """Whether the helper has started (it says so with one byte once its imports are done)."""
        if not self.ready and self.proc.poll() is None and _readable(self.back, timeout):
            self.ready = os.read(self.back, 1) == b"R"
        return self.ready and self.proc.poll() is None

    def send(self, message) -> bytes:
        """Queue a message; a thread writes it, so this one goes on while the helper reads.
        Answers it as marshal bytes."""
        data = marshal.dumps(message)
        self.writer.submit(_send_all, self.to, _LENGTH.pack(len(data)) + data)
        return data

    def start(self) -> None:
        """Begin a job: a thread takes in each part's answer as the helper sends it, so the
        helper never waits on a full pipe and the last answer is all that is left at the end."""
        self.answers = self.reader.submit(self._collect)

    def _collect(self) -> Rendered:
        found = Rendered({}, [])
        while True:
            length = _LENGTH.unpack(self._read(_LENGTH.size))[0]
            message = marshal.loads(self._read(length))
            if message[0] == "done":
                return found
            found.xml.update(message[1])
            found.segments.extend(Segment(*segment) for segment in message[2])

    def answer(self) -> Rendered:
        """The helper's answer to the job sent (HelperError if it does not come in time)."""
        self.send(("end",))
        try:
            self.writer.submit(lambda: None).result(ANSWER_SECONDS)  # every write went out
            return self.answers.result(ANSWER_SECONDS)
        except (OSError, ValueError, EOFError, TypeError, struct.error, TimeoutError) as error:
            raise HelperError(str(error)) from error

    def _read(self, n: int) -> bytearray:
        data, got = bytearray(n), 0
        view = memoryview(data)
        while got < n:
            if not _readable(self.back, ANSWER_SECONDS):
                raise TimeoutError("the feed helper did not answer")
            count = self.proc.stdout.readinto(view[got:])
            if not count:
                raise EOFError("the feed helper stopped")
            got += count
        return data

    def close(self) -> None:
        """Stop the helper (closing its input ends it) and reap it."""
        self.writer.shutdown(wait=False, cancel_futures=True)
        self.reader.shutdown(wait=False, cancel_futures=True)
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                stream.close()
            except OSError:
                pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def _readable(fd: int, timeout: float) -> bool:
    # poll, not select: a busy server's descriptors can be numbered past select's 1,024.
    waiting = select.poll()
    waiting.register(fd, select.POLLIN)
    return bool(waiting.poll(timeout * 1000))


def _send_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


_lock = threading.Lock()
_helper: Helper | None = None


def helper(wait: float = 0.0) -> Helper | None:
    """The running helper if it is ready (waiting up to `wait` seconds); else starts one for
    next time and answers None. Only on machines with a second core."""
    global _helper
    if (os.cpu_count() or 1) < 2:
        return None
    with _lock:
        if _helper is not None and _helper.proc.poll() is not None:
            _helper.close()
            _helper = None
        if _helper is None:
            _helper = Helper()
        found = _helper
    return found if found.is_ready(wait) else None


@atexit.register
def stop() -> None:
    """Stop this process's helper, if it has one."""
    global _helper
    with _lock:
        if _helper is not None:
            _helper.close()
            _helper = None


def render(parts: Iterable[dict[int, feed.ItemData]], count: int,
           meanwhile: Callable[[], T] = lambda: None) -> tuple[Rendered, T]:
    """Render `count` items arriving in parts, in feed order: the first ones in the helper when
    there are enough of them and it is ready, the rest here, meanwhile. Answers them by id,
    and what `meanwhile` answers: it runs here while the helper may still be at work."""
    found = helper() if count >= PARALLEL_FROM else None
    if found is None or not found.busy.acquire(blocking=False):
        return Rendered(_here({i: d for part in parts for i, d in part.items()}), []), meanwhile()
    try:
        found.start()
        sent, sent_ids, mine = _hand_out(found, parts, round(count * SHARE))
        xml = _here(mine)
        del mine  # freed before the wait, not after it
        # Compressed while the helper still works; the first segment with no dictionary, as
        # the item before it is the helper's last.
        segments = feedstore.compress(list(xml.items()))
        extra = meanwhile()
        try:
            answer = found.answer()
            if sent_ids - set(answer.xml):
                raise HelperError("the feed helper left items out")
            xml.update(answer.xml)
            segments += answer.segments
        except HelperError:
            stop()  # the next large feed starts a new one
            xml.update(_here({i: _item(plain) for message in sent
                              for i, plain in marshal.loads(message)[1]}))
        return Rendered(xml, segments), extra
    except BaseException:  # a job left half sent: its answers must not reach the next one
        stop()
        raise
    finally:
        found.busy.release()


def _hand_out(found: Helper, parts: Iterable[dict[int, feed.ItemData]], share: int
              ) -> tuple[list[bytes], set[int], dict[int, feed.ItemData]]:
    """Send the first `share` items to the helper as they are read; keep the rest. Answers the
    messages sent (the items themselves are freed while the helper works), their ids, and the
    items kept."""
    sent, sent_ids, mine = [], set(), {}
    for part in parts:
        items = list(part.items())
        if len(sent_ids) < share:
            given = items[:share - len(sent_ids)]
            sent.append(found.send(("items", [(i, _plain(d)) for i, d in given])))
            sent_ids.update(i for i, _ in given)
            items = items[len(given):]
        mine.update(items)
    return sent, sent_ids, mine


def _here(data: dict[int, feed.ItemData]) -> dict[int, bytes]:
    return dict(zip(data, feed.render_items(list(data.values()))))


def _plain(data: feed.ItemData) -> tuple:
    """ItemData as the plain tuples marshal carries (no subclasses, no datetimes)."""
    # The references are plain tuples already when feeddata read them: tuple() returns those.
    return (*data[:_AT], data.published_at.isoformat(), *data[_AT + 1:_REFS],
            *(tuple(map(tuple, refs)) for refs in data[_REFS:]))


def _item(plain: tuple) -> feed.ItemData:
    return feed.ItemData(*plain[:_AT], datetime.fromisoformat(plain[_AT]), *plain[_AT + 1:])


# --- the helper's side ---------------------------------------------------------------------

def main() -> None:
    """Serve jobs on stdin/stdout until stdin closes: parts of items, each answered as soon as
    it is done, then "end", answered with "done"."""
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    gc.disable()  # as in feeds.rebuild: a render makes a million short-lived objects, no cycles
    stdout.write(b"R")
    stdout.flush()
    before, trees, kept = None, [], 0
    while header := stdin.read(_LENGTH.size):
        message = marshal.loads(stdin.read(_LENGTH.unpack(header)[0]))
        if message[0] == "end":
            _answer(stdout, ("done",))
            before, kept = None, 0
            trees.clear()  # freeing the rendered trees (6 us an item) waits until now...
            gc.collect()
            continue
        ids = [episode_id for episode_id, _ in message[1]]
        kept += len(message[1])  # ...for the first KEPT_ITEMS items (13 kB each) of a job
        xmls = feed.render_items([_item(plain) for _, plain in message[1]],
                                 keep=trees if kept <= KEPT_ITEMS else None)
        done = list(zip(ids, xmls))
        segments = feedstore.compress(done, before)
        before = done[-1] if done else before  # a part can come empty: its episodes just went
        _answer(stdout, ("items", done, [tuple(segment) for segment in segments]))


def _answer(stdout, message) -> None:
    data = marshal.dumps(message)
    stdout.write(_LENGTH.pack(len(data)) + data)
    stdout.flush()


if __name__ == "__main__":
    main()
