"""The rules of 2.0.1 variable monitors (N04, N07, N08). PURE: no I/O, no state of its own.

Owns whether a SetMonitoringData may become a monitor (``refusal``), when a value change
trips one (``ThresholdState`` / ``DeltaState``) and when a periodic one reports next
(``next_periodic``):
- UpperThreshold: a value above ``value`` raises an Alerting event, one back at or below it a
  cleared one; LowerThreshold the same below; only numeric variables (integer, decimal). A
  monitor set on a value already beyond its limit reports that at once.
- Delta: on a numeric variable, a change of at least ``value`` from the value last reported
  (the reference, first the value when the monitor was set or loaded); on any other type,
  every change (``value`` is not used). A negative delta is refused.
- Periodic: every ``value`` seconds; PeriodicClockAligned: at every multiple of ``value``
  seconds from midnight UTC. ``value`` must be > 0.
- Refused: a variable that does not support monitoring: Rejected; a threshold on a non-numeric
  variable: UnsupportedMonitorType; a threshold outside the variable's minLimit / maxLimit: Rejected; severity outside 0..9:
  Rejected.

Must never: read the clock (``now`` comes in), store or send anything.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ocpp_bridge.ocpp.v201.dm_definitions import VariableDef

THRESHOLDS = ("UpperThreshold", "LowerThreshold")
PERIODIC = ("Periodic", "PeriodicClockAligned")
TYPES = (*THRESHOLDS, "Delta", *PERIODIC)
NUMERIC = ("integer", "decimal")
DAY = 86400.0


def refusal(definition: VariableDef, monitor_type: str, value: float, severity: int) -> str | None:
    """The SetMonitoringStatus refusing this monitor, or None when it may be set."""
    if monitor_type not in TYPES:
        return "UnsupportedMonitorType"
    if not definition.supports_monitoring:
        return "Rejected"
    if not 0 <= severity <= 9 or not math.isfinite(value):
        return "Rejected"
    if monitor_type in THRESHOLDS:
        if definition.data_type not in NUMERIC:
            return "UnsupportedMonitorType"
        if definition.min_limit is not None and value < definition.min_limit:
            return "Rejected"
        if definition.max_limit is not None and value > definition.max_limit:
            return "Rejected"
    if monitor_type == "Delta" and value < 0:
        return "Rejected"
    if monitor_type in PERIODIC and value <= 0:
        return "Rejected"
    return None


def number(text: str | None) -> float | None:
    try:
        result = float(text) if text is not None else None
    except ValueError:
        return None
    return result if result is not None and math.isfinite(result) else None


@dataclass
class ThresholdState:
    upper: bool
    limit: float
    tripped: bool = False

    def step(self, value: str | None) -> bool | None:
        """After a new value: True (trips: Alerting), False (back: cleared), None (no event)."""
        x = number(value)
        if x is None:
            return None
        beyond = x > self.limit if self.upper else x < self.limit
        if beyond != self.tripped:
            self.tripped = beyond
            return beyond
        return None


@dataclass
class DeltaState:
    numeric: bool
    delta: float
    reference: str | None

    def step(self, value: str | None) -> bool:
        """True when the change from the reference is an event (the reference moves to it)."""
        if value == self.reference:
            return False
        if self.numeric:
            new, old = number(value), number(self.reference)
            if new is not None and old is not None and abs(new - old) < self.delta:
                return False
        self.reference = value
        return True


def next_periodic(monitor_type: str, interval: float, now: float) -> float:
    """When a periodic monitor reports next, after ``now``."""
    if monitor_type == "PeriodicClockAligned":
        midnight = now - (now % DAY)
        steps = math.floor((now - midnight) / interval) + 1
        return midnight + steps * interval
    return now + interval
