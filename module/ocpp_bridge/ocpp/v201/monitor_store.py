"""The 2.0.1 variable monitors (N04) in SQLite: one row a monitor. No clock, no network.

Owns the file ``monitors201.db`` (opened by ``blocks.py`` through the context's databases,
``DATABASE_NAME`` / ``MIGRATIONS``): the monitors set by the CSMS (``CustomMonitor``), with
their id, variable (canonical names), type, value, severity, transaction flag and (thresholds)
whether the value was last reported beyond the limit (N07.FR.14: a clear after a restart), and the last
eventId reserved for NotifyEvent (reserved in blocks, so ids stay unique across restarts
without a write per event). Every write is committed
before the call returns.

Must never: decide whether a monitor may be set or trips (``monitoring.py`` /
``monitor_rules.py``), or send anything.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from ocpp_bridge.ocpp.v201.dm_definitions import VariableKey
from ocpp_bridge.store.database import transaction

DATABASE_NAME = "monitors201"
MIGRATIONS = [
    """
    CREATE TABLE monitor (id INTEGER PRIMARY KEY, component TEXT NOT NULL, component_instance TEXT,
                          evse INTEGER, connector INTEGER, variable TEXT NOT NULL, variable_instance TEXT,
                          type TEXT NOT NULL, value REAL NOT NULL, severity INTEGER NOT NULL,
                          transaction_only INTEGER NOT NULL, origin TEXT NOT NULL DEFAULT 'CustomMonitor');
    CREATE TABLE monitor_counter (id INTEGER PRIMARY KEY CHECK (id = 1), last_event_id INTEGER NOT NULL);
    """,
    "ALTER TABLE monitor ADD COLUMN tripped INTEGER NOT NULL DEFAULT 0;",
]


@dataclass(frozen=True)
class Monitor:
    id: int
    key: VariableKey
    type: str        # UpperThreshold, LowerThreshold, Delta, Periodic, PeriodicClockAligned
    value: float
    severity: int
    transaction: bool
    origin: str = "CustomMonitor"
    tripped: bool = False  # a threshold monitor's value is beyond its limit (what the CSMS was told)


class MonitorStore:
    def __init__(self, conn: sqlite3.Connection) -> None:
        """``conn``: the monitors file with ``MIGRATIONS`` applied."""
        self.conn = conn

    def close(self) -> None:
        self.conn.close()

    def load(self) -> list[Monitor]:
        rows = self.conn.execute(
            "SELECT id, component, variable, component_instance, variable_instance, evse, connector, type, value, "
            "severity, transaction_only, origin, tripped FROM monitor ORDER BY id").fetchall()
        return [Monitor(r[0], VariableKey(r[1], r[2], r[3], r[4], r[5], r[6]), r[7], float(r[8]), int(r[9]),
                        bool(r[10]), r[11], bool(r[12])) for r in rows]

    def next_id(self) -> int:
        row = self.conn.execute("SELECT MAX(id) FROM monitor").fetchone()
        return int(row[0] or 0) + 1

    def put(self, m: Monitor) -> None:
        k = m.key
        with transaction(self.conn):
            self.conn.execute(
                "INSERT OR REPLACE INTO monitor (id, component, component_instance, evse, connector, variable, "
                "variable_instance, type, value, severity, transaction_only, origin, tripped) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (m.id, k.component, k.component_instance, k.evse, k.connector, k.variable, k.variable_instance,
                 m.type, m.value, m.severity, int(m.transaction), m.origin, int(m.tripped)))

    def set_tripped(self, monitor_id: int, tripped: bool) -> None:
        with transaction(self.conn):
            self.conn.execute("UPDATE monitor SET tripped = ? WHERE id = ?", (int(tripped), monitor_id))

    def remove(self, monitor_id: int) -> None:
        with transaction(self.conn):
            self.conn.execute("DELETE FROM monitor WHERE id = ?", (monitor_id,))

    def remove_custom(self) -> int:
        with transaction(self.conn):
            return self.conn.execute("DELETE FROM monitor WHERE origin = 'CustomMonitor'").rowcount

    def reserve_event_ids(self, count: int) -> int:
        """Reserve ``count`` eventIds; returns the first. The reservation is committed, so ids
        stay unique across restarts (those a run did not use are skipped, never reused)."""
        with transaction(self.conn):
            row = self.conn.execute("SELECT last_event_id FROM monitor_counter WHERE id = 1").fetchone()
            first = (int(row[0]) if row else 0) + 1
            self.conn.execute("INSERT OR REPLACE INTO monitor_counter (id, last_event_id) VALUES (1, ?)",
                              (first + count - 1,))
        return first
