"""OCPP 2.0.1 variable monitoring (N02-N08) on the pure core: SetVariableMonitoring and its
refusals, monitors tripping (thresholds, delta, periodic) into NotifyEvent, the severity level,
the transaction flag, offline queuing, ClearVariableMonitoring, SetMonitoringBase,
GetMonitoringReport and monitors surviving a restart. Scripted CSMS, fake clock."""

from v201_harness import Sim, full_session_start, sample

from ocpp_bridge.ocpp import evse_events as E
from ocpp_bridge.ocpp.v201.device_model import VariableKey
from ocpp_bridge.ocpp.v201.monitoring import EVENTS_PER_MESSAGE, WAITING_MAX

TIMEOUT = {"component": {"name": "TxCtrlr"}, "variable": {"name": "EVConnectionTimeOut"}}
POWER = {"component": {"name": "EVSE", "evse": {"id": 1}}, "variable": {"name": "Power"}}


def monitor(sim: Sim, type_: str, value: float, severity: int = 5, target: dict = TIMEOUT, **extra) -> dict:
    reply = sim.request("SetVariableMonitoring", {"setMonitoringData": [
        {"type": type_, "value": value, "severity": severity, **target, **extra}]})
    return reply["setVariableMonitoringResult"][0] if "setVariableMonitoringResult" in reply \
        else reply["setMonitoringResult"][0]


def set_timeout(sim: Sim, value: str) -> None:
    reply = sim.request("SetVariables", {"setVariableData": [{**TIMEOUT, "attributeValue": value}]})
    assert reply["setVariableResult"][0]["attributeStatus"] == "Accepted"


def events(sim: Sim) -> list[dict]:
    return [e for p in sim.payloads("NotifyEvent") for e in p["eventData"]]


def power(sim: Sim, watts: str) -> None:
    sim.cp.model.set_internal(VariableKey("EVSE", "Power", evse=1), watts)
    sim.settle()


def test_n07_upper_threshold_trips_and_clears_on_set_variables(tmp_path):
    sim = Sim(tmp_path)
    result = monitor(sim, "UpperThreshold", 100)
    assert result["status"] == "Accepted" and isinstance(result["id"], int)
    set_timeout(sim, "90")
    assert events(sim) == []
    set_timeout(sim, "150")
    set_timeout(sim, "160")     # still above: no second event
    set_timeout(sim, "50")
    got = events(sim)
    assert [(e["trigger"], e["actualValue"], e.get("cleared", False)) for e in got] == [
        ("Alerting", "150", False), ("Alerting", "50", True)]
    assert got[0]["variableMonitoringId"] == result["id"] and got[0]["eventNotificationType"] == "CustomMonitor"
    assert got[0]["component"] == {"name": "TxCtrlr"} and got[0]["variable"] == {"name": "EVConnectionTimeOut"}
    assert got[1]["eventId"] > got[0]["eventId"]


def test_lower_threshold_on_an_internal_change(tmp_path):
    sim = Sim(tmp_path)
    assert monitor(sim, "LowerThreshold", 1000, target=POWER)["status"] == "Accepted"  # 0 W: below at once
    power(sim, "5000")
    power(sim, "200")
    got = events(sim)
    assert [(e["actualValue"], e.get("cleared", False)) for e in got] == [("0", False), ("5000", True),
                                                                          ("200", False)]
    assert got[0]["component"] == {"name": "EVSE", "evse": {"id": 1}}


def test_n07_delta_numeric_from_the_last_reported_value(tmp_path):
    sim = Sim(tmp_path)
    assert monitor(sim, "Delta", 10)["status"] == "Accepted"  # reference: the default, 60
    set_timeout(sim, "65")
    set_timeout(sim, "71")
    set_timeout(sim, "75")
    set_timeout(sim, "60")
    assert [(e["trigger"], e["actualValue"]) for e in events(sim)] == [("Delta", "71"), ("Delta", "60")]


def test_delta_on_a_non_numeric_variable_reports_every_change(tmp_path):
    sim = Sim(tmp_path)
    target = {"component": {"name": "TxCtrlr"}, "variable": {"name": "StopTxOnEVSideDisconnect"}}
    assert monitor(sim, "Delta", 0, target=target)["status"] == "Accepted"
    current = sim.cp.model.value("TxCtrlr", "StopTxOnEVSideDisconnect")
    flipped = "false" if current == "true" else "true"
    sim.request("SetVariables", {"setVariableData": [{**target, "attributeValue": flipped}]})
    assert [e["actualValue"] for e in events(sim)] == [flipped]


def test_n08_periodic_and_clock_aligned(tmp_path):
    sim = Sim(tmp_path)
    assert monitor(sim, "Periodic", 30)["status"] == "Accepted"
    sim.tick(29)
    assert events(sim) == []
    sim.tick(1)
    sim.tick(30)
    assert [(e["trigger"], e["actualValue"]) for e in events(sim)] == [("Periodic", "60")] * 2


def test_periodic_clock_aligned_reports_on_the_multiples_from_midnight(tmp_path):
    sim = Sim(tmp_path)   # the clock is 00:01:40 UTC
    assert monitor(sim, "PeriodicClockAligned", 60, severity=4)["status"] == "Accepted"
    sim.tick(19)                            # 00:01:59
    assert events(sim) == []
    sim.tick(1)                             # 00:02:00
    assert [e["timestamp"] for e in events(sim)] == ["2026-01-01T00:02:00.000Z"]


def test_n04_refusals(tmp_path):
    sim = Sim(tmp_path)
    assert monitor(sim, "Delta", -1)["status"] == "Rejected"
    assert monitor(sim, "Periodic", 0)["status"] == "Rejected"
    assert monitor(sim, "UpperThreshold", -5)["status"] == "Rejected"          # below minLimit 0
    assert monitor(sim, "UpperThreshold", 1, target={"component": {"name": "TxCtrlr"},
                                                     "variable": {"name": "TxStartPoint"}})["status"] \
        == "UnsupportedMonitorType"
    assert monitor(sim, "Delta", 1, target={"component": {"name": "NoSuchCtrlr"},
                                            "variable": {"name": "X"}})["status"] == "UnknownComponent"
    assert monitor(sim, "Delta", 1, target={"component": {"name": "TxCtrlr"},
                                            "variable": {"name": "X"}})["status"] == "UnknownVariable"
    assert monitor(sim, "Delta", 1, id=4711)["status"] == "Rejected"                 # N04.FR.13 no such monitor
    other = monitor(sim, "Delta", 1, target=POWER)["id"]
    assert monitor(sim, "Delta", 1, id=other)["status"] == "Rejected"                # N04.FR.16 another variable
    assert monitor(sim, "Delta", 1)["status"] == "Accepted"
    assert monitor(sim, "Delta", 2)["status"] == "Duplicate"                          # same type and severity
    assert monitor(sim, "Delta", 2, severity=6)["status"] == "Accepted"


def test_replacing_a_monitor_by_its_id(tmp_path):
    sim = Sim(tmp_path)
    first = monitor(sim, "UpperThreshold", 100)
    again = monitor(sim, "UpperThreshold", 200, id=first["id"])
    assert again == {**again, "status": "Accepted", "id": first["id"]}
    set_timeout(sim, "150")
    assert events(sim) == []
    assert len(sim.cp.blocks.monitoring.monitors()) == 1


def test_n05_monitoring_level_filters_by_severity(tmp_path):
    sim = Sim(tmp_path)
    assert monitor(sim, "Delta", 1, severity=7)["status"] == "Accepted"
    assert sim.request("SetMonitoringLevel", {"severity": 5}) == {"status": "Accepted"}
    assert sim.cp.model.value("MonitoringCtrlr", "ActiveMonitoringLevel") == "5"
    set_timeout(sim, "70")
    assert events(sim) == []
    assert sim.request("SetMonitoringLevel", {"severity": 9}) == {"status": "Accepted"}
    set_timeout(sim, "80")
    assert [e["actualValue"] for e in events(sim)] == ["80"]


def test_transaction_monitor_reports_only_during_a_transaction(tmp_path):
    sim = Sim(tmp_path)
    assert monitor(sim, "Delta", 1, target=POWER, transaction=True)["status"] == "Accepted"
    power(sim, "100")
    assert events(sim) == []
    full_session_start(sim, 1, "s1")
    power(sim, "7000")
    got = events(sim)
    assert [(e["actualValue"], e["transactionId"]) for e in got] == [("7000", "s1")]


def test_offline_events_queue_by_severity(tmp_path):
    sim = Sim(tmp_path, overrides={"MonitoringCtrlr": {"OfflineQueuingSeverity": 3}})
    assert monitor(sim, "Delta", 1, severity=2)["status"] == "Accepted"
    assert monitor(sim, "Delta", 1, severity=6, target=POWER)["status"] == "Accepted"
    assert monitor(sim, "Periodic", 10, severity=7, target=POWER)["status"] == "Accepted"
    sim.disconnect()
    sim.cp.model.set_internal(VariableKey("TxCtrlr", "EVConnectionTimeOut"), "70")  # severity 2 <= 3: queued
    power(sim, "5000")          # severity 6 > 3: evaluated at the reconnect instead
    sim.tick(10)                # the periodic one (7 > 3) reports into the void: dropped
    power(sim, "5200")
    sim.connect()
    assert [(e["variable"]["name"], e["trigger"], e["actualValue"]) for e in events(sim)] == [
        ("EVConnectionTimeOut", "Delta", "70"), ("Power", "Delta", "5200")]


def test_n06_clear_variable_monitoring(tmp_path):
    sim = Sim(tmp_path)
    mid = monitor(sim, "Delta", 1)["id"]
    reply = sim.request("ClearVariableMonitoring", {"id": [mid, 999]})
    assert reply == {"clearMonitoringResult": [{"id": mid, "status": "Accepted"}, {"id": 999, "status": "NotFound"}]}
    set_timeout(sim, "70")
    assert events(sim) == []


def test_n03_set_monitoring_base(tmp_path):
    sim = Sim(tmp_path)
    monitor(sim, "Delta", 1)
    assert sim.request("SetMonitoringBase", {"monitoringBase": "All"}) == {"status": "Accepted"}
    assert len(sim.cp.blocks.monitoring.monitors()) == 1
    assert sim.request("SetMonitoringBase", {"monitoringBase": "HardWiredOnly"}) == {"status": "Accepted"}
    assert sim.cp.blocks.monitoring.monitors() == []
    assert sim.cp.model.value("MonitoringCtrlr", "ActiveMonitoringBase") == "HardWiredOnly"
    sim.restart()
    assert sim.cp.blocks.monitoring.monitors() == []


def test_n02_get_monitoring_report(tmp_path):
    sim = Sim(tmp_path)
    a = monitor(sim, "UpperThreshold", 100)["id"]
    b = monitor(sim, "Periodic", 60, severity=3)["id"]
    c = monitor(sim, "Delta", 1, target=POWER)["id"]
    reply = sim.request("GetMonitoringReport", {"requestId": 3, "monitoringCriteria": ["ThresholdMonitoring",
                                                                                       "PeriodicMonitoring"]})
    assert reply == {"status": "Accepted"}
    [report] = sim.payloads("NotifyMonitoringReport")
    assert (report["requestId"], report["seqNo"], report["tbc"]) == (3, 0, False)
    [entry] = report["monitor"]
    assert entry["component"] == {"name": "TxCtrlr"}
    assert sorted(m["id"] for m in entry["variableMonitoring"]) == [a, b]
    reply = sim.request("GetMonitoringReport", {"requestId": 4, "componentVariable": [{"component": {"name": "EVSE"}}]})
    assert reply == {"status": "Accepted"}
    assert [m["id"] for m in sim.payloads("NotifyMonitoringReport")[-1]["monitor"][0]["variableMonitoring"]] == [c]
    assert sim.request("GetMonitoringReport", {"requestId": 5, "componentVariable": [
        {"component": {"name": "AuthCtrlr"}}]}) == {"status": "EmptyResultSet"}


def test_monitors_survive_a_restart(tmp_path):
    sim = Sim(tmp_path)
    mid = monitor(sim, "UpperThreshold", 100)["id"]
    sim.restart()
    sim.connect()
    set_timeout(sim, "150")
    assert [(e["variableMonitoringId"], e["actualValue"]) for e in events(sim)] == [(mid, "150")]
    assert monitor(sim, "Delta", 1)["id"] > mid    # ids are not reused


def test_item_limit_is_a_callerror(tmp_path):
    sim = Sim(tmp_path, overrides={"MonitoringCtrlr": {"ItemsPerMessage[SetVariableMonitoring]": 1}})
    item = {"type": "Delta", "value": 1, "severity": 5, **TIMEOUT}
    reply = sim.request("SetVariableMonitoring", {"setMonitoringData": [item, {**item, "severity": 6}]})
    assert reply[0] == 4 and reply[2] in ("OccurrenceConstraintViolation", "OccurenceConstraintViolation")
    assert sim.cp.blocks.monitoring.monitors() == []


def test_monitoring_disabled_rejects_and_stays_silent(tmp_path):
    sim = Sim(tmp_path)
    assert monitor(sim, "Delta", 1)["status"] == "Accepted"
    sim.set("MonitoringCtrlr", "Enabled", "false")
    assert monitor(sim, "Delta", 1, severity=1)["status"] == "Rejected"
    set_timeout(sim, "70")
    assert events(sim) == []


def test_evse_power_follows_the_meter_and_trips_a_threshold(tmp_path):
    sim = Sim(tmp_path)
    assert monitor(sim, "UpperThreshold", 7000, target=POWER)["status"] == "Accepted"
    sim.ev(E.MeterReading(1, sample(100, power=3000)))
    assert sim.cp.model.value("EVSE", "Power", evse=1) == "3000"
    sim.ev(E.MeterReading(1, sample(200, power=11000)))
    assert [(e["trigger"], e["actualValue"]) for e in events(sim)] == [("Alerting", "11000")]


def test_event_ids_stay_unique_across_restarts(tmp_path):
    sim = Sim(tmp_path)
    monitor(sim, "Delta", 1)
    set_timeout(sim, "70")
    set_timeout(sim, "80")
    before = [e["eventId"] for e in events(sim)]
    sim.restart()
    sim.connect()
    set_timeout(sim, "90")
    after = [e["eventId"] for e in events(sim)]
    assert len(before) == 2 and len(after) == 1 and after[0] > max(before)


def test_a_long_outage_keeps_a_bounded_queue_sent_in_pages(tmp_path):
    sim = Sim(tmp_path)
    assert monitor(sim, "Periodic", 1, severity=0)["status"] == "Accepted"
    sim.disconnect()
    for _ in range(WAITING_MAX + 5):
        sim.tick(1)
    sim.connect()
    pages = sim.payloads("NotifyEvent")
    ids = [e["eventId"] for p in pages for e in p["eventData"]]
    assert len(ids) == WAITING_MAX and ids == sorted(ids)          # the 5 oldest were dropped
    assert all(len(p["eventData"]) <= EVENTS_PER_MESSAGE for p in pages)
    assert [p["seqNo"] for p in pages] == list(range(len(pages)))
    assert [p["tbc"] for p in pages] == [True] * (len(pages) - 1) + [False]


def test_n07_fr_10_a_write_only_variable_reports_an_empty_value(tmp_path):
    sim = Sim(tmp_path)
    target = {"component": {"name": "SecurityCtrlr"}, "variable": {"name": "BasicAuthPassword"}}
    assert monitor(sim, "Delta", 1, target=target)["status"] == "Accepted"
    sim.request("SetVariables", {"setVariableData": [{**target, "attributeValue": "0123456789abcdefXYZ"}]})
    assert [e["actualValue"] for e in events(sim)] == [""]
    assert "0123456789abcdef" not in str(sim.sent)


def test_n07_fr_14_a_threshold_back_within_after_a_restart_is_cleared(tmp_path):
    sim = Sim(tmp_path)
    mid = monitor(sim, "UpperThreshold", 100)["id"]
    set_timeout(sim, "150")
    sim.restart()
    sim.cp.model.set_internal(VariableKey("TxCtrlr", "EVConnectionTimeOut"), "50")   # changed while down
    sim.restart()
    sim.connect()
    got = events(sim)
    assert [(e["variableMonitoringId"], e["actualValue"], e.get("cleared", False)) for e in got] == [(mid, "50", True)]


def test_n07_fr_11_a_replaced_threshold_is_checked_against_the_new_limit(tmp_path):
    sim = Sim(tmp_path)
    mid = monitor(sim, "UpperThreshold", 100)["id"]
    set_timeout(sim, "150")
    assert monitor(sim, "UpperThreshold", 200, id=mid)["status"] == "Accepted"
    got = events(sim)
    assert [(e["actualValue"], e.get("cleared", False)) for e in got] == [("150", False), ("150", True)]


def test_a_high_severity_threshold_is_evaluated_at_the_reconnect_not_offline(tmp_path):
    sim = Sim(tmp_path)   # OfflineQueuingSeverity 2
    assert monitor(sim, "UpperThreshold", 100, severity=8)["status"] == "Accepted"
    sim.disconnect()
    sim.cp.model.set_internal(VariableKey("TxCtrlr", "EVConnectionTimeOut"), "150")
    sim.cp.model.set_internal(VariableKey("TxCtrlr", "EVConnectionTimeOut"), "160")
    sim.connect()
    assert [(e["actualValue"], e.get("cleared", False)) for e in events(sim)] == [("160", False)]
