"""OCPP timestamps: UTC, RFC 3339, millisecond precision, ``Z`` suffix. PURE."""

from __future__ import annotations

from datetime import datetime, timezone


def iso(now: float) -> str:
    """``now`` (seconds since the epoch) as an OCPP dateTime."""
    dt = datetime.fromtimestamp(now, tz=timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"
