"""The errors the connected evse_managers raise and clear, as the engine receives them.

Owns, for one module: which (module id, implementation id) is which EVSE, the error topics to
subscribe to, which error types the evse_manager interface declares (only those count, as in
EVerest's subscribers: ``errors/<file>.yaml`` gives the names), and ``evse_errors``
(``errors.EvseErrors``: the active errors per EVSE, which the EVSE link turns into faults).
We raise none of our own: the interfaces we provide are EVerest's, and CSMS reachability is the
``is_connected`` variable.

Must never: publish anything, or hold OCPP state.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import yaml

from ocpp_bridge import yaml_load
from ocpp_bridge.config import Settings
from ocpp_bridge.everest import errors as E
from ocpp_bridge.everest.definitions import Definitions

log = logging.getLogger("ocpp_bridge.engine")


class RequiredErrors:
    def __init__(self, settings: Settings, definitions: Definitions, generation: str) -> None:
        self._prefix = settings.prefix
        self._generation = generation
        self._root = Path(definitions.root)
        evse_conns = settings.connections.get("evse_manager", [])
        self._sources = {(c.module_id, c.implementation_id): i for i, c in enumerate(evse_conns, start=1)}
        self.evse_errors = E.EvseErrors(self._sources.values())
        self.evse_errors.on_change(self._log)
        interface = definitions.requires().get("evse_manager", {}).get("interface", "evse_manager")
        self._declared = E.declared_types(definitions.interface(interface), self._names)

    def _names(self, file: str) -> list[str]:
        """The error names ``errors/<file>.yaml`` declares (none when there is no such file)."""
        path = self._root / "errors" / f"{file}.yaml"
        try:
            doc = yaml_load.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            log.error("cannot read error declarations %s: %s", path, exc)
            return []
        return [str(e.get("name")) for e in doc.get("errors") or [] if isinstance(e, dict)]

    def subscriptions(self) -> list[str]:
        return [E.subscription(self._prefix, m, i, self._generation) for (m, i) in self._sources]

    def handle(self, topic: str, payload: bytes) -> bool:
        """An error raised or cleared by a connected evse_manager: True when it was one."""
        try:
            got = E.decode(self._prefix, topic, payload, self._generation)
        except E.BadError as exc:
            log.warning("bad error message: %s", exc)
            return True
        if got is None:
            return False
        evse = self._sources.get((got.module_id, got.impl))
        if evse is None:
            return True
        if got.error["type"] not in self._declared:
            log.info("EVSE %d: ignoring error %s (not declared by evse_manager)", evse, got.error["type"])
            return True
        self.evse_errors.apply(evse, got.error, got.raised)
        return True

    def _log(self, evse: int, error: dict[str, Any], raised: bool) -> None:
        log.info("EVSE %d: error %s %s (%s); %d active", evse, error["type"], "raised" if raised else "cleared",
                 error.get("message", ""), len(self.evse_errors[evse]))
