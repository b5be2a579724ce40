"""Boot, heartbeat and configuration against the real `ocpp` CSMS, both OCPP versions.

One test per OCA case where one exists (1.6 OCTT TC_0xx, 2.0.1 TC_B_xx); the bridge runs as
a real process on a real mosquitto, driven over MQTT as another EVerest module would.
"""

import json

import pytest

from support.station import CP_ID

BOTH = pytest.mark.parametrize("version", ["1.6", "2.0.1"])


def hb_request(version: str) -> dict:
    component = {"name": "OCPPCommCtrlr"} if version == "2.0.1" else {"name": ""}
    return {"component_variable": {"component": component, "variable": {"name": "HeartbeatInterval"}}}


def heartbeat_value(st) -> str:
    result = st.call("ocpp_generic", "get_variables", {"requests": [hb_request(st.version)]})
    assert result[0]["status"] == "Accepted", result
    return result[0]["value"]


def csms_sets_heartbeat(st, seconds: int) -> str:
    if st.version == "1.6":
        return st.csms.call(CP_ID, "ChangeConfiguration", {"key": "HeartbeatInterval", "value": str(seconds)})["status"]
    reply = st.csms.call(CP_ID, "SetVariables", {"setVariableData": [
        {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"},
         "attributeValue": str(seconds)}]})
    return reply["setVariableResult"][0]["attributeStatus"]


@BOTH
def test_tc_001_tc_b_01_cold_boot_accepted(station, version):
    st = station(version=version, interval=1, config={"ChargePointVendor": "ACME", "ChargePointModel": "Box 9"})
    boot = st.csms.entries("BootNotification")[0]["payload"]
    if version == "1.6":
        assert boot["chargePointVendor"] == "ACME" and boot["chargePointModel"] == "Box 9"
    else:
        assert boot["chargingStation"] == {"vendorName": "ACME", "model": "Box 9", "firmwareVersion": "0.1.0"}
        assert boot["reason"] == "PowerUp"
    response = st.var("ocpp_generic", "boot_notification_response")
    assert response["status"] == "Accepted" and response["interval"] == 1 and "current_time" in response
    st.var("ocpp_generic", "is_connected", lambda v: v is True)
    st.csms.wait_for("Heartbeat", timeout=10)
    # the CSMS's interval became the configured heartbeat interval
    assert heartbeat_value(st) == "1"
    assert st.actions()[0] == "BootNotification"


@BOTH
@pytest.mark.parametrize("status", ["Pending", "Rejected"])
def test_tc_002_tc_b_02_tc_b_03_boot_pending_or_rejected(station, version, status):
    st = station(version=version, boot_status=status, interval=1)
    response = st.var("ocpp_generic", "boot_notification_response")
    assert response["status"] == status
    # something wants out while not accepted: it must wait for Accepted
    st.call("ocpp_generic", "security_event", {"event": {"type": "TamperDetectionActivated", "info": "lid"}})
    # sentinel: a BootNotification retry sent after the event was queued
    st.csms.wait_for(lambda e: e["action"] == "BootNotification", timeout=20, after_index=st.csms.mark())
    assert set(st.actions()) == {"BootNotification"}
    if status == "Pending":  # the CSMS may still talk to a pending station
        if version == "1.6":
            assert st.csms.call(CP_ID, "GetConfiguration", {"key": ["HeartbeatInterval"]})["configurationKey"]
        else:
            reply = st.csms.call(CP_ID, "GetVariables", {"getVariableData": [
                {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}}]})
            assert reply["getVariableResult"][0]["attributeStatus"] == "Accepted"
    st.csms.set_boot_response("Accepted", 300)
    st.var("ocpp_generic", "boot_notification_response", lambda v: v["status"] == "Accepted")
    event = st.csms.wait_for("SecurityEventNotification", timeout=10)
    assert event["payload"]["type"] == "TamperDetectionActivated" and event["payload"]["techInfo"] == "lid"
    actions = st.actions()
    assert actions.index("SecurityEventNotification") > len(actions) - 1 - actions[::-1].index("BootNotification")


@BOTH
def test_heartbeat_interval_changed_by_csms(station, version):
    st = station(version=version, interval=300)
    assert csms_sets_heartbeat(st, 1) == "Accepted"
    st.csms.wait_for("Heartbeat", timeout=10)
    mark = st.csms.mark()
    st.csms.wait_for("Heartbeat", timeout=10, after_index=mark)
    assert heartbeat_value(st) == "1"


@BOTH
def test_heartbeat_interval_changed_by_set_variables(station, version):
    st = station(version=version, interval=300)
    result = st.call("ocpp_generic", "set_variables", {"requests": [{**hb_request(version), "value": "1"}],
                                                       "source": "test"})
    assert result[0]["status"] == "Accepted"
    st.csms.wait_for("Heartbeat", timeout=10)
    if version == "1.6":
        got = st.csms.call(CP_ID, "GetConfiguration", {"key": ["HeartbeatInterval"]})
        assert got["configurationKey"][0]["value"] == "1"
    else:
        got = st.csms.call(CP_ID, "GetVariables", {"getVariableData": [
            {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}}]})
        assert got["getVariableResult"][0]["attributeValue"] == "1"


def test_tc_1_6_configuration_both_sides(station):
    st = station(version="1.6")
    # bus -> CSMS
    assert st.call("main", "set_configuration_key", {"key": "MeterValueSampleInterval", "value": "17"}) == "Accepted"
    got = st.csms.call(CP_ID, "GetConfiguration", {"key": ["MeterValueSampleInterval", "NoSuchKey"]})
    assert got["configurationKey"] == [{"key": "MeterValueSampleInterval", "readonly": False, "value": "17"}]
    assert got["unknownKey"] == ["NoSuchKey"]
    # CSMS -> bus
    assert st.csms.call(CP_ID, "ChangeConfiguration", {"key": "ConnectionTimeOut", "value": "42"})["status"] == "Accepted"
    result = st.call("main", "get_configuration_key", {"keys": ["ConnectionTimeOut", "Nope"]})
    assert result == {"configuration_keys": [{"key": "ConnectionTimeOut", "read_only": False, "value": "42"}],
                      "unknown_keys": ["Nope"]}
    # read-only, invalid and unknown keys
    assert st.csms.call(CP_ID, "ChangeConfiguration", {"key": "NumberOfConnectors", "value": "3"})["status"] == "Rejected"
    assert st.csms.call(CP_ID, "ChangeConfiguration", {"key": "HeartbeatInterval", "value": "-5"})["status"] == "Rejected"
    assert st.csms.call(CP_ID, "ChangeConfiguration", {"key": "Bogus", "value": "1"})["status"] == "NotSupported"
    everything = st.csms.call(CP_ID, "GetConfiguration", {})
    keys = {k["key"]: k for k in everything["configurationKey"]}
    assert keys["NumberOfConnectors"] == {"key": "NumberOfConnectors", "readonly": True, "value": "1"}
    assert "HeartbeatInterval" in keys and "unknownKey" not in everything


def variable(component: str, name: str, **extra) -> dict:
    return {"component": {"name": component}, "variable": {"name": name}, **extra}


OFFLINE_THRESHOLD = ("OCPPCommCtrlr", "OfflineThreshold")
LOCAL_AUTHORIZE_OFFLINE = ("AuthCtrlr", "LocalAuthorizeOffline")


def csms_get(st, *items: dict) -> list[dict]:
    return st.csms.call(CP_ID, "GetVariables", {"getVariableData": list(items)})["getVariableResult"]


def csms_set(st, *items: dict) -> list[str]:
    reply = st.csms.call(CP_ID, "SetVariables", {"setVariableData": list(items)})
    return [r["attributeStatus"] for r in reply["setVariableResult"]]


def bus_get(st, component: str, name: str) -> dict:
    cv = {"component": {"name": component}, "variable": {"name": name}}
    return st.call("ocpp_generic", "get_variables", {"requests": [{"component_variable": cv}]})[0]


def bus_set(st, component: str, name: str, value: str) -> str:
    cv = {"component": {"name": component}, "variable": {"name": name}}
    return st.call("ocpp_generic", "set_variables", {"requests": [{"component_variable": cv, "value": value}],
                                                     "source": "test"})[0]["status"]


def test_tc_b_06_get_variables_single_value(station):
    st = station(version="2.0.1")
    assert bus_set(st, *OFFLINE_THRESHOLD, "300") == "Accepted"  # set on the bus, read by the CSMS
    [got] = csms_get(st, variable(*OFFLINE_THRESHOLD, attributeType="Actual"))
    assert (got["attributeStatus"], got["attributeType"], got["attributeValue"]) == ("Accepted", "Actual", "300")
    assert (got["component"], got["variable"]) == ({"name": "OCPPCommCtrlr"}, {"name": "OfflineThreshold"})
    assert got.get("attributeStatusInfo", {"reasonCode": "NoError"})["reasonCode"] == "NoError"


def test_tc_b_07_get_variables_multiple_values(station):
    st = station(version="2.0.1")
    assert bus_set(st, *OFFLINE_THRESHOLD, "300") == "Accepted"
    assert bus_set(st, *LOCAL_AUTHORIZE_OFFLINE, "true") == "Accepted"
    got = csms_get(st, variable(*OFFLINE_THRESHOLD, attributeType="Actual"),
                   variable(*LOCAL_AUTHORIZE_OFFLINE, attributeType="Actual"))
    assert [(r["variable"]["name"], r["attributeStatus"], r["attributeValue"]) for r in got] == [
        ("OfflineThreshold", "Accepted", "300"), ("LocalAuthorizeOffline", "Accepted", "true")]


def test_tc_b_33_get_variables_unknown_variable_or_component(station):
    st = station(version="2.0.1")
    got = csms_get(st, variable("OCPPCommCtrlr", "UnknownVariable"), variable("NoSuchCtrlr", "X"))
    assert [r["attributeStatus"] for r in got] == ["UnknownVariable", "UnknownComponent"]
    assert all("attributeValue" not in r for r in got)


def test_tc_b_08_get_variables_limit_to_maximum_number_of_values(station):
    st = station(version="2.0.1")
    [limit] = csms_get(st, {"component": {"name": "DeviceDataCtrlr"},
                            "variable": {"name": "ItemsPerMessage", "instance": "GetVariables"}})
    most = int(limit["attributeValue"])
    got = csms_get(st, *[variable(*OFFLINE_THRESHOLD)] * (most + 1))  # one more than allowed
    assert len(got) == most + 1
    assert [r["attributeStatus"] for r in got] == ["Accepted"] * most + ["Rejected"]
    assert "attributeValue" not in got[-1]


def test_tc_b_09_set_variables_single_value(station):
    st = station(version="2.0.1")
    assert csms_set(st, variable(*OFFLINE_THRESHOLD, attributeValue="300", attributeType="Actual")) == ["Accepted"]
    got = bus_get(st, *OFFLINE_THRESHOLD)  # set by the CSMS, read on the bus
    assert (got["status"], got["value"]) == ("Accepted", "300")


def test_tc_b_10_set_variables_multiple_values(station):
    st = station(version="2.0.1")
    assert csms_set(st, variable(*OFFLINE_THRESHOLD, attributeValue="301"),
                    variable(*LOCAL_AUTHORIZE_OFFLINE, attributeValue="false")) == ["Accepted", "Accepted"]
    assert [bus_get(st, *cv)["value"] for cv in (OFFLINE_THRESHOLD, LOCAL_AUTHORIZE_OFFLINE)] == ["301", "false"]


def test_tc_b_11_set_variables_invalidly_formatted_values(station):
    st = station(version="2.0.1")
    before = [r["attributeValue"] for r in csms_get(st, variable(*OFFLINE_THRESHOLD),
                                                     variable(*LOCAL_AUTHORIZE_OFFLINE),
                                                     variable("TxCtrlr", "TxStartPoint"))]
    assert csms_set(st, variable(*OFFLINE_THRESHOLD, attributeValue="abc"),
                    variable(*LOCAL_AUTHORIZE_OFFLINE, attributeValue="maybe"),
                    variable("TxCtrlr", "TxStartPoint", attributeValue="Nowhere"),
                    variable("OCPPCommCtrlr", "HeartbeatInterval", attributeValue="-5")) == ["Rejected"] * 4
    after = [r["attributeValue"] for r in csms_get(st, variable(*OFFLINE_THRESHOLD),
                                                    variable(*LOCAL_AUTHORIZE_OFFLINE),
                                                    variable("TxCtrlr", "TxStartPoint"))]
    assert after == before


def base_report(st, request_id: int, base: str) -> set[tuple[str, str]]:
    """Ask for ``base``; the (component, variable) names of all its NotifyReports, once the last is in."""
    assert st.csms.call(CP_ID, "GetBaseReport", {"requestId": request_id, "reportBase": base})["status"] == "Accepted"
    mine = lambda e: e["action"] == "NotifyReport" and e["payload"]["requestId"] == request_id  # noqa: E731
    st.csms.wait_for(lambda e: mine(e) and not e["payload"]["tbc"], timeout=10)
    reports = [e["payload"] for e in st.csms.entries() if mine(e)]
    assert [r["seqNo"] for r in reports] == list(range(len(reports)))
    return {(d["component"]["name"], d["variable"]["name"]) for r in reports for d in r.get("reportData", [])}


def test_tc_b_12_get_base_report_configuration_inventory(station):
    st = station(version="2.0.1")
    names = base_report(st, 12, "ConfigurationInventory")
    assert {("OCPPCommCtrlr", "HeartbeatInterval"), OFFLINE_THRESHOLD, LOCAL_AUTHORIZE_OFFLINE} <= names
    assert ("SecurityCtrlr", "SecurityProfile") not in names  # read-only: not configuration


def test_tc_b_13_get_base_report_full_inventory(station):
    st = station(version="2.0.1")
    names = base_report(st, 7, "FullInventory")
    assert {("OCPPCommCtrlr", "HeartbeatInterval"), ("SecurityCtrlr", "SecurityProfile")} <= names


@BOTH
def test_monitor_variables_publishes_event_data_on_csms_change(station, version):
    st = station(version=version)
    st.call("ocpp_generic", "monitor_variables", {"component_variables": [hb_request(version)["component_variable"]]})
    assert csms_sets_heartbeat(st, 77) == "Accepted"
    event = st.var("ocpp_generic", "event_data")
    assert event["actual_value"] == "77" and event["trigger"] == "Alerting"
    assert event["event_notification_type"] == "CustomMonitor"
    assert event["component_variable"]["variable"]["name"] == "HeartbeatInterval"


def test_monitor_configuration_keys_publishes_configuration_key(station):
    st = station(version="1.6")
    st.call("main", "monitor_configuration_keys", {"keys": ["ConnectionTimeOut"]})
    st.csms.call(CP_ID, "ChangeConfiguration", {"key": "HeartbeatInterval", "value": "99"})  # not monitored
    st.csms.call(CP_ID, "ChangeConfiguration", {"key": "ConnectionTimeOut", "value": "55"})
    kv = st.var("main", "configuration_key")
    assert kv == {"key": "ConnectionTimeOut", "read_only": False, "value": "55"}
    assert len(st.values("main", "configuration_key")) == 1


@BOTH
def test_configuration_survives_a_restart_of_the_module(station, version):
    st = station(version=version)
    assert csms_sets_heartbeat(st, 123) == "Accepted"
    st.restart_bridge()
    assert heartbeat_value(st) == "123"


@BOTH
def test_initial_values_from_overrides_file(station, version, tmp_path):
    path = tmp_path / "overrides.json"
    overrides = {"HeartbeatInterval": "61"} if version == "1.6" else {"OCPPCommCtrlr": {"HeartbeatInterval": "61"}}
    path.write_text(json.dumps(overrides))
    st = station(version=version, interval=0, config={"ConfigOverridesPath": str(path)})
    st.var("ocpp_generic", "boot_notification_response")
    assert heartbeat_value(st) == "61"
