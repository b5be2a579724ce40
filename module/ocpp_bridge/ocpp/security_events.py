"""Which security events are critical, per OCPP version. PURE.

Critical events are sent to the CSMS as SecurityEventNotification; the others only go to the
local security log. The tables are the OCPP 1.6 security whitepaper's and the OCPP 2.0.1
appendix's; a type in neither table (e.g. a vendor's own) is not critical unless the caller
says so, as in EVerest's libocpp.

SecurityEventNotification is a transactional message (as in libocpp): it goes through the
station core's durable outbox, so it survives going offline and restarts, and is retried
per the transaction-message attempts. Must never: send by any other path, keep state, or
raise: an event that cannot be carried (a type or info holding a lone surrogate, from
wherever it came) is refused with a log line before it reaches the listeners or the outbox,
where it could not be stored, so it cannot block the events after it.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from ocpp_bridge import json_edge
from ocpp_bridge.ocpp.events import SecurityEventRaised

if TYPE_CHECKING:
    from ocpp_bridge.ocpp.station import StationCore

log = logging.getLogger("ocpp_bridge.ocpp.security")

CRITICAL_16 = frozenset({
    "FirmwareUpdated",
    "SettingSystemTime",
    "StartupOfTheDevice",
    "ResetOrReboot",
    "SecurityLogWasCleared",
    "MemoryExhaustion",
    "TamperDetectionActivated",
})

CRITICAL_201 = CRITICAL_16 | frozenset({
    "InvalidFirmwareSignature",
    "InvalidFirmwareSigningCertificate",
    "InvalidCsmsCertificate",
    "InvalidChargingStationCertificate",
    "InvalidTLSVersion",
    "InvalidTLSCipherSuite",
    "MaintenanceLoginAccepted",
    "MaintenanceLoginFailed",
})


def is_critical(version: str, event_type: str, flag: bool | None = None) -> bool:
    """The caller's explicit flag wins; otherwise the version's table decides."""
    if flag is not None:
        return bool(flag)
    return event_type in (CRITICAL_16 if version == "1.6" else CRITICAL_201)


def send_security_event(core: StationCore, event_type: str, info: str | None, *, critical: bool | None = None) -> bool:
    """Tell listeners (``security_event``) and queue a SecurityEventNotification when critical.

    The payload is the same in 1.6 (security whitepaper) and 2.0.1. It is stored durably in
    the outbox before this returns. Returns True if queued (False: not critical, or OCPP is
    stopped).
    """
    from ocpp_bridge.ocpp.station import InvalidOutgoing
    from ocpp_bridge.ocpp.timefmt import iso

    unusable = json_edge.problem({"type": event_type, "info": info})
    if unusable is not None:
        log.error("security event refused: %s", unusable)
        return False
    core.events.publish(SecurityEventRaised(event_type, info))
    if not is_critical(core.version, event_type, critical):
        return False
    payload = {"type": event_type[:50], "timestamp": iso(core.now)}
    if info:
        payload["techInfo"] = info[:255]
    try:
        return core.send_transactional("SecurityEventNotification", payload, None) != 0
    except InvalidOutgoing:  # logged by the core
        return False
