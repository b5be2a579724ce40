"""One whole charging station under test: a real CSMS, a real bridge process and an EVerest
peer on the test's prefix, wired together and booted. Used by integration and conformance
tests so each test states only what it checks.

``charging_station`` (fixture in tests/conftest.py; ``start_charging_station`` here) adds N
simulated EVSE managers (``ocpp_bridge.demo.evse_simulator.EvseSimulator``, module ids
``evse_manager_1..N``, impl ``evse``) connected to the bridge's ``evse_manager`` requirement,
started before the bridge so they answer its ``get_evse``. ``ChargingStation.evse(n)`` is the
n-th simulator; the peer (module id ``probe``) plays the manager and the Auth module.
"""

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
            self.bridge.stop(timeout=30)          # generous: a loaded machine, not a hang
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

    def heartbeat_sentinel(self, timeout: float = 20) -> dict:
        """A positive sentinel for "nothing else was sent": make the bridge send a Heartbeat
        now (TriggerMessage) and wait for it. Whatever the bridge had queued before the
        trigger is in the CSMS's ledger when this returns: neither of its queues lets a newer
        message overtake an older one (ocpp/station.py; not so for an outbox message waiting
        for its retry time or MessageQueueResumeDelay). Needs a registered (Accepted) station."""
        mark = self.csms.mark()
        reply = self.csms.call(self.cp, "TriggerMessage", {"requestedMessage": "Heartbeat"})
        assert reply == {"status": "Accepted"}, reply
        return self.csms.wait_for("Heartbeat", cp_id=self.cp, after_index=mark, timeout=timeout)


def start_station(csms_factory, peer_factory, bridge_factory, *, version: str = "1.6",
                  generation: str = "2025.12", boot_status: str = "Accepted", interval: int = 300,
                  config: dict | None = None, global_ready: bool = True, wait_boot: bool = True,
                  csms_kwargs: dict | None = None, bridge_kwargs: dict | None = None) -> Station:
    csms = csms_factory(version, boot_status=boot_status, heartbeat_interval=interval, **(csms_kwargs or {}))
    peer = peer_factory(generation=generation)
    for impl, var in WATCHED:
        peer.watch_var(MODULE, impl, var)
    cfg = {"ChargePointId": CP_ID, "CentralSystemURI": csms.url, "OcppVersion": version,
           "EverestProtocol": generation, "RetryBackOffWaitMinimumS": 1, "RetryBackOffRandomRangeS": 1,
           "GlobalReadyTimeoutS": 0}
    cfg.update(config or {})
    bridge = bridge_factory(cfg, module_id=MODULE, **(bridge_kwargs or {}))
    peer.wait_module_ready(MODULE, timeout=20)
    if global_ready:
        peer.send_global_ready()
    if global_ready and wait_boot:  # booted = the bridge has processed the CSMS's answer
        csms.wait_for("BootNotification", timeout=20)
        peer.wait_var(MODULE, "ocpp_generic", "boot_notification_response", timeout=20)
    return Station(csms, peer, bridge, version)


@dataclass
class ChargingStation(Station):
    evses: list = None

    def evse(self, n: int = 1):
        return self.evses[n - 1]

    def validate(self, token: str, type: str = "ISO14443", timeout: float = 15) -> dict:
        """Ask the bridge's auth_validator as EVerest's Auth module would."""
        provided = {"id_token": {"value": token, "type": type}, "authorization_type": "RFID"}
        return self.call("auth_validator", "validate_token", {"provided_token": provided}, timeout=timeout)


def start_charging_station(csms_factory, peer_factory, bridge_factory, simulator_factory, *, evses: int = 1,
                           **kwargs) -> ChargingStation:
    generation = kwargs.get("generation", "2025.12")
    sims = [simulator_factory(module_id=f"evse_manager_{n}", evse_id=n, generation=generation)
            for n in range(1, evses + 1)]
    managers = [(sim.module_id, "evse") for sim in sims]

    def bridge_with_evses(cfg, **kw):
        return bridge_factory(cfg, evse_managers=managers, **kw)

    st = start_station(csms_factory, peer_factory, bridge_with_evses, **kwargs)
    for sim in sims:
        sim.wait_command("get_evse", timeout=20)
    return ChargingStation(st.csms, st.peer, st.bridge, st.version, st.cp, evses=sims)
