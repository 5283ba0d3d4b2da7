import errno
import hashlib
import io
import os
import shutil
import subprocess
import time
import tracemalloc

import pytest

from showbiz.media.storage import (
    DiskFull,
    LocalStore,
    StorageError,
    TooLarge,
    open_store,
    validate_key,
)


class TrickleStream:
    """Hostile upload body: returns few bytes per read, counts the largest request."""

    def __init__(self, data: bytes, step: int = 7000):
        self.buf = io.BytesIO(data)
        self.step = step
        self.biggest_read = 0

    def read(self, n: int = -1) -> bytes:
        self.biggest_read = max(self.biggest_read, n)
        return self.buf.read(min(n, self.step))


class FailingStream:
    """Upload body whose read fails after some data, like a dropped client."""

    def __init__(self, first: bytes, error: OSError):
        self.parts = [first]
        self.error = error

    def read(self, n: int = -1) -> bytes:
        if self.parts:
            return self.parts.pop()
        raise self.error


def tree(root):
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


@pytest.fixture
def store(tmp_path):
    return LocalStore(tmp_path / "media")


def test_incoming_keep_stores_file_with_size_and_sha(store):
    data = os.urandom(3 * 1024 * 1024 + 17)
    stream = TrickleStream(data, step=300_000)
    with store.incoming(stream, max_bytes=len(data)) as inc:
        assert inc.size_bytes == len(data)
        assert inc.sha256 == hashlib.sha256(data).hexdigest()
        assert inc.path.read_bytes() == data
        assert inc.path.is_relative_to(store.root / ".incoming")
        key = inc.keep(prefix="audio", suffix=".mp3")
    assert stream.biggest_read <= 1024 * 1024
    assert key.startswith("audio/") and key.endswith(".mp3") and len(key) == len("audio/") + 32 + 4
    assert tree(store.root) == [key]
    with store.open(key) as f:
        assert f.read() == data
    assert store.local_path(key).stat().st_size == len(data)
    assert store.local_path(key) == store.root / key


class ZeroStream:
    """A large upload body that costs no memory itself."""

    def __init__(self, size: int):
        self.left = size
        self.block = bytes(1024 * 1024)

    def read(self, n: int = -1) -> bytes:
        n = min(n, self.left, len(self.block))
        self.left -= n
        return self.block if n == len(self.block) else self.block[:n]


def test_large_upload_memory_stays_flat(store):
    size = 256 * 1024 * 1024 + 5
    tracemalloc.start()
    try:
        with store.incoming(ZeroStream(size), max_bytes=size) as inc:
            _, peak = tracemalloc.get_traced_memory()
            key = inc.keep(prefix="audio", suffix=".mp3")
    finally:
        tracemalloc.stop()
    assert peak < 8 * 1024 * 1024
    assert store.local_path(key).stat().st_size == size


def test_incoming_without_keep_leaves_nothing(store):
    with store.incoming(io.BytesIO(b"abc"), max_bytes=10) as inc:
        assert inc.path.exists()
    assert tree(store.root) == []


def test_exception_after_keep_removes_kept_file(store):
    with pytest.raises(RuntimeError, match="db down"):
        with store.incoming(io.BytesIO(b"x" * 5000), max_bytes=10_000) as inc:
            key = inc.keep(prefix="audio", suffix=".mp3")
            assert store.local_path(key).stat().st_size == 5000
            raise RuntimeError("db down")
    assert tree(store.root) == []
    assert not store.local_path(key).exists()


def test_exception_before_keep_removes_temp(store):
    with pytest.raises(KeyError):
        with store.incoming(io.BytesIO(b"abc"), max_bytes=10):
            raise KeyError("probe failed")
    assert tree(store.root) == []


def test_keep_twice_is_an_error(store):
    with pytest.raises(StorageError):
        with store.incoming(io.BytesIO(b"abc"), max_bytes=10) as inc:
            inc.keep(prefix="audio", suffix=".mp3")
            inc.keep(prefix="audio", suffix=".mp3")
    assert tree(store.root) == []


@pytest.mark.parametrize("size", [11, 3 * 1024 * 1024])
def test_too_large_leaves_nothing(store, size):
    stream = TrickleStream(b"y" * size, step=1024 * 1024)
    with pytest.raises(TooLarge):
        with store.incoming(stream, max_bytes=10):
            pytest.fail("block must not run")
    assert tree(store.root) == []
    # Stopped right after the first chunk that crossed the limit.
    assert stream.buf.tell() <= 1024 * 1024


def test_exactly_max_bytes_is_fine(store):
    with store.incoming(io.BytesIO(b"z" * 10), max_bytes=10) as inc:
        key = inc.keep(prefix="audio", suffix="")
    assert store.local_path(key).stat().st_size == 10


def test_empty_upload(store):
    with store.incoming(io.BytesIO(b""), max_bytes=10) as inc:
        assert inc.size_bytes == 0
        assert inc.sha256 == hashlib.sha256(b"").hexdigest()


def test_stream_error_propagates_and_cleans_up(store):
    stream = FailingStream(b"q" * 100, ConnectionResetError(errno.ECONNRESET, "gone"))
    with pytest.raises(ConnectionResetError):
        with store.incoming(stream, max_bytes=1000):
            pass
    assert tree(store.root) == []


@pytest.fixture
def tiny_fs(tmp_path):
    """A 256 KiB tmpfs, so ENOSPC is real; needs root and mount rights."""
    mnt = tmp_path / "tiny"
    mnt.mkdir()
    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("needs root to mount a tmpfs")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mnt)], capture_output=True
    )
    if done.returncode:
        pytest.skip(f"cannot mount tmpfs: {done.stderr.decode().strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", str(mnt)], check=True)


def test_disk_full_on_real_tiny_filesystem(tiny_fs):
    store = LocalStore(tiny_fs)
    with pytest.raises(DiskFull):
        with store.incoming(io.BytesIO(b"a" * 2 * 1024 * 1024), max_bytes=10**9):
            pytest.fail("block must not run")
    assert tree(tiny_fs) == []
    with pytest.raises(DiskFull):
        store.put_bytes(b"b" * 1024 * 1024, prefix="art", suffix=".png")
    assert tree(tiny_fs) == []
    # Still usable once the failed writes are gone.
    key = store.put_bytes(b"small", prefix="art", suffix=".png")
    assert store.local_path(key).stat().st_size == 5


def test_put_bytes_is_atomic_and_unique(store):
    k1 = store.put_bytes(b"png1", prefix="artwork", suffix=".png")
    k2 = store.put_bytes(b"png1", prefix="artwork", suffix=".png")
    assert k1 != k2
    assert tree(store.root) == sorted([k1, k2])
    with store.open(k1) as f:
        assert f.read() == b"png1"
    umask = os.umask(0)
    os.umask(umask)
    # Readable by a separate nginx user, as far as the umask allows.
    assert store.local_path(k1).stat().st_mode & 0o777 == 0o644 & ~umask


def test_delete(store):
    key = store.put_bytes(b"x", prefix="audio", suffix=".mp3")
    store.delete(key)
    store.delete(key)
    assert tree(store.root) == []


def test_missing_objects_raise_file_not_found(store):
    with pytest.raises(FileNotFoundError):
        store.open("audio/nope.mp3")
    store.put_bytes(b"x", prefix="audio/sub", suffix=".mp3")
    with pytest.raises(IsADirectoryError):
        store.open("audio/sub")  # a folder is not an object


def test_remove_orphans(store):
    with store.incoming(io.BytesIO(b"keep me"), max_bytes=100) as inc:
        key = inc.keep(prefix="audio", suffix=".mp3")
    incoming = store.root / ".incoming"
    old = incoming / "dead1.part"
    old.write_bytes(b"crash leftover")
    fresh = incoming / "live.part"
    fresh.write_bytes(b"upload in progress elsewhere")
    past = time.time() - 7200
    os.utime(old, (past, past))
    assert store.remove_orphans() == 1
    assert not old.exists() and fresh.exists()
    assert store.remove_orphans(older_than=0) == 1
    assert tree(store.root) == [key]
    assert LocalStore(store.root / "never-created").remove_orphans() == 0


BAD_KEYS = [
    "../x",
    "audio/../../etc/passwd",
    "/etc/passwd",
    "audio//x.mp3",
    "audio/",
    "",
    ".incoming/abc.part",
    "audio/.hidden",
    "audio/x..mp3",
    "audio\\x.mp3",
    "audio/x.mp3\x00",
    "audio/x y.mp3",
    "audio/é.mp3",
    "C:/x",
    "audio/x\n.mp3",
    "a" * 129,
]


@pytest.mark.parametrize("key", BAD_KEYS)
def test_bad_keys_rejected_everywhere(store, key):
    with pytest.raises(StorageError):
        validate_key(key)
    for method in (store.open, store.delete, store.local_path):
        with pytest.raises(StorageError):
            method(key)


@pytest.mark.parametrize(
    "prefix,suffix",
    [
        ("../audio", ".mp3"),
        ("/abs", ".mp3"),
        ("audio", "mp3"),
        ("audio", ".mp3/x"),
        ("audio", "/.."),
    ],
)
def test_bad_name_parts_rejected(store, prefix, suffix):
    with pytest.raises(StorageError):
        store.put_bytes(b"x", prefix=prefix, suffix=suffix)
    with pytest.raises(StorageError):
        with store.incoming(io.BytesIO(b"x"), max_bytes=10) as inc:
            inc.keep(prefix=prefix, suffix=suffix)
    assert tree(store.root) == []


def test_good_keys_accepted(store):
    for key in ["audio/3f2a00c1.mp3", "artwork/2024/ab-cd_ef.png", "a", "x/y.tar"]:
        assert validate_key(key) == key
        assert store.local_path(key) == store.root / key


def test_open_store(tmp_path):
    store = open_store({"MEDIA_DIR": str(tmp_path / "m")})
    assert store.root == tmp_path / "m"
    with pytest.raises(StorageError):
        open_store({})
