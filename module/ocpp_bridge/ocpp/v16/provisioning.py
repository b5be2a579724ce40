"""OCPP 1.6 Core provisioning: boot, heartbeat, configuration keys. PURE.

Owns the 1.6 messages that keep a charge point registered and configured:
BootNotification / Heartbeat (through ``Registration``), GetConfiguration and
ChangeConfiguration from the CSMS. Key values live in
``ConfigurationKeys`` (SQLite); a change from any side takes effect here through the key
store's listener (e.g. HeartbeatInterval reschedules the heartbeat).
"""

from __future__ import annotations

import logging
from ocpp_bridge.ocpp.registration import Registration
from ocpp_bridge.ocpp.station import StationCore
from ocpp_bridge.ocpp.v16.configuration import ConfigurationKeys, KeyValue

log = logging.getLogger("ocpp_bridge.ocpp.v16")


class Provisioning16:
    def __init__(self, core: StationCore, keys: ConfigurationKeys, station: dict):
        """``station``: vendor, model, serial_number, firmware_version (from the module config)."""
        self.core = core
        self.keys = keys
        self._station = station
        self.registration = Registration(
            core,
            self._boot_payload,
            lambda: keys.int_value("HeartbeatInterval"),
            lambda interval: keys.set_internal("HeartbeatInterval", str(interval)),
        )
        core.handle("GetConfiguration", self._get_configuration)
        core.handle("ChangeConfiguration", self._change_configuration)
        keys.add_listener(self._on_key_changed)

    # ------------------------------------------------------------------ boot
    def _boot_payload(self) -> dict:
        s = self._station
        payload = {"chargePointVendor": s["vendor"][:20], "chargePointModel": s["model"][:20]}
        if s.get("serial_number"):
            payload["chargePointSerialNumber"] = s["serial_number"][:25]
        if s.get("firmware_version"):
            payload["firmwareVersion"] = s["firmware_version"][:50]
        return payload

    def _on_key_changed(self, key: str, value: str) -> None:
        if key == "HeartbeatInterval":
            self.registration.schedule_heartbeat()

    # ------------------------------------------------------------------ configuration
    def get_configuration(self, keys: list[str]) -> tuple[list[KeyValue], list[str]]:
        return self.keys.get(keys)

    def _get_configuration(self, payload: dict) -> dict:
        requested = payload.get("key") or []
        limit = self.keys.int_value("GetConfigurationMaxKeys")
        if limit > 0 and len(requested) > limit:
            requested = requested[:limit]
        known, unknown = self.keys.get(requested)
        result: dict = {}
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

    def _change_configuration(self, payload: dict) -> dict:
        key, value = payload["key"], payload["value"]
        status = self.keys.set(key, value, by_csms=True)
        log.info("ChangeConfiguration %s=%r -> %s", key, value, status)
        if status in ("Accepted", "RebootRequired"):
            self.core.emit("config_changed_by_csms", key)
        return {"status": status}
