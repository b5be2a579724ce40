"""OCPP 2.0.1 connector status (functional block G, StatusNotification). PURE.

Owns the EVSE/connector layout the other 2.0.1 blocks ask about (``evse_ids``,
``connector_ids``; EVSE ids 1..evse_count, connectors from ``EvseReady``), the per-connector
facts that make up a ConnectorStatus (EV present, reserved, disabled by the EVSE, active
faults), the StatusNotification messages, the ``AvailabilityState`` variables of the
ChargingStation, EVSE and Connector components and ChargingStation.Problem (true while a
connector is Faulted; what GetReport's Problem criterion reads).

Status of a connector (the order libocpp's ComponentStateManager uses):
1. its EVSE or the station is effectively Inoperative (``availability``)  -> Unavailable
2. an active EVSE fault (``EvseFault``)                                    -> Faulted
3. the connector is Inoperative, or the EVSE reported itself Disabled      -> Unavailable
4. an EV is there (SessionStarted with EVConnected, TransactionStarted)    -> Occupied
5. the EVSE is reserved (``ReservationChanged`` or the reservation block)  -> Reserved
6. otherwise                                                               -> Available

When messages go: a changed status is sent while connected and Accepted; after the
BootNotification is Accepted every connector is sent; after a reconnect (no new boot, B04)
every connector is sent when the outage lasted longer than OCPPCommCtrlr.OfflineThreshold
(read at each reconnect), else only the connectors whose status differs from what the CSMS
has. What the CSMS has is what it acknowledged (``common/status_reports.py``, as in 1.6: a
status counts as reported only when its StatusNotification got a CALLRESULT; one still
queued is not queued twice). ``send_one`` serves TriggerMessage. Every change is also told
to the other blocks (``ConnectorStatusChanged``). Every active fault counts (the bus side
forwards only the EVSE's own errors).

Must never: decide availability (it asks ``availability``), send anything but
StatusNotification, or read a clock (``core.now`` only).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Iterable, Protocol

from ocpp_bridge.ocpp import evse_events as E
from ocpp_bridge.ocpp.common.status_reports import StatusReports
from ocpp_bridge.ocpp.context import BlockContext, Peer
from ocpp_bridge.ocpp.events import ConnectionChanged, ConnectorStatusChanged, Registered
from ocpp_bridge.ocpp.timefmt import iso
from ocpp_bridge.ocpp.v201.device_model import DeviceModel
from ocpp_bridge.ocpp.v201.dm_definitions import VariableKey
from ocpp_bridge.ocpp.v201.variables import integer

log = logging.getLogger("ocpp_bridge.ocpp.v201.status")

OFFLINE_THRESHOLD = integer("OCPPCommCtrlr", "OfflineThreshold", 60, unit="s")
VARIABLES = (OFFLINE_THRESHOLD,)

# EVSE / station AvailabilityState from their connectors': the first present wins.
_AGGREGATE = ("Occupied", "Faulted", "Reserved", "Available", "Unavailable")


@dataclass
class _Connector:
    occupied: bool = False
    reserved: bool = False
    disabled: bool = False
    current: str | None = None   # last status computed (ConnectorStatusChanged on change)


class AvailabilityQuery(Protocol):
    """What the status block asks the availability block."""

    def station_operative(self) -> bool: ...

    def evse_operative(self, evse: int) -> bool: ...

    def connector_operative(self, evse: int, connector: int) -> bool: ...


class StatusBlock:
    def __init__(self, ctx: BlockContext[DeviceModel], availability: Peer[AvailabilityQuery]):
        """``availability``: the availability block (built after this one) that decides which
        EVSEs and connectors are operative."""
        self.core = ctx.core
        self.model = ctx.config
        self.evse_count = ctx.evse_count
        self._availability = availability
        self._layout: dict[int, tuple[int, ...]] = {e: (1,) for e in range(1, ctx.evse_count + 1)}
        self._connectors: dict[tuple[int, int], _Connector] = {
            (e, 1): _Connector() for e in self._layout}
        self._faults: dict[int, set[str]] = {e: set() for e in self._layout}
        self.reports: StatusReports[tuple[int, int], str] = StatusReports()
        self.core.events.subscribe_many(E.EVSE_EVENTS, self._on_event)
        self.core.events.subscribe(Registered, lambda _: self.refresh(force=True))
        self.core.events.subscribe(ConnectionChanged, self._on_connected)

    # ------------------------------------------------------------------ layout
    def evse_ids(self) -> list[int]:
        return sorted(self._layout)

    def connector_ids(self, evse: int) -> tuple[int, ...]:
        return self._layout.get(evse, ())

    def has(self, evse: int, connector: int | None = None) -> bool:
        if evse not in self._layout:
            return False
        return connector is None or connector in self._layout[evse]

    def _set_layout(self, evse: int, connectors: tuple[int, ...]) -> None:
        connectors = tuple(sorted(set(connectors))) or (1,)
        if evse not in self._layout:
            log.warning("EVSE %d is beyond the configured %d EVSE(s); ignored", evse, self.evse_count)
            return
        self.model.ensure_evse(evse, list(connectors))
        self._layout[evse] = connectors
        for c in connectors:
            self._connectors.setdefault((evse, c), _Connector())

    # ------------------------------------------------------------------ facts
    def _targets(self, evse: int, connector: int | None) -> list[_Connector]:
        if connector in self.connector_ids(evse):
            return [self._connectors[(evse, connector)]]
        return [self._connectors[(evse, c)] for c in self.connector_ids(evse)]

    def set_reserved(self, evse: int, reserved: bool) -> None:
        for conn in self._targets(evse, None):
            conn.reserved = reserved
        self.refresh(evse)

    def set_occupied(self, evse: int, connector: int) -> None:
        """An EV is there (a session that ran before a restart: the EVSE will not say it again)."""
        if self.has(evse, connector):
            self._connectors[(evse, connector)].occupied = True
            self.refresh(evse)

    def _on_event(self, event: E.EvseEvent) -> None:
        evse = getattr(event, "evse", None)
        if isinstance(event, E.EvseFault) and evse == 0:
            for e in self._layout:
                self._on_event(E.EvseFault(e, event.code, event.active, event.description))
            return
        if evse not in self._layout:
            return
        connector = getattr(event, "connector", None)
        if isinstance(event, E.EvseReady):
            self._set_layout(evse, tuple(event.connectors))
        elif isinstance(event, E.EvseEnabled):
            for conn in self._targets(evse, connector):
                conn.disabled = not event.enabled
        elif isinstance(event, E.SessionStarted):
            if event.reason == "EVConnected":
                for conn in self._targets(evse, connector):
                    conn.occupied = True
        elif isinstance(event, E.TransactionStarted):
            for conn in self._targets(evse, connector):
                conn.occupied = True
        elif isinstance(event, E.SessionFinished):
            for conn in self._targets(evse, connector):
                conn.occupied = False
        elif isinstance(event, E.ReservationChanged):
            for conn in self._targets(evse, None):
                conn.reserved = event.active
        elif isinstance(event, E.EvseFault):
            (self._faults[evse].add if event.active else self._faults[evse].discard)(event.code)
        else:
            return
        self.refresh(evse)

    def _on_connected(self, event: ConnectionChanged) -> None:
        if not event.up:
            self.reports.went_offline(self.core.now)
            return
        self.refresh(force=self.reports.reconnected(self.core.now, self.model.read(OFFLINE_THRESHOLD)))

    # ------------------------------------------------------------------ status
    def status(self, evse: int, connector: int) -> str:
        availability = self._availability.peek()
        conn = self._connectors[(evse, connector)]
        if availability is not None and not availability.evse_operative(evse):
            return "Unavailable"
        if self._faults.get(evse):
            return "Faulted"
        if conn.disabled or (availability is not None and not availability.connector_operative(evse, connector)):
            return "Unavailable"
        if conn.occupied:
            return "Occupied"
        if conn.reserved:
            return "Reserved"
        return "Available"

    def is_occupied(self, evse: int) -> bool:
        return any(c.occupied for c in self._targets(evse, None))

    def _may_send(self) -> bool:
        return self.core.connected and self.core.running and self.core.registration == "Accepted"

    def refresh(self, evse: int | None = None, *, force: bool = False) -> None:
        """Recompute statuses (of ``evse`` or all); send those that changed (all with ``force``)."""
        for e in ([evse] if evse is not None else self.evse_ids()):
            for c in self.connector_ids(e):
                status = self.status(e, c)
                self._set_state(VariableKey("Connector", "AvailabilityState", evse=e, connector=c), status)
                conn = self._connectors[(e, c)]
                if conn.current != status:
                    conn.current = status
                    self.core.events.publish(ConnectorStatusChanged(e, c, status))
                if (force or self.reports.lacks((e, c), status)) and self._may_send():
                    self._send(e, c, status)
            self._set_state(VariableKey("EVSE", "AvailabilityState", evse=e),
                            _aggregate(self.status(e, c) for c in self.connector_ids(e)))
        station = [self.status(e, c) for e in self.evse_ids() for c in self.connector_ids(e)]
        availability = self._availability.peek()
        station_state = ("Unavailable" if availability is not None and not availability.station_operative()
                         else _aggregate(station))
        self._set_state(VariableKey("ChargingStation", "AvailabilityState"), station_state)
        self._set_state(VariableKey("ChargingStation", "Problem"), "true" if "Faulted" in station else "false")

    def send_one(self, evse: int, connector: int) -> bool:
        """TriggerMessage: send this connector's status now (False if unknown)."""
        if not self.has(evse, connector):
            return False
        self._send(evse, connector, self.status(evse, connector))
        return True

    def _send(self, evse: int, connector: int, status: str) -> None:
        payload = {"timestamp": iso(self.core.now), "connectorStatus": status, "evseId": evse,
                   "connectorId": connector}
        done = self.reports.sending((evse, connector), status, f"EVSE {evse} connector {connector} {status}")
        if self.core.call("StatusNotification", payload, done) is not None:
            log.info("EVSE %d connector %d: %s", evse, connector, status)

    def _set_state(self, key: VariableKey, value: str) -> None:
        try:
            self.model.set_internal(key, value)
        except (KeyError, ValueError) as exc:
            log.warning("cannot record %s.%s: %s", key.component, key.variable, exc)


def _aggregate(statuses: Iterable[str]) -> str:
    present = set(statuses)
    return next((s for s in _AGGREGATE if s in present), "Unavailable")
