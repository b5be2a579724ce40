"""OCPP 2.0.1 device management end to end: B08 GetReport (custom reports with componentVariable
and componentCriteria). The bridge as a real process, simulated EVSE managers and an EVerest peer
on a real mosquitto, the real `ocpp` CSMS (and, through test_strict_csms, ocpp-rpc's strict peer).
Named after OCA 2.0.1 test cases (ids only) where the test covers the case.
"""

import json

from support.station import CP_ID

V = "2.0.1"


def booted(charging_station, evses: int = 1, **kw):
    st = charging_station(evses=evses, version=V, **kw)
    for n in range(1, evses + 1):
        st.csms.wait_for(lambda e, n=n: e["action"] == "StatusNotification" and e["payload"]["evseId"] == n
                         and e["payload"]["connectorStatus"] == "Available", timeout=10)
    return st


def get_report(st, request_id: int, **request) -> tuple[str, list[dict]]:
    """The GetReportResponse status and, when Accepted, every NotifyReport of it (the last one in)."""
    mark = st.csms.mark()
    status = st.csms.call(CP_ID, "GetReport", {"requestId": request_id, **request})["status"]
    if status != "Accepted":
        return status, []
    mine = lambda e: e["action"] == "NotifyReport" and e["payload"]["requestId"] == request_id  # noqa: E731
    st.csms.wait_for(lambda e: mine(e) and not e["payload"]["tbc"], timeout=10, after_index=mark)
    return status, [e["payload"] for e in st.csms.entries()[mark:] if mine(e)]


def reported(messages: list[dict]) -> list[tuple]:
    out = []
    for m in messages:
        for d in m.get("reportData", []):
            evse = d["component"].get("evse", {})
            actual = next((a.get("value") for a in d["variableAttribute"] if a.get("type", "Actual") == "Actual"),
                          None)
            out.append((d["component"]["name"], evse.get("id"), d["variable"]["name"], d["variable"].get("instance"),
                        actual))
    return out


def set_variable(st, component: str, name: str, value: str) -> str:
    reply = st.csms.call(CP_ID, "SetVariables", {"setVariableData": [
        {"component": {"name": component}, "variable": {"name": name}, "attributeValue": value}]})
    return reply["setVariableResult"][0]["attributeStatus"]


def test_tc_b_16_get_custom_report_with_component_criteria(charging_station):
    st = booted(charging_station)
    assert set_variable(st, "SampledDataCtrlr", "Enabled", "false") == "Accepted"
    status, messages = get_report(st, 16, componentCriteria=["Enabled"])
    assert status == "Accepted"
    components = {r[0] for r in reported(messages)}
    assert "SampledDataCtrlr" not in components                      # Enabled is false
    assert {"AuthCacheCtrlr", "DeviceDataCtrlr", "EVSE"} <= components  # true, or no Enabled at all
    assert [m["seqNo"] for m in messages] == list(range(len(messages)))


def test_tc_b_17_tc_b_56_get_custom_report_with_component_variable_no_evse_id(charging_station):
    st = booted(charging_station, evses=2)
    status, messages = get_report(st, 17, componentVariable=[
        {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}},
        {"component": {"name": "EVSE"}, "variable": {"name": "AvailabilityState"}}])
    assert status == "Accepted"
    assert reported(messages) == [("OCPPCommCtrlr", None, "HeartbeatInterval", None, "300"),
                                  ("EVSE", 1, "AvailabilityState", None, "Available"),
                                  ("EVSE", 2, "AvailabilityState", None, "Available")]


def test_tc_b_55_get_custom_report_with_component_variable_instance(charging_station):
    st = booted(charging_station)
    status, messages = get_report(st, 55, componentVariable=[
        {"component": {"name": "DeviceDataCtrlr"}, "variable": {"name": "ItemsPerMessage", "instance": "GetReport"}}])
    assert status == "Accepted"
    assert reported(messages) == [("DeviceDataCtrlr", None, "ItemsPerMessage", "GetReport", "100")]


def test_b08_get_custom_report_nothing_matches_is_an_empty_result_set(charging_station):
    st = booted(charging_station)
    mark = st.csms.mark()
    assert get_report(st, 170, componentCriteria=["Problem"])[0] == "EmptyResultSet"
    assert get_report(st, 171, componentVariable=[{"component": {"name": "NoSuchCtrlr"}}])[0] == "EmptyResultSet"
    assert not [e for e in st.csms.entries()[mark:] if e["action"] == "NotifyReport"]


def test_tc_b_54_get_custom_report_with_component_variable_no_instance(charging_station):
    st = booted(charging_station)
    status, messages = get_report(st, 54, componentVariable=[
        {"component": {"name": "DeviceDataCtrlr"}, "variable": {"name": "BytesPerMessage"}}])
    assert status == "Accepted"
    assert [r[3] for r in reported(messages)] == ["GetReport", "GetVariables", "SetVariables"]


def test_tc_b_15_get_base_report_not_supported(charging_station):
    st = booted(charging_station)
    mark = st.csms.mark()
    reply = st.csms.call(CP_ID, "GetBaseReport", {"requestId": 15, "reportBase": "SummaryInventory"})
    assert reply["status"] == "NotSupported"
    assert not [e for e in st.csms.entries()[mark:] if e["action"] == "NotifyReport"]


def test_tc_b_18_get_custom_report_with_criteria_and_component_variable(charging_station):
    st = booted(charging_station)
    wanted = [{"component": {"name": "EVSE", "evse": {"id": 1}}, "variable": {"name": "AvailabilityState"}}]
    status, messages = get_report(st, 2534, componentCriteria=["Available"], componentVariable=wanted)
    assert status == "Accepted"
    assert reported(messages) == [("EVSE", 1, "AvailabilityState", None, "Available")]
    assert get_report(st, 2535, componentCriteria=["Problem"], componentVariable=wanted)[0] == "EmptyResultSet"


def test_b08_fr_10_problem_criterion_reports_a_faulted_station(charging_station):
    st = booted(charging_station)
    ev = st.evse(1)
    mark = st.csms.mark()
    ev.raise_error("MREC4OverCurrentFailure")
    st.csms.wait_for(lambda e: e["action"] == "StatusNotification" and e["payload"]["connectorStatus"] == "Faulted",
                     timeout=10, after_index=mark)
    status, messages = get_report(st, 45, componentCriteria=["Problem"])
    assert status == "Accepted"
    assert ("ChargingStation", None, "Problem", None, "true") in reported(messages)
    assert {r[0] for r in reported(messages)} == {"ChargingStation"}


def test_get_report_pages_and_limits(charging_station, tmp_path):
    path = tmp_path / "overrides.json"
    path.write_text(json.dumps({"DeviceDataCtrlr": {"ItemsPerMessage[GetReport]": 3}}))
    st = booted(charging_station, config={"ConfigOverridesPath": str(path)})
    status, messages = get_report(st, 99, componentVariable=[{"component": {"name": "OCPPCommCtrlr"}}])
    assert status == "Accepted" and len(messages) > 2
    assert all(len(m["reportData"]) <= 3 for m in messages)
    assert [m["tbc"] for m in messages] == [True] * (len(messages) - 1) + [False]
    # B08.FR.17: more entries than ItemsPerMessage[GetReport] -> CALLERROR (sent raw: a schema-valid
    # CALL refused on purpose, which the strict peer would otherwise count against the station)
    too_many = [{"component": {"name": n}} for n in ("TxCtrlr", "AuthCtrlr", "ClockCtrlr", "OCPPCommCtrlr")]
    frame = [2, "b08-fr-17", "GetReport", {"requestId": 100, "componentVariable": too_many}]
    reply = json.loads(st.csms.send_raw(CP_ID, json.dumps(frame)))
    assert reply[:2] == [4, "b08-fr-17"]
    assert reply[2] in ("OccurrenceConstraintViolation", "OccurenceConstraintViolation")


# ---------------------------------------------------------------------------- N09 / N10 CustomerInformation
def customer_information(st, request_id: int, **request) -> tuple[str, str]:
    """The CustomerInformationResponse status and the data of its NotifyCustomerInformation messages."""
    mark = st.csms.mark()
    status = st.csms.call(CP_ID, "CustomerInformation", {"requestId": request_id, **request})["status"]
    if status != "Accepted":
        return status, ""
    mine = lambda e: e["action"] == "NotifyCustomerInformation" and e["payload"]["requestId"] == request_id  # noqa: E731
    st.csms.wait_for(lambda e: mine(e) and not e["payload"].get("tbc", False), timeout=10, after_index=mark)
    messages = [e["payload"] for e in st.csms.entries()[mark:] if mine(e)]
    assert [m["seqNo"] for m in messages] == list(range(len(messages)))
    assert all(len(m["data"]) <= 512 for m in messages)
    return status, "".join(m["data"] for m in messages)


def test_n09_n10_customer_information_clears_a_token_everywhere(charging_station):
    st = booted(charging_station)
    token = {"idToken": "TAG1", "type": "ISO14443"}
    assert st.csms.call(CP_ID, "SendLocalList", {"versionNumber": 1, "updateType": "Full", "localAuthorizationList": [
        {"idToken": token, "idTokenInfo": {"status": "Accepted"}}]}) == {"status": "Accepted"}
    assert st.validate("TAG1")["authorization_status"] == "Accepted"   # an Authorize fills the cache
    ev = st.evse(1)
    mark = st.csms.mark()
    sid = ev.plug_in()
    ev.start_transaction("TAG1", type="RFID", meter_wh=10)
    st.csms.wait_for(lambda e: e["action"] == "TransactionEvent" and e["payload"]["eventType"] == "Started",
                     timeout=10, after_index=mark)
    status, data = customer_information(st, 1, report=True, clear=False, idToken=token)
    assert status == "Accepted"
    assert "local authorization list entry" in data and f"transaction {sid} on EVSE 1" in data
    assert "authorization cache entry" in data
    status, data = customer_information(st, 2, report=False, clear=True, idToken=token)
    assert status == "Accepted" and data.startswith("Cleared:") and "stored transaction" in data
    _, after = customer_information(st, 3, report=True, clear=False, idToken=token)
    assert "local authorization list entry" in after                   # N10.FR.03: the list is the CSMS's
    assert "cache" not in after and "transaction" not in after
    assert customer_information(st, 4, report=False, clear=False, idToken=token)[0] == "Rejected"
    assert customer_information(st, 5, report=True, clear=False)[0] == "Invalid"


# ---------------------------------------------------------------------------- N02-N08 monitoring
POWER = {"component": {"name": "EVSE", "evse": {"id": 1}}, "variable": {"name": "Power"}}
TIMEOUT = {"component": {"name": "TxCtrlr"}, "variable": {"name": "EVConnectionTimeOut"}}


def set_monitor(st, type_: str, value: float, target: dict, severity: int = 5, **extra) -> dict:
    reply = st.csms.call(CP_ID, "SetVariableMonitoring", {"setMonitoringData": [
        {"type": type_, "value": value, "severity": severity, **target, **extra}]})
    [result] = reply["setMonitoringResult"]
    return result


def next_event(st, mark: int, predicate=lambda d: True) -> dict:
    """The first eventData of a NotifyEvent after ``mark`` that ``predicate`` accepts."""
    entry = st.csms.wait_for(lambda e: e["action"] == "NotifyEvent" and any(
        predicate(d) for d in e["payload"]["eventData"]), timeout=15, after_index=mark)
    return next(d for d in entry["payload"]["eventData"] if predicate(d))


def test_n07_threshold_crossed_by_the_simulated_evse_power(charging_station):
    st = booted(charging_station)
    result = set_monitor(st, "UpperThreshold", 7000, POWER)
    assert result["status"] == "Accepted"
    mark = st.csms.mark()
    ev = st.evse(1)
    ev.meter(100, 3000)
    ev.meter(200, 11000)                      # above 7000 W
    event = next_event(st, mark)
    assert (event["trigger"], event["actualValue"], event["variableMonitoringId"]) == ("Alerting", "11000",
                                                                                       result["id"])
    assert event["component"] == {"name": "EVSE", "evse": {"id": 1}} and not event.get("cleared", False)
    ev.meter(300, 2000)                       # back below: cleared
    assert next_event(st, mark, lambda d: d.get("cleared", False))["actualValue"] == "2000"


def test_n07_delta_by_set_variables_and_n08_periodic_on_its_timer(charging_station):
    st = booted(charging_station)
    delta = set_monitor(st, "Delta", 5, TIMEOUT)
    periodic = set_monitor(st, "Periodic", 2, TIMEOUT, severity=3)
    assert (delta["status"], periodic["status"]) == ("Accepted", "Accepted")
    mark = st.csms.mark()
    assert set_variable(st, "TxCtrlr", "EVConnectionTimeOut", "120") == "Accepted"
    assert next_event(st, mark, lambda d: d["trigger"] == "Delta")["actualValue"] == "120"
    tick = next_event(st, mark, lambda d: d["trigger"] == "Periodic")
    assert tick["variableMonitoringId"] == periodic["id"]


def test_n02_n06_monitors_survive_a_restart_report_and_clear(charging_station):
    st = booted(charging_station)
    mid = set_monitor(st, "UpperThreshold", 100, TIMEOUT)["id"]
    st.restart_bridge()
    st.csms.wait_for_station(CP_ID, timeout=30, count=2)
    mark = st.csms.mark()
    status = st.csms.call(CP_ID, "GetMonitoringReport", {"requestId": 8, "monitoringCriteria": ["ThresholdMonitoring"]})
    assert status == {"status": "Accepted"}
    report = st.csms.wait_for(lambda e: e["action"] == "NotifyMonitoringReport", timeout=10, after_index=mark)
    [entry] = report["payload"]["monitor"]
    assert [m["id"] for m in entry["variableMonitoring"]] == [mid]
    assert set_variable(st, "TxCtrlr", "EVConnectionTimeOut", "150") == "Accepted"
    assert next_event(st, mark)["variableMonitoringId"] == mid
    assert st.csms.call(CP_ID, "ClearVariableMonitoring", {"id": [mid]}) == {
        "clearMonitoringResult": [{"id": mid, "status": "Accepted"}]}
    assert st.csms.call(CP_ID, "GetMonitoringReport", {"requestId": 9}) == {"status": "EmptyResultSet"}
