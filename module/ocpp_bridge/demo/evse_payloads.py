"""Shapes of what a simulated EVSE manager publishes and answers. PURE.

Owns building the payload objects of the ``evse_manager`` interface from our type files
(types/evse_manager.yaml, powermeter.yaml, authorization.yaml): RFC 3339 timestamps,
ProvidedIdToken, Powermeter readings, SessionEvent, the framework's error object
(everest.md §1.6) and EvseManager's enable/disable priority rule. No MQTT, no state
beyond the enable/disable table; ``evse_simulator.py`` puts these on the bus.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Any

# AuthorizationType -> the IdTokenType a token of that kind usually has (OCPP 2.0.1 names).
ID_TOKEN_TYPE = {
    "RFID": "ISO14443",
    "OCPP": "Central",
    "PlugAndCharge": "eMAID",
    "Autocharge": "MacAddress",
    "BankCard": "Local",
}

# SessionEvent member that carries the details of each event that has one.
DETAIL_OF_EVENT = {
    "SessionStarted": "session_started",
    "SessionFinished": "session_finished",
    "TransactionStarted": "transaction_started",
    "TransactionFinished": "transaction_finished",
    "ChargingStarted": "charging_state_changed_event",
    "ChargingPausedEV": "charging_state_changed_event",
    "ChargingPausedEVSE": "charging_state_changed_event",
    "Authorized": "authorization_event",
    "Deauthorized": "authorization_event",
}


def now_rfc3339() -> str:
    """Wall-clock UTC, milliseconds, ``Z`` suffix (as EVerest's ``Date::to_rfc3339``)."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def provided_token(token: str | dict, authorization_type: str = "RFID",
                   token_type: str | None = None) -> dict:
    """A ProvidedIdToken for ``token``; a dict is taken as an already built ProvidedIdToken."""
    if isinstance(token, dict):
        return dict(token)
    return {
        "id_token": {"value": token, "type": token_type or ID_TOKEN_TYPE.get(authorization_type, "Local")},
        "authorization_type": authorization_type,
    }


def powermeter(energy_wh: float, power_w: float | None = None, **extra: Any) -> dict:
    """A Powermeter reading: timestamp, imported energy, power (when given) and ``extra`` as is."""
    reading: dict[str, Any] = {"timestamp": now_rfc3339(), "energy_Wh_import": {"total": energy_wh}}
    if power_w is not None:
        reading["power_W"] = {"total": power_w}
    reading.update(extra)
    return reading


def session_event(session_uuid: str, event: str, connector_id: int, **members: Any) -> dict:
    """A SessionEvent; ``members`` are its optional objects (``session_started={...}``, ...)."""
    value = {"uuid": session_uuid, "event": event, "timestamp": now_rfc3339(),
             "connector_id": connector_id}
    value.update({k: v for k, v in members.items() if v is not None})
    return value


def error_object(error_type: str, *, module_id: str, impl_id: str, evse_id: int, message: str,
                 severity: str, sub_type: str, state: str = "Active",
                 error_uuid: str | None = None) -> dict:
    """The framework's error object (everest.md §1.6) for ``<ns>/<Name>`` ``error_type``."""
    return {
        "type": error_type, "sub_type": sub_type, "message": message, "description": message,
        "vendor_id": "ocpp-bridge-simulator",
        "origin": {"module_id": module_id, "implementation_id": impl_id,
                   "mapping": {"evse": evse_id, "connector": 1}},
        "severity": severity, "timestamp": now_rfc3339(),
        "uuid": error_uuid or str(uuid.uuid4()), "state": state,
    }


class EnableTable:
    """EvseManager's enable/disable rule: each source's latest request is kept; the request
    with the lowest ``enable_priority`` number that is not ``Unassigned`` wins; with none
    the EVSE is enabled."""

    DEFAULT = {"enable_source": "Unspecified", "enable_state": "Unassigned", "enable_priority": 10000}

    def __init__(self) -> None:
        self._by_source: dict[str, dict] = {}

    def update(self, source: dict) -> dict:
        """Record ``source`` (an EnableDisableSource) and return the winning one."""
        if source.get("enable_state") == "Unassigned":
            self._by_source.pop(source["enable_source"], None)
        else:
            self._by_source[source["enable_source"]] = dict(source)
        return self.winner()

    def winner(self) -> dict:
        if not self._by_source:
            return dict(self.DEFAULT)
        return dict(min(self._by_source.values(), key=lambda s: s["enable_priority"]))

    def enabled(self) -> bool:
        return self.winner()["enable_state"] != "Disable"
