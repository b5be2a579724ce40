"""OCPP 2.0.1 meter values (functional block J, and the meter data of block E). PURE.

Owns what the 2.0.1 meter-value series send; when they tick is the shared
``ocpp/common/sampling.py`` (its rules: an interval of 0 or Enabled false switches a series
off, SetVariables of an interval takes effect at once, a tick more than one interval late is
skipped), from the latest reading of each EVSE (``ocpp/common/readings.py``):
- SampledDataCtrlr: every TxUpdatedInterval seconds from a transaction's start, a
  TransactionEvent(Updated, MeterValuePeriodic) with TxUpdatedMeasurands (Sample.Periodic);
  every TxEndedInterval seconds, a TxEndedMeasurands reading kept for the Ended event.
- AlignedDataCtrlr: at every multiple of Interval counted from UTC midnight, for each EVSE with
  a reading: TransactionEvent(Updated, MeterValueClock) during a transaction, a MeterValues
  message outside one (Measurands, Sample.Clock); at every multiple of TxEndedInterval (aligned
  the same way), a TxEndedMeasurands reading (Sample.Clock) kept for the Ended event.
- TriggerMessage(MeterValues): AlignedDataCtrlr.Measurands, context Trigger.
- EVSE.Power (Actual) is the EVSE's latest metered active power (what a CSMS's monitors watch).

``meter_value`` (the one MeterValueType builder of the 2.0.1 blocks) uses the shared
``ocpp/sampled_values.py``; it is stamped with the reading's own time.

Must never: decide when a transaction starts or ends (``transactions`` does), send a
TransactionEvent itself, or read a clock (``core.now`` only).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ocpp_bridge.ocpp import evse_events as E
from ocpp_bridge.ocpp.auth_store import epoch
from ocpp_bridge.ocpp.common.readings import MeterReadings
from ocpp_bridge.ocpp.common.sampling import PERIODIC, MeterSampling, Running, SamplingPlan, Series, Tick
from ocpp_bridge.ocpp.context import BlockContext
from ocpp_bridge.ocpp.sampled_values import V201, sampled_values
from ocpp_bridge.ocpp.timefmt import iso
from ocpp_bridge.ocpp.v201.device_model import DeviceModel, VariableKey
from ocpp_bridge.ocpp.v201.dm_definitions import MEASURANDS
from ocpp_bridge.ocpp.v201.variables import enabled, integer, member_list

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

# 2.0.1: the TxEnded values are series of their own, and each controller has an Enabled switch
PLAN = SamplingPlan(
    periodic=(Series("TxUpdatedInterval", TX_UPDATED_INTERVAL, send=TX_UPDATED_MEASURANDS, enabled=SAMPLED_ENABLED),
              Series("SampledTxEndedInterval", SAMPLED_TX_ENDED_INTERVAL, keep=SAMPLED_TX_ENDED_MEASURANDS,
                     enabled=SAMPLED_ENABLED)),
    aligned=(Series("AlignedInterval", ALIGNED_INTERVAL, send=ALIGNED_MEASURANDS, enabled=ALIGNED_ENABLED),
             Series("AlignedTxEndedInterval", ALIGNED_TX_ENDED_INTERVAL, keep=ALIGNED_TX_ENDED_MEASURANDS,
                    enabled=ALIGNED_ENABLED)))


def meter_value(sample: E.MeterSample | None, measurands: Sequence[str], context: str) -> dict[str, Any] | None:
    """A 2.0.1 MeterValueType of ``sample`` for ``measurands``; None when nothing is left."""
    if sample is None:
        return None
    values = sampled_values(sample, measurands, context, V201)
    if not values:
        return None
    stamp = epoch(sample.timestamp)
    return {"timestamp": iso(stamp) if stamp is not None else sample.timestamp, "sampledValue": values}


class MeterValuesBlock:
    def __init__(self, ctx: BlockContext[DeviceModel], transactions: TransactionBlock,
                 readings: MeterReadings) -> None:
        self.core = ctx.core
        self.model = ctx.config
        self.evse_ids = range(1, ctx.evse_count + 1)
        self.transactions = transactions
        self.readings = readings
        self.sampling = MeterSampling(self.core, self.model, readings, PLAN, self, self.evse_ids)
        self.core.events.subscribe(E.MeterReading, self._power)

    def _power(self, reading: E.MeterReading) -> None:
        """EVSE.Power (Actual) follows the EVSE's metered active power, so monitors can watch it."""
        watts = reading.sample.power_w
        if watts is None or reading.evse not in self.evse_ids:
            return
        try:
            self.model.set_internal(VariableKey("EVSE", "Power", evse=reading.evse), f"{max(watts, 0.0):g}")
        except (KeyError, ValueError) as exc:
            log.warning("cannot record EVSE %d Power: %s", reading.evse, exc)

    # ------------------------------------------------------------------ the sampling sink
    def running(self) -> Sequence[Running]:
        return [Running(tx.session_id, tx.evse) for tx in
                (self.transactions.on_evse(e) for e in sorted(self.transactions.active_evses())) if tx is not None]

    def during(self, tx: Running, tick: Tick) -> None:
        sent = meter_value(tick.sample, tick.send, tick.context) if tick.send else None
        if sent is not None:
            trigger = "MeterValuePeriodic" if tick.context == PERIODIC else "MeterValueClock"
            self.transactions.send_meter_update(tx.evse, trigger, [sent])
        kept = meter_value(tick.sample, tick.keep, tick.context) if tick.keep else None
        if kept is not None:
            self.transactions.add_ended_value(tx.evse, kept)

    def outside(self, tick: Tick) -> None:
        mv = meter_value(tick.sample, tick.send, tick.context)
        if mv is not None and self.core.connected:
            self.core.call("MeterValues", {"evseId": tick.evse, "meterValue": [mv]})

    # ------------------------------------------------------------------ TriggerMessage
    def trigger(self, evse: int | None) -> bool:
        """Send MeterValues (AlignedDataCtrlr.Measurands, context Trigger) for ``evse`` or every
        EVSE with a reading; False when there is nothing to send."""
        measurands = self.model.read(ALIGNED_MEASURANDS)
        evses = self.evse_ids if evse is None else [evse]
        readings = [(e, meter_value(self.readings.latest(e), measurands, "Trigger")) for e in evses]
        sent = [(e, mv) for e, mv in readings if mv is not None]
        for e, mv in sent:
            self.core.call("MeterValues", {"evseId": e, "meterValue": [mv]})
        return bool(sent)
