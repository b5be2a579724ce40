"""OCPP 2.0.1 variable monitoring (N02-N08): monitors on device-model variables -> NotifyEvent. PURE.

Owns the MonitoringCtrlr variables (declared here), the CSMS calls SetVariableMonitoring,
ClearVariableMonitoring, SetMonitoringBase, SetMonitoringLevel and GetMonitoringReport (with
its NotifyMonitoringReport pages), the monitors' runtime state (threshold sides, delta
references, periodic timers on the core's timers) and the NotifyEvent messages when one trips.
Monitors persist in ``monitor_store`` (the block is handed the store); what may be set and when
one trips are ``monitor_rules``.

Rules:
- Values are watched through the device model's listener: a change by SetVariables, by the
  module or by another block trips Threshold / Delta monitors of that variable (Actual only).
- MonitoringCtrlr.Enabled false: no monitor reports (they stay set); SetVariableMonitoring is
  answered Rejected for every item.
- Severity filter (N05): a monitor reports only while its severity <= ActiveMonitoringLevel.
- ``transaction`` monitors report only while a transaction runs (on the component's EVSE, or
  any EVSE for a station-level component); the event carries that transactionId.
- Offline (N07 / N08): an event whose severity <= OfflineQueuingSeverity waits (in memory, at
  most ``WAITING_MAX``, the oldest dropped beyond) for the connection and goes when it is back,
  ``EVENTS_PER_MESSAGE`` eventData a NotifyEvent (seqNo, tbc). A threshold or delta monitor of a
  higher severity is not evaluated while offline but against the value at the reconnect (the
  CSMS never gets a clear of an alert it did not hear); a periodic one's reports are dropped.
- Thresholds remember (in the store) whether the CSMS was told the value is beyond, so a value
  back within after a restart is reported cleared (N07.FR.14); a replaced threshold monitor is
  checked against the new limit (N07.FR.11); a removed one sends no clear (N07.FR.12).
- A monitor on a WriteOnly variable reports an empty actualValue (N07.FR.10).
- SetVariableMonitoring: over ItemsPerMessage[SetVariableMonitoring] (or a payload, as compact
  JSON, over BytesPerMessage[SetVariableMonitoring]) -> CALLERROR OccurrenceConstraintViolation
  / FormatViolation; an id given replaces that monitor, Rejected when there is none, it is of
  another variable or hard-wired (N04.FR.13/16/18); the same variable, type and severity as
  another monitor -> Duplicate (N04.FR.10). The same limits for
  ClearVariableMonitoring; an unknown id -> NotFound.
- SetMonitoringBase: All keeps every monitor; FactoryDefault and HardWiredOnly remove the custom
  ones (this station has no preconfigured or hard-wired monitors); MonitoringBase and
  ActiveMonitoringBase show it. SetMonitoringLevel 0..9 (else Rejected) -> MonitoringLevel,
  ActiveMonitoringLevel.
- GetMonitoringReport: the monitors ``monitor_report`` selects; none -> EmptyResultSet;
  NotifyMonitoringReport pages of ItemsPerMessage[SetVariableMonitoring] variables.

Must never: change a monitored value, or read a clock (``core.now`` only).
"""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from typing import Any

from ocpp_bridge.ocpp.context import BlockContext
from ocpp_bridge.ocpp.errors import FormatViolation, OccurrenceConstraintViolation
from ocpp_bridge.ocpp.events import ConnectionChanged
from ocpp_bridge.ocpp.timefmt import iso
from ocpp_bridge.ocpp.v201 import monitor_report, report_query
from ocpp_bridge.ocpp.v201 import monitor_rules as rules
from ocpp_bridge.ocpp.v201.device_model import DeviceModel, VariableKey
from ocpp_bridge.ocpp.v201.dm_definitions import RO, WO
from ocpp_bridge.ocpp.v201.monitor_store import Monitor, MonitorStore
from ocpp_bridge.ocpp.v201.provisioning import key_from_wire
from ocpp_bridge.ocpp.v201.transactions import TransactionBlock
from ocpp_bridge.ocpp.v201.variables import enabled, fixed, integer, option

log = logging.getLogger("ocpp_bridge.ocpp.v201")

MON = "MonitoringCtrlr"
BASES = "All,FactoryDefault,HardWiredOnly"
MONITORING_ENABLED = enabled(MON, True)
ITEMS_SET = fixed(MON, "ItemsPerMessage", 100, instance="SetVariableMonitoring", min_limit=1)
ITEMS_CLEAR = fixed(MON, "ItemsPerMessage", 100, instance="ClearVariableMonitoring", min_limit=1)
BYTES_SET = fixed(MON, "BytesPerMessage", 65536, instance="SetVariableMonitoring", min_limit=1)
BYTES_CLEAR = fixed(MON, "BytesPerMessage", 65536, instance="ClearVariableMonitoring", min_limit=1)
OFFLINE_QUEUING_SEVERITY = integer(MON, "OfflineQueuingSeverity", 2, max_limit=9)
MONITORING_BASE = option(MON, "MonitoringBase", "All", values_list=BASES, mutability=RO)
MONITORING_LEVEL = integer(MON, "MonitoringLevel", 9, mutability=RO, max_limit=9)
ACTIVE_MONITORING_BASE = option(MON, "ActiveMonitoringBase", "All", values_list=BASES, mutability=RO)
ACTIVE_MONITORING_LEVEL = integer(MON, "ActiveMonitoringLevel", 9, mutability=RO, max_limit=9)
VARIABLES = (MONITORING_ENABLED, ITEMS_SET, ITEMS_CLEAR, BYTES_SET, BYTES_CLEAR, OFFLINE_QUEUING_SEVERITY,
             MONITORING_BASE, MONITORING_LEVEL, ACTIVE_MONITORING_BASE, ACTIVE_MONITORING_LEVEL)

EVENT_ID_BLOCK = 100  # eventIds reserved per write of the counter
WAITING_MAX = 1000    # monitor events kept while offline (the oldest go first beyond it)
EVENTS_PER_MESSAGE = 50  # eventData per NotifyEvent (seqNo / tbc when more)

def _same_variable(a: VariableKey, b: VariableKey) -> bool:
    return report_query.component_of(a) == report_query.component_of(b) and \
        a.variable.casefold() == b.variable.casefold() and \
        (a.variable_instance or "").casefold() == (b.variable_instance or "").casefold()


class MonitoringBlock:
    def __init__(self, ctx: BlockContext[DeviceModel], store: MonitorStore, transactions: TransactionBlock) -> None:
        self.core = ctx.core
        self.model = ctx.config
        self.store = store
        self.transactions = transactions
        self._monitors: dict[int, Monitor] = {}
        self._state: dict[int, rules.ThresholdState | rules.DeltaState] = {}
        self._waiting: list[dict[str, Any]] = []   # eventData held while offline
        self._event_ids: range = range(0)             # eventIds reserved, not used yet
        for monitor in store.load():
            self._arm(monitor)
        for action, fn in (("SetVariableMonitoring", self._on_set), ("ClearVariableMonitoring", self._on_clear),
                           ("SetMonitoringBase", self._on_base), ("SetMonitoringLevel", self._on_level),
                           ("GetMonitoringReport", self._on_report)):
            self.core.handle(action, fn)
        self.model.add_listener(self._on_value)
        self.core.events.subscribe(ConnectionChanged, self._on_connection)

    def close(self) -> None:
        self.store.close()

    # ------------------------------------------------------------------ monitors
    def monitors(self) -> list[Monitor]:
        return sorted(self._monitors.values(), key=lambda m: m.id)

    def _current(self, key: VariableKey) -> str | None:
        """The variable's Actual value (WriteOnly ones too: compared here, never reported)."""
        try:
            return self.model.value(key.component, key.variable, component_instance=key.component_instance,
                                    variable_instance=key.variable_instance, evse=key.evse, connector=key.connector)
        except KeyError:
            return None

    def _arm(self, monitor: Monitor) -> None:
        """Start watching: a threshold monitor is checked against the value now (a set one, or one
        loaded after a restart whose value went back: N07.FR.11, N07.FR.14)."""
        self._monitors[monitor.id] = monitor
        current = self._current(monitor.key)
        if monitor.type in rules.THRESHOLDS:
            self._state[monitor.id] = rules.ThresholdState(monitor.type == "UpperThreshold", monitor.value,
                                                           monitor.tripped)
            self._step(monitor, current)
        elif monitor.type == "Delta":
            _, _, definition = self.model.describe(monitor.key)
            numeric = definition is not None and definition.data_type in rules.NUMERIC
            self._state[monitor.id] = rules.DeltaState(numeric, monitor.value, current)
        else:
            self._schedule(monitor)

    def _disarm(self, monitor_id: int) -> None:
        self._monitors.pop(monitor_id, None)
        self._state.pop(monitor_id, None)
        self.core.timers.cancel(f"monitor-{monitor_id}")

    def _schedule(self, monitor: Monitor) -> None:
        due = rules.next_periodic(monitor.type, monitor.value, self.core.now)
        self.core.timers.set(f"monitor-{monitor.id}", due, lambda: self._periodic(monitor.id))

    def _periodic(self, monitor_id: int) -> None:
        monitor = self._monitors.get(monitor_id)
        if monitor is None:
            return
        self._schedule(monitor)
        self._raise(monitor, "Periodic", self._current(monitor.key), cleared=None)

    def _on_value(self, key: VariableKey, attribute: str, value: str) -> None:
        if attribute != "Actual":
            return
        for monitor in self.monitors():
            if monitor.type not in rules.PERIODIC and _same_variable(monitor.key, key):
                self._step(monitor, value)

    def _step(self, monitor: Monitor, value: str | None) -> None:
        state = self._state.get(monitor.id)
        if state is None or self._deferred(monitor):
            return
        if isinstance(state, rules.ThresholdState):
            side = state.step(value)
            if side is not None:
                self.store.set_tripped(monitor.id, side)
                self._monitors[monitor.id] = replace(monitor, tripped=side)
                self._raise(monitor, "Alerting", value, cleared=not side)
        elif state.step(value):
            self._raise(monitor, "Delta", value, cleared=None)

    def _deferred(self, monitor: Monitor) -> bool:
        """Offline, a threshold or delta monitor whose events would not be queued is not evaluated
        until the connection is back (then against the value of that moment), so the CSMS never
        gets a clear of an alert it was not told of."""
        return not self.core.connected and monitor.severity > self.model.read(OFFLINE_QUEUING_SEVERITY)

    # ------------------------------------------------------------------ events
    def _transaction_id(self, monitor: Monitor) -> tuple[bool, str | None]:
        """(may report, transactionId) for a monitor's transaction flag."""
        evses = [monitor.key.evse] if monitor.key.evse is not None else sorted(self.transactions.active_evses())
        for evse in evses:
            tx = self.transactions.on_evse(evse)
            if tx is not None:
                return True, tx.transaction_id
        return not monitor.transaction, None

    def _raise(self, monitor: Monitor, trigger: str, value: str | None, *, cleared: bool | None) -> None:
        if not self.model.read(MONITORING_ENABLED):
            return
        if monitor.severity > self.model.read(ACTIVE_MONITORING_LEVEL):
            return
        may, transaction_id = self._transaction_id(monitor)
        if not may:
            return
        data: dict[str, Any] = {
            "eventId": self._event_id(), "timestamp": iso(self.core.now), "trigger": trigger,
            "actualValue": "" if self._write_only(monitor.key) else (value or "")[:2500],
            "eventNotificationType": monitor.origin,
            "variableMonitoringId": monitor.id, "component": monitor_report.wire_component(monitor.key),
            "variable": monitor_report.wire_variable(monitor.key)}
        if cleared:
            data["cleared"] = True
        if monitor.transaction and transaction_id is not None:
            data["transactionId"] = transaction_id
        log.info("monitor %d (%s) on %s.%s: %s %r", monitor.id, monitor.type, monitor.key.component,
                 monitor.key.variable, trigger, value)
        if not self.core.connected:
            if monitor.severity <= self.model.read(OFFLINE_QUEUING_SEVERITY):
                self._waiting.append(data)
                if len(self._waiting) > WAITING_MAX:
                    dropped = self._waiting.pop(0)
                    log.warning("offline: more than %d monitor events waiting; event %d dropped", WAITING_MAX,
                                dropped["eventId"])
            else:
                log.info("offline: monitor event %d dropped (severity %d > OfflineQueuingSeverity)",
                         data["eventId"], monitor.severity)
            return
        self._send([data])

    def _write_only(self, key: VariableKey) -> bool:
        _, _, definition = self.model.describe(key)
        return definition is not None and any(a.mutability == WO for a in definition.attributes)

    def _event_id(self) -> int:
        if not self._event_ids:
            first = self.store.reserve_event_ids(EVENT_ID_BLOCK)
            self._event_ids = range(first, first + EVENT_ID_BLOCK)
        event_id, self._event_ids = self._event_ids[0], self._event_ids[1:]
        return event_id

    def _send(self, events: list[dict[str, Any]]) -> None:
        pages = [events[i:i + EVENTS_PER_MESSAGE] for i in range(0, len(events), EVENTS_PER_MESSAGE)]
        for seq_no, page in enumerate(pages):
            self.core.call("NotifyEvent", {"generatedAt": iso(self.core.now), "seqNo": seq_no,
                                           "tbc": seq_no < len(pages) - 1, "eventData": page})

    def _on_connection(self, event: ConnectionChanged) -> None:
        if not event.up:
            return
        if self._waiting:
            waiting, self._waiting = self._waiting, []
            self._send(waiting)
        for monitor in self.monitors():   # what was deferred while offline
            if monitor.type not in rules.PERIODIC:
                self._step(monitor, self._current(monitor.key))

    # ------------------------------------------------------------------ CSMS requests
    def _limit(self, payload: dict[str, Any], items: int, item_limit: int, byte_limit: int, what: str) -> None:
        if items > item_limit:
            raise OccurrenceConstraintViolation(f"{items} items exceed ItemsPerMessage[{what}]={item_limit}")
        size = len(json.dumps(payload, separators=(",", ":")).encode())
        if size > byte_limit:
            raise FormatViolation(f"{size} bytes exceed BytesPerMessage[{what}]={byte_limit}")

    def _on_set(self, payload: dict[str, Any]) -> dict[str, Any]:
        data = payload["setMonitoringData"]
        self._limit(payload, len(data), self.model.read(ITEMS_SET), self.model.read(BYTES_SET),
                    "SetVariableMonitoring")
        results = [self._set_one(item) for item in data]
        return {"setMonitoringResult": results}

    def _set_one(self, item: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = {"type": item["type"], "severity": item["severity"],
                                  "component": item["component"], "variable": item["variable"]}
        status, key, definition = self.model.describe(key_from_wire(item["component"], item["variable"]))
        wanted_id = item.get("id")
        if not self.model.read(MONITORING_ENABLED):
            status = "Rejected"
        elif key is None or definition is None:
            pass  # UnknownComponent / UnknownVariable
        elif wanted_id is not None and (wanted_id not in self._monitors
                                        or not _same_variable(self._monitors[wanted_id].key, key)
                                        or self._monitors[wanted_id].origin == "HardWiredMonitor"):
            status = "Rejected"   # N04.FR.13 no such monitor, .16 another variable, .18 hard-wired
        else:
            status = rules.refusal(definition, item["type"], float(item["value"]), item["severity"]) or "Accepted"
            if status == "Accepted" and any(
                    m.id != wanted_id and _same_variable(m.key, key) and m.type == item["type"]
                    and m.severity == item["severity"] for m in self._monitors.values()):
                status = "Duplicate"
        if status == "Accepted" and key is not None:
            old = self._monitors.get(wanted_id) if wanted_id is not None else None
            monitor = Monitor(wanted_id if wanted_id is not None else self.store.next_id(), key, item["type"],
                              float(item["value"]), item["severity"], bool(item.get("transaction", False)),
                              tripped=old is not None and old.type == item["type"] and old.tripped)
            self._disarm(monitor.id)
            self.store.put(monitor)
            self._arm(monitor)
            result["id"] = monitor.id
        log.info("SetVariableMonitoring %s.%s %s %s severity %s -> %s", item["component"].get("name"),
                 item["variable"].get("name"), item["type"], item["value"], item["severity"], status)
        result["status"] = status
        return result

    def _on_clear(self, payload: dict[str, Any]) -> dict[str, Any]:
        ids = payload["id"]
        self._limit(payload, len(ids), self.model.read(ITEMS_CLEAR), self.model.read(BYTES_CLEAR),
                    "ClearVariableMonitoring")
        results = []
        for monitor_id in ids:
            monitor = self._monitors.get(monitor_id)
            if monitor is None:
                status = "NotFound"
            elif monitor.origin == "HardWiredMonitor":
                status = "Rejected"
            else:
                self._disarm(monitor_id)
                self.store.remove(monitor_id)
                status = "Accepted"
            results.append({"id": monitor_id, "status": status})
        log.info("ClearVariableMonitoring %s -> %s", ids, [r["status"] for r in results])
        return {"clearMonitoringResult": results}

    def _on_base(self, payload: dict[str, Any]) -> dict[str, Any]:
        base = payload["monitoringBase"]
        if base in ("FactoryDefault", "HardWiredOnly"):
            for monitor in self.monitors():
                if monitor.origin == "CustomMonitor":
                    self._disarm(monitor.id)
            removed = self.store.remove_custom()
            log.info("SetMonitoringBase %s: %d custom monitor(s) removed", base, removed)
        for var in (MONITORING_BASE, ACTIVE_MONITORING_BASE):
            self.model.set_internal(VariableKey(MON, var.name), base)
        return {"status": "Accepted"}

    def _on_level(self, payload: dict[str, Any]) -> dict[str, Any]:
        severity = payload["severity"]
        if not 0 <= severity <= 9:
            log.warning("SetMonitoringLevel %s: not a severity (0..9): Rejected", severity)
            return {"status": "Rejected"}
        log.info("SetMonitoringLevel %d", severity)
        for var in (MONITORING_LEVEL, ACTIVE_MONITORING_LEVEL):
            self.model.set_internal(VariableKey(MON, var.name), str(severity))
        return {"status": "Accepted"}

    def _on_report(self, payload: dict[str, Any]) -> dict[str, Any]:
        entries = monitor_report.select(self.monitors(), payload.get("componentVariable") or [],
                                        payload.get("monitoringCriteria") or [])
        if not entries:
            return {"status": "EmptyResultSet"}
        per = self.model.read(ITEMS_SET)
        chunks = [entries[i:i + per] for i in range(0, len(entries), per)]
        for seq_no, chunk in enumerate(chunks):
            self.core.call("NotifyMonitoringReport", {
                "requestId": payload["requestId"], "tbc": seq_no < len(chunks) - 1, "seqNo": seq_no,
                "generatedAt": iso(self.core.now), "monitor": chunk})
        return {"status": "Accepted"}
