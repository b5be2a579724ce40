"""The composite charging schedule: what limit applies to an EVSE (or the whole station) over a
window of time, from the charging profiles installed. PURE: no clock (``start`` is an argument),
no I/O, one function for both OCPP versions.

Owns ``composite(profiles, evse, start, duration, unit, context)`` and the version-neutral view
of a charging profile it works on (``Profile``, ``Schedule``, ``SchedulePeriod``; each version's
adapter maps its wire shape onto them). Rules (OCPP 1.6 §3.13 and §7 ChargingProfile; 2.0.1 K08
and SmartCharging's "Composite Schedule" section; libocpp's documented behaviour where the specs
leave a choice):

Validity
  A profile counts only between ``valid_from`` and ``valid_to`` (either may be open). A TxProfile
  counts only for the transaction running on its EVSE, while it runs (``Context.transactions``;
  a TxProfile without transaction id belongs to whatever transaction runs there).
Kinds
  Absolute: the periods count from ``start_schedule`` (else from ``valid_from``, else from the
  window's start). Recurring: from ``start_schedule`` and again every day / week after it, each
  recurrence lasting ``duration`` (or up to the next recurrence). Relative: from the start of the
  transaction on the EVSE, or from the window's start when none runs. A schedule's last period
  lasts to ``duration`` after its origin, or for ever without a duration.
Stacking
  Within one purpose, at each instant, the valid profile with the highest stack level wins.
Purposes
  TxProfile overrides TxDefaultProfile; an EVSE's own TxDefaultProfile overrides one installed on
  EVSE 0 (which applies to every EVSE); the result is capped by ChargingStationMaxProfile (1.6
  ChargePointMaxProfile, installed on EVSE 0) and, 2.0.1, by ChargingStationExternalConstraints
  (on EVSE 0 or the EVSE itself).
EVSE 0
  The station: the sum of its EVSEs' schedules, capped by the station maximum and the station's
  external constraints.
Units
  Limits keep their own unit until they must be compared or reported: A -> W is
  ``limit x supply voltage x phases``, W -> A the inverse, with each period's ``number_phases``
  (or ``Context.default_phases``).
Gaps
  Where no Tx/TxDefault profile applies the limit is the station maximum if one applies, else
  ``Context.default_limit(unit)`` (documented defaults, configurable) — never a silent 0.
Output
  Periods in time order, offsets from the window's start in whole seconds (each period's limit is
  the one in force at ``start`` + its offset: a change at a fraction of a second shows from the
  next whole second), adjacent periods with equal limit and phases merged; only periods that
  start inside ``[start, start + duration)`` (a ``duration`` of 0 gives the one period at
  ``start``); ``min_charging_rate`` is that of the Tx/TxDefault schedule
  in force at the window's start, converted to the output unit.

Must never: read a clock, look at a version's wire names, or store anything.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

Purpose = Literal["ChargingStationMaxProfile", "TxDefaultProfile", "TxProfile", "ChargingStationExternalConstraints"]
Kind = Literal["Absolute", "Recurring", "Relative"]
Unit = Literal["A", "W"]

DAY_S = 86400
WEEK_S = 7 * DAY_S
STATION = 0


@dataclass(frozen=True)
class SchedulePeriod:
    start_period: int  # seconds from the schedule's origin
    limit: float
    number_phases: int | None = None


@dataclass(frozen=True)
class Schedule:
    unit: Unit
    periods: tuple[SchedulePeriod, ...]
    start_schedule: float | None = None  # epoch seconds
    duration: int | None = None
    min_charging_rate: float | None = None


@dataclass(frozen=True)
class Profile:
    """One installed charging profile, version-neutral. ``evse`` 0: the station."""

    id: int
    stack_level: int
    purpose: Purpose
    kind: Kind
    schedules: tuple[Schedule, ...]
    evse: int = STATION
    recurrency: Literal["Daily", "Weekly"] | None = None
    valid_from: float | None = None
    valid_to: float | None = None
    transaction_id: str | None = None


@dataclass(frozen=True)
class Running:
    """The transaction running on an EVSE: its id and when it started."""

    transaction_id: str
    started: float


@dataclass(frozen=True)
class Context:
    """What the composite needs to know of the station besides its profiles."""

    evses: tuple[int, ...]  # the station's EVSE ids (for EVSE 0's sum)
    transactions: dict[int, Running] = field(default_factory=dict)
    supply_voltage: float = 230.0
    default_phases: int = 3
    default_limit_amps: float = 48.0
    default_limit_watts: float = 33120.0

    def default_limit(self, unit: Unit) -> float:
        return self.default_limit_amps if unit == "A" else self.default_limit_watts


@dataclass(frozen=True)
class CompositePeriod:
    start_period: int  # seconds from the window's start
    limit: float
    number_phases: int


@dataclass(frozen=True)
class CompositeSchedule:
    evse: int
    start: float
    duration: int
    unit: Unit
    periods: tuple[CompositePeriod, ...]
    min_charging_rate: float | None = None


# ----------------------------------------------------------------------------- segments
@dataclass(frozen=True)
class _Segment:
    """A stretch of time during which one profile's schedule gives one limit."""

    t0: float
    t1: float  # math.inf: open-ended
    limit: float
    unit: Unit
    phases: int | None
    profile: Profile
    min_rate: float | None


def _origins(profile: Profile, schedule: Schedule, start: float, window: tuple[float, float],
             running: Running | None) -> Iterable[tuple[float, float]]:
    """(origin, end) of each occurrence of ``schedule`` that may touch ``window`` (the part of
    the asked window where the profile counts); ``start``: the asked window's start."""
    w0, w1 = window
    duration = schedule.duration
    if profile.kind == "Relative":
        origin = running.started if running is not None else start
        yield origin, origin + duration if duration is not None else math.inf
        return
    if profile.kind == "Absolute" or profile.recurrency is None:
        origin = (schedule.start_schedule if schedule.start_schedule is not None
                  else profile.valid_from if profile.valid_from is not None else start)
        yield origin, origin + duration if duration is not None else math.inf
        return
    period = DAY_S if profile.recurrency == "Daily" else WEEK_S
    first = schedule.start_schedule if schedule.start_schedule is not None else start
    # the occurrence in force at w0 (or the first one, when the profile starts later)
    k = max(0, math.floor((w0 - first) / period))
    while True:
        origin = first + k * period
        if origin >= w1:
            return
        span = min(duration, period) if duration is not None else period
        yield origin, origin + span
        k += 1


def _segments(profile: Profile, window: tuple[float, float], running: Running | None) -> list[_Segment]:
    """The profile's limits over ``window``, clipped to its validity (a TxProfile's also to its
    transaction's start: ``running`` is the transaction it belongs to)."""
    lo = max(window[0], profile.valid_from if profile.valid_from is not None else -math.inf)
    if profile.purpose == "TxProfile" and running is not None:
        lo = max(lo, running.started)
    hi = min(window[1], profile.valid_to if profile.valid_to is not None else math.inf)
    if hi <= lo:
        return []
    out: list[_Segment] = []
    for schedule in profile.schedules:
        periods = sorted(schedule.periods, key=lambda p: p.start_period)
        for origin, end in _origins(profile, schedule, window[0], (lo, hi), running):
            for i, p in enumerate(periods):
                t0 = origin + p.start_period
                t1 = origin + periods[i + 1].start_period if i + 1 < len(periods) else end
                c0, c1 = max(t0, lo), min(t1, end, hi)
                if c1 > c0:
                    out.append(_Segment(c0, c1, p.limit, schedule.unit, p.number_phases, profile,
                                        schedule.min_charging_rate))
    return out


def _convert(limit: float, unit: Unit, to: Unit, phases: int, voltage: float) -> float:
    if unit == to:
        return limit
    return limit * voltage * phases if to == "W" else limit / (voltage * phases)


def _winners(segments: Sequence[_Segment], points: Sequence[float]) -> list[_Segment | None]:
    """At each of the ascending ``points``, the segment in force with the highest stack level
    (the first installed on a tie, then the first in ``segments``): one sweep, not a scan a point."""
    order = sorted(range(len(segments)), key=lambda i: segments[i].t0)
    live: list[tuple[int, int, int]] = []  # (-stack level, profile id, index): the heap's top wins
    out: list[_Segment | None] = []
    n = 0
    for t in points:
        while n < len(order) and segments[order[n]].t0 <= t:
            i = order[n]
            heapq.heappush(live, (-segments[i].profile.stack_level, segments[i].profile.id, i))
            n += 1
        while live and segments[live[0][2]].t1 <= t:
            heapq.heappop(live)  # ended: it cannot come back, the points only go forward
        out.append(segments[live[0][2]] if live else None)
    return out


class _Installed:
    """The profiles of one call, by (purpose, EVSE), with the segments of those that do not
    depend on a transaction (not Relative, not TxProfile) computed once for every EVSE."""

    def __init__(self, profiles: list[Profile], window: tuple[float, float]) -> None:
        self.window = window
        self.by_place: dict[tuple[str, int], list[Profile]] = {}
        for p in profiles:
            self.by_place.setdefault((p.purpose, p.evse), []).append(p)
        self._shared: dict[int, list[_Segment]] = {}

    def segments(self, purpose: Purpose, where: int, running: Running | None) -> list[_Segment]:
        found: list[_Segment] = []
        for p in self.by_place.get((purpose, where), ()):
            if purpose == "TxProfile" and (running is None or p.transaction_id not in (None, running.transaction_id)):
                continue
            if p.kind == "Relative" or purpose == "TxProfile":
                found += _segments(p, self.window, running)
                continue
            if id(p) not in self._shared:
                self._shared[id(p)] = _segments(p, self.window, None)
            found += self._shared[id(p)]
        return found


# ----------------------------------------------------------------------------- the function
def composite(profiles: Iterable[Profile], evse: int, start: float, duration: int, unit: Unit,
              context: Context) -> CompositeSchedule:
    """The composite schedule of ``evse`` (0: the station) for ``[start, start + duration)``."""
    profiles = list(profiles)
    duration = max(0, duration)
    window = (start, start + (duration or 1))  # a window of 0 s: what is in force at its start
    installed = _Installed(profiles, window)
    if evse == STATION:
        limits, points, min_rate = _station(installed, unit, context)
    else:
        limits, points, min_rate = _evse_limits(installed, evse, unit, context)
    periods = _periods(points, limits, start, duration)
    return CompositeSchedule(evse, start, duration, unit, tuple(periods), min_rate)


def _boundaries(segments: Iterable[_Segment], window: tuple[float, float]) -> list[float]:
    w0, w1 = window
    points = {w0}
    for s in segments:
        for t in (s.t0, s.t1):
            if w0 < t < w1:
                points.add(t)
    return sorted(points)


def _evse_limits(installed: _Installed, evse: int, unit: Unit,
                 context: Context) -> tuple[list[tuple[float, int]], list[float], float | None]:
    """EVSE ``evse``'s (limit, phases) at each boundary of the window, the boundaries, its min rate."""
    running, window = context.transactions.get(evse), installed.window

    def of(purpose: Purpose, where: int) -> list[_Segment]:
        return installed.segments(purpose, where, running)

    tx = of("TxProfile", evse)
    default_own, default_all = of("TxDefaultProfile", evse), of("TxDefaultProfile", STATION)
    cap_groups = [of("ChargingStationMaxProfile", STATION), of("ChargingStationExternalConstraints", STATION),
                  of("ChargingStationExternalConstraints", evse)]
    points = _boundaries([*tx, *default_own, *default_all, *(s for g in cap_groups for s in g)], window)
    winners = [_winners(group, points) for group in (tx, default_own, default_all, *cap_groups)]
    limits: list[tuple[float, int]] = []
    min_rate: float | None = None
    for k, t in enumerate(points):
        tx_k, own_k, all_k, *caps_k = (w[k] for w in winners)
        chosen = tx_k or own_k or all_k
        candidates: list[tuple[float, int]] = []
        if chosen is not None:
            phases = chosen.phases or context.default_phases
            candidates.append((_convert(chosen.limit, chosen.unit, unit, phases, context.supply_voltage), phases))
            if t == window[0] and chosen.min_rate is not None:
                min_rate = _convert(chosen.min_rate, chosen.unit, unit, phases, context.supply_voltage)
        for cap in caps_k:
            if cap is not None:
                phases = cap.phases or context.default_phases
                candidates.append((_convert(cap.limit, cap.unit, unit, phases, context.supply_voltage), phases))
        if candidates:
            limits.append(min(candidates, key=lambda c: c[0]))
        else:
            limits.append((context.default_limit(unit), context.default_phases))
    return limits, points, min_rate


def _periods(points: list[float], limits: list[tuple[float, int]], start: float,
             duration: int) -> list[CompositePeriod]:
    """Whole-second periods: each one's limit is the one in force at ``start`` + its offset."""
    out: list[CompositePeriod] = []
    for t, (limit, phases) in zip(points, limits, strict=True):
        offset = math.ceil(t - start - 1e-6)  # a change at a fraction of a second: from the next one
        if offset >= max(duration, 1):
            break
        if out and out[-1].start_period == offset:
            out.pop()  # a later change within the same second
        if out and out[-1].limit == limit and out[-1].number_phases == phases:
            continue  # the same as before: one period
        out.append(CompositePeriod(offset, limit, phases))
    return out


def _station(installed: _Installed, unit: Unit,
             context: Context) -> tuple[list[tuple[float, int]], list[float], float | None]:
    per_evse = [_evse_limits(installed, e, unit, context) for e in context.evses]
    caps = [installed.segments(purpose, STATION, None)
            for purpose in ("ChargingStationMaxProfile", "ChargingStationExternalConstraints")]
    points = sorted({t for _, pts, _ in per_evse for t in pts}
                    | set(_boundaries([s for g in caps for s in g], installed.window)))
    cap_winners = [_winners(group, points) for group in caps]
    at = [0] * len(per_evse)  # each EVSE's boundary in force at the current point
    limits: list[tuple[float, int]] = []
    for k, t in enumerate(points):
        total, phases = 0.0, 0
        for n, (evse_limits, evse_points, _) in enumerate(per_evse):
            while at[n] + 1 < len(evse_points) and evse_points[at[n] + 1] <= t:
                at[n] += 1
            limit, evse_phases = evse_limits[at[n]]
            total += limit
            phases = max(phases, evse_phases)
        if not per_evse:
            total, phases = context.default_limit(unit), context.default_phases
        for winners in cap_winners:
            cap = winners[k]
            if cap is not None:
                cap_phases = cap.phases or context.default_phases
                capped = _convert(cap.limit, cap.unit, unit, cap_phases, context.supply_voltage)
                if capped < total:
                    total, phases = capped, cap_phases
        limits.append((total, phases or context.default_phases))
    return limits, points, None
