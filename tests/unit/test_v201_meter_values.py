"""OCPP 2.0.1 meter values: sampled (SampledDataCtrlr) and clock-aligned (AlignedDataCtrlr)
data, in and outside transactions, on the pure core with a fake clock (``v201_harness``).

The clock starts 100 s after midnight UTC, so an aligned Interval of 300 s is due 200 s later.
"""

import pytest
from v201_harness import Sim, full_session_start, sample, tx_finished

from ocpp_bridge.ocpp import evse_events as E


def reading(evse, energy, power=0.0):
    return E.MeterReading(evse, sample(energy, power))


def updates(sim, trigger):
    return [e for e in sim.payloads("TransactionEvent") if e["triggerReason"] == trigger]


def values(meter_value):
    return [(v["measurand"], v["context"], v["value"]) for v in meter_value["sampledValue"]]


def test_tc_j_09_sampled_values_in_updated_events(tmp_path):
    sim = Sim(tmp_path, overrides={"SampledDataCtrlr": {
        "TxUpdatedInterval": 10, "TxUpdatedMeasurands": "Energy.Active.Import.Register,Power.Active.Import"}})
    full_session_start(sim, 1, "s1")
    sim.ev(reading(1, 500, 7000))
    sim.tick(9)
    assert updates(sim, "MeterValuePeriodic") == []
    sim.tick(1)
    sim.ev(reading(1, 520, 7100))
    sim.tick(10)
    periodic = updates(sim, "MeterValuePeriodic")
    assert [values(e["meterValue"][0]) for e in periodic] == [
        [("Energy.Active.Import.Register", "Sample.Periodic", 500), ("Power.Active.Import", "Sample.Periodic", 7000)],
        [("Energy.Active.Import.Register", "Sample.Periodic", 520), ("Power.Active.Import", "Sample.Periodic", 7100)]]
    sim.ev(tx_finished(1, "s1", "EVDisconnected"))
    sim.tick(30)
    assert len(updates(sim, "MeterValuePeriodic")) == 2            # nothing after the end


def test_tc_j_10_tx_ended_samples_in_the_ended_event(tmp_path):
    sim = Sim(tmp_path, overrides={"SampledDataCtrlr": {"TxEndedInterval": 20, "TxUpdatedInterval": 0}})
    full_session_start(sim, 1, "s1")
    sim.ev(reading(1, 100))
    sim.tick(20)
    sim.ev(reading(1, 200))
    sim.tick(20)
    assert updates(sim, "MeterValuePeriodic") == []
    sim.ev(tx_finished(1, "s1", "EVDisconnected", energy=250))
    ended = sim.payloads("TransactionEvent")[-1]
    assert [values(mv) for mv in ended["meterValue"]] == [
        [("Energy.Active.Import.Register", "Sample.Periodic", 100)],
        [("Energy.Active.Import.Register", "Sample.Periodic", 200)],
        [("Energy.Active.Import.Register", "Transaction.End", 250)]]


def test_tx_ended_samples_survive_a_restart(tmp_path):
    sim = Sim(tmp_path, overrides={"SampledDataCtrlr": {"TxEndedInterval": 20}})
    full_session_start(sim, 1, "s1")
    sim.ev(reading(1, 100))
    sim.tick(20)
    sim.restart()
    sim.connect()
    sim.ev(tx_finished(1, "s1", "EVDisconnected", energy=150))
    ended = sim.payloads("TransactionEvent")[-1]
    assert [values(mv)[0][2] for mv in ended["meterValue"]] == [100, 150]


def test_tc_j_01_clock_aligned_meter_values_without_transaction(tmp_path):
    sim = Sim(tmp_path, overrides={"AlignedDataCtrlr": {"Interval": 300}})
    sim.ev(reading(1, 42))                                  # EVSE 2 has no reading: nothing for it
    sim.tick(199)
    assert sim.payloads("MeterValues") == []
    sim.tick(1)
    [mv] = sim.payloads("MeterValues")
    assert mv["evseId"] == 1 and values(mv["meterValue"][0]) == [("Energy.Active.Import.Register", "Sample.Clock", 42)]
    sim.tick(300)
    assert len(sim.payloads("MeterValues")) == 2


def test_tc_j_02_clock_aligned_values_during_a_transaction(tmp_path):
    sim = Sim(tmp_path, overrides={"AlignedDataCtrlr": {"Interval": 300}, "SampledDataCtrlr": {"TxUpdatedInterval": 0}})
    full_session_start(sim, 1, "s1")
    sim.ev(reading(1, 42), reading(2, 7))
    sim.tick(200)
    [clock] = updates(sim, "MeterValueClock")
    assert clock["transactionInfo"]["transactionId"] == "s1"
    assert values(clock["meterValue"][0]) == [("Energy.Active.Import.Register", "Sample.Clock", 42)]
    assert [p["evseId"] for p in sim.payloads("MeterValues")] == [2]   # the idle EVSE gets MeterValues


def test_tc_j_03_clock_aligned_tx_ended_values(tmp_path):
    sim = Sim(tmp_path, overrides={"AlignedDataCtrlr": {
        "Interval": 0, "TxEndedInterval": 300, "TxEndedMeasurands": "Energy.Active.Import.Register"}})
    full_session_start(sim, 1, "s1")
    sim.ev(reading(1, 42))
    sim.tick(200)
    assert sim.payloads("MeterValues") == [] and updates(sim, "MeterValueClock") == []
    sim.ev(tx_finished(1, "s1", "EVDisconnected", energy=50))
    ended = sim.payloads("TransactionEvent")[-1]
    assert [values(mv) for mv in ended["meterValue"]] == [
        [("Energy.Active.Import.Register", "Sample.Clock", 42)],
        [("Energy.Active.Import.Register", "Transaction.End", 50)]]


def test_interval_changes_take_effect_at_once(tmp_path):
    sim = Sim(tmp_path)
    sim.ev(reading(1, 1))
    reply = sim.request("SetVariables", {"setVariableData": [
        {"component": {"name": "AlignedDataCtrlr"}, "variable": {"name": "Interval"}, "attributeValue": "60"}]})
    assert reply["setVariableResult"][0]["attributeStatus"] == "Accepted"
    sim.tick(20)                                            # midnight + 120
    assert len(sim.payloads("MeterValues")) == 1
    sim.request("SetVariables", {"setVariableData": [
        {"component": {"name": "AlignedDataCtrlr"}, "variable": {"name": "Interval"}, "attributeValue": "0"}]})
    sim.tick(3600)
    assert len(sim.payloads("MeterValues")) == 1


@pytest.mark.parametrize("component", ["SampledDataCtrlr", "AlignedDataCtrlr"])
def test_a_disabled_controller_sends_nothing(tmp_path, component):
    overrides = {"SampledDataCtrlr": {"TxUpdatedInterval": 10}, "AlignedDataCtrlr": {"Interval": 60}}
    overrides[component]["Enabled"] = False
    sim = Sim(tmp_path, overrides=overrides)
    full_session_start(sim, 1, "s1")
    sim.ev(reading(1, 1))
    sim.tick(100)
    trigger = "MeterValuePeriodic" if component == "SampledDataCtrlr" else "MeterValueClock"
    assert updates(sim, trigger) == []


def test_soc_from_ev_info_joins_the_reading(tmp_path):
    sim = Sim(tmp_path, overrides={"AlignedDataCtrlr": {"Interval": 300, "Measurands": "SoC"}})
    sim.ev(reading(1, 1), E.EvInfo(1, 55.0))
    sim.tick(200)
    sv = sim.payloads("MeterValues")[0]["meterValue"][0]["sampledValue"][0]
    assert (sv["measurand"], sv["value"], sv["unitOfMeasure"]["unit"]) == ("SoC", 55, "Percent")


def test_sampled_values_go_on_after_a_restart(tmp_path):
    sim = Sim(tmp_path, overrides={"SampledDataCtrlr": {"TxUpdatedInterval": 10}})
    full_session_start(sim, 1, "s1")
    sim.restart()
    sim.connect()
    sim.ev(reading(1, 900))
    sim.tick(10)
    [periodic] = updates(sim, "MeterValuePeriodic")
    assert periodic["transactionInfo"]["transactionId"] == "s1" and periodic["seqNo"] == 2
