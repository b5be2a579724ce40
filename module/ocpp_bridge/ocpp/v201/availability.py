"""OCPP 2.0.1 availability (functional block G: ChangeAvailability). PURE.

Owns the scopes of 2.0.1 (the station, each EVSE, each connector: ``scope_of``), their file
(``availability201.db``: the status in force and the scheduled changes survive a restart),
how they combine into each connector's effective status, and the ``Available`` variables of
the ChargingStation / EVSE / Connector components. The operative / scheduled model itself
and telling the EVSEs (``enable_disable``) are ``common/availability.py``'s, as in 1.6.

Rules (as libocpp's Availability block, G03/G04):
- An unknown EVSE or connector, or a connector without its EVSE: Rejected.
- Accepted and applied at once when no transaction runs in the addressed scope, when the
  scope is already in the requested state, or when the whole station is made Operative; a
  change scheduled earlier for the same scope is then forgotten.
- Otherwise Scheduled: applied when the scope's last transaction ends. Meanwhile the EVSEs of
  the scope that have no transaction are already Inoperative (no new transaction may start
  there), without that being persisted.
- A firmware installation waiting for transactions (``hold_for_firmware``, the firmware block)
  makes every EVSE without a transaction Inoperative until it is released, not persisted.
- Effective status: a connector is Operative only if the station, its EVSE and itself are
  (and its EVSE is not blocked by a scheduled change or a firmware hold). Every change of a connector's effective
  status is sent to the EVSE (enable_disable) and to the status block; on ``EvseReady`` the
  EVSE is told its current effective status.

Must never: answer for transactions (it asks ``transactions``), send StatusNotification
itself, or read a clock.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Mapping
from typing import Any, Protocol

from ocpp_bridge.ocpp import evse_events as E
from ocpp_bridge.ocpp.common.availability import EvseEnables, OperativeStates
from ocpp_bridge.ocpp.context import BlockContext, Peer
from ocpp_bridge.ocpp.events import TxEnded
from ocpp_bridge.ocpp.v201.device_model import DeviceModel
from ocpp_bridge.ocpp.v201.dm_definitions import VariableKey
from ocpp_bridge.ocpp.v201.status import StatusBlock
from ocpp_bridge.store.database import transaction

log = logging.getLogger("ocpp_bridge.ocpp.v201.availability")

DATABASE_NAME = "availability201"
MIGRATIONS = [
    """
    CREATE TABLE operative (scope TEXT PRIMARY KEY, operative INTEGER NOT NULL);
    CREATE TABLE scheduled (scope TEXT PRIMARY KEY, operative INTEGER NOT NULL);
    """,
]

STATION = "station"


def scope_of(evse: int | None, connector: int | None) -> str:
    if evse is None:
        return STATION
    return f"evse:{evse}" if connector is None else f"connector:{evse}.{connector}"


def _parse(scope: str) -> tuple[int | None, int | None]:
    if scope == STATION:
        return None, None
    kind, _, rest = scope.partition(":")
    if kind == "evse":
        return int(rest), None
    evse, _, connector = rest.partition(".")
    return int(evse), int(connector)


class TransactionsQuery(Protocol):
    """What the availability and reservation blocks ask the transaction block."""

    def active_evses(self) -> set[int]: ...


class AvailabilityFile201:
    """``availability201.db``: the status in force and the scheduled change of each scope."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def load(self) -> tuple[dict[str, bool], dict[str, bool]]:
        return ({s: bool(v) for s, v in self.db.execute("SELECT scope, operative FROM operative")},
                {s: bool(v) for s, v in self.db.execute("SELECT scope, operative FROM scheduled")})

    def write(self, applied: Mapping[str, bool], scheduled: Mapping[str, bool]) -> None:
        with transaction(self.db):
            for scope, operative in applied.items():
                self.db.execute("DELETE FROM scheduled WHERE scope = ?", (scope,))
                self.db.execute("INSERT OR REPLACE INTO operative VALUES (?, ?)", (scope, int(operative)))
            for scope, operative in scheduled.items():
                self.db.execute("INSERT OR REPLACE INTO scheduled VALUES (?, ?)", (scope, int(operative)))


class AvailabilityBlock:
    def __init__(self, ctx: BlockContext[DeviceModel], status: StatusBlock, transactions: Peer[TransactionsQuery],
                 db: sqlite3.Connection):
        """``transactions``: the transaction block (built after this one); ``db``: this block's
        file (``DATABASE_NAME``, ``MIGRATIONS``)."""
        self.core = ctx.core
        self.model = ctx.config
        self.status = status
        self._transactions = transactions
        self.db = db
        self._firmware_hold = False
        self.states: OperativeStates[str] = OperativeStates(AvailabilityFile201(db))
        self.enables = EvseEnables(ctx.evse)
        self.enables.assume(self._effective())  # the EVSEs hear their state on EvseReady
        self.core.handle("ChangeAvailability", self._on_request)
        self.core.events.subscribe(E.EvseReady, self._on_evse_ready)
        self.core.events.subscribe(TxEnded, self._on_tx_ended)
        self._publish()

    # ------------------------------------------------------------------ queries
    def _tx_evses(self) -> set[int]:
        transactions = self._transactions.peek()  # None while the blocks are being built
        return transactions.active_evses() if transactions is not None else set()

    def _scope_evses(self, scope: str) -> list[int]:
        evse, _ = _parse(scope)
        return self.status.evse_ids() if evse is None else [evse]

    def _busy(self, scope: str) -> bool:
        return bool(set(self._scope_evses(scope)) & self._tx_evses())

    def _blocked(self, evse: int) -> bool:
        """A scheduled Inoperative (or a firmware hold) covers this EVSE and it has no transaction to finish."""
        if evse in self._tx_evses():
            return False
        if self._firmware_hold:
            return True
        for scope, operative in self.states.scheduled().items():
            if not operative and evse in self._scope_evses(scope) and _parse(scope)[1] is None:
                return True
        return False

    def station_operative(self) -> bool:
        return self.states.operative(STATION)

    def evse_operative(self, evse: int) -> bool:
        return (self.states.operative(STATION) and self.states.operative(scope_of(evse, None))
                and not self._blocked(evse))

    def connector_operative(self, evse: int, connector: int) -> bool:
        if not self.evse_operative(evse) or not self.states.operative(scope_of(evse, connector)):
            return False
        scheduled = self.states.scheduled_for(scope_of(evse, connector))
        return not (scheduled is False and evse not in self._tx_evses())

    def scheduled(self) -> dict[str, bool]:
        return self.states.scheduled()

    def _effective(self) -> dict[tuple[int, int], bool]:
        return {(evse, c): self.connector_operative(evse, c)
                for evse in self.status.evse_ids() for c in self.status.connector_ids(evse)}

    # ------------------------------------------------------------------ changes
    def _on_request(self, payload: dict[str, Any]) -> dict[str, Any]:
        evse = payload.get("evse") or {}
        status = self.change_availability(evse.get("id"), evse.get("connectorId"),
                                          payload["operationalStatus"] == "Operative")
        return {"status": status}

    def change_availability(self, evse: int | None, connector: int | None, operative: bool) -> str:
        """ChangeAvailability from the CSMS or the bus: Accepted | Scheduled | Rejected.

        ``evse`` None addresses the whole station (then ``connector`` must be None too)."""
        status_block = self.status
        if (evse is None and connector is not None) or (evse is not None and not status_block.has(evse, connector)):
            log.warning("ChangeAvailability for unknown EVSE %s connector %s: Rejected", evse, connector)
            return "Rejected"
        scope = scope_of(evse, connector)
        change = self.states.change([scope], operative,
                                    waits=lambda s: self._busy(s) and not (s == STATION and operative))
        log.info("ChangeAvailability %s %s -> %s", scope, "Operative" if operative else "Inoperative", change.status)
        self._apply_effects()
        return change.status

    def hold_for_firmware(self, on: bool) -> None:
        """A firmware installation waits (on) or no longer waits (off) for the transactions."""
        if on == self._firmware_hold:
            return
        log.info("firmware installation %s: idle EVSEs %s", "pending" if on else "over",
                 "Inoperative" if on else "back to their own state")
        self._firmware_hold = on
        self._apply_effects()

    def _on_tx_ended(self, event: TxEnded) -> None:
        applied = self.states.apply_due(self._busy)
        for scope, operative in applied.items():
            log.info("scheduled availability change applied: %s %s", scope, "Operative" if operative else "Inoperative")
        if applied or self._firmware_hold:
            self._apply_effects()

    def _on_evse_ready(self, event: E.EvseReady) -> None:
        if self.status.has(event.evse):
            self.enables.forget(event.evse)
            self._apply_effects()

    def _apply_effects(self) -> None:
        """Tell EVSEs whose connectors changed effective status; refresh statuses and variables."""
        self.enables.tell(self._effective())
        self._publish()
        self.status.refresh()

    def _publish(self) -> None:
        model = self.model
        updates = [(VariableKey("ChargingStation", "Available"), self.station_operative())]
        for evse in self.status.evse_ids():
            updates.append((VariableKey("EVSE", "Available", evse=evse), self.evse_operative(evse)))
            for c in self.status.connector_ids(evse):
                updates.append((VariableKey("Connector", "Available", evse=evse, connector=c),
                                self.connector_operative(evse, c)))
        for key, value in updates:
            try:
                model.set_internal(key, "true" if value else "false")
            except (KeyError, ValueError) as exc:
                log.warning("cannot record %s.%s: %s", key.component, key.variable, exc)

    def close(self) -> None:
        self.db.close()
