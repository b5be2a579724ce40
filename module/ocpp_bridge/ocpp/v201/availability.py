"""OCPP 2.0.1 availability (functional block G: ChangeAvailability). PURE.

Owns the operational status (Operative / Inoperative) the CSMS or the module set for the
station, each EVSE and each connector, the changes Scheduled until a transaction ends, their
persistence (``availability201.db``: both survive a restart), the ``Available`` variables of
the ChargingStation / EVSE / Connector components, and what the EVSEs are told
(``evse_port.enable_disable``).

Rules (as libocpp's Availability block, G03/G04):
- An unknown EVSE or connector, or a connector without its EVSE: Rejected.
- Accepted and applied at once when no transaction runs in the addressed scope, when the
  scope is already in the requested state, or when the whole station is made Operative; a
  change scheduled earlier for the same scope is then forgotten.
- Otherwise Scheduled: applied when the scope's last transaction ends. Meanwhile the EVSEs of
  the scope that have no transaction are already Inoperative (no new transaction may start
  there), without that being persisted.
- Effective status: a connector is Operative only if the station, its EVSE and itself are
  (and its EVSE is not blocked by a scheduled change). Every change of a connector's effective
  status is sent to the EVSE (enable_disable) and to the status block; on ``EvseReady`` the
  EVSE is told its current effective status.

Must never: answer for transactions (it asks ``transactions``), send StatusNotification
itself, or read a clock.
"""

from __future__ import annotations

import logging
import sqlite3
from typing import TYPE_CHECKING

from ocpp_bridge.ocpp import evse_events as E
from ocpp_bridge.ocpp.context import BlockContext, Later
from ocpp_bridge.ocpp.events import TxEnded
from ocpp_bridge.ocpp.v201.device_model import DeviceModel, VariableKey
from ocpp_bridge.ocpp.v201.status import StatusBlock
from ocpp_bridge.store.database import transaction

if TYPE_CHECKING:
    from ocpp_bridge.ocpp.v201.transactions import TransactionBlock

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


class AvailabilityBlock:
    def __init__(self, ctx: BlockContext[DeviceModel], status: StatusBlock, transactions: Later[TransactionBlock],
                 db: sqlite3.Connection):
        """``transactions``: the transaction block (built after this one); ``db``: this block's
        file (``DATABASE_NAME``, ``MIGRATIONS``)."""
        self.core = ctx.core
        self.model = ctx.config
        self.evse = ctx.evse
        self.status = status
        self._transactions = transactions
        self.db = db
        self._operative = {s: bool(v) for s, v in self.db.execute("SELECT scope, operative FROM operative")}
        self._scheduled = {s: bool(v) for s, v in self.db.execute("SELECT scope, operative FROM scheduled")}
        self._told: dict[tuple[int, int], bool] = {}  # what each connector's EVSE was last told
        for evse in status.evse_ids():  # the EVSEs hear their state on EvseReady
            for c in status.connector_ids(evse):
                self._told[(evse, c)] = self.connector_operative(evse, c)
        self.core.handle("ChangeAvailability", self._on_request)
        self.core.events.subscribe(E.EvseReady, self._on_evse_ready)
        self.core.events.subscribe(TxEnded, self._on_tx_ended)
        self._publish()

    # ------------------------------------------------------------------ queries
    def _individual(self, scope: str) -> bool:
        return self._operative.get(scope, True)

    def _tx_evses(self) -> set[int]:
        transactions = self._transactions.peek()  # None while the blocks are being built
        return transactions.active_evses() if transactions is not None else set()

    def _scope_evses(self, scope: str) -> list[int]:
        evse, _ = _parse(scope)
        return self.status.evse_ids() if evse is None else [evse]

    def _blocked(self, evse: int) -> bool:
        """A scheduled Inoperative covers this EVSE and it has no transaction to finish."""
        if evse in self._tx_evses():
            return False
        for scope, operative in self._scheduled.items():
            if not operative and evse in self._scope_evses(scope) and _parse(scope)[1] is None:
                return True
        return False

    def station_operative(self) -> bool:
        return self._individual(STATION)

    def evse_operative(self, evse: int) -> bool:
        return (self._individual(STATION) and self._individual(scope_of(evse, None))
                and not self._blocked(evse))

    def connector_operative(self, evse: int, connector: int) -> bool:
        if not self.evse_operative(evse) or not self._individual(scope_of(evse, connector)):
            return False
        scheduled = self._scheduled.get(scope_of(evse, connector))
        return not (scheduled is False and evse not in self._tx_evses())

    def scheduled(self) -> dict[str, bool]:
        return dict(self._scheduled)

    # ------------------------------------------------------------------ changes
    def _on_request(self, payload: dict) -> dict:
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
        busy = bool(set(self._scope_evses(scope)) & self._tx_evses())
        already = self._individual(scope) == operative
        with transaction(self.db):
            if not busy or already or (scope == STATION and operative):
                self._scheduled.pop(scope, None)
                self.db.execute("DELETE FROM scheduled WHERE scope = ?", (scope,))
                self._operative[scope] = operative
                self.db.execute("INSERT OR REPLACE INTO operative VALUES (?, ?)", (scope, int(operative)))
                result = "Accepted"
            else:
                self._scheduled[scope] = operative
                self.db.execute("INSERT OR REPLACE INTO scheduled VALUES (?, ?)", (scope, int(operative)))
                result = "Scheduled"
        log.info("ChangeAvailability %s %s -> %s", scope, "Operative" if operative else "Inoperative", result)
        self._apply_effects()
        return result

    def _on_tx_ended(self, event: TxEnded) -> None:
        busy = self._tx_evses()
        due = [s for s in self._scheduled if not set(self._scope_evses(s)) & busy]
        if not due:
            return
        with transaction(self.db):
            for scope in due:
                operative = self._scheduled.pop(scope)
                self._operative[scope] = operative
                self.db.execute("DELETE FROM scheduled WHERE scope = ?", (scope,))
                self.db.execute("INSERT OR REPLACE INTO operative VALUES (?, ?)", (scope, int(operative)))
                log.info("scheduled availability change applied: %s %s", scope,
                         "Operative" if operative else "Inoperative")
        self._apply_effects()

    def _on_evse_ready(self, event: E.EvseReady) -> None:
        if self.status.has(event.evse):
            for c in self.status.connector_ids(event.evse):
                self._told.pop((event.evse, c), None)
            self._apply_effects()

    def _apply_effects(self) -> None:
        """Tell EVSEs whose connectors changed effective status; refresh statuses and variables."""
        port = self.evse
        for evse in self.status.evse_ids():
            for c in self.status.connector_ids(evse):
                effective = self.connector_operative(evse, c)
                if self._told.get((evse, c)) != effective:
                    self._told[(evse, c)] = effective
                    port.enable_disable(evse, c, effective, self._enable_done(evse, c, effective))
        self._publish()
        self.status.refresh()

    def _enable_done(self, evse: int, connector: int, enable: bool):
        def done(ok: bool) -> None:
            if not ok:
                log.warning("EVSE %d connector %d did not accept %s", evse, connector,
                            "enable" if enable else "disable")
        return done

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
