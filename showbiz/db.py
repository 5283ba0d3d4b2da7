"""The database handle and the engine settings that keep SQLite safe under concurrency."""
from __future__ import annotations

import contextvars
import os
from collections.abc import Iterator
from contextlib import contextmanager

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import Engine, MetaData, event
from sqlalchemy.orm import DeclarativeBase, Session

# Stable constraint names, so Alembic can alter them on SQLite and PostgreSQL alike.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


db = SQLAlchemy(model_class=Base)

_writing = contextvars.ContextVar("writing", default=False)
SQLITE_BUSY_TIMEOUT_MS = 15_000


def _is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


@event.listens_for(Engine, "do_connect")
def _private_sqlite_file(dialect, _record, cargs, cparams) -> None:
    """Create a new SQLite database file readable by its owner only (it holds password hashes);
    SQLite gives its -wal and -shm files the same mode."""
    if dialect.name != "sqlite":
        return
    path = cparams.get("database", cargs[0] if cargs else "")
    if not path or path == ":memory:" or path.startswith("file:") or cparams.get("uri"):
        return
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except (FileExistsError, FileNotFoundError):
        pass  # an existing database keeps its mode; a missing folder fails in connect() itself


def make_sqlite_private(engine: Engine) -> list[str]:
    """Make an existing SQLite database's files readable by their owner only; the names changed."""
    # Installs made before databases were created 0600 have them world-readable.
    database = engine.url.database if _is_sqlite(engine) else None
    if not database or database == ":memory:" or database.startswith("file:"):
        return []
    changed = []
    for path in (database, f"{database}-wal", f"{database}-shm", f"{database}-journal"):
        try:
            status = os.stat(path)
        except FileNotFoundError:
            continue
        if status.st_uid == os.getuid() and status.st_mode & 0o077:
            os.chmod(path, 0o600)
            changed.append(os.path.basename(path))
    return changed


@event.listens_for(Engine, "connect")
def _sqlite_connect(dbapi_connection, _record) -> None:
    """Turn on WAL, foreign keys and a busy timeout for every new SQLite connection."""
    if type(dbapi_connection).__module__ != "sqlite3":
        return
    # Let SQLAlchemy emit BEGIN itself, so write transactions can be IMMEDIATE.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


@event.listens_for(Engine, "begin")
def _sqlite_begin(conn) -> None:
    """Start SQLite transactions; writes take the write lock up front to avoid upgrade deadlocks."""
    if _is_sqlite(conn.engine):
        if _writing.get():
            # Only the transaction() itself: reads after its commit (a feed rebuild) need no lock.
            _writing.set(False)
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")


@contextmanager
def transaction() -> Iterator[Session]:
    """Run a block as one write transaction: committed on success, rolled back on error.

    What the commit makes stale is worked out by showbiz.changes, on SQLAlchemy's events."""
    session = db.session()
    if session.in_transaction():
        # End the read snapshot: upgrading it to a write is what makes SQLite say "locked".
        session.commit()
    token = _writing.set(True)
    try:
        with session.begin():
            yield session
    finally:
        _writing.reset(token)
