"""When clock-aligned meter data is due, for both OCPP versions. PURE.

Owns one rule (1.6 ClockAlignedDataInterval; 2.0.1 AlignedDataCtrlr.Interval and
TxEndedInterval): the aligned instants of an interval are the multiples of it counted from
00:00 UTC of each day. Every midnight starts the count again, so the first instant of each
day is that midnight itself and the pattern is the same every day; where the interval does
not divide a day, the last span before midnight is shorter than the interval. An interval of
a day or longer therefore means "at every midnight". The module has no time-zone setting, so
midnight is UTC midnight.

Must never: read a clock (``now`` comes in), or know which block uses it.
"""

from __future__ import annotations

import math

DAY_S = 86400


def next_aligned(now: float, interval: float) -> float:
    """The first aligned instant of ``interval`` seconds (> 0) strictly later than ``now``
    (Unix seconds)."""
    if interval <= 0:
        raise ValueError(f"an aligned interval must be positive, not {interval!r}")
    midnight = math.floor(now / DAY_S) * DAY_S
    steps = math.floor((now - midnight) / interval) + 1
    return min(midnight + steps * interval, midnight + DAY_S)
