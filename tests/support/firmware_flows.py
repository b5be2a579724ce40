"""What the firmware end-to-end tests of both versions share: a charging station booted with
(or without) the simulated System module, and the status notifications the CSMS saw."""

from __future__ import annotations

from support.station import CP_ID

SYSTEM = {"connections": {"system": [("system_module", "main")]}}
PAST = "2020-01-01T00:00:00Z"
LOG_URL = "https://logs.example/upload"


def _available(version: str):
    if version == "1.6":
        return lambda e: (e["action"] == "StatusNotification" and e["payload"]["connectorId"] == 1
                          and e["payload"]["status"] == "Available")
    return lambda e: (e["action"] == "StatusNotification" and e["payload"]["evseId"] == 1
                      and e["payload"]["connectorStatus"] == "Available")


def booted(version: str, charging_station, system_module, *, system: bool = True, config: dict | None = None,
           **sim):
    """A booted one-EVSE station of ``version`` whose connector is Available, with the simulated
    System module (its ``sim`` options) connected unless ``system`` is False; (station, simulator)."""
    system_sim = system_module(**sim) if system else None
    st = charging_station(version=version, bridge_kwargs=SYSTEM if system else None, config=config)
    st.csms.wait_for(_available(version), timeout=10)
    return st, system_sim


def statuses(st, action: str, after: int, last: set[str], timeout: float = 30) -> list[dict]:
    """Every ``action`` payload since ``after``, once one whose status is in ``last`` has come."""
    st.csms.wait_for(lambda e: e["action"] == action and e["payload"]["status"] in last, after_index=after,
                     timeout=timeout)
    return [e["payload"] for e in st.csms.entries(action, cp_id=CP_ID) if e["index"] >= after]
