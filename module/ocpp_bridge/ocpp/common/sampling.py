"""When meter values are sampled, for both OCPP versions. PURE.

Owns the schedules both versions run on the latest readings (``readings.py``), and what each
tick hands the version's adapter (a ``SamplingSink``: it builds and sends the messages):
- per-transaction series: every interval seconds from the transaction's start (``TxStarted``)
  until its end (``TxEnded``), armed again for the transactions running at a restart;
- clock-aligned series: at the multiples of the interval counted from each UTC midnight
  (``ocpp/clock_alignment.py``), for every EVSE with a reading, in a transaction
  (``SamplingSink.during``) or outside one (``SamplingSink.outside``);
- the same rules for every series: an interval of 0 (or a disabled controller) switches it
  off; a change of its interval or switch re-arms it at once; a tick found more than one
  interval late (the clock jumped, the engine was stopped, or the series was armed before the
  engine's first time) is skipped, not caught up, and the next one is due one interval later
  (when the connection comes up, a series already that late is re-armed from then).
A series names two sets of measurands: those that go out at each tick (``send``: 1.6
MeterValues, 2.0.1 TransactionEvent(Updated) or MeterValues) and those kept for the end of the
transaction (``keep``: 1.6 StopTransaction.transactionData, 2.0.1 the Ended event's meterValue).

Where the versions differ (their specs do), each version's ``SamplingPlan`` says it: 1.6 keeps
its StopTxnSampledData / StopTxnAlignedData at the ticks of the series it sends
(MeterValueSampleInterval, ClockAlignedDataInterval) and has no switches; 2.0.1 runs the TxEnded
values as series of their own (SampledDataCtrlr.TxEndedInterval, AlignedDataCtrlr.TxEndedInterval),
and SampledDataCtrlr / AlignedDataCtrlr.Enabled switch theirs.

Must never: build OCPP messages, keep transaction state, or read a clock (``now`` is the core's).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Callable, NamedTuple, Protocol

from ocpp_bridge.ocpp.clock_alignment import next_aligned
from ocpp_bridge.ocpp.common.readings import MeterReadings
from ocpp_bridge.ocpp.events import ConnectionChanged, EventBus, TxEnded, TxStarted
from ocpp_bridge.ocpp.evse_events import MeterSample
from ocpp_bridge.ocpp.settings import Config, Setting

log = logging.getLogger("ocpp_bridge.ocpp.common.sampling")

PERIODIC, CLOCK = "Sample.Periodic", "Sample.Clock"  # the ReadingContext of each kind of series


class TimerTable(Protocol):
    def set(self, name: str, due: float, fn: Callable[[], None]) -> None: ...

    def cancel(self, name: str) -> None: ...


class Clockwork(Protocol):
    """What the schedules need of the station core: the step's time, its timers, its events."""

    @property
    def now(self) -> float: ...

    @property
    def timers(self) -> TimerTable: ...

    @property
    def events(self) -> EventBus: ...


@dataclass(frozen=True)
class Series:
    """One schedule of samples and the settings it reads (each read when it is used)."""

    name: str
    interval: Setting[int]
    send: Setting[tuple[str, ...]] | None = None  # measurands that go out at each tick
    keep: Setting[tuple[str, ...]] | None = None  # measurands kept for the transaction's end
    enabled: Setting[bool] | None = None


@dataclass(frozen=True)
class SamplingPlan:
    periodic: tuple[Series, ...] = ()  # per transaction, from its start
    aligned: tuple[Series, ...] = ()   # clock-aligned, every EVSE


class Running(NamedTuple):
    """A running transaction, as the schedules know it."""

    session_id: str
    evse: int


@dataclass(frozen=True)
class Tick:
    """One series' tick on one EVSE with a reading."""

    evse: int
    due: float               # the instant it was due (clock-aligned: the aligned instant)
    context: str             # PERIODIC | CLOCK
    sample: MeterSample      # the EVSE's latest reading
    send: tuple[str, ...]    # measurands to send now (may be empty)
    keep: tuple[str, ...]    # measurands to keep for the end of the transaction (may be empty)


class SamplingSink(Protocol):
    """The version's side: which transactions run, and what a tick becomes."""

    def running(self) -> Sequence[Running]: ...

    def during(self, tx: Running, tick: Tick) -> None: ...

    def outside(self, tick: Tick) -> None:
        """A clock-aligned tick of a series with ``send`` measurands on an EVSE without a
        transaction."""


class MeterSampling:
    def __init__(self, core: Clockwork, config: Config, readings: MeterReadings, plan: SamplingPlan,
                 sink: SamplingSink, evse_ids: Sequence[int]) -> None:
        self._core = core
        self._config = config
        self._readings = readings
        self._plan = plan
        self._sink = sink
        self._evse_ids = tuple(evse_ids)
        self._armed: dict[str, tuple[float, int]] = {}  # timer name -> (due, interval)
        core.events.subscribe(TxStarted, lambda event: self._arm_transaction(Running(event.session_id, event.evse)))
        core.events.subscribe(TxEnded, lambda event: self._disarm_transaction(event.session_id))
        core.events.subscribe(ConnectionChanged, self._on_connection)
        for series in plan.periodic:
            for setting in _switches(series):
                config.on_change(setting, partial(self._rearm_periodic, series))
        for series in plan.aligned:
            for setting in _switches(series):
                config.on_change(setting, partial(self._arm_aligned, series))
        for tx in sink.running():  # running before a restart
            self._arm_transaction(tx)
        for series in plan.aligned:
            self._arm_aligned(series)

    # ------------------------------------------------------------------ arming
    def _interval(self, series: Series) -> int:
        """The series' interval, 0 when it is switched off."""
        if series.enabled is not None and not self._config.read(series.enabled):
            return 0
        return max(0, self._config.read(series.interval))

    def _set(self, name: str, due: float, interval: int, fire: Callable[[], None]) -> None:
        def run() -> None:
            self._armed.pop(name, None)
            fire()
        self._armed[name] = (due, interval)
        self._core.timers.set(name, due, run)

    def _cancel(self, name: str) -> None:
        self._armed.pop(name, None)
        self._core.timers.cancel(name)

    def _late(self, due: float, interval: int) -> bool:
        return self._core.now >= due + interval

    def _arm_transaction(self, tx: Running) -> None:
        for series in self._plan.periodic:
            self._arm_periodic(series, tx)

    def _disarm_transaction(self, session_id: str) -> None:
        for series in self._plan.periodic:
            self._cancel(f"sampling-{series.name}-{session_id}")

    def _rearm_periodic(self, series: Series) -> None:
        for tx in self._sink.running():
            self._arm_periodic(series, tx)

    def _arm_periodic(self, series: Series, tx: Running) -> None:
        name, interval = f"sampling-{series.name}-{tx.session_id}", self._interval(series)
        if interval <= 0:
            self._cancel(name)
            return
        due = self._core.now + interval
        self._set(name, due, interval, lambda: self._periodic_tick(series, tx, due, interval))

    def _arm_aligned(self, series: Series) -> None:
        name, interval = f"sampling-{series.name}", self._interval(series)
        if interval <= 0:
            self._cancel(name)
            return
        due = next_aligned(self._core.now, interval)
        self._set(name, due, interval, lambda: self._aligned_tick(series, due, interval))

    def _on_connection(self, event: ConnectionChanged) -> None:
        """The engine's time is known by now: re-arm what was armed on an older one."""
        if not event.up:
            return
        for series in self._plan.aligned:
            self._arm_aligned(series)
        for tx in self._sink.running():
            for series in self._plan.periodic:
                armed = self._armed.get(f"sampling-{series.name}-{tx.session_id}")
                if armed is None or self._late(*armed):
                    self._arm_periodic(series, tx)

    # ------------------------------------------------------------------ ticks
    def _tick(self, series: Series, evse: int, due: float, context: str, sample: MeterSample) -> Tick:
        send = self._config.read(series.send) if series.send is not None else ()
        keep = self._config.read(series.keep) if series.keep is not None else ()
        return Tick(evse, due, context, sample, tuple(send), tuple(keep))

    def _periodic_tick(self, series: Series, tx: Running, due: float, interval: int) -> None:
        if tx not in self._sink.running():
            return
        self._arm_periodic(series, tx)
        if self._late(due, interval):
            log.debug("%s sample of %s due at %.0f skipped (now %.0f)", series.name, tx.session_id, due,
                      self._core.now)
            return
        sample = self._readings.latest(tx.evse)
        if sample is not None:
            self._sink.during(tx, self._tick(series, tx.evse, due, PERIODIC, sample))

    def _aligned_tick(self, series: Series, due: float, interval: int) -> None:
        self._arm_aligned(series)
        if self._late(due, interval):
            log.debug("%s clock-aligned samples due at %.0f skipped (now %.0f)", series.name, due, self._core.now)
            return
        running = {tx.evse: tx for tx in self._sink.running()}
        for evse in self._evse_ids:
            sample = self._readings.latest(evse)
            if sample is None:
                continue
            tick = self._tick(series, evse, due, CLOCK, sample)
            tx = running.get(evse)
            if tx is not None:
                self._sink.during(tx, tick)
            elif tick.send:
                self._sink.outside(tick)


def _switches(series: Series) -> tuple[Setting[object], ...]:
    """The settings whose change re-arms ``series``."""
    return (series.interval,) if series.enabled is None else (series.interval, series.enabled)
