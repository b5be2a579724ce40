"""OCPP 2.0.1 provisioning (functional block B): boot, heartbeat, device model access. PURE.

Owns BootNotification / Heartbeat (through ``Registration``), GetVariables (more items than
ItemsPerMessageGetVariables: the excess Rejected), SetVariables (more than
ItemsPerMessageSetVariables: CALLERROR OccurrenceConstraintViolation), GetBaseReport and
GetReport (B08; what it selects: ``report_query``), both with their NotifyReport messages
(ItemsPerMessage[GetReport] entries a page, seqNo from 0, tbc on all but the last). Values
live in the SQLite ``DeviceModel``; a change from any side takes effect through the model's listener (e.g.
OCPPCommCtrlr.HeartbeatInterval reschedules the heartbeat).

The Basic-auth password (A01, OCTT TC_A_09): ``basic_auth_password`` is the stored
SecurityCtrlr.BasicAuthPassword (None until one is set; then it wins over the module option
BasicAuthPassword). An accepted SetVariables of it, or a change from the module, emits
``basic_auth_password_changed`` after our answer, so the engine reconnects with it once the
SetVariablesResponse is on its way. Its value is never logged (``secrets.shown_variable``).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from ocpp_bridge.ocpp import secrets
from ocpp_bridge.ocpp.errors import FormatViolation, OccurrenceConstraintViolation
from ocpp_bridge.ocpp.events import ConfigurationChanged, PasswordChanged
from ocpp_bridge.ocpp.registration import Registration
from ocpp_bridge.ocpp.station import StationCore
from ocpp_bridge.ocpp.timefmt import iso
from ocpp_bridge.ocpp.v201 import report_query
from ocpp_bridge.ocpp.v201.device_model import DeviceModel, VariableKey
from ocpp_bridge.ocpp.v201.dm_definitions import WO
from ocpp_bridge.ocpp.v201.variables import fixed, integer, string

log = logging.getLogger("ocpp_bridge.ocpp.v201")

COMM, DEVICE_DATA = "OCPPCommCtrlr", "DeviceDataCtrlr"
HEARTBEAT_INTERVAL = integer(COMM, "HeartbeatInterval", 300, unit="s")
BASIC_AUTH_PASSWORD = string("SecurityCtrlr", "BasicAuthPassword", None, mutability=WO, max_limit=40,
                             pattern=r"[\x21-\x7e]{16,40}")
ITEMS_PER_MESSAGE_GET_REPORT = fixed(DEVICE_DATA, "ItemsPerMessage", 100, instance="GetReport", min_limit=1)
ITEMS_PER_MESSAGE_GET_VARIABLES = fixed(DEVICE_DATA, "ItemsPerMessage", 100, instance="GetVariables", min_limit=1)
ITEMS_PER_MESSAGE_SET_VARIABLES = fixed(DEVICE_DATA, "ItemsPerMessage", 100, instance="SetVariables", min_limit=1)
BYTES_PER_MESSAGE_GET_REPORT = fixed(DEVICE_DATA, "BytesPerMessage", 65536, instance="GetReport", min_limit=1)
VARIABLES = (HEARTBEAT_INTERVAL, BASIC_AUTH_PASSWORD, ITEMS_PER_MESSAGE_GET_REPORT, ITEMS_PER_MESSAGE_GET_VARIABLES,
             ITEMS_PER_MESSAGE_SET_VARIABLES, BYTES_PER_MESSAGE_GET_REPORT,
             *(fixed(DEVICE_DATA, "BytesPerMessage", 65536, instance=i, min_limit=1)
               for i in ("GetVariables", "SetVariables")))

PASSWORD_TIMER = "basic-auth-password-changed"


def key_from_wire(component: dict[str, Any], variable: dict[str, Any]) -> VariableKey:
    """OCPP's ComponentType / VariableType (camelCase) -> VariableKey."""
    evse = component.get("evse") or {}
    return VariableKey(
        component=component["name"],
        variable=variable["name"],
        component_instance=component.get("instance"),
        variable_instance=variable.get("instance"),
        evse=evse.get("id"),
        connector=evse.get("connectorId"),
    )


class Provisioning201:
    def __init__(self, core: StationCore, model: DeviceModel, station: dict[str, Any]):
        """``station``: vendor, model, serial_number, firmware_version (from the module config)."""
        self.core = core
        self.model = model
        self._station = station
        self.boot_reason = "PowerUp"
        self.registration = Registration(
            core,
            self._boot_payload,
            lambda: model.read(HEARTBEAT_INTERVAL),
            lambda interval: model.set_internal(VariableKey(COMM, HEARTBEAT_INTERVAL.name), str(interval)),
        )
        core.handle("GetVariables", self._get_variables)
        core.handle("SetVariables", self._set_variables)
        core.handle("GetBaseReport", self._get_base_report)
        core.handle("GetReport", self._get_report)
        model.on_change(HEARTBEAT_INTERVAL, self.registration.schedule_heartbeat)
        model.on_change(BASIC_AUTH_PASSWORD, self._password_changed)

    # ------------------------------------------------------------------ boot
    def _boot_payload(self) -> dict[str, Any]:
        s = self._station
        station = {"model": s["model"][:20], "vendorName": s["vendor"][:50]}
        if s.get("serial_number"):
            station["serialNumber"] = s["serial_number"][:25]
        if s.get("firmware_version"):
            station["firmwareVersion"] = s["firmware_version"][:50]
        return {"reason": self.boot_reason, "chargingStation": station}

    # ------------------------------------------------------------------ Basic-auth password
    def basic_auth_password(self) -> str | None:
        """SecurityCtrlr.BasicAuthPassword as set by the CSMS (or an override), None when unset."""
        return self.model.read(BASIC_AUTH_PASSWORD) or None

    def _password_changed(self) -> None:
        # a timer due now runs after the SetVariablesResponse was written
        self.core.timers.set(PASSWORD_TIMER, self.core.now, lambda: self.core.events.publish(PasswordChanged()))

    # ------------------------------------------------------------------ Get/SetVariables

    def _get_variables(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Over ItemsPerMessageGetVariables: the first that many are answered, the rest Rejected
        (TC_B_08 accepts this or all Rejected; B06.FR.16 would allow a CALLERROR too)."""
        data = payload["getVariableData"]
        limit = self.model.read(ITEMS_PER_MESSAGE_GET_VARIABLES)
        if limit and len(data) > limit:
            log.warning("GetVariables: %d items exceed ItemsPerMessageGetVariables=%d; the rest are Rejected",
                        len(data), limit)
        results = []
        for index, item in enumerate(data):
            attribute = item.get("attributeType", "Actual")
            if limit and index >= limit:
                results.append({"attributeStatus": "Rejected", "attributeType": attribute,
                                "component": item["component"], "variable": item["variable"]})
                continue
            status, value = self.model.get(key_from_wire(item["component"], item["variable"]), attribute)
            entry = {"attributeStatus": status, "attributeType": attribute,
                     "component": item["component"], "variable": item["variable"]}
            if status == "Accepted" and value is not None:
                entry["attributeValue"] = value[:2500]
            results.append(entry)
        return {"getVariableResult": results}

    def _set_variables(self, payload: dict[str, Any]) -> dict[str, Any]:
        data = payload["setVariableData"]
        limit = self.model.read(ITEMS_PER_MESSAGE_SET_VARIABLES)
        if limit and len(data) > limit:
            raise OccurrenceConstraintViolation(f"{len(data)} items exceed ItemsPerMessageSetVariables={limit}")
        results = []
        changed = []
        for item in data:
            attribute = item.get("attributeType", "Actual")
            key = key_from_wire(item["component"], item["variable"])
            status = self.model.set(key, item["attributeValue"], attribute, by_csms=True)
            log.info("SetVariables %s.%s=%r -> %s", key.component, key.variable,
                     secrets.shown_variable(key.component, key.variable, item["attributeValue"]), status)
            if status in ("Accepted", "RebootRequired"):
                changed.append((key, attribute))
                if secrets.is_secret_variable(key.component, key.variable) and attribute == "Actual":
                    self._password_changed()  # the same password again still reconnects
            results.append({"attributeStatus": status, "attributeType": attribute,
                            "component": item["component"], "variable": item["variable"]})
        for key, attribute in changed:
            self.core.events.publish(ConfigurationChanged(key, attribute))
        return {"setVariableResult": results}

    # ------------------------------------------------------------------ reports
    def _get_base_report(self, payload: dict[str, Any]) -> dict[str, Any]:
        base = payload["reportBase"]
        if base not in ("ConfigurationInventory", "FullInventory"):
            return {"status": "NotSupported"}
        report = self.model.report()
        if base == "ConfigurationInventory":
            report = [r for r in report
                      if any(a.get("mutability", "ReadWrite") != "ReadOnly" for a in r.get("variableAttribute", []))]
        self._send_report(payload["requestId"], report)
        return {"status": "Accepted"}

    def _get_report(self, payload: dict[str, Any]) -> dict[str, Any]:
        """B08: the variables ``report_query`` selects, in NotifyReport pages; EmptyResultSet
        (and no NotifyReport) when none. More componentVariable entries than
        ItemsPerMessage[GetReport]: CALLERROR OccurrenceConstraintViolation (B08.FR.17); a
        request (its payload as compact JSON) longer than BytesPerMessage[GetReport]: CALLERROR
        FormatViolation (B08.FR.18)."""
        wanted = payload.get("componentVariable") or []
        items = self.model.read(ITEMS_PER_MESSAGE_GET_REPORT)
        if len(wanted) > items:
            log.warning("GetReport: %d componentVariable entries exceed ItemsPerMessage[GetReport]=%d",
                        len(wanted), items)
            raise OccurrenceConstraintViolation(
                f"{len(wanted)} componentVariable entries exceed ItemsPerMessage[GetReport]={items}")
        size, limit = len(json.dumps(payload, separators=(",", ":")).encode()), \
            self.model.read(BYTES_PER_MESSAGE_GET_REPORT)
        if size > limit:
            log.warning("GetReport: %d bytes exceed BytesPerMessage[GetReport]=%d", size, limit)
            raise FormatViolation(f"{size} bytes exceed BytesPerMessage[GetReport]={limit}")
        report = report_query.select(self.model.entries(), wanted, payload.get("componentCriteria"))
        log.info("GetReport %d: %d variable(s) selected", payload["requestId"], len(report))
        if not report:
            return {"status": "EmptyResultSet"}
        self._send_report(payload["requestId"], report)
        return {"status": "Accepted"}

    def _send_report(self, request_id: int, report: list[dict[str, Any]]) -> None:
        per_message = self.model.read(ITEMS_PER_MESSAGE_GET_REPORT)
        chunks = [report[i:i + per_message] for i in range(0, len(report), per_message)] or [[]]
        for seq_no, chunk in enumerate(chunks):
            msg = {"requestId": request_id, "generatedAt": iso(self.core.now), "seqNo": seq_no,
                   "tbc": seq_no < len(chunks) - 1}
            if chunk:
                msg["reportData"] = chunk
            self.core.call("NotifyReport", msg)
