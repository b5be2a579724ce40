"""The composite charging schedules on the bus: ``charging_schedules`` of the ``ocpp`` interface.

Owns the conversion of the station's composite schedules (``ocpp/common/composite.py``'s
``CompositeSchedule``, built by ``station.blocks.smart_charging.profiles.schedule``, either
version's common core) into EVerest's
``/ocpp#/ChargingSchedules`` value, and ``SchedulePublisher``: one composite per EVSE, 0 (the
whole station) first, for ``[now, now + PublishChargingScheduleDurationS)`` in
``RequestCompositeScheduleUnit``, published when OCPP starts, whenever the installed profiles
change (``ChargingProfilesChanged``) and every ``PublishChargingScheduleIntervalS`` seconds
(0: only on those occasions), as EVerest's OCPP module does (spec/everest.md §3). The period
runs on the station core's timers (the engine thread); no thread of its own.

Also owns enforcement (``EnergySinks``): with each publication, every ``evse_energy_sink``
connection (interface ``external_energy_limits``) is called with ``set_external_limits`` and the
composite of the EVSE its implementation is mapped to in the run config (no mapping: EVSE 0,
the station), as an ``ExternalLimits`` whose ``schedule_import`` has one entry per period at
its absolute UTC time. Without such connections nothing is called.

Must never: compute a limit itself (the composite is the smart-charging core's), or publish
before OCPP has started.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from ocpp_bridge.ocpp.common.composite import CompositeSchedule, Unit
from ocpp_bridge.ocpp.events import ChargingProfilesChanged
from ocpp_bridge.ocpp.timefmt import iso

log = logging.getLogger("ocpp_bridge.impls.charging_schedules")

TIMER = "bus.charging_schedules"
SINK = "evse_energy_sink"
SOURCE = "OCPP"  # the ``source`` of each limit we hand the energy tree


def _number(value: float) -> float | int:
    """A limit as JSON shows it best: 16 rather than 16.0 (the type says ``number``)."""
    return int(value) if float(value).is_integer() else float(value)


def schedule_value(schedule: CompositeSchedule) -> dict[str, Any]:
    """EVerest's ``ChargingSchedule`` of one composite: its EVSE, unit, periods (offsets from
    ``start_schedule``), duration, start and, when one applies, its minimum charging rate."""
    value: dict[str, Any] = {
        "evse": schedule.evse,
        "charging_rate_unit": schedule.unit,
        "charging_schedule_period": [
            {"start_period": p.start_period, "limit": _number(p.limit), "number_phases": p.number_phases}
            for p in schedule.periods],
        "duration": schedule.duration,
        "start_schedule": iso(schedule.start),
    }
    if schedule.min_charging_rate is not None:
        value["min_charging_rate"] = _number(schedule.min_charging_rate)
    return value


def schedules_value(schedules: list[CompositeSchedule]) -> dict[str, Any]:
    """EVerest's ``ChargingSchedules``: one ``ChargingSchedule`` per composite, in the given order."""
    return {"schedules": [schedule_value(s) for s in schedules]}


def composites(station: Any, now: float, duration: int, unit: Unit) -> list[CompositeSchedule]:
    """The composite of EVSE 0 (the station) and of each of the station's EVSEs."""
    charging = station.blocks.smart_charging.profiles  # the common core, 1.6 and 2.0.1 alike
    return [charging.schedule(evse, now, duration, unit) for evse in range(0, station.evse_count + 1)]


class SchedulePublisher:
    """Publishes ``charging_schedules`` for the station it is attached to (see the module doc)."""

    def __init__(self, publish: Callable[[dict[str, Any]], object], *, interval_s: int, duration_s: int,
                 unit: Unit) -> None:
        self.publish = publish
        self.interval_s = interval_s
        self.duration_s = duration_s
        self.unit = unit
        self.station: Any = None
        self.started = False
        self._listeners: list[Callable[[list[CompositeSchedule]], None]] = []

    def on_schedules(self, fn: Callable[[list[CompositeSchedule]], None]) -> None:
        """``fn(composites)`` after each publication (EVSE 0 first)."""
        self._listeners.append(fn)

    def attach(self, station: Any) -> None:
        """Follow ``station`` (at start-up, and again when OcppVersion "auto" switches versions)."""
        self.station = station
        station.core.events.subscribe(ChargingProfilesChanged, lambda _event: self._changed())
        if self.started:
            self.publish_now()

    def start(self) -> None:
        """OCPP started: publish now, then every interval."""
        self.started = True
        self.publish_now()

    def _changed(self) -> None:
        if self.started:
            self.publish_now()

    def publish_now(self) -> None:
        station = self.station
        now = station.core.now
        try:
            schedules = composites(station, now, self.duration_s, self.unit)
        finally:
            if self.interval_s > 0:  # the next one counts from this one, whatever started it
                station.core.timers.set(TIMER, now + self.interval_s, self.publish_now)
        self.publish(schedules_value(schedules))
        for fn in self._listeners:
            fn(schedules)


def external_limits_value(schedule: CompositeSchedule) -> dict[str, Any]:
    """EVerest's ``ExternalLimits`` of one composite: an import limit per period (amperes per
    phase or watts, the composite's unit, and its number of phases) from the period's absolute
    start; the last one holds after the schedule (the type's rule). No export, no setpoints."""
    key = "ac_max_current_A" if schedule.unit == "A" else "total_power_W"
    entries = []
    for p in schedule.periods:
        limits: dict[str, Any] = {key: {"value": _number(p.limit), "source": SOURCE},
                                  "ac_max_phase_count": {"value": p.number_phases, "source": SOURCE}}
        entries.append({"timestamp": iso(schedule.start + p.start_period), "limits_to_root": limits,
                        "limits_to_leaves": {}})
    return {"schedule_import": entries, "schedule_export": [], "schedule_setpoints": []}


class EnergySinks:
    """The ``evse_energy_sink`` connections, each told the limits of its EVSE (module doc)."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.connections = list(engine.settings.connections.get(SINK, []))

    def enforce(self, schedules: list[CompositeSchedule]) -> None:
        by_evse = {s.evse: s for s in schedules}
        for index, conn in enumerate(self.connections):
            evse = 0 if conn.evse is None else conn.evse
            schedule = by_evse.get(evse)
            if schedule is None:
                log.warning("energy sink %s.%s is mapped to EVSE %d, which this station does not have",
                            conn.module_id, conn.implementation_id, evse)
                continue
            self.engine.call_required(SINK, index, "set_external_limits", {"value": external_limits_value(schedule)},
                                      lambda _value, error, conn=conn: self._done(conn, error))

    @staticmethod
    def _done(conn: Any, error: tuple[str, str] | None) -> None:
        if error is not None:
            log.warning("set_external_limits on %s.%s failed: %s", conn.module_id, conn.implementation_id, error)
