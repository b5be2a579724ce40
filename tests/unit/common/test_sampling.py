"""When meter values are sampled (``ocpp/common/sampling.py``), for both versions: the
per-transaction series from each transaction's start, the clock-aligned series from UTC
midnight, switches and interval changes, the "skip a tick more than one interval late" rule,
and what each version's plan sends or keeps for the end of the transaction. Worked examples
on a fake clock (``FakeCore``) with each version's real plan and settings, then the 2.0.1
charge point where the shared rules changed what it did."""

import pytest
from v201_harness import Sim, full_session_start

from ocpp_bridge.ocpp import evse_events as E
from ocpp_bridge.ocpp.common.readings import MeterReadings
from ocpp_bridge.ocpp.common.sampling import CLOCK, PERIODIC, MeterSampling, Running
from ocpp_bridge.ocpp.events import ConnectionChanged, TxEnded, TxStarted
from ocpp_bridge.ocpp.v16 import meter_values as mv16
from ocpp_bridge.ocpp.v201 import meter_values as mv201
from support.core_fakes import FakeConfig, FakeCore

MIDNIGHT = 1_767_225_600.0  # 2026-01-01T00:00:00Z
EAIR = ("Energy.Active.Import.Register",)


class Sink:
    """The version's side: the running transactions, and every tick it was handed."""

    def __init__(self):
        self.tx: list[Running] = []
        self.got: list[tuple] = []

    def running(self):
        return list(self.tx)

    def during(self, tx, tick):
        self.got.append(("during", tx.session_id, tick.evse, tick.context, tick.due - MIDNIGHT, tick.send, tick.keep,
                         tick.sample.energy_import_wh))

    def outside(self, tick):
        self.got.append(("outside", tick.evse, tick.context, tick.due - MIDNIGHT, tick.send))


class Station:
    def __init__(self, plan, values, *, now=MIDNIGHT + 100, running=()):
        self.core = FakeCore(now)
        self.config = FakeConfig(values)
        self.readings = MeterReadings(self.core.events)
        self.sink = Sink()
        self.sink.tx.extend(running)
        self.sampling = MeterSampling(self.core, self.config, self.readings, plan, self.sink, (1, 2))

    def read(self, evse, energy):
        self.core.events.publish(E.MeterReading(evse, E.MeterSample(timestamp="2026-01-01T00:00:00Z",
                                                                    energy_import_wh=energy)))

    def start(self, session_id, evse):
        self.sink.tx.append(Running(session_id, evse))
        self.core.events.publish(TxStarted(evse, 1, session_id))

    def end(self, session_id):
        tx = next(t for t in self.sink.tx if t.session_id == session_id)
        self.sink.tx.remove(tx)
        self.core.events.publish(TxEnded(tx.evse, 1, session_id))

    def dues(self, kind="during"):
        return [g[4] if kind == "during" else g[3] for g in self.sink.got if g[0] == kind]


V16_SAMPLED_ONLY = {mv16.METER_VALUE_SAMPLE_INTERVAL: 60, mv16.CLOCK_ALIGNED_DATA_INTERVAL: 0}


# ------------------------------------------------------------------ per transaction
def test_1_6_samples_every_interval_from_the_start_and_keeps_stop_txn_data_at_the_same_ticks():
    st = Station(mv16.PLAN, V16_SAMPLED_ONLY)
    st.read(1, 500.0)
    st.core.advance(30)
    st.start("s1", 1)                                   # at midnight + 130
    st.core.advance(125)
    assert st.sink.got == [("during", "s1", 1, PERIODIC, 190.0, EAIR, EAIR, 500.0),
                           ("during", "s1", 1, PERIODIC, 250.0, EAIR, EAIR, 500.0)]
    st.end("s1")
    st.core.advance(600)
    assert len(st.sink.got) == 2                        # nothing after the end


def test_no_reading_no_sample_but_the_series_goes_on():
    st = Station(mv16.PLAN, V16_SAMPLED_ONLY)
    st.start("s1", 2)
    st.core.advance(60)
    assert st.sink.got == []
    st.read(2, 7.0)
    st.core.advance(60)
    assert st.dues() == [220.0]


def test_an_interval_change_takes_effect_at_once_and_zero_switches_it_off():
    st = Station(mv16.PLAN, V16_SAMPLED_ONLY)
    st.read(1, 1.0)
    st.start("s1", 1)
    st.core.advance(5)
    st.config.set(mv16.METER_VALUE_SAMPLE_INTERVAL, 10)  # re-armed from now (midnight + 105)
    st.core.advance(25)
    assert st.dues() == [115.0, 125.0]
    st.config.set(mv16.METER_VALUE_SAMPLE_INTERVAL, 0)
    st.core.advance(3600)
    assert st.dues() == [115.0, 125.0]


def test_a_tick_more_than_one_interval_late_is_skipped_not_caught_up():
    st = Station(mv16.PLAN, V16_SAMPLED_ONLY)
    st.read(1, 1.0)
    st.start("s1", 1)                                   # first due at midnight + 160
    st.core.jump(130)                                   # found at + 230, 70 s late: skipped
    assert st.sink.got == []
    st.core.advance(60)                                 # one interval from when it was found
    assert st.dues() == [290.0]
    st.core.jump(119)                                   # the next (+ 350) found 59 s late: taken
    assert st.dues() == [290.0, 350.0]


def test_2_0_1_runs_its_tx_ended_values_as_a_series_of_their_own():
    st = Station(mv201.PLAN, {mv201.TX_UPDATED_INTERVAL: 30, mv201.SAMPLED_TX_ENDED_INTERVAL: 20,
                              mv201.ALIGNED_INTERVAL: 0})
    st.read(1, 9.0)
    st.start("s1", 1)
    st.core.advance(60)
    assert [(g[4], g[5], g[6]) for g in st.sink.got] == [
        (120.0, (), EAIR), (130.0, EAIR, ()), (140.0, (), EAIR), (160.0, EAIR, ()), (160.0, (), EAIR)]


@pytest.mark.parametrize("switch, series", [(mv201.SAMPLED_ENABLED, PERIODIC), (mv201.ALIGNED_ENABLED, CLOCK)])
def test_2_0_1_a_disabled_controller_samples_nothing_until_enabled_again(switch, series):
    st = Station(mv201.PLAN, {switch: False, mv201.TX_UPDATED_INTERVAL: 10, mv201.ALIGNED_INTERVAL: 60})
    st.read(1, 1.0)
    st.start("s1", 1)
    st.core.advance(300)
    assert [g for g in st.sink.got if g[3] == series] == []
    st.config.set(switch, True)
    st.core.advance(60)
    assert [g for g in st.sink.got if g[3] == series]


# ------------------------------------------------------------------ clock-aligned
def test_clock_aligned_ticks_count_from_midnight_for_every_evse_with_a_reading():
    st = Station(mv16.PLAN, {mv16.METER_VALUE_SAMPLE_INTERVAL: 0, mv16.CLOCK_ALIGNED_DATA_INTERVAL: 900})
    st.read(1, 10.0)
    st.read(2, 20.0)
    st.start("s2", 2)
    st.core.advance(799.9)
    assert st.sink.got == []
    st.core.advance(0.2)                                # 00:15:00
    assert st.sink.got == [("outside", 1, CLOCK, 900.0, EAIR),
                           ("during", "s2", 2, CLOCK, 900.0, EAIR, (), 20.0)]   # StopTxnAlignedData is empty
    st.core.advance(900)
    assert [g[0] for g in st.sink.got] == ["outside", "during", "outside", "during"]


def test_2_0_1_aligned_tx_ended_values_are_only_kept_during_a_transaction():
    st = Station(mv201.PLAN, {mv201.ALIGNED_INTERVAL: 0, mv201.ALIGNED_TX_ENDED_INTERVAL: 300,
                              mv201.ALIGNED_TX_ENDED_MEASURANDS: EAIR, mv201.TX_UPDATED_INTERVAL: 0})
    st.read(1, 42.0)
    st.read(2, 7.0)
    st.start("s1", 1)
    st.core.advance(200)                                # 00:05:00
    assert st.sink.got == [("during", "s1", 1, CLOCK, 300.0, (), EAIR, 42.0)]


def test_the_aligned_series_of_a_day_start_again_at_midnight():
    st = Station(mv16.PLAN, {mv16.METER_VALUE_SAMPLE_INTERVAL: 0, mv16.CLOCK_ALIGNED_DATA_INTERVAL: 420},
                 now=MIDNIGHT + 86400 - 500)
    st.read(1, 1.0)
    st.core.advance(1000)
    assert st.dues("outside") == [86400.0 - 300, 86400.0, 86400.0 + 420]


# ------------------------------------------------------------------ restarts
def test_transactions_running_at_a_restart_are_sampled_on_from_then():
    st = Station(mv16.PLAN, V16_SAMPLED_ONLY, running=[Running("old", 1)])
    st.read(1, 5.0)
    st.core.advance(60)
    assert st.dues() == [160.0]


def test_a_series_armed_on_a_stale_clock_is_armed_again_when_the_connection_comes_up():
    """The station is built before the engine's first step: its clock still says 0."""
    st = Station(mv16.PLAN, V16_SAMPLED_ONLY, now=0.0, running=[Running("old", 1)])
    st.read(1, 5.0)
    st.core.now = MIDNIGHT + 100                        # the first step
    st.core.events.publish(ConnectionChanged(True))
    st.core.advance(60)
    assert st.dues() == [160.0]


# ------------------------------------------------------------------ the 2.0.1 charge point
def updates(sim, trigger):
    return [e for e in sim.payloads("TransactionEvent") if e["triggerReason"] == trigger]


def test_2_0_1_samples_a_transaction_after_a_restart_while_still_offline(tmp_path):
    sim = Sim(tmp_path, overrides={"SampledDataCtrlr": {"TxUpdatedInterval": 10}})
    full_session_start(sim, 1, "s1")
    sim.disconnect()
    sim.restart()                                       # not connected since
    sim.ev(E.MeterReading(1, E.MeterSample(timestamp="2026-01-01T00:01:40Z", energy_import_wh=900.0)))
    for _ in range(3):
        sim.tick(10)
    queued = [p for a, p in sim.cp.core.pending_transactional("s1") if a == "TransactionEvent"]
    assert [p["triggerReason"] for p in queued][:1] == ["MeterValuePeriodic"]
    sim.connect()
    assert updates(sim, "MeterValuePeriodic")[0]["offline"] is True


def test_2_0_1_skips_a_periodic_sample_found_more_than_an_interval_late(tmp_path):
    sim = Sim(tmp_path, overrides={"SampledDataCtrlr": {"TxUpdatedInterval": 10}})
    full_session_start(sim, 1, "s1")
    sim.ev(E.MeterReading(1, E.MeterSample(timestamp="2026-01-01T00:01:40Z", energy_import_wh=900.0)))
    sim.tick(35)                                        # the clock jumped past the first one
    sim.tick(10)                                        # one interval after it was found
    periodic = updates(sim, "MeterValuePeriodic")
    assert [e["timestamp"] for e in periodic] == ["2026-01-01T00:02:25.000Z"]
