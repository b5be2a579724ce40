"""OCPP 1.6 MeterValues: sampled during a transaction at MeterValueSampleInterval with
MeterValuesSampledData, clock-aligned at ClockAlignedDataInterval with MeterValuesAlignedData,
and triggered. Pure charge point, scripted CSMS, fake clock."""

from support.cp16 import Rig

AC = dict(power_w=11000.0, current_a={"L1": 16.0, "L2": 16.0, "L3": 15.5}, voltage_v={"L1": 230.0, "L2": 231.0,
                                                                                   "L3": 229.0})


def test_sampled_at_the_interval_with_the_configured_measurands(tmp_path):
    rig = Rig(tmp_path, overrides={"MeterValueSampleInterval": 10, "ClockAlignedDataInterval": 0,
                                   "MeterValuesSampledData": "Energy.Active.Import.Register,Current.Import.L1,"
                                                             "Voltage,SoC"}).boot()
    s = rig.plug_in(1)
    rig.start_tx(1, s, energy=500)
    rig.meter(1, 520, soc_percent=55.0, **AC)
    rig.advance(9.9)
    assert rig.calls("MeterValues") == []
    rig.advance(0.2)
    rig.meter(1, 560, **AC)
    rig.advance(10)
    mvs = rig.calls("MeterValues")
    assert len(mvs) == 2
    first = mvs[0]
    assert (first["connectorId"], first["transactionId"]) == (1, 100)
    assert first["meterValue"][0]["timestamp"] == "2026-01-01T00:00:10.000Z"
    values = [(v["measurand"], v.get("phase"), v["value"], v["context"]) for v in first["meterValue"][0]["sampledValue"]]
    assert values == [("Energy.Active.Import.Register", None, "520", "Sample.Periodic"),
                      ("Current.Import", "L1", "16", "Sample.Periodic"),
                      ("Voltage", "L1-N", "230", "Sample.Periodic"), ("Voltage", "L2-N", "231", "Sample.Periodic"),
                      ("Voltage", "L3-N", "229", "Sample.Periodic"), ("SoC", None, "55", "Sample.Periodic")]
    assert mvs[1]["meterValue"][0]["sampledValue"][0]["value"] == "560"
    rig.stop_tx(1, s)
    rig.advance(60)
    assert len(rig.calls("MeterValues")) == 2  # none after the transaction


def test_interval_change_takes_effect_and_zero_switches_off(tmp_path):
    rig = Rig(tmp_path, overrides={"MeterValueSampleInterval": 60, "ClockAlignedDataInterval": 0}).boot()
    s = rig.plug_in(1)
    rig.start_tx(1, s)
    rig.advance(5)
    assert rig.request("ChangeConfiguration", {"key": "MeterValueSampleInterval", "value": "5"}) == {
        "status": "Accepted"}
    rig.advance(5)
    assert len(rig.calls("MeterValues")) == 1
    rig.request("ChangeConfiguration", {"key": "MeterValueSampleInterval", "value": "0"})
    rig.advance(300)
    assert len(rig.calls("MeterValues")) == 1


def test_clock_aligned_with_and_without_transaction(tmp_path):
    rig = Rig(tmp_path, overrides={"MeterValueSampleInterval": 0, "ClockAlignedDataInterval": 900,
                                   "MeterValuesAlignedData": "Energy.Active.Import.Register,Power.Active.Import"}).boot()
    rig.advance(100)
    rig.meter(1, 10.0, power_w=0.0)
    rig.meter(2, 20.0)
    s = rig.plug_in(2)
    rig.start_tx(2, s, energy=20.0)
    rig.advance(799.9)
    assert rig.calls("MeterValues") == []
    rig.advance(0.2)
    mvs = rig.calls("MeterValues")
    assert len(mvs) == 2
    by = {m["connectorId"]: m for m in mvs}
    assert "transactionId" not in by[1] and by[2]["transactionId"] == 100  # the transaction's went via the outbox
    assert by[1]["meterValue"][0]["timestamp"] == "2026-01-01T00:15:00.000Z"
    assert [v["context"] for v in by[1]["meterValue"][0]["sampledValue"]] == ["Sample.Clock", "Sample.Clock"]
    assert rig.cp.core.messages_in_queue() == 0  # all delivered
    rig.advance(900)
    assert len(rig.calls("MeterValues")) == 4


def test_clock_aligned_change_reschedules(tmp_path):
    rig = Rig(tmp_path, overrides={"ClockAlignedDataInterval": 0}).boot()
    rig.meter(1, 10.0)
    rig.request("ChangeConfiguration", {"key": "ClockAlignedDataInterval", "value": "60"})
    rig.advance(59)
    assert rig.calls("MeterValues") == []
    rig.advance(2)
    assert [m["meterValue"][0]["timestamp"] for m in rig.calls("MeterValues")] == ["2026-01-01T00:01:00.000Z"]


def test_sampled_values_queue_offline_and_go_in_order(tmp_path):
    rig = Rig(tmp_path, overrides={"MeterValueSampleInterval": 10, "ClockAlignedDataInterval": 0}).boot()
    s = rig.plug_in(1)
    rig.start_tx(1, s)
    rig.disconnect()
    rig.meter(1, 1500)
    rig.advance(30)
    assert rig.cp.core.messages_in_queue(s) == 3
    rig.reconnect()
    assert [m["transactionId"] for m in rig.calls("MeterValues")] == [100, 100, 100]
    assert rig.cp.core.messages_in_queue(s) == 0


def test_trigger_meter_values(tmp_path):  # TC_054 (MeterValues part)
    rig = Rig(tmp_path, overrides={"MeterValuesSampledData": "Energy.Active.Import.Register"}).boot()
    rig.meter(1, 42.0)
    assert rig.request("TriggerMessage", {"requestedMessage": "MeterValues", "connectorId": 1}) == {
        "status": "Accepted"}
    mv = rig.calls("MeterValues")[-1]
    assert mv["connectorId"] == 1 and mv["meterValue"][0]["sampledValue"][0]["context"] == "Trigger"
    assert mv["meterValue"][0]["sampledValue"][0]["value"] == "42"
    s = rig.plug_in(2)
    rig.start_tx(2, s, energy=7.0)
    rig.request("TriggerMessage", {"requestedMessage": "MeterValues"})
    last = rig.calls("MeterValues")[-2:]
    assert [m["connectorId"] for m in last] == [1, 2] and last[1]["transactionId"] == 100


def test_clock_aligned_restarts_at_every_utc_midnight(tmp_path):
    """420 s does not divide a day: each day's first clock-aligned values are at 00:00:00 and
    00:07:00 (aligned to the epoch instead, they would drift by 300 s a day)."""
    rig = Rig(tmp_path, overrides={"MeterValueSampleInterval": 0, "ClockAlignedDataInterval": 420}).boot()
    rig.meter(1, 10.0)
    rig.advance(3 * 86400 + 1000)
    stamps = [m["meterValue"][0]["timestamp"] for m in rig.calls("MeterValues")]
    for day in ("2026-01-02", "2026-01-03", "2026-01-04"):
        of_day = [s[11:19] for s in stamps if s.startswith(day)]
        assert of_day[:3] == ["00:00:00", "00:07:00", "00:14:00"], day
        if day != "2026-01-04":  # whole days: 206 instants, the last span (300 s) cut by midnight
            assert of_day[-1] == "23:55:00" and len(of_day) == 206, day
