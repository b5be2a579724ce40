"""OCPP 1.6 Core provisioning: boot, heartbeat, configuration keys. PURE.

Owns the 1.6 messages that keep a charge point registered and configured:
BootNotification / Heartbeat (through ``Registration``), GetConfiguration and
ChangeConfiguration from the CSMS. Key values live in
``ConfigurationKeys`` (SQLite); a change from any side takes effect here through the key
store's listener (e.g. HeartbeatInterval reschedules the heartbeat).

The Basic-auth password (TC_073): ``basic_auth_password`` is the stored AuthorizationKey
(None until one is set; then it wins over the module option BasicAuthPassword). An
accepted ChangeConfiguration of it, or a change from the module, emits
``basic_auth_password_changed`` after our answer, so the engine reconnects with it once the
CALLRESULT is on its way. Its value is never logged (``secrets.shown_key``).
"""

from __future__ import annotations

import logging
from typing import Any

from ocpp_bridge.ocpp import secrets
from ocpp_bridge.ocpp.events import ConfigurationChanged, PasswordChanged
from ocpp_bridge.ocpp.registration import Registration
from ocpp_bridge.ocpp.station import StationCore
from ocpp_bridge.ocpp.v16.configuration import ConfigurationKeys, KeyValue
from ocpp_bridge.ocpp.v16.keys import W, integer, limit, text

log = logging.getLogger("ocpp_bridge.ocpp.v16")

HEARTBEAT_INTERVAL = integer("HeartbeatInterval", 300)
GET_CONFIGURATION_MAX_KEYS = limit("GetConfigurationMaxKeys", 100, minimum=1)
# security whitepaper: the Basic-auth password (write-only; 16 to 40 printable characters)
AUTHORIZATION_KEY = text("AuthorizationKey", access=W, minimum=16, maximum=40)
KEYS = (GET_CONFIGURATION_MAX_KEYS, HEARTBEAT_INTERVAL, AUTHORIZATION_KEY)

PASSWORD_TIMER = "basic-auth-password-changed"


class Provisioning16:
    def __init__(self, core: StationCore, keys: ConfigurationKeys, station: dict[str, Any]):
        """``station``: vendor, model, serial_number, firmware_version (from the module config)."""
        self.core = core
        self.keys = keys
        self._station = station
        self.registration = Registration(
            core,
            self._boot_payload,
            lambda: keys.read(HEARTBEAT_INTERVAL),
            lambda interval: keys.set_internal(HEARTBEAT_INTERVAL.name, str(interval)),
        )
        core.handle("GetConfiguration", self._get_configuration)
        core.handle("ChangeConfiguration", self._change_configuration)
        keys.on_change(HEARTBEAT_INTERVAL, self.registration.schedule_heartbeat)
        keys.on_change(AUTHORIZATION_KEY, self._password_changed)

    # ------------------------------------------------------------------ boot
    def _boot_payload(self) -> dict[str, Any]:
        s = self._station
        payload = {"chargePointVendor": s["vendor"][:20], "chargePointModel": s["model"][:20]}
        if s.get("serial_number"):
            payload["chargePointSerialNumber"] = s["serial_number"][:25]
        if s.get("firmware_version"):
            payload["firmwareVersion"] = s["firmware_version"][:50]
        return payload

    # ------------------------------------------------------------------ Basic-auth password
    def basic_auth_password(self) -> str | None:
        """The AuthorizationKey set by the CSMS (or an override), None when there is none."""
        return self.keys.read(AUTHORIZATION_KEY) or None

    def _password_changed(self) -> None:
        # a timer due now runs after the CALLRESULT of the ChangeConfiguration was written
        self.core.timers.set(PASSWORD_TIMER, self.core.now, lambda: self.core.events.publish(PasswordChanged()))

    # ------------------------------------------------------------------ configuration
    def get_configuration(self, keys: list[str]) -> tuple[list[KeyValue], list[str]]:
        return self.keys.get(keys)

    def _get_configuration(self, payload: dict[str, Any]) -> dict[str, Any]:
        requested = payload.get("key") or []
        limit = self.keys.read(GET_CONFIGURATION_MAX_KEYS)
        if limit > 0 and len(requested) > limit:
            requested = requested[:limit]
        known, unknown = self.keys.get(requested)
        result: dict[str, Any] = {}
        if known:
            entries = []
            for kv in known:
                entry = {"key": kv.key, "readonly": kv.read_only}
                if kv.value is not None:
                    entry["value"] = kv.value[:500]
                entries.append(entry)
            result["configurationKey"] = entries
        if unknown:
            result["unknownKey"] = unknown
        return result

    def _change_configuration(self, payload: dict[str, Any]) -> dict[str, Any]:
        key, value = payload["key"], payload["value"]
        status = self.keys.set(key, value, by_csms=True)
        log.info("ChangeConfiguration %s=%r -> %s", key, secrets.shown_key(key, value), status)
        if status in ("Accepted", "RebootRequired"):
            if secrets.is_secret_key(key):
                self._password_changed()  # the same password again: TC_073 still reconnects
            self.core.events.publish(ConfigurationChanged(key))
        return {"status": status}
