"""``ocpp_generic``: EVerest's ``ocpp`` interface, for either OCPP version.

Owns the commands other modules call (stop, restart, get/set/monitor_variables,
change_availability, security_event) and the variables we publish for them
(is_connected, boot_notification_response, security_event, event_data, and
charging_schedules through ``impls/charging_schedules.py``, which also hands each schedule to
the ``evse_energy_sink`` connections), mapped the way EVerest's own OCPP
modules do (spec/everest.md §3).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from ocpp_bridge.impls import Implementation
from ocpp_bridge.impls.charging_schedules import EnergySinks, SchedulePublisher
from ocpp_bridge.impls.shapes import security_event_value
from ocpp_bridge.ocpp.events import (
    BootAnswered,
    ConfigurationChanged,
    ConnectionChanged,
    SecurityEventRaised,
    TxAnswered,
    TxEnded,
    TxStarted,
    TxUpdated,
)
from ocpp_bridge.ocpp.security_events import send_security_event
from ocpp_bridge.ocpp.timefmt import iso

if TYPE_CHECKING:
    from ocpp_bridge.impls.variables16 import Variables16
    from ocpp_bridge.impls.variables201 import Variables201

log = logging.getLogger("ocpp_bridge.impls.ocpp_generic")


class OcppGenericImpl(Implementation):
    interface = "ocpp"
    impl_id = "ocpp_generic"
    # set by ``attach`` (which the engine calls before it serves any command), for its station
    variables: Variables16 | Variables201
    _monitors: dict  # monitor key -> component_variable as the caller gave it

    def __init__(self, engine):
        self.engine = engine
        self.commands = {
            "stop": self.stop,
            "restart": self.restart,
            "security_event": self.security_event,
            "get_variables": self.get_variables,
            "set_variables": self.set_variables,
            "change_availability": self.change_availability,
            "monitor_variables": self.monitor_variables,
        }
        settings = engine.settings
        self.schedules = SchedulePublisher(
            lambda value: self.engine.publish_var(self.impl_id, "charging_schedules", value),
            interval_s=int(settings["PublishChargingScheduleIntervalS"]),
            duration_s=int(settings["PublishChargingScheduleDurationS"]),
            unit=settings["RequestCompositeScheduleUnit"])
        self.schedules.on_schedules(EnergySinks(engine).enforce)

    def attach(self, station) -> None:
        if station.version == "1.6":
            from ocpp_bridge.impls.variables16 import Variables16
            self.variables = Variables16(station.keys)
        else:
            from ocpp_bridge.impls.variables201 import Variables201
            self.variables = Variables201(station.model)
        self._monitors = {}
        bus = station.core.events
        bus.subscribe(ConfigurationChanged, lambda event: self._on_changed_by_csms(event.key))
        bus.subscribe(ConnectionChanged, lambda event: self.engine.publish_var(self.impl_id, "is_connected", event.up))
        bus.subscribe(BootAnswered, self._on_boot_response)
        bus.subscribe(SecurityEventRaised, self._on_security_event)
        for kind in (TxStarted, TxUpdated, TxEnded):
            bus.subscribe(kind, self._on_transaction_event)
        bus.subscribe(TxAnswered, self._on_transaction_answer)
        self.schedules.attach(station)

    def on_ocpp_started(self) -> None:
        self.engine.publish_var(self.impl_id, "is_connected", False)
        self.schedules.start()

    # ------------------------------------------------------------------ commands
    def stop(self) -> bool:
        return self.engine.stop_ocpp()

    def restart(self) -> bool:
        return self.engine.restart_ocpp()

    def security_event(self, event: dict) -> None:
        send_security_event(self.station.core, event["type"], event.get("info"), critical=event.get("critical"))

    def get_variables(self, requests: list) -> list:
        return self.variables.get(requests)

    def set_variables(self, requests: list, source: str) -> list:
        return self.variables.set(requests)

    def change_availability(self, request: dict) -> dict:
        """EVerest's rules for the request's shape, then the station decides (Accepted/Scheduled/Rejected)."""
        evse = request.get("evse")
        count = self.station.evse_count
        operative = request["operational_status"] == "Operative"
        if self.station.version == "1.6":
            if evse is not None and "connector_id" not in evse:
                return {"status": "Rejected", "status_info": {
                    "reason_code": "InvalidInput", "additional_info": "OCPP 1.6 needs evse.connector_id"}}
            if evse is None or evse["id"] == 0:
                evse_id, connector = None, None  # the whole station
            else:
                evse_id, connector = evse["id"], evse["connector_id"]
        else:
            evse_id = None if evse is None else evse["id"]
            connector = None if evse is None else evse.get("connector_id")
        if evse_id is not None and not 1 <= evse_id <= count:
            return {"status": "Rejected", "status_info": {"reason_code": "UnknownEvse",
                                                          "additional_info": f"this station has {count} EVSE(s)"}}
        status = self.station.change_availability(evse_id, connector, operative)
        log.info("change_availability %s -> %s", request, status)
        return {"status": status}

    def monitor_variables(self, component_variables: list) -> None:
        for cv in component_variables:
            self._monitors[self.variables.monitor_key(cv)] = cv

    # ------------------------------------------------------------------ variables
    def _on_boot_response(self, answer: BootAnswered) -> None:
        value: dict = {"status": answer.status, "current_time": answer.current_time, "interval": answer.interval}
        info = answer.status_info
        if info:
            value["status_info"] = {"reason_code": info["reasonCode"]}
            if "additionalInfo" in info:
                value["status_info"]["additional_info"] = info["additionalInfo"]
        self.engine.publish_var(self.impl_id, "boot_notification_response", value)

    def _on_security_event(self, event: SecurityEventRaised) -> None:
        self.engine.publish_var(self.impl_id, "security_event", security_event_value(event.event_type, event.info))

    def _on_transaction_event(self, event: TxStarted | TxUpdated | TxEnded) -> None:
        self.engine.publish_var(self.impl_id, "ocpp_transaction_event", transaction_event_value(event))

    def _on_transaction_answer(self, answer: TxAnswered) -> None:
        self.engine.publish_var(self.impl_id, "ocpp_transaction_event_response", transaction_answer_value(answer))

    def _on_changed_by_csms(self, key) -> None:
        cv = self._monitors.get(key)
        if cv is None:
            return
        value = self.variables.current(key)
        self.engine.publish_var(self.impl_id, "event_data", {
            "component_variable": cv, "event_id": 0, "timestamp": iso(self.engine.clock()),
            "trigger": "Alerting", "actual_value": "" if value is None else value[:2500],
            "event_notification_type": "CustomMonitor",
        })


_TX_EVENT_TYPES = {TxStarted: "Started", TxUpdated: "Updated", TxEnded: "Ended"}


def transaction_event_value(event: TxStarted | TxUpdated | TxEnded | TxAnswered) -> dict:
    """EVerest's ``OcppTransactionEvent`` of a transaction event (or of the one an answer is for)."""
    kind = event.event_type if isinstance(event, TxAnswered) else _TX_EVENT_TYPES[type(event)]
    value: dict = {"transaction_event": kind, "session_id": event.session_id,
                   "evse": {"id": event.evse, "connector_id": event.connector}}
    if event.transaction_id is not None:
        value["transaction_id"] = event.transaction_id
    return value


def transaction_answer_value(answer: TxAnswered) -> dict:
    """EVerest's ``OcppTransactionEventResponse`` of the CSMS's answer to a transaction message."""
    value: dict = {"original_transaction_event": transaction_event_value(answer)}
    if answer.total_cost is not None:
        value["total_cost"] = answer.total_cost
    if answer.charging_priority is not None:
        value["charging_priority"] = answer.charging_priority
    if answer.personal_message:
        value["personal_message"] = dict(answer.personal_message)
    return value
