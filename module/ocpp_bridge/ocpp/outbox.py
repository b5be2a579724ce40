"""The outbox: transaction-related messages that must not be lost, in a SQLite file. PURE.

Owns the table of messages waiting for their CALLRESULT (1.6 StartTransaction,
StopTransaction, transaction MeterValues, SecurityEventNotification; 2.0.1 TransactionEvent,
SecurityEventNotification), their attempt counters and earliest retry times, the 1.6
``tx_key -> transactionId`` map, and the thinning rule. The file is ``outbox.db`` under
``DatabasePath`` (WAL, ``synchronous=FULL``: see ``store/database.py``), so every write
below is fsync'd before the call returns, unless the caller has a transaction open (then it
is durable when that transaction commits).

Guests: the records a message belongs to (the 1.6 and 2.0.1 transaction records) keep their
tables in this file (``host``), so that a message and its record commit together in one
``transaction`` (``StationCore.atomic``): both or neither, on disk and in memory. The outbox
never reads or writes a guest's tables.

Must never: run a thread, read a clock (``now`` comes in), send anything, decide *when* a
message may go (that is ``StationCore``), or change a stored payload (the 1.6
transactionId is substituted in a copy, at send time).

Rules kept here
---------------
- Strict order: the head is the oldest row; nothing else is ever offered for sending.
- A row leaves the table only by ``remove`` (its CALLRESULT came, its attempts ran out, or
  the thinning rule took it); a kill -9 at any moment leaves every other row in place.
- ``attempts`` counts failed sends (CALLERROR or timeout), never a send cut by a lost
  connection; it is written before the next try is scheduled.
- 1.6: a transaction started offline is queued with a placeholder transactionId (-1);
  ``outgoing_payload`` writes the real one (from ``set_transaction_id``) into MeterValues and
  StopTransaction of the same ``tx_key``. The map row lives until that StopTransaction is
  acknowledged or dropped.

Delivery guarantee: at least once, and exactly once as the CSMS sees it wherever OCPP-J
allows. A row is deleted in the same commit as whatever its result handler writes here, so
a crash cannot keep a message whose result was already acted on. What cannot be told apart
is a message that was on the wire when the connection or the process died: the CSMS may or
may not have it, and it is sent again (2.0.1 CSMSs can tell by seqNo; 1.6 has no means).
The station core also takes a late CALLRESULT, while the retry has not gone out yet.

Thinning rule (``thin``): when a queue is over its size threshold, the only transactional
messages that may be dropped are *updates*: 1.6 MeterValues, and 2.0.1 TransactionEvent
with ``eventType`` Updated and ``triggerReason`` MeterValuePeriodic. A pass walks them
oldest first and drops every second one (the 2nd, 4th, ...): the updates left stay evenly
spread over time and the queue gets room again. Passes repeat until at least the excess is
gone or one update is left. Start/stop messages, other TransactionEvents and
SecurityEventNotifications are never thinned, so the queue may stay above the threshold.
"""

from __future__ import annotations

import copy
import json
import sqlite3
from collections import deque
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from ocpp_bridge.store.database import apply_migrations, open_database, transaction

DATABASE_NAME = "outbox"
PLACEHOLDER_TRANSACTION_ID = -1

MIGRATIONS = [
    """
    CREATE TABLE outbox (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        action TEXT NOT NULL,
        payload TEXT NOT NULL,
        tx_key TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        not_before REAL NOT NULL DEFAULT 0,
        created REAL NOT NULL
    );
    CREATE INDEX outbox_tx_key ON outbox (tx_key);
    CREATE TABLE transaction_ids (
        tx_key TEXT PRIMARY KEY,
        transaction_id INTEGER NOT NULL
    );
    """,
]

# 1.6 messages whose transactionId is the CSMS's (from StartTransaction.conf).
_CARRY_TRANSACTION_ID_16 = frozenset({"MeterValues", "StopTransaction"})


@contextmanager
def _savepoint(conn: sqlite3.Connection) -> Iterator[None]:
    conn.execute("SAVEPOINT outbox_nested")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK TO outbox_nested")
        conn.execute("RELEASE outbox_nested")
        raise
    conn.execute("RELEASE outbox_nested")


@dataclass(eq=False)
class Entry:
    """One queued message as held in memory (the table row is the durable copy)."""

    row_id: int
    action: str
    payload: dict[str, Any]
    tx_key: str | None
    attempts: int = 0
    not_before: float = 0.0
    seq: int = 0  # the station core's creation order, shared with non-transactional calls


class Outbox:
    """The durable FIFO of one station. ``version`` is "1.6" or "2.0.1"."""

    def __init__(self, conn: sqlite3.Connection, version: str):
        self.conn = conn
        self.version = version
        self._entries: deque[Entry] = deque()
        for row_id, action, payload, tx_key, attempts, not_before in conn.execute(
                "SELECT id, action, payload, tx_key, attempts, not_before FROM outbox ORDER BY id"):
            self._entries.append(Entry(row_id, action, json.loads(payload), tx_key, attempts, not_before))
        self._tx_ids: dict[str, int] = dict(conn.execute("SELECT tx_key, transaction_id FROM transaction_ids"))

    @classmethod
    def open(cls, directory: str, version: str) -> Outbox:
        """``<directory>/outbox.db``, created or brought up to date."""
        return cls(open_database(directory, DATABASE_NAME, MIGRATIONS), version)

    @classmethod
    def in_memory(cls, version: str) -> Outbox:
        """Not durable: for a core built without a database directory (tests, tools)."""
        conn = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        apply_migrations(conn, MIGRATIONS)
        return cls(conn, version)

    def close(self) -> None:
        self.conn.close()

    def host(self, guest: str, migrations: Sequence[str]) -> sqlite3.Connection:
        """Create (or bring up to date) a guest store's tables in this file; returns the
        connection its writes go through (they join an open ``transaction``)."""
        apply_migrations(self.conn, migrations, guest=guest)
        return self.conn

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Group several changes (and whatever a result handler or a guest writes here) in one
        commit. All or nothing: an exception rolls back the file and this object's memory
        (queue, attempt counters, 1.6 id map). Nested, it is a savepoint of the outer one."""
        queue = list(self._entries)
        counters = [(e, e.attempts, e.not_before) for e in queue]
        tx_ids = dict(self._tx_ids)
        try:
            if self.conn.in_transaction:
                with _savepoint(self.conn):
                    yield
            else:
                with transaction(self.conn):
                    yield
        except BaseException:
            self._entries, self._tx_ids = deque(queue), tx_ids
            for entry, attempts, not_before in counters:
                entry.attempts, entry.not_before = attempts, not_before
            raise

    # ------------------------------------------------------------------ queue
    def add(self, action: str, payload: dict[str, Any], tx_key: str | None, now: float) -> Entry:
        """Store a message; durable when this returns (or when the caller's transaction commits)."""
        text = json.dumps(payload, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
        with transaction(self.conn):
            cur = self.conn.execute(
                "INSERT INTO outbox (action, payload, tx_key, created) VALUES (?, ?, ?, ?)",
                (action, text, tx_key, now))
        entry = Entry(int(cur.lastrowid or 0), action, json.loads(text), tx_key)
        self._entries.append(entry)
        return entry

    def head(self) -> Entry | None:
        return self._entries[0] if self._entries else None

    def entries(self) -> list[Entry]:
        return list(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, entry: object) -> bool:
        return any(e is entry for e in self._entries)

    def remove(self, entry: Entry) -> None:
        with transaction(self.conn):
            self.conn.execute("DELETE FROM outbox WHERE id = ?", (entry.row_id,))
            if (self.version == "1.6" and entry.action == "StopTransaction" and entry.tx_key is not None):
                self.conn.execute("DELETE FROM transaction_ids WHERE tx_key = ?", (entry.tx_key,))
        if self._entries and self._entries[0] is entry:
            self._entries.popleft()
        else:
            self._entries = deque(e for e in self._entries if e is not entry)
        if self.version == "1.6" and entry.action == "StopTransaction" and entry.tx_key is not None:
            self._tx_ids.pop(entry.tx_key, None)

    def record_failure(self, entry: Entry, now: float, max_attempts: int, interval_s: float) -> bool:
        """Count a failed send. True: retry at ``entry.not_before``; False: attempts exhausted
        (the caller removes the entry)."""
        entry.attempts += 1
        entry.not_before = now + interval_s * entry.attempts
        with transaction(self.conn):
            self.conn.execute("UPDATE outbox SET attempts = ?, not_before = ? WHERE id = ?",
                              (entry.attempts, entry.not_before, entry.row_id))
        return entry.attempts < max(1, max_attempts)

    # ------------------------------------------------------------------ 1.6 transaction ids
    def set_transaction_id(self, tx_key: str, transaction_id: int) -> None:
        if self._tx_ids.get(tx_key) == transaction_id:
            return
        with transaction(self.conn):
            self.conn.execute(
                "INSERT INTO transaction_ids (tx_key, transaction_id) VALUES (?, ?) "
                "ON CONFLICT (tx_key) DO UPDATE SET transaction_id = excluded.transaction_id",
                (tx_key, int(transaction_id)))
        self._tx_ids[tx_key] = int(transaction_id)

    def transaction_id(self, tx_key: str) -> int | None:
        return self._tx_ids.get(tx_key)

    def outgoing_payload(self, entry: Entry) -> dict[str, Any]:
        """The payload as it goes on the wire: 1.6 gets the CSMS's transactionId when known."""
        if self.version != "1.6" or entry.tx_key is None or entry.action not in _CARRY_TRANSACTION_ID_16:
            return entry.payload
        known = self._tx_ids.get(entry.tx_key)
        if known is None or entry.payload.get("transactionId") == known:
            return entry.payload
        return {**entry.payload, "transactionId": known}

    # ------------------------------------------------------------------ questions
    def count(self, tx_key: str | None = None) -> int:
        """Messages of ``tx_key`` still queued (in flight included); None: of any transaction."""
        if tx_key is None:
            return sum(1 for e in self._entries if e.tx_key is not None)
        return sum(1 for e in self._entries if e.tx_key == tx_key)

    def pending(self, tx_key: str) -> list[tuple[str, dict[str, Any]]]:
        """(action, payload as it would be sent now) of ``tx_key``'s queued messages: copies."""
        return [(e.action, copy.deepcopy(self.outgoing_payload(e))) for e in self._entries if e.tx_key == tx_key]

    # ------------------------------------------------------------------ thinning
    def is_update(self, entry: Entry) -> bool:
        if self.version == "1.6":
            return entry.action == "MeterValues"
        return (entry.action == "TransactionEvent" and entry.payload.get("eventType") == "Updated"
                and entry.payload.get("triggerReason") == "MeterValuePeriodic")

    def thin(self, how_many: int, keep: Entry | None = None) -> list[Entry]:
        """Drop at least ``how_many`` update messages if there are enough, by whole passes of
        the thinning rule (never ``keep``, the one in flight); returns the dropped entries,
        already removed, oldest first."""
        dropped: list[Entry] = []
        while len(dropped) < how_many:
            updates = [e for e in self._entries if e is not keep and self.is_update(e)]
            victims = updates[1::2]
            if not victims:
                break
            with transaction(self.conn):
                self.conn.executemany("DELETE FROM outbox WHERE id = ?", [(e.row_id,) for e in victims])
            gone = {id(e) for e in victims}
            self._entries = deque(e for e in self._entries if id(e) not in gone)
            dropped.extend(victims)
        dropped.sort(key=lambda e: e.row_id)
        return dropped
