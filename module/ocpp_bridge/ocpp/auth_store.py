"""The authorization cache and the local authorization list, in a SQLite file (no clock, no
network; every write is disk I/O).

Owns two tables of identifiers and what the CSMS last said about them, for either OCPP
version (the caller stores its version's idTagInfo / IdTokenInfo as an opaque dict):
- the *cache*: filled from the CSMS's answers (Authorize, Start/StopTransaction,
  TransactionEvent); each row has an optional expiry and a last-used time; over
  ``cache_max`` rows the least recently used go first; ``cache_clear`` empties it;
- the *local list*: written only by SendLocalList (full replace or differential update),
  with its version number (0 = empty / never set).

Keys are the caller's (1.6: the idTag; 2.0.1: value and type joined) and compared
case-insensitively, as OCPP's CiString identifiers are. The file is ``auth.db`` under the
charge point's database directory; every write is committed before the call returns.

Also owns ``epoch``: an OCPP dateTime as seconds since the epoch (for expiry dates).

What SQLite cannot store is refused with a ``ValueError`` before any write starts (so a
transaction is never half done): an identifier or info holding a lone UTF-16 surrogate, a
list version outside signed 64 bits. Such input is refused at the OCPP and bus edges
(``json_edge``) already; this is the last line. Looking up such an identifier finds nothing.

Must never: decide whether a token is accepted (``ocpp/common/authorization.py`` does), read a
clock (``now`` comes in), or send anything.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timezone
from typing import Any

from ocpp_bridge import json_edge
from ocpp_bridge.store.database import apply_migrations, open_database, transaction

Info = dict[str, Any]  # an idTagInfo / IdTokenInfo as the CSMS gave it (kept as is)

DATABASE_NAME = "auth"
DEFAULT_CACHE_MAX = 1000

MIGRATIONS = [
    """
    CREATE TABLE auth_cache (
        key TEXT PRIMARY KEY COLLATE NOCASE,
        info TEXT NOT NULL,
        expires_at REAL,
        used_at REAL NOT NULL
    );
    CREATE TABLE auth_list (
        key TEXT PRIMARY KEY COLLATE NOCASE,
        info TEXT NOT NULL
    );
    CREATE TABLE auth_list_version (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        version INTEGER NOT NULL
    );
    """,
]


def epoch(text: str | None) -> float | None:
    """An OCPP dateTime ("2026-01-01T10:00:00Z", offsets allowed) in epoch seconds; None when
    absent or unreadable (a naive time is taken as UTC)."""
    if not text:
        return None
    try:
        dt = datetime.fromisoformat(text.replace("z", "Z").replace("Z", "+00:00"))
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.timestamp()


class CacheEntry:
    __slots__ = ("info", "expires_at")

    def __init__(self, info: Info, expires_at: float | None) -> None:
        self.info = info
        self.expires_at = expires_at

    def expired(self, now: float) -> bool:
        return self.expires_at is not None and self.expires_at <= now


class AuthStore:
    def __init__(self, conn: sqlite3.Connection, *, cache_max: int = DEFAULT_CACHE_MAX) -> None:
        self.conn = conn
        self.cache_max = cache_max
        apply_migrations(conn, MIGRATIONS)

    @classmethod
    def open(cls, directory: str, *, cache_max: int = DEFAULT_CACHE_MAX) -> AuthStore:
        return cls(open_database(directory, DATABASE_NAME, MIGRATIONS), cache_max=cache_max)

    @classmethod
    def in_memory(cls, *, cache_max: int = DEFAULT_CACHE_MAX) -> AuthStore:
        return cls(sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False), cache_max=cache_max)

    def close(self) -> None:
        self.conn.close()

    # ------------------------------------------------------------------ cache
    def cache_put(self, key: str, info: Info, now: float, expires_at: float | None = None) -> None:
        _storable_key(key)
        text = _dump(info)
        with transaction(self.conn):
            self.conn.execute(
                "INSERT INTO auth_cache (key, info, expires_at, used_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (key) DO UPDATE SET info = excluded.info, expires_at = excluded.expires_at, "
                "used_at = excluded.used_at", (key, text, expires_at, now))
            excess = self.cache_size() - max(1, self.cache_max)
            if excess > 0:
                self.conn.execute("DELETE FROM auth_cache WHERE key IN "
                                  "(SELECT key FROM auth_cache ORDER BY used_at, rowid LIMIT ?)", (excess,))

    def cache_get(self, key: str, now: float | None = None) -> CacheEntry | None:
        """The cached entry (expired ones too: the caller decides); ``now`` marks it used."""
        if json_edge.has_surrogate(key):
            return None  # could never have been stored
        row = self.conn.execute("SELECT info, expires_at FROM auth_cache WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        if now is not None:
            with transaction(self.conn):
                self.conn.execute("UPDATE auth_cache SET used_at = ? WHERE key = ?", (now, key))
        return CacheEntry(_load(row[0]), row[1])

    def cache_remove(self, key: str) -> None:
        if json_edge.has_surrogate(key):
            return
        with transaction(self.conn):
            self.conn.execute("DELETE FROM auth_cache WHERE key = ?", (key,))

    def cache_clear(self) -> None:
        with transaction(self.conn):
            self.conn.execute("DELETE FROM auth_cache")

    def cache_size(self) -> int:
        return int(self.conn.execute("SELECT COUNT(*) FROM auth_cache").fetchone()[0])

    # ------------------------------------------------------------------ local list
    def list_version(self) -> int:
        row = self.conn.execute("SELECT version FROM auth_list_version WHERE id = 1").fetchone()
        return int(row[0]) if row else 0

    def list_get(self, key: str) -> Info | None:
        if json_edge.has_surrogate(key):
            return None
        row = self.conn.execute("SELECT info FROM auth_list WHERE key = ?", (key,)).fetchone()
        return _load(row[0]) if row else None

    def list_size(self) -> int:
        return int(self.conn.execute("SELECT COUNT(*) FROM auth_list").fetchone()[0])

    def list_keys_after(self, entries: list[tuple[str, Info | None]]) -> int:
        """How many rows the list would hold after the differential update ``entries``."""
        keys = {str(k).lower() for (k,) in self.conn.execute("SELECT key FROM auth_list")}
        for key, info in entries:
            if info is None:
                keys.discard(key.lower())
            else:
                keys.add(key.lower())
        return len(keys)

    def list_replace(self, version: int, entries: list[tuple[str, Info]]) -> None:
        """Full update: the list becomes ``entries``, at ``version``, in one commit."""
        rows = [(_storable_key(key), _dump(info)) for key, info in entries]
        version = _storable_version(version)
        with transaction(self.conn):
            self.conn.execute("DELETE FROM auth_list")
            self.conn.executemany("INSERT OR REPLACE INTO auth_list (key, info) VALUES (?, ?)", rows)
            self._set_version(version)

    def list_update(self, version: int, entries: list[tuple[str, Info | None]]) -> None:
        """Differential update: add or replace each (key, info); info None removes the key."""
        rows = [(_storable_key(key), None if info is None else _dump(info)) for key, info in entries]
        version = _storable_version(version)
        with transaction(self.conn):
            for key, text in rows:
                if text is None:
                    self.conn.execute("DELETE FROM auth_list WHERE key = ?", (key,))
                else:
                    self.conn.execute("INSERT OR REPLACE INTO auth_list (key, info) VALUES (?, ?)", (key, text))
            self._set_version(version)

    def _set_version(self, version: int) -> None:
        self.conn.execute("INSERT INTO auth_list_version (id, version) VALUES (1, ?) "
                          "ON CONFLICT (id) DO UPDATE SET version = excluded.version", (int(version),))


def _load(text: str) -> Info:
    value = json.loads(text)
    return value if isinstance(value, dict) else {}


def _dump(info: Info) -> str:
    text = json.dumps(info, separators=(",", ":"), ensure_ascii=False, sort_keys=True)
    if json_edge.has_surrogate(text):
        raise ValueError(f"authorization info cannot be stored: {json_edge.problem(info)}")
    return text


def _storable_key(key: str) -> str:
    if json_edge.has_surrogate(key):
        raise ValueError("an identifier holding a lone UTF-16 surrogate cannot be stored")
    return key


def _storable_version(version: int) -> int:
    version = int(version)
    if not json_edge.INT64_MIN <= version <= json_edge.INT64_MAX:
        raise ValueError(f"list version {version} is outside signed 64 bits: it cannot be stored")
    return version
