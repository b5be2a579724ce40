"""OCPP 1.6 MeterValues: sampled during transactions, clock-aligned, and on trigger. PURE.

Owns what the 1.6 meter-value clocks send; when they tick is the shared
``ocpp/common/sampling.py`` (its rules: an interval of 0 switches a clock off, a change of
either key reschedules at once, a tick more than one interval late is skipped), from the
latest reading of each EVSE (``ocpp/common/readings.py``):
- sampled: every MeterValueSampleInterval seconds from a transaction's start, the
  MeterValuesSampledData measurands (context Sample.Periodic) as a transaction MeterValues
  through the durable outbox (transactionId -1 until the CSMS gave one; the core fills it in);
  the StopTxnSampledData measurands go to the transaction's StopTransaction data.
- clock-aligned: at every multiple of ClockAlignedDataInterval counted from UTC midnight, the
  MeterValuesAlignedData measurands (context Sample.Clock, stamped with the aligned instant) for
  each EVSE with a reading: through the outbox while a transaction runs on it, as a plain CALL
  otherwise; the StopTxnAlignedData measurands go to the running transaction's StopTransaction
  data.
- TriggerMessage MeterValues: the MeterValuesSampledData measurands (context Trigger) at once.

A transaction's MeterValues and the StopTransaction data taken with it are one change of the
transactions block (``changes``): stored together or not at all.

Must never: keep its own copy of transaction state, or send StartTransaction/StopTransaction.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from ocpp_bridge.ocpp.common.readings import MeterReadings
from ocpp_bridge.ocpp.common.sampling import PERIODIC, MeterSampling, Running, SamplingPlan, Series, Tick
from ocpp_bridge.ocpp.context import BlockContext
from ocpp_bridge.ocpp.sampled_values import V16, sampled_values
from ocpp_bridge.ocpp.timefmt import iso
from ocpp_bridge.ocpp.v16.configuration import ConfigurationKeys
from ocpp_bridge.ocpp.v16.keys import ENERGY_IMPORT_REGISTER, integer, limit, measurands
from ocpp_bridge.ocpp.v16.transactions import STOP_TXN_ALIGNED_DATA, STOP_TXN_SAMPLED_DATA, Transactions16

log = logging.getLogger("ocpp_bridge.ocpp.v16.meter_values")

CLOCK_ALIGNED_DATA_INTERVAL = integer("ClockAlignedDataInterval", 900)
METER_VALUE_SAMPLE_INTERVAL = integer("MeterValueSampleInterval", 60)
METER_VALUES_ALIGNED_DATA = measurands("MeterValuesAlignedData", ENERGY_IMPORT_REGISTER,
                                       max_length_key="MeterValuesAlignedDataMaxLength")
METER_VALUES_SAMPLED_DATA = measurands("MeterValuesSampledData", ENERGY_IMPORT_REGISTER,
                                       max_length_key="MeterValuesSampledDataMaxLength")
KEYS = (CLOCK_ALIGNED_DATA_INTERVAL, METER_VALUE_SAMPLE_INTERVAL, METER_VALUES_ALIGNED_DATA,
        limit("MeterValuesAlignedDataMaxLength", 10), METER_VALUES_SAMPLED_DATA,
        limit("MeterValuesSampledDataMaxLength", 10))

# 1.6: the StopTransaction data is taken at the ticks of the series that send MeterValues
PLAN = SamplingPlan(
    periodic=(Series("mv16-sampled", METER_VALUE_SAMPLE_INTERVAL, send=METER_VALUES_SAMPLED_DATA,
                     keep=STOP_TXN_SAMPLED_DATA),),
    aligned=(Series("mv16-aligned", CLOCK_ALIGNED_DATA_INTERVAL, send=METER_VALUES_ALIGNED_DATA,
                    keep=STOP_TXN_ALIGNED_DATA),))


class MeterValues16:
    def __init__(self, ctx: BlockContext[ConfigurationKeys], transactions: Transactions16,
                 readings: MeterReadings) -> None:
        self.core = ctx.core
        self.keys = ctx.config
        self.count = ctx.evse_count
        self.tx = transactions
        self.readings = readings
        self.sampling = MeterSampling(self.core, self.keys, readings, PLAN, self, range(1, self.count + 1))

    # ------------------------------------------------------------------ the sampling sink
    def running(self) -> Sequence[Running]:
        return [Running(rec.session_id, rec.evse) for rec in self.tx.records()]

    def during(self, tx: Running, tick: Tick) -> None:
        """A sampled or clock-aligned tick in a transaction: its MeterValues and its
        StopTransaction data, both or neither."""
        rec = self.tx.record(tx.session_id)
        if rec is None:
            return
        stamp = iso(self.core.now if tick.context == PERIODIC else tick.due)
        values = sampled_values(tick.sample, tick.send, tick.context, V16)
        with self.tx.changes.change():
            if values:
                self.core.send_transactional("MeterValues", {
                    "connectorId": rec.evse,
                    "transactionId": rec.transaction_id if rec.transaction_id is not None else -1,
                    "meterValue": [{"timestamp": stamp, "sampledValue": values}]}, rec.session_id)
            self.tx.add_transaction_data(rec.session_id, {
                "timestamp": stamp, "sampledValue": sampled_values(tick.sample, tick.keep, tick.context, V16)})

    def outside(self, tick: Tick) -> None:
        values = sampled_values(tick.sample, tick.send, tick.context, V16)
        if values and self.core.registration == "Accepted":
            self.core.call("MeterValues", {"connectorId": tick.evse,
                                           "meterValue": [{"timestamp": iso(tick.due), "sampledValue": values}]})

    # ------------------------------------------------------------------ triggered
    def trigger(self, connector: int | None) -> None:
        """TriggerMessage MeterValues for ``connector`` (None: every connector; 0 has no meter)."""
        measurands = self.keys.read(METER_VALUES_SAMPLED_DATA)
        for evse in (range(1, self.count + 1) if connector is None else (connector,)):
            sample = self.readings.latest(evse) if evse > 0 else None
            values = sampled_values(sample, measurands, "Trigger", V16) if sample is not None else []
            if not values:
                log.info("TriggerMessage MeterValues: no reading for connector %d", evse)
                continue
            payload: dict[str, Any] = {"connectorId": evse, "meterValue": [{"timestamp": iso(self.core.now),
                                                                            "sampledValue": values}]}
            rec = self.tx.active(evse)
            if rec is not None and rec.transaction_id is not None:
                payload["transactionId"] = rec.transaction_id
            self.core.call("MeterValues", payload)
