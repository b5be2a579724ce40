"""OCPP 1.6 ChangeAvailability: which connectors may start new sessions. PURE.

Owns each connector's wanted availability (Operative / Inoperative; connector 0 = the whole
charge point) in ``availability16.db``, so it survives restarts, and applying it: the EVSE is
enabled or disabled (``EvsePort.enable_disable``) and the status block shows Unavailable.

- ChangeAvailability for connector 0 changes every connector (and connector 0 itself).
- Inoperative while a transaction runs on a connector: answered Scheduled; the change is
  applied when that transaction ends (its ``TxEnded``). Already in the
  requested state, or Operative: Accepted at once (an Operative request cancels a pending
  Inoperative one).
- An unknown connector: Rejected.
- When an EVSE reports ready (start-up, or after a restart of the bridge), its wanted state
  is applied again.
- ``change_availability(evse, connector, operative)``: the same for EVerest's
  ``ocpp_generic.change_availability`` (evse None = the whole charge point).

Must never: stop a transaction (a change waits for it), or send StatusNotification itself.
"""

from __future__ import annotations

import logging
import sqlite3

from ocpp_bridge.ocpp import evse_events as E
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


class Availability16:
    def __init__(self, ctx: BlockContext[ConfigurationKeys], status: Status16, transactions: Transactions16,
                 db: sqlite3.Connection):
        """``db``: this block's file (``DATABASE_NAME``, ``MIGRATIONS``)."""
        self.core = ctx.core
        self.evse = ctx.evse
        self.count = ctx.evse_count
        self.status = status
        self.tx = transactions
        self.db = db
        self._wanted = {c: True for c in range(self.count + 1)}
        for connector, operative in self.db.execute("SELECT connector, operative FROM availability16"):
            if connector in self._wanted:
                self._wanted[connector] = bool(operative)
        self._pending: set[int] = set()
        for c, operative in self._wanted.items():
            if not operative and c > 0 and self.tx.active(c) is not None:
                self._pending.add(c)  # scheduled before a restart, its transaction still runs
            else:
                self.status.set_operative(c, operative)
        self.core.handle("ChangeAvailability", self._change_availability)
        self.core.events.subscribe(E.EvseReady, self._on_evse_ready)
        self.core.events.subscribe(TxEnded, self._on_tx_ended)

    def operative(self, connector: int) -> bool:
        """The wanted availability of ``connector``."""
        return self._wanted.get(connector, False)

    # ------------------------------------------------------------------ requests
    def change_availability(self, evse: int | None, connector: int | None, operative: bool) -> str:
        """Accepted / Scheduled / Rejected. 1.6 connector ids are EVSE ids; ``connector`` is
        the EVSE's own connector (always 1 in 1.6 layouts)."""
        target = 0 if evse is None else evse
        if not 0 <= target <= self.count or (evse is not None and connector not in (None, 0, 1)):
            return "Rejected"
        return self._change(target, operative)

    def _change_availability(self, payload: dict) -> dict:
        connector = payload["connectorId"]
        if not 0 <= connector <= self.count:
            return {"status": "Rejected"}
        return {"status": self._change(connector, payload["type"] == "Operative")}

    def _change(self, connector: int, operative: bool) -> str:
        targets = range(self.count + 1) if connector == 0 else (connector,)
        scheduled = False
        with transaction(self.db):
            for c in targets:
                self.db.execute("INSERT INTO availability16 (connector, operative) VALUES (?, ?) "
                                "ON CONFLICT (connector) DO UPDATE SET operative = excluded.operative",
                                (c, int(operative)))
        for c in targets:
            self._wanted[c] = operative
            if not operative and c > 0 and self.tx.active(c) is not None:
                self._pending.add(c)
                scheduled = True
                continue
            self._pending.discard(c)
            self._apply(c, operative)
        status = "Scheduled" if scheduled else "Accepted"
        log.info("ChangeAvailability connector %d -> %s: %s", connector,
                 "Operative" if operative else "Inoperative", status)
        return status

    def _apply(self, connector: int, operative: bool) -> None:
        self.status.set_operative(connector, operative)
        if connector > 0:
            def done(ok: bool, c=connector) -> None:
                if not ok:
                    log.warning("EVSE %d did not accept enable=%s", c, operative)
            self.evse.enable_disable(connector, 1, operative, done)

    # ------------------------------------------------------------------ events
    def _on_evse_ready(self, ev: E.EvseReady) -> None:
        if ev.evse in self._wanted and ev.evse not in self._pending:
            self._apply(ev.evse, self._wanted[ev.evse])

    def _on_tx_ended(self, event: TxEnded) -> None:
        evse = event.evse
        if evse in self._pending:
            self._pending.discard(evse)
            log.info("connector %d: transaction over, scheduled availability change applied", evse)
            self._apply(evse, self._wanted[evse])

    def close(self) -> None:
        self.db.close()
