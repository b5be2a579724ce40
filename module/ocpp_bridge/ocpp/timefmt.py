"""OCPP timestamps: UTC, RFC 3339, millisecond precision, ``Z`` suffix. PURE.

Owns how both versions write a dateTime (``iso``) and the one rule for stamping what an EVSE
reported (``event_time``): the event's own RFC 3339 time when it has a readable one, else the
time of the step handling it.

Must never: read a clock (``now`` comes in).
"""

from __future__ import annotations

from datetime import datetime, timezone

from ocpp_bridge.ocpp.auth_store import epoch


def iso(now: float) -> str:
    """``now`` (seconds since the epoch) as an OCPP dateTime."""
    dt = datetime.fromtimestamp(now, tz=timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def event_time(text: str | None, now: float) -> str:
    """An event's RFC 3339 time as an OCPP dateTime; ``now`` when it is missing or unreadable."""
    stamp = epoch(text)
    return iso(stamp if stamp is not None else now)
