"""OCPP 1.6 ChangeAvailability: which connectors may start new sessions. PURE.

Owns the 1.6 scopes (a connector id; 0 = the whole charge point) and their file
(``availability16.db``: the wanted availability of each connector, so it survives restarts),
and applying it: the EVSE is enabled or disabled and the status block shows Unavailable. The
operative / scheduled model and telling the EVSEs are ``common/availability.py``'s, as in 2.0.1.

- ChangeAvailability for connector 0 changes every connector (and connector 0 itself): in
  1.6, connector 0 is one more connector, not a scope that contains the others (a connector
  made Operative afterwards is Operative, whatever connector 0 says).
- Inoperative while a transaction runs on a connector: answered Scheduled; the change is
  applied when that transaction ends (its ``TxEnded``). Already in the requested state, or
  Operative: Accepted at once (an Operative request cancels a pending Inoperative one).
  Every applied change is told to its EVSE again, even one it should know already (an EVSE
  that disabled itself is asked again).
- An unknown connector: Rejected.
- When an EVSE reports ready (start-up, or after a restart of the bridge), its wanted state
  is applied again (not while a change of it waits for its transaction).
- ``change_availability(evse, connector, operative)``: the same for EVerest's
  ``ocpp_generic.change_availability`` (evse None = the whole charge point).

Must never: stop a transaction (a change waits for it), or send StatusNotification itself.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Mapping
from typing import Any

from ocpp_bridge.ocpp import evse_events as E
from ocpp_bridge.ocpp.common.availability import EvseEnables, OperativeStates
from ocpp_bridge.ocpp.context import BlockContext
from ocpp_bridge.ocpp.events import TxEnded
from ocpp_bridge.ocpp.v16.configuration import ConfigurationKeys
from ocpp_bridge.ocpp.v16.status import Status16
from ocpp_bridge.ocpp.v16.transactions import Transactions16
from ocpp_bridge.store.database import transaction

log = logging.getLogger("ocpp_bridge.ocpp.v16.availability")

DATABASE_NAME = "availability16"
MIGRATIONS = [
    """
    CREATE TABLE availability16 (
        connector INTEGER PRIMARY KEY,
        operative INTEGER NOT NULL
    );
    """,
]


class AvailabilityFile16:
    """``availability16.db``: one row per connector, its wanted availability (a scheduled
    change is stored as what it will make the connector). So an Inoperative connector comes
    back from a restart as a change still scheduled if its transaction still runs, else as
    the status in force."""

    def __init__(self, db: sqlite3.Connection, has_transaction: Callable[[int], bool]) -> None:
        self.db = db
        self.has_transaction = has_transaction

    def load(self) -> tuple[dict[int, bool], dict[int, bool]]:
        applied: dict[int, bool] = {}
        scheduled: dict[int, bool] = {}
        for connector, operative in self.db.execute("SELECT connector, operative FROM availability16"):
            if not operative and connector > 0 and self.has_transaction(connector):
                scheduled[connector] = False  # scheduled before a restart, its transaction still runs
            else:
                applied[connector] = bool(operative)
        return applied, scheduled

    def write(self, applied: Mapping[int, bool], scheduled: Mapping[int, bool]) -> None:
        with transaction(self.db):
            for connector, operative in {**applied, **scheduled}.items():
                self.db.execute("INSERT INTO availability16 (connector, operative) VALUES (?, ?) "
                                "ON CONFLICT (connector) DO UPDATE SET operative = excluded.operative",
                                (connector, int(operative)))


class Availability16:
    def __init__(self, ctx: BlockContext[ConfigurationKeys], status: Status16, transactions: Transactions16,
                 db: sqlite3.Connection):
        """``db``: this block's file (``DATABASE_NAME``, ``MIGRATIONS``)."""
        self.core = ctx.core
        self.count = ctx.evse_count
        self.status = status
        self.tx = transactions
        self.db = db
        self.states: OperativeStates[int] = OperativeStates(AvailabilityFile16(db, self._has_transaction))
        self.enables = EvseEnables(ctx.evse)
        for c in range(self.count + 1):  # the EVSEs hear it when they report ready
            self.status.set_operative(c, self.states.operative(c))
        self.core.handle("ChangeAvailability", self._change_availability)
        self.core.events.subscribe(E.EvseReady, self._on_evse_ready)
        self.core.events.subscribe(TxEnded, self._on_tx_ended)

    def operative(self, connector: int) -> bool:
        """The wanted availability of ``connector``."""
        return 0 <= connector <= self.count and self.states.wanted(connector)

    def _has_transaction(self, connector: int) -> bool:
        return connector > 0 and self.tx.active(connector) is not None

    # ------------------------------------------------------------------ requests
    def change_availability(self, evse: int | None, connector: int | None, operative: bool) -> str:
        """Accepted / Scheduled / Rejected. 1.6 connector ids are EVSE ids; ``connector`` is
        the EVSE's own connector (always 1 in 1.6 layouts)."""
        target = 0 if evse is None else evse
        if not 0 <= target <= self.count or (evse is not None and connector not in (None, 0, 1)):
            return "Rejected"
        return self._change(target, operative)

    def _change_availability(self, payload: dict[str, Any]) -> dict[str, Any]:
        connector = payload["connectorId"]
        if not 0 <= connector <= self.count:
            return {"status": "Rejected"}
        return {"status": self._change(connector, payload["type"] == "Operative")}

    def _change(self, connector: int, operative: bool) -> str:
        targets = range(self.count + 1) if connector == 0 else (connector,)
        change = self.states.change(targets, operative, waits=lambda c: not operative and self._has_transaction(c))
        for c in change.applied:
            self._apply(c)
        log.info("ChangeAvailability connector %d -> %s: %s", connector,
                 "Operative" if operative else "Inoperative", change.status)
        return change.status

    def _apply(self, connector: int) -> None:
        operative = self.states.operative(connector)
        self.status.set_operative(connector, operative)
        if connector > 0:
            self.enables.tell({(connector, 1): operative}, again=True)

    # ------------------------------------------------------------------ events
    def _on_evse_ready(self, ev: E.EvseReady) -> None:
        if 1 <= ev.evse <= self.count and self.states.scheduled_for(ev.evse) is None:
            self._apply(ev.evse)

    def _on_tx_ended(self, event: TxEnded) -> None:
        for connector in self.states.apply_due(self._has_transaction):
            log.info("connector %d: transaction over, scheduled availability change applied", connector)
            self._apply(connector)

    def close(self) -> None:
        self.db.close()
