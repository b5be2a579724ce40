"""What a simulated EVSE may draw under the ``ExternalLimits`` it was last given (EVerest's
``external_energy_limits.set_external_limits``). PURE.

Owns the rule the simulator follows, a simplified EnergyNode: the import schedule's entry in
force at ``now`` is the last one whose timestamp has passed (the first entry is in force from
the start, as the type's description says; the last one for ever after); its
``limits_to_root`` caps the power at ``total_power_W`` and at ``ac_max_current_A`` x
``SUPPLY_VOLTAGE_V`` x phases (``ac_max_phase_count``, else 3), whichever is lower.

Must never: know OCPP, or publish anything.
"""

from __future__ import annotations

from typing import Any

from ocpp_bridge.ocpp.auth_store import epoch

SUPPLY_VOLTAGE_V = 230.0
DEFAULT_PHASES = 3


def power_cap_w(limits: dict[str, Any] | None, now: float) -> float | None:
    """The power the limits allow at ``now`` (epoch seconds), in W; None: no cap."""
    entries = (limits or {}).get("schedule_import") or []
    if not entries:
        return None
    current = entries[0]
    for entry in entries[1:]:
        at = epoch(entry["timestamp"])
        if at is not None and at <= now:
            current = entry
    caps = []
    root = current.get("limits_to_root") or {}
    if "total_power_W" in root:
        caps.append(float(root["total_power_W"]["value"]))
    if "ac_max_current_A" in root:
        phases = root.get("ac_max_phase_count", {}).get("value", DEFAULT_PHASES)
        caps.append(float(root["ac_max_current_A"]["value"]) * SUPPLY_VOLTAGE_V * phases)
    return min(caps) if caps else None
