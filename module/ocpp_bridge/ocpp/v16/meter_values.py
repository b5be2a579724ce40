"""OCPP 1.6 MeterValues: sampled during transactions, clock-aligned, and on trigger. PURE.

Owns the two meter-value clocks and what they send, from the last ``powermeter`` reading of
each EVSE (kept by the transactions block):
- sampled: every MeterValueSampleInterval seconds from a transaction's start, the
  MeterValuesSampledData measurands (context Sample.Periodic) as a transaction MeterValues
  through the durable outbox (transactionId -1 until the CSMS gave one; the core fills it in);
  the StopTxnSampledData measurands go to the transaction's StopTransaction data.
- clock-aligned: at every multiple of ClockAlignedDataInterval counted from UTC midnight,
  each day afresh (``ocpp/clock_alignment.py``), the MeterValuesAlignedData measurands
  (context Sample.Clock) for each EVSE with a reading: through the outbox while a
  transaction runs on it, as a plain CALL otherwise; the StopTxnAlignedData measurands go to
  the running transaction's StopTransaction data.
- TriggerMessage MeterValues: the MeterValuesSampledData measurands (context Trigger) at once.
An interval of 0 switches that clock off; a change of either key reschedules at once. A
deadline found more than one interval in the past (the clock jumped, or the module was
stopped) is skipped, not caught up.

A transaction's MeterValues and the StopTransaction data taken with it are one change of the
transactions block (``changes``): stored together or not at all.

Must never: keep its own copy of transaction state, or send StartTransaction/StopTransaction.
"""

from __future__ import annotations

import logging

from ocpp_bridge.ocpp.clock_alignment import next_aligned
from ocpp_bridge.ocpp.context import BlockContext
from ocpp_bridge.ocpp.events import TxEnded, TxStarted
from ocpp_bridge.ocpp.sampled_values import sampled_values
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

SAMPLE_TIMER = "mv16-sample-{}"
ALIGNED_TIMER = "mv16-aligned"


class MeterValues16:
    def __init__(self, ctx: BlockContext[ConfigurationKeys], transactions: Transactions16):
        self.core = ctx.core
        self.keys = ctx.config
        self.count = ctx.evse_count
        self.tx = transactions
        self.core.events.subscribe(TxStarted, lambda event: self._schedule_sample(event.session_id))
        self.core.events.subscribe(TxEnded, lambda event: self.core.timers.cancel(SAMPLE_TIMER.format(event.session_id)))
        self.keys.on_change(METER_VALUE_SAMPLE_INTERVAL, self._reschedule_samples)
        self.keys.on_change(CLOCK_ALIGNED_DATA_INTERVAL, self._schedule_aligned)
        for rec in self.tx.records():  # running before a restart
            self._schedule_sample(rec.session_id)
        self._schedule_aligned()

    # ------------------------------------------------------------------ scheduling
    def _reschedule_samples(self) -> None:
        for rec in self.tx.records():
            self._schedule_sample(rec.session_id)

    def _schedule_sample(self, session_id: str) -> None:
        name = SAMPLE_TIMER.format(session_id)
        interval = self.keys.read(METER_VALUE_SAMPLE_INTERVAL)
        if interval <= 0:
            self.core.timers.cancel(name)
            return
        due = self.core.now + interval
        self.core.timers.set(name, due, lambda: self._sample(session_id, due, interval))

    def _schedule_aligned(self) -> None:
        interval = self.keys.read(CLOCK_ALIGNED_DATA_INTERVAL)
        if interval <= 0:
            self.core.timers.cancel(ALIGNED_TIMER)
            return
        due = next_aligned(self.core.now, interval)
        self.core.timers.set(ALIGNED_TIMER, due, lambda: self._aligned(due, interval))

    # ------------------------------------------------------------------ sampled
    def _sample(self, session_id: str, due: float, interval: int) -> None:
        rec = next((r for r in self.tx.records() if r.session_id == session_id), None)
        if rec is None:
            return
        self._schedule_sample(session_id)
        if self.core.now >= due + interval:
            log.debug("sampled meter value of %s due at %.0f skipped (now %.0f)", session_id, due, self.core.now)
            return
        sample = self.tx.last_sample(rec.evse)
        if sample is None:
            return
        stamp = iso(self.core.now)
        values = sampled_values(sample, self.keys.read(METER_VALUES_SAMPLED_DATA),
                                "Sample.Periodic", "1.6")
        stop_values = sampled_values(sample, self.keys.read(STOP_TXN_SAMPLED_DATA),
                                     "Sample.Periodic", "1.6")
        with self.tx.changes.change():  # the message and the record's data: both or neither
            self.tx.note_meter(session_id, sample.energy_import_wh)
            if values:
                self._send_transactional(rec, stamp, values)
            self.tx.add_transaction_data(session_id, {"timestamp": stamp, "sampledValue": stop_values})

    # ------------------------------------------------------------------ clock-aligned
    def _aligned(self, due: float, interval: int) -> None:
        self._schedule_aligned()
        if self.core.now >= due + interval:
            log.debug("clock-aligned meter values due at %.0f skipped (now %.0f)", due, self.core.now)
            return
        stamp = iso(due)
        measurands = self.keys.read(METER_VALUES_ALIGNED_DATA)
        stop_measurands = self.keys.read(STOP_TXN_ALIGNED_DATA)
        for evse in range(1, self.count + 1):
            sample = self.tx.last_sample(evse)
            if sample is None:
                continue
            rec = self.tx.active(evse)
            values = sampled_values(sample, measurands, "Sample.Clock", "1.6")
            if rec is not None:
                with self.tx.changes.change():
                    if values:
                        self._send_transactional(rec, stamp, values)
                    self.tx.add_transaction_data(rec.session_id, {
                        "timestamp": stamp,
                        "sampledValue": sampled_values(sample, stop_measurands, "Sample.Clock", "1.6")})
            elif values and self.core.registration == "Accepted":
                self.core.call("MeterValues", {"connectorId": evse,
                                               "meterValue": [{"timestamp": stamp, "sampledValue": values}]})

    # ------------------------------------------------------------------ triggered
    def trigger(self, connector: int | None) -> None:
        """TriggerMessage MeterValues for ``connector`` (None: every connector; 0 has no meter)."""
        measurands = self.keys.read(METER_VALUES_SAMPLED_DATA)
        for evse in (range(1, self.count + 1) if connector is None else (connector,)):
            sample = self.tx.last_sample(evse) if evse > 0 else None
            values = sampled_values(sample, measurands, "Trigger", "1.6") if sample is not None else []
            if not values:
                log.info("TriggerMessage MeterValues: no reading for connector %d", evse)
                continue
            payload: dict = {"connectorId": evse, "meterValue": [{"timestamp": iso(self.core.now),
                                                                  "sampledValue": values}]}
            rec = self.tx.active(evse)
            if rec is not None and rec.transaction_id is not None:
                payload["transactionId"] = rec.transaction_id
            self.core.call("MeterValues", payload)

    def _send_transactional(self, rec, stamp: str, values: list[dict]) -> None:
        payload = {"connectorId": rec.evse,
                   "transactionId": rec.transaction_id if rec.transaction_id is not None else -1,
                   "meterValue": [{"timestamp": stamp, "sampledValue": values}]}
        self.core.send_transactional("MeterValues", payload, rec.session_id)
