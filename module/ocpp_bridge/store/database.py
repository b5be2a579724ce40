"""SQLite files of the module: opening, durability settings, schema versions, transactions.

Owns: where a store's file lives (``<directory>/<name>.db``), who may read it (the files
hold secrets such as AuthorizationKey and tokens: the file is the owner's only, mode 0600,
made so before SQLite writes a byte, and SQLite gives its -wal/-shm files the same mode), the
pragmas every store gets (WAL journal, ``synchronous=FULL``, foreign keys on), the schema
version kept in the ``user_version`` pragma, and a small transaction helper.

Schema versions: a store hands over the full list of its SQL scripts, oldest first. Script
``i`` (0-based) moves the file from version ``i`` to ``i + 1``; scripts already applied are
skipped, each new one runs in its own transaction together with the ``user_version`` bump,
so a crash leaves the file at the last complete version. Scripts must not contain
``BEGIN``/``COMMIT`` themselves. A file whose version is higher than the list is long was
written by newer software (or belongs to another store) and is refused.

One file belongs to one store (one migration list), except that a store may host the tables
of another whose writes must commit together with its own (the outbox hosts the transaction
records): the guest's scripts run through ``apply_migrations(conn, scripts, guest=name)``
and its version is kept in the ``guest_schema`` table under its name, the host's stays in
``user_version``. Connections are opened in autocommit mode; writers group statements with
:func:`transaction`. ``check_same_thread`` is off so the
wiring may open a file on the main thread and hand it to the engine thread; at any time only
one thread may use a connection.

Must never: run a thread, hold protocol state, know any table of any store, or swallow an
error from SQLite.
"""

from __future__ import annotations

import os
import re
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
FILE_MODE = 0o600


class SchemaVersionError(RuntimeError):
    """The file's schema version does not fit the migration list it is opened with."""


def database_path(directory: str | Path, name: str) -> Path:
    """``<directory>/<name>.db``; ``name`` is a plain file stem (no folders)."""
    if not _NAME.match(name) or name.endswith(".db"):
        raise ValueError(f"database name {name!r} must be a plain file stem like 'config16'")
    return Path(directory) / f"{name}.db"


def open_database(
    directory: str | Path, name: str, migrations: Sequence[str]
) -> sqlite3.Connection:
    """Open (creating folder and file) ``<directory>/<name>.db`` and bring its schema up to date."""
    path = database_path(directory, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY, FILE_MODE))  # created private, never world-readable
    os.chmod(path, FILE_MODE)  # and a file an older version made readable is made private
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=5.0)
    try:
        mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise sqlite3.OperationalError(f"{path}: journal_mode stays {mode!r}, WAL refused")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
        apply_migrations(conn, migrations)
    except BaseException:
        conn.close()
        raise
    return conn


def schema_version(conn: sqlite3.Connection, guest: str | None = None) -> int:
    """The ``user_version`` of the file behind ``conn``, or the version of the ``guest``
    store's tables in it (0 when it has none yet)."""
    if guest is None:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])
    conn.execute("CREATE TABLE IF NOT EXISTS guest_schema (name TEXT PRIMARY KEY, version INTEGER NOT NULL)")
    row = conn.execute("SELECT version FROM guest_schema WHERE name = ?", (guest,)).fetchone()
    return int(row[0]) if row else 0


def apply_migrations(conn: sqlite3.Connection, migrations: Sequence[str], *,
                     guest: str | None = None) -> int:
    """Run the scripts the file has not seen yet; return the resulting version. ``guest``: the
    scripts of another store's tables hosted in this file (a plain name like ``tx16``)."""
    if conn.in_transaction:
        raise RuntimeError("apply_migrations needs a connection with no open transaction")
    if guest is not None and not _NAME.match(guest):
        raise ValueError(f"guest store name {guest!r} must be a plain name like 'tx16'")
    current = schema_version(conn, guest)
    if current > len(migrations):
        raise SchemaVersionError(
            f"database schema version {current} is newer than this software knows "
            f"({len(migrations)}); it was written by a newer release or belongs to another store"
        )
    for index in range(current, len(migrations)):
        bump = (f"PRAGMA user_version = {index + 1};" if guest is None else
                f"INSERT INTO guest_schema (name, version) VALUES ('{guest}', {index + 1}) "
                "ON CONFLICT (name) DO UPDATE SET version = excluded.version;")
        script = f"BEGIN IMMEDIATE;\n{migrations[index]}\n;{bump}\nCOMMIT;"
        try:
            conn.executescript(script)
        except BaseException:
            _roll_back(conn)
            raise
    return len(migrations)


def _roll_back(conn: sqlite3.Connection) -> None:
    """Undo what a failed script left open (executescript may stop inside its transaction)."""
    if conn.in_transaction:
        conn.rollback()


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """Group writes: commit on success, roll back on any exception.

    Nested use joins the transaction already open on ``conn`` (the outer block decides).
    """
    if conn.in_transaction:
        yield conn
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.rollback()
        raise
    conn.commit()
