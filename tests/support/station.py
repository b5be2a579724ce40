"""One whole charging station under test: a real CSMS, a real bridge process and an EVerest
peer on the test's prefix, wired together and booted. Used by integration and conformance
tests so each test states only what it checks."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

MODULE = "ocpp"
CP_ID = "CP1"
WATCHED = [
    ("ocpp_generic", "is_connected"), ("ocpp_generic", "boot_notification_response"),
    ("ocpp_generic", "security_event"), ("ocpp_generic", "event_data"),
    ("main", "is_connected"), ("main", "configuration_key"), ("main", "security_event"),
]


@dataclass
class Station:
    csms: Any
    peer: Any
    bridge: Any
    version: str
    cp: str = CP_ID

    def call(self, impl: str, cmd: str, args: dict | None = None, timeout: float = 10) -> Any:
        return self.peer.call(MODULE, impl, cmd, args if args is not None else {}, timeout=timeout)

    def var(self, impl: str, var: str, predicate=lambda v: True, timeout: float = 10, after: int = 0) -> Any:
        return self.peer.wait_var(MODULE, impl, var, predicate, timeout=timeout, after=after)

    def values(self, impl: str, var: str) -> list:
        return self.peer.values(MODULE, impl, var)

    def restart_bridge(self, *, kill: bool = False, global_ready: bool = True, timeout: float = 20) -> None:
        """Stop (SIGTERM, or SIGKILL with ``kill``) and start the same bridge; wait for its new ready."""
        seen = self.peer.ready_count(MODULE)
        if kill:
            self.bridge.kill()
        else:
            self.bridge.stop()
        self.bridge.start()
        deadline = time.monotonic() + timeout
        while self.peer.ready_count(MODULE) <= seen:
            if time.monotonic() > deadline:
                raise TimeoutError("the restarted bridge did not announce ready")
            time.sleep(0.02)
        if global_ready:
            self.peer.send_global_ready()

    def actions(self, after: int = 0) -> list[str]:
        return [e["action"] for e in self.csms.entries(cp_id=self.cp)[after:]]


def start_station(csms_factory, peer_factory, bridge_factory, *, version: str = "1.6",
                  generation: str = "2025.12", boot_status: str = "Accepted", interval: int = 300,
                  config: dict | None = None, global_ready: bool = True, wait_boot: bool = True,
                  csms_kwargs: dict | None = None) -> Station:
    csms = csms_factory(version, boot_status=boot_status, heartbeat_interval=interval, **(csms_kwargs or {}))
    peer = peer_factory(generation=generation)
    for impl, var in WATCHED:
        peer.watch_var(MODULE, impl, var)
    cfg = {"ChargePointId": CP_ID, "CentralSystemURI": csms.url, "OcppVersion": version,
           "EverestProtocol": generation, "RetryBackOffWaitMinimumS": 1, "RetryBackOffRandomRangeS": 1,
           "GlobalReadyTimeoutS": 0}
    cfg.update(config or {})
    bridge = bridge_factory(cfg, module_id=MODULE)
    peer.wait_module_ready(MODULE, timeout=20)
    if global_ready:
        peer.send_global_ready()
    if global_ready and wait_boot:  # booted = the bridge has processed the CSMS's answer
        csms.wait_for("BootNotification", timeout=20)
        peer.wait_var(MODULE, "ocpp_generic", "boot_notification_response", timeout=20)
    return Station(csms, peer, bridge, version)
