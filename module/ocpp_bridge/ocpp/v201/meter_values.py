"""OCPP 2.0.1 meter values (functional block J, and the meter data of block E). PURE.

Owns the latest power-meter reading of each EVSE (``MeterReading``), and the timers that turn
readings into OCPP:
- SampledDataCtrlr (Enabled): every TxUpdatedInterval seconds from a transaction's start, a
  TransactionEvent(Updated, MeterValuePeriodic) with TxUpdatedMeasurands (Sample.Periodic);
  every TxEndedInterval seconds, a TxEndedMeasurands reading kept for the Ended event.
- AlignedDataCtrlr (Enabled): at every multiple of Interval counted from UTC midnight, each
  day afresh (``ocpp/clock_alignment.py``), for each EVSE with a reading:
  TransactionEvent(Updated, MeterValueClock) during a transaction, a MeterValues message
  outside one (Measurands, Sample.Clock); at every multiple of TxEndedInterval (aligned the
  same way), a TxEndedMeasurands reading (Sample.Clock) kept for the Ended event.
- TriggerMessage(MeterValues): AlignedDataCtrlr.Measurands, context Trigger.
Interval changes (SetVariables) take effect at once. An interval of 0 switches that series off.

``meter_value`` (the one MeterValueType builder of the 2.0.1 blocks) uses the shared
``ocpp/sampled_values.py``.

Must never: decide when a transaction starts or ends (``transactions`` does), send a
TransactionEvent itself, or read a clock (``core.now`` only).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from ocpp_bridge.ocpp import evse_events as E
from ocpp_bridge.ocpp.auth_store import epoch
from ocpp_bridge.ocpp.clock_alignment import next_aligned
from ocpp_bridge.ocpp.context import BlockContext, Later
from ocpp_bridge.ocpp.events import ConnectionChanged, TxEnded, TxStarted
from ocpp_bridge.ocpp.sampled_values import V201, sampled_values
from ocpp_bridge.ocpp.timefmt import iso
from ocpp_bridge.ocpp.v201.device_model import DeviceModel
from ocpp_bridge.ocpp.v201.dm_definitions import MEASURANDS
from ocpp_bridge.ocpp.v201.status import StatusBlock
from ocpp_bridge.ocpp.v201.variables import Var, enabled, integer, member_list

if TYPE_CHECKING:
    from ocpp_bridge.ocpp.v201.transactions import TransactionBlock

log = logging.getLogger("ocpp_bridge.ocpp.v201.meter_values")

SAMPLED, ALIGNED = "SampledDataCtrlr", "AlignedDataCtrlr"
EAIR = "Energy.Active.Import.Register"
SAMPLED_ENABLED = enabled(SAMPLED)
SAMPLED_TX_ENDED_MEASURANDS = member_list(SAMPLED, "TxEndedMeasurands", EAIR, values_list=MEASURANDS)
SAMPLED_TX_ENDED_INTERVAL = integer(SAMPLED, "TxEndedInterval", 0, unit="s")
TX_STARTED_MEASURANDS = member_list(SAMPLED, "TxStartedMeasurands", EAIR, values_list=MEASURANDS)
TX_UPDATED_MEASURANDS = member_list(SAMPLED, "TxUpdatedMeasurands", EAIR, values_list=MEASURANDS)
TX_UPDATED_INTERVAL = integer(SAMPLED, "TxUpdatedInterval", 60, unit="s")
ALIGNED_ENABLED = enabled(ALIGNED)
ALIGNED_MEASURANDS = member_list(ALIGNED, "Measurands", EAIR, values_list=MEASURANDS)
ALIGNED_INTERVAL = integer(ALIGNED, "Interval", 900, unit="s")
ALIGNED_TX_ENDED_MEASURANDS = member_list(ALIGNED, "TxEndedMeasurands", "", values_list=MEASURANDS)
ALIGNED_TX_ENDED_INTERVAL = integer(ALIGNED, "TxEndedInterval", 0, unit="s")
VARIABLES = (SAMPLED_ENABLED, SAMPLED_TX_ENDED_MEASURANDS, SAMPLED_TX_ENDED_INTERVAL, TX_STARTED_MEASURANDS,
             TX_UPDATED_MEASURANDS, TX_UPDATED_INTERVAL, ALIGNED_ENABLED, ALIGNED_MEASURANDS, ALIGNED_INTERVAL,
             ALIGNED_TX_ENDED_MEASURANDS, ALIGNED_TX_ENDED_INTERVAL)


def meter_value(sample: E.MeterSample | None, measurands: Sequence[str], context: str) -> dict | None:
    """A 2.0.1 MeterValueType of ``sample`` for ``measurands``; None when nothing is left."""
    if sample is None:
        return None
    values = sampled_values(sample, measurands, context, V201)
    if not values:
        return None
    stamp = epoch(sample.timestamp)
    return {"timestamp": iso(stamp) if stamp is not None else sample.timestamp, "sampledValue": values}


class MeterValuesBlock:
    def __init__(self, ctx: BlockContext[DeviceModel], status: StatusBlock, transactions: Later[TransactionBlock]):
        """``transactions``: the transaction block (built after this one; used from the first
        event on)."""
        self.core = ctx.core
        self.model = ctx.config
        self.status = status
        self._transactions = transactions
        self._latest: dict[int, E.MeterSample] = {}
        self.core.events.subscribe_many(E.EVSE_EVENTS, self._on_event)
        self.core.events.subscribe(TxStarted, lambda event: self._arm_sampled(event.evse))
        self.core.events.subscribe(TxEnded, lambda event: self._disarm_sampled(event.evse))
        self.core.events.subscribe(ConnectionChanged, self._on_connected)
        for var in (SAMPLED_ENABLED, TX_UPDATED_INTERVAL, SAMPLED_TX_ENDED_INTERVAL):
            self.model.on_change(var, self._rearm_sampled)
        for var in (ALIGNED_ENABLED, ALIGNED_INTERVAL, ALIGNED_TX_ENDED_INTERVAL):
            self.model.on_change(var, self._arm_aligned)
        self._arm_aligned()

    # ------------------------------------------------------------------ configuration
    def _rearm_sampled(self) -> None:
        for evse in sorted(self._transactions.get().active_evses()):
            self._arm_sampled(evse)

    def _on_connected(self, event: ConnectionChanged) -> None:
        """The clock is known by now: (re)arm the aligned series, and the sampled ones of
        transactions that ran before a restart."""
        if not event.up:
            return
        self._arm_aligned()
        for evse in sorted(self._transactions.get().active_evses()):
            if not self.core.timers.is_set(f"sampled-TxUpdatedInterval-{evse}"):
                self._arm_sampled(evse)

    # ------------------------------------------------------------------ readings
    def latest(self, evse: int) -> E.MeterSample | None:
        return self._latest.get(evse)

    def _on_event(self, event) -> None:
        if isinstance(event, E.MeterReading):
            self._latest[event.evse] = event.sample
        elif isinstance(event, E.EvInfo) and event.soc_percent is not None and event.evse in self._latest:
            old = self._latest[event.evse]
            self._latest[event.evse] = E.MeterSample(**{**old.__dict__, "soc_percent": event.soc_percent})

    def _reading(self, evse: int, measurands: Var[tuple[str, ...]], context: str) -> dict | None:
        return meter_value(self._latest.get(evse), self.model.read(measurands), context)

    # ------------------------------------------------------------------ sampled (per transaction)
    def _arm_sampled(self, evse: int) -> None:
        for var, fn in ((TX_UPDATED_INTERVAL, self._periodic), (SAMPLED_TX_ENDED_INTERVAL, self._ended_sample)):
            name = f"sampled-{var.name}-{evse}"
            interval = self.model.read(var)
            if interval > 0 and self.model.read(SAMPLED_ENABLED):
                self.core.timers.set(name, self.core.now + interval, lambda e=evse, f=fn: f(e))
            else:
                self.core.timers.cancel(name)

    def _disarm_sampled(self, evse: int) -> None:
        for var in (TX_UPDATED_INTERVAL, SAMPLED_TX_ENDED_INTERVAL):
            self.core.timers.cancel(f"sampled-{var.name}-{evse}")

    def _again(self, evse: int, var: Var[int], fn: Callable[[int], None]) -> None:
        interval = self.model.read(var)
        if interval > 0 and evse in self._transactions.get().active_evses():
            self.core.timers.set(f"sampled-{var.name}-{evse}", self.core.now + interval, lambda: fn(evse))

    def _periodic(self, evse: int) -> None:
        mv = self._reading(evse, TX_UPDATED_MEASURANDS, "Sample.Periodic")
        if mv is not None:
            self._transactions.get().send_meter_update(evse, "MeterValuePeriodic", [mv])
        self._again(evse, TX_UPDATED_INTERVAL, self._periodic)

    def _ended_sample(self, evse: int) -> None:
        mv = self._reading(evse, SAMPLED_TX_ENDED_MEASURANDS, "Sample.Periodic")
        if mv is not None:
            self._transactions.get().add_ended_value(evse, mv)
        self._again(evse, SAMPLED_TX_ENDED_INTERVAL, self._ended_sample)

    # ------------------------------------------------------------------ clock-aligned
    def _arm_aligned(self) -> None:
        for var, fn in ((ALIGNED_INTERVAL, self._aligned), (ALIGNED_TX_ENDED_INTERVAL, self._aligned_ended)):
            self._rearm(var, fn)

    def _rearm(self, var: Var[int], fn: Callable[[], None]) -> None:
        """Set the next tick of an aligned series. A tick that comes a whole interval late (the
        clock jumped, or it was set before the engine's first time) only sets the next one."""
        name, interval = f"aligned-{var.name}", self.model.read(var)
        if interval <= 0 or not self.model.read(ALIGNED_ENABLED):
            self.core.timers.cancel(name)
            return
        due = next_aligned(self.core.now, interval)

        def tick() -> None:
            if self.core.now < due + interval:
                fn()
            else:
                self._rearm(var, fn)
        self.core.timers.set(name, due, tick)

    def _aligned(self) -> None:
        active = self._transactions.get().active_evses()
        for evse in self.status.evse_ids():
            mv = self._reading(evse, ALIGNED_MEASURANDS, "Sample.Clock")
            if mv is None:
                continue
            if evse in active:
                self._transactions.get().send_meter_update(evse, "MeterValueClock", [mv])
            elif self.core.connected:
                self.core.call("MeterValues", {"evseId": evse, "meterValue": [mv]})
        self._rearm(ALIGNED_INTERVAL, self._aligned)

    def _aligned_ended(self) -> None:
        for evse in sorted(self._transactions.get().active_evses()):
            mv = self._reading(evse, ALIGNED_TX_ENDED_MEASURANDS, "Sample.Clock")
            if mv is not None:
                self._transactions.get().add_ended_value(evse, mv)
        self._rearm(ALIGNED_TX_ENDED_INTERVAL, self._aligned_ended)

    # ------------------------------------------------------------------ TriggerMessage
    def trigger(self, evse: int | None) -> bool:
        """Send MeterValues (AlignedDataCtrlr.Measurands, context Trigger) for ``evse`` or every
        EVSE with a reading; False when there is nothing to send."""
        evses = self.status.evse_ids() if evse is None else [evse]
        readings = [(e, self._reading(e, ALIGNED_MEASURANDS, "Trigger")) for e in evses]
        readings = [(e, mv) for e, mv in readings if mv is not None]
        for e, mv in readings:
            self.core.call("MeterValues", {"evseId": e, "meterValue": [mv]})
        return bool(readings)
