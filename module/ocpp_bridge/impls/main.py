"""``main``: EVerest's ``ocpp_1_6_charge_point`` interface.

Owns the 1.6-flavoured commands (configuration keys by name, security events, stop /
restart) and the ``configuration_key`` variable for monitored keys. On a 2.0.1 station the
configuration-key commands have no keys to act on: every key is unknown and setting one
answers ``NotSupported`` (use ``ocpp_generic``'s get/set_variables there).
"""

from __future__ import annotations

from ocpp_bridge.impls import Implementation
from ocpp_bridge.impls.shapes import key_value, security_event_value
from ocpp_bridge.ocpp.events import ConfigurationChanged, ConnectionChanged, SecurityEventRaised
from ocpp_bridge.ocpp.security_events import send_security_event


class MainImpl(Implementation):
    interface = "ocpp_1_6_charge_point"
    impl_id = "main"
    # EVerest <= 2025.10 (framework generation "2024.11") named set_configuration_key this way.
    aliases = {"set_custom_configuration_key": "set_configuration_key"}

    def __init__(self, engine):
        self.engine = engine
        self.keys = None
        self._monitored: set[str] = set()
        self.commands = {
            "stop": engine.stop_ocpp,
            "restart": engine.restart_ocpp,
            "get_configuration_key": self.get_configuration_key,
            "set_configuration_key": self.set_configuration_key,
            "monitor_configuration_keys": self.monitor_configuration_keys,
            "security_event": self.security_event,
        }

    def attach(self, station) -> None:
        """1.6's configuration keys (none on a 2.0.1 station) and the events we publish."""
        self.keys = station.keys if station.version == "1.6" else None
        bus = station.core.events
        bus.subscribe(ConnectionChanged, lambda event: self.engine.publish_var(self.impl_id, "is_connected", event.up))
        bus.subscribe(ConfigurationChanged, lambda event: self._on_changed_by_csms(event.key))
        bus.subscribe(SecurityEventRaised, self._on_security_event)

    def on_ocpp_started(self) -> None:
        self.engine.publish_var(self.impl_id, "is_connected", False)

    def get_configuration_key(self, keys: list) -> dict:
        if self.keys is None:
            return {"configuration_keys": [], "unknown_keys": list(keys)}
        known, unknown = self.keys.get(list(keys))
        return {"configuration_keys": [key_value(kv) for kv in known], "unknown_keys": unknown}

    def set_configuration_key(self, key: str, value: str) -> str:
        if self.keys is None:
            return "NotSupported"
        return self.keys.set(key, value, by_csms=True)

    def monitor_configuration_keys(self, keys: list) -> None:
        self._monitored.update(keys)

    def security_event(self, type: str, info: str) -> None:  # noqa: A002 - the interface's argument name
        send_security_event(self.station.core, type, info or None)

    def _on_changed_by_csms(self, key: str) -> None:
        if key not in self._monitored or self.keys is None:
            return
        known, _ = self.keys.get([key])
        if known:
            self.engine.publish_var(self.impl_id, "configuration_key", key_value(known[0]))

    def _on_security_event(self, event: SecurityEventRaised) -> None:
        self.engine.publish_var(self.impl_id, "security_event", security_event_value(event.event_type, event.info))
