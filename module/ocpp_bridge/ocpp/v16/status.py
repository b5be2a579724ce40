"""OCPP 1.6 StatusNotification: each connector's status and error code. PURE.

Owns the status the CSMS is told for connector 0 (the whole charge point) and each
connector (connectorId == EVSE id, one connector per EVSE), computed from:
- the session, following the EVSE's events: SessionStarted -> Preparing, transaction
  started (our own ``TxStarted``, so StartTransaction is queued first, as in
  libocpp) -> Charging, ChargingStateChanged -> Charging / SuspendedEV / SuspendedEVSE,
  TransactionFinished -> Finishing (before StopTransaction is queued), SessionFinished and
  PluginTimeout -> Available;
- reservations (ReservationChanged, or the reservation block) -> Reserved when idle;
- availability: Unavailable while the CSMS made it Inoperative (availability block) or the
  EVSE reports itself disabled;
- faults (``EvseFault``): every raised error sets the error code (EVerest's map: the MREC
  errors -> their 1.6 code with vendorId "https://chargex.inl.gov" and vendorErrorCode
  CXnnn, powermeter/CommunicationFault -> PowerMeterFailure, anything else -> OtherError
  with vendorErrorCode = the error type); only ``evse_manager/Inoperative`` makes the
  connector Faulted. EVSE 0 faults belong to connector 0.

Rules: a notification goes when (status, error) changes; with MinimumStatusDuration > 0 only
once the new value has held that long (a change that is undone in time is never sent).
Nothing is sent before BootNotification is Accepted; every (re)registration, and every
reconnection while registered, sends all connectors again (MicroOcpp #178; 1.6 has no
OfflineThreshold). What the CSMS has is what it acknowledged (``common/status_reports.py``, as
in 2.0.1: a status counts as reported only when its StatusNotification got a CALLRESULT).
TriggerMessage sends the current value at once.

Must never: send anything but StatusNotification, ask the EVSEs for anything, or persist
state (availability and reservations persist in their own blocks).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Callable

from ocpp_bridge.ocpp import evse_events as E
from ocpp_bridge.ocpp.common.status_reports import StatusReports
from ocpp_bridge.ocpp.context import BlockContext
from ocpp_bridge.ocpp.events import ConnectionChanged, Registered, TxStarted
from ocpp_bridge.ocpp.timefmt import iso
from ocpp_bridge.ocpp.v16.configuration import ConfigurationKeys
from ocpp_bridge.ocpp.v16.keys import integer

log = logging.getLogger("ocpp_bridge.ocpp.v16.status")

MINIMUM_STATUS_DURATION = integer("MinimumStatusDuration", 0)
KEYS = (MINIMUM_STATUS_DURATION,)

MREC_VENDOR_ID = "https://chargex.inl.gov"
INOPERATIVE_ERROR = "evse_manager/Inoperative"
TIMER = "status16-{}"

# EVerest error type -> (1.6 ChargePointErrorCode, MREC vendorErrorCode)
MREC_ERRORS: dict[str, tuple[str, str]] = {
    "connector_lock/MREC1ConnectorLockFailure": ("ConnectorLockFailure", "CX001"),
    "evse_board_support/MREC2GroundFailure": ("GroundFailure", "CX002"),
    "evse_board_support/MREC3HighTemperature": ("HighTemperature", "CX003"),
    "evse_board_support/MREC4OverCurrentFailure": ("OverCurrentFailure", "CX004"),
    "evse_board_support/MREC5OverVoltage": ("OverVoltage", "CX005"),
    "evse_board_support/MREC6UnderVoltage": ("UnderVoltage", "CX006"),
    "evse_board_support/MREC8EmergencyStop": ("OtherError", "CX008"),
    "evse_board_support/MREC10InvalidVehicleMode": ("OtherError", "CX010"),
    "evse_board_support/MREC14PilotFault": ("OtherError", "CX014"),
    "evse_board_support/MREC15PowerLoss": ("OtherError", "CX015"),
    "evse_board_support/MREC17EVSEContactorFault": ("OtherError", "CX017"),
    "evse_board_support/MREC18CableOverTempDerate": ("OtherError", "CX018"),
    "evse_board_support/MREC19CableOverTempStop": ("OtherError", "CX019"),
    "evse_board_support/MREC20PartialInsertion": ("OtherError", "CX020"),
    "evse_board_support/MREC23ProximityFault": ("OtherError", "CX023"),
    "evse_board_support/MREC24ConnectorVoltageHigh": ("OtherError", "CX024"),
    "evse_board_support/MREC25BrokenLatch": ("OtherError", "CX025"),
    "evse_board_support/MREC26CutCable": ("OtherError", "CX026"),
    "evse_manager/MREC4OverCurrentFailure": ("OverCurrentFailure", "CX004"),
    "ac_rcd/MREC2GroundFailure": ("GroundFailure", "CX002"),
    "evse_manager/MREC22ResistanceFault": ("OtherError", "CX022"),
    "evse_manager/MREC11CableCheckFault": ("OtherError", "CX011"),
    "evse_manager/MREC5OverVoltage": ("OverVoltage", "CX005"),
}
OCPP_ERRORS = {"powermeter/CommunicationFault": "PowerMeterFailure"}

_SESSION_STATES = frozenset({"Charging", "SuspendedEV", "SuspendedEVSE"})

# what one StatusNotification reports: status, errorCode, info, vendorId, vendorErrorCode
Report = tuple[str, str, str | None, str | None, str | None]


@dataclass(frozen=True)
class Fault:
    """What one raised error contributes to a StatusNotification."""

    error_code: str
    faulted: bool = False
    info: str | None = None
    vendor_id: str | None = None
    vendor_error_code: str | None = None


def fault_of(error_type: str, description: str = "") -> Fault:
    """EVerest error type -> the 1.6 error report (EVerest OCPP module's mapping)."""
    for name, (code, cx) in MREC_ERRORS.items():
        if name in error_type:
            return Fault(code, vendor_id=MREC_VENDOR_ID, vendor_error_code=cx)
    for name, code in OCPP_ERRORS.items():
        if name in error_type:
            return Fault(code)
    if error_type == INOPERATIVE_ERROR:
        return Fault("OtherError", faulted=True, info=_cut(f"caused_by:{description}", 50),
                     vendor_error_code=_cut(error_type, 50))
    simple = error_type.split("/", 1)[1] if "/" in error_type.rstrip("/") else error_type
    return Fault("OtherError", info=_cut(description, 50), vendor_error_code=_cut(simple, 50))


@dataclass
class _Connector:
    session: str = "Available"
    reserved: bool = False
    operative: bool = True
    enabled: bool = True
    faults: dict[str, Fault] = field(default_factory=dict)  # error type -> fault, in raise order


class Status16:
    def __init__(self, ctx: BlockContext[ConfigurationKeys], *, open_session: Callable[[int], str | None]):
        """``open_session(evse)``: the session id of the transaction open on ``evse`` (the
        transactions block's answer; asked only when a session is resumed after a restart)."""
        self.core = ctx.core
        self.keys = ctx.config
        self.count = ctx.evse_count
        self._open_session = open_session
        self._c = {c: _Connector() for c in range(self.count + 1)}
        self.reports: StatusReports[int, Report] = StatusReports()
        self._since: dict[int, float] = {}
        self.core.events.subscribe_many(E.EVSE_EVENTS, self._on_evse)
        self.core.events.subscribe(TxStarted, self._on_tx_started)
        self.core.events.subscribe(Registered, lambda _: self.send_all())
        self.core.events.subscribe(ConnectionChanged, self._on_connected)

    # ------------------------------------------------------------------ what others ask
    def status(self, connector: int) -> str:
        c = self._c[connector]
        if any(f.faulted for f in c.faults.values()):
            return "Faulted"
        if not (c.operative and c.enabled):
            return "Unavailable"
        if c.session == "Available" and c.reserved:
            return "Reserved"
        return c.session

    def set_operative(self, connector: int, operative: bool) -> None:
        self._update(connector, operative=operative)

    def set_reserved(self, connector: int, reserved: bool) -> None:
        self._update(connector, reserved=reserved)

    def trigger(self, connector: int | None) -> None:
        """TriggerMessage: the current value of ``connector`` (None: every connector, 0 first)."""
        for c in (range(self.count + 1) if connector is None else (connector,)):
            self._send(c)

    def send_all(self) -> None:
        for c in range(self.count + 1):
            self.core.timers.cancel(TIMER.format(c))
            self._send(c)

    def report_local_list_conflict(self) -> None:
        """1.6 3.5.3: the CSMS's answer contradicts the local list -> connector 0, LocalListConflict."""
        if self.core.registration == "Accepted":
            payload = {"connectorId": 0, "errorCode": "LocalListConflict", "status": self.status(0),
                       "timestamp": iso(self.core.now)}
            self.core.call("StatusNotification", payload)

    # ------------------------------------------------------------------ events
    def _on_connected(self, event: ConnectionChanged) -> None:
        if not event.up:
            self.reports.went_offline(self.core.now)
        elif self.reports.reconnected(self.core.now, offline_threshold=None) and self.core.registration == "Accepted":
            self.send_all()

    def _on_tx_started(self, event: TxStarted) -> None:
        self._update(event.evse, session="Charging")

    def _on_evse(self, ev: E.EvseEvent) -> None:
        evse = getattr(ev, "evse", None)
        if evse not in self._c:
            return
        if isinstance(ev, E.EvseEnabled):
            self._update(evse, enabled=ev.enabled)
        elif isinstance(ev, E.SessionStarted):
            self._update(evse, session="Preparing")
        elif isinstance(ev, E.SessionResumed):
            self._update(evse, session="Charging" if self._resumes_transaction(ev) else "Preparing")
        elif isinstance(ev, E.ChargingStateChanged) and ev.state in _SESSION_STATES:
            self._update(evse, session=ev.state)
        elif isinstance(ev, E.TransactionFinished):
            self._update(evse, session="Finishing")
        elif isinstance(ev, (E.SessionFinished, E.PluginTimeout)):
            self._update(evse, session="Available")
        elif isinstance(ev, E.ReservationChanged):
            self._update(evse, reserved=ev.active)
        elif isinstance(ev, E.EvseFault):
            faults = dict(self._c[evse].faults)
            faults.pop(ev.code, None)
            if ev.active:
                faults[ev.code] = fault_of(ev.code, ev.description)
            self._update(evse, faults=faults)

    def _resumes_transaction(self, ev: E.SessionResumed) -> bool:
        """After a restart: does the resumed session carry a transaction we still hold open?"""
        return self._open_session(ev.evse) == ev.session_id

    # ------------------------------------------------------------------ sending
    def _report(self, connector: int) -> Report:
        c = self._c[connector]
        fault = next(reversed(c.faults.values()), None) if c.faults else None
        if fault is None:
            return (self.status(connector), "NoError", None, None, None)
        return (self.status(connector), fault.error_code, fault.info, fault.vendor_id, fault.vendor_error_code)

    def _update(self, connector: int, **changes: Any) -> None:
        if connector not in self._c:
            return
        before = self._report(connector)
        for name, value in changes.items():
            setattr(self._c[connector], name, value)
        now = self._report(connector)
        if now == before:
            return
        self._since[connector] = self.core.now
        log.info("connector %d: %s/%s (was %s/%s)", connector, now[0], now[1], before[0], before[1])
        timer = TIMER.format(connector)
        if not self.reports.lacks(connector, now):
            self.core.timers.cancel(timer)  # back to what the CSMS already knows
            return
        delay = self.keys.read(MINIMUM_STATUS_DURATION)
        if delay > 0:
            self.core.timers.set(timer, self.core.now + delay, lambda: self._send_if_changed(connector))
        else:
            self._send(connector)

    def _send_if_changed(self, connector: int) -> None:
        if self.reports.lacks(connector, self._report(connector)):
            self._send(connector)

    def _send(self, connector: int) -> None:
        if not self.core.may_report() or not self.core.connected:
            return  # sent in full at the next registration / reconnection
        report = self._report(connector)
        status, code, info, vendor_id, vendor_code = report
        payload = {"connectorId": connector, "errorCode": code, "status": status,
                   "timestamp": iso(self._since.get(connector, self.core.now))}
        if info:
            payload["info"] = info
        if vendor_id:
            payload["vendorId"] = vendor_id
        if vendor_code:
            payload["vendorErrorCode"] = vendor_code
        done = self.reports.sending(connector, report, f"connector {connector} {status}/{code}")
        self.core.call("StatusNotification", payload, done)


def _cut(text: str | None, n: int) -> str | None:
    return text[:n] if text else None
