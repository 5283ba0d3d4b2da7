"""The media store: the only code that touches paths under the media folder."""

from __future__ import annotations

import errno
import hashlib
import io
import os
import re
import secrets
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from flask import current_app

CHUNK = 1024 * 1024
INCOMING = ".incoming"
# Segments start with a letter or digit, so ".incoming", ".." and "" never match.
_SEGMENT = r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}"
_KEY_RE = re.compile(rf"{_SEGMENT}(?:/{_SEGMENT}){{0,7}}")
_SUFFIX_RE = re.compile(r"(?:\.[A-Za-z0-9]{1,16})?")
_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT}


class StorageError(Exception):
    """Something went wrong in the media store."""


class TooLarge(StorageError):
    """More than max_bytes arrived."""


class DiskFull(StorageError):
    """The disk or quota filled up while writing (HTTP 507)."""


def validate_key(key: str) -> str:
    """Return key if it is a safe relative store key, else raise StorageError."""
    if not isinstance(key, str) or ".." in key or not _KEY_RE.fullmatch(key):
        raise StorageError(f"invalid store key: {key!r}")
    return key


def _check_name_parts(prefix: str, suffix: str) -> None:
    validate_key(prefix)
    if not isinstance(suffix, str) or not _SUFFIX_RE.fullmatch(suffix):
        raise StorageError(f"invalid suffix: {suffix!r}")


@contextmanager
def _disk_errors() -> Iterator[None]:
    try:
        yield
    except OSError as e:
        if e.errno in _FULL_ERRNOS:
            raise DiskFull(str(e)) from e
        raise


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Incoming:
    """A temp file being received; keep() moves it into the store."""

    def __init__(self, store: LocalStore, path: Path) -> None:
        self._store = store
        self.path = path
        self.size_bytes = 0
        self.sha256 = ""
        self.kept_key: str | None = None

    def rehash(self) -> None:
        """Measure size and SHA-256 again, after the file was changed in place (tags written)."""
        digest, size = hashlib.sha256(), 0
        with open(self.path, "rb") as source:
            while chunk := source.read(CHUNK):
                digest.update(chunk)
                size += len(chunk)
            os.fsync(source.fileno())
        self.size_bytes, self.sha256 = size, digest.hexdigest()

    def keep(self, *, prefix: str, suffix: str) -> str:
        """Atomically move the received file to a new generated key and return it."""
        if self.kept_key is not None:
            raise StorageError("incoming file already kept")
        _check_name_parts(prefix, suffix)
        key = f"{prefix}/{uuid.uuid4().hex}{suffix}"
        dest = self._store.local_path(key)
        with _disk_errors():
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.replace(self.path, dest)
            self.kept_key, self.path = key, dest
            _fsync_dir(dest.parent)
        return key


class Receiving(io.FileIO):
    """An uploaded file part arriving from the form parser, straight into the store."""

    def __init__(self, store: LocalStore, path: Path, fd: int) -> None:
        super().__init__(fd, "w+b")
        self.store, self.path = store, path
        self._digest, self._size, self._adopted = hashlib.sha256(), 0, False

    def write(self, data) -> int:
        """Write a piece of the part, hashing what was written."""
        with _disk_errors():
            written = super().write(data)
        self._digest.update(memoryview(data)[:written])
        self._size += written
        return written

    def adopt(self) -> Incoming:
        """Hand the finished file over to `incoming()`: fsynced, measured, no longer ours."""
        with _disk_errors():
            os.fsync(self.fileno())
        self._adopted = True
        inc = Incoming(self.store, self.path)
        inc.size_bytes, inc.sha256 = self._size, self._digest.hexdigest()
        return inc

    def close(self) -> None:
        """Close the file; remove it unless incoming() took it over."""
        super().close()
        if not self._adopted:
            self.path.unlink(missing_ok=True)


class LocalStore:
    """Objects stored as files under a local root folder."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).resolve()

    def _new_temp(self) -> tuple[Path, int]:
        tmp_dir = self.root / INCOMING
        with _disk_errors():
            tmp_dir.mkdir(parents=True, exist_ok=True)
            path = tmp_dir / f"{secrets.token_hex(16)}.part"
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
            return path, os.open(path, flags, 0o644)

    @contextmanager
    def incoming(self, stream: BinaryIO, *, max_bytes: int) -> Iterator[Incoming]:
        """Receive stream into a temp file; on error in the block remove it and any kept file.

        A `Receiving` file this store handed to the form parser is taken over as it is, so a
        form upload is written to disk once.
        """
        adopted = isinstance(stream, Receiving) and stream.store is self
        if adopted:
            inc = stream.adopt()
        else:
            tmp, fd = self._new_temp()
            inc = Incoming(self, tmp)
        with self._cleaned(inc):
            if not adopted:
                self._copy(stream, fd, inc, max_bytes)
            elif inc.size_bytes > max_bytes:
                raise TooLarge(f"upload exceeds {max_bytes} bytes")
            yield inc

    @contextmanager
    def _cleaned(self, inc: Incoming) -> Iterator[None]:
        """On an error, remove what was kept from `inc`; in any case remove its temp file."""
        path = inc.path  # keep() moves inc.path; this temp name is what to clean up
        try:
            yield
        except BaseException:
            if inc.kept_key is not None:
                self.delete(inc.kept_key)
            raise
        finally:
            path.unlink(missing_ok=True)

    @staticmethod
    def _copy(stream: BinaryIO, fd: int, inc: Incoming, max_bytes: int) -> None:
        digest = hashlib.sha256()
        with open(fd, "wb", buffering=0) as out:
            while chunk := stream.read(CHUNK):
                inc.size_bytes += len(chunk)
                if inc.size_bytes > max_bytes:
                    raise TooLarge(f"upload exceeds {max_bytes} bytes")
                digest.update(chunk)
                with _disk_errors():
                    view = memoryview(chunk)
                    while view:  # raw writes may be partial
                        view = view[out.write(view) :]
            with _disk_errors():
                os.fsync(out.fileno())
        inc.sha256 = digest.hexdigest()

    def receiving(self) -> Receiving:
        """A temp file for the form parser to write an uploaded file part into (hashed on the
        way); removed when closed unless `incoming()` took it over."""
        path, fd = self._new_temp()
        return Receiving(self, path, fd)

    def local_path(self, key: str) -> Path:
        """Filesystem path of key, for sending the file (or checking it before nginx does)."""
        return self.root / validate_key(key)

    def open(self, key: str) -> BinaryIO:
        """Open a stored object for binary reading (FileNotFoundError if missing)."""
        return open(self.local_path(key), "rb")

    def delete(self, key: str) -> None:
        """Delete a stored object; a missing one is fine."""
        self.local_path(key).unlink(missing_ok=True)

    def put_bytes(self, data: bytes, *, prefix: str, suffix: str) -> str:
        """Atomically store a small object under a new generated key and return it."""
        _check_name_parts(prefix, suffix)
        path, fd = self._new_temp()
        inc = Incoming(self, path)
        with self._cleaned(inc):
            with _disk_errors(), open(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            return inc.keep(prefix=prefix, suffix=suffix)

    def remove_orphans(self, *, older_than: float = 3600.0) -> int:
        """Delete temp files left by a crash, if older than older_than seconds; return the count."""
        # The age limit spares uploads still running in other workers.
        try:
            entries = list(os.scandir(self.root / INCOMING))
        except FileNotFoundError:
            return 0
        return remove_older(entries, older_than)


def remove_older(entries, older_than: float) -> int:
    """Remove the plain files among these directory entries last written over `older_than`
    seconds ago (temp files of a killed upload or rebuild); answer how many went."""
    cutoff, removed = time.time() - older_than, 0
    for entry in entries:
        try:
            if entry.is_file(follow_symlinks=False) and entry.stat().st_mtime <= cutoff:
                os.unlink(entry.path)
                removed += 1
        except FileNotFoundError:
            pass
    return removed


def media_store() -> LocalStore:
    """The running app's media store, opened once per app."""
    store = current_app.extensions.get("showbiz.store")
    if store is None:
        store = current_app.extensions["showbiz.store"] = open_store(current_app.config)
    return store


def open_store(config: Mapping) -> LocalStore:
    """The media store configured by config["MEDIA_DIR"]."""
    media_dir = config.get("MEDIA_DIR")
    if not media_dir:
        raise StorageError("MEDIA_DIR is not configured")
    return LocalStore(media_dir)
