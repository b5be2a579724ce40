"""The module on the MQTT bus, both framework generations: every command of both provided
implementations answers, and every bad input gets an error reply (or a log line) while the
module keeps serving. Driven by an independent EVerest peer over a real mosquitto."""

import json

import pytest

from support.everest_peer import CommandError
from support.station import MODULE

GENERATIONS = pytest.mark.parametrize("generation", ["2025.12", "2024.11"])


def cv(name, component=""):
    return {"component": {"name": component}, "variable": {"name": name}}


@GENERATIONS
def test_every_command_answers_1_6(station, generation):
    st = station(version="1.6", generation=generation)
    got = st.call("ocpp_generic", "get_variables", {"requests": [{"component_variable": cv("HeartbeatInterval")},
                                                                 {"component_variable": cv("NoSuchKey")}]})
    assert [r["status"] for r in got] == ["Accepted", "UnknownVariable"]
    assert got[0]["component_variable"]["component"] == {"name": ""}
    got = st.call("ocpp_generic", "set_variables", {"requests": [
        {"component_variable": cv("MeterValueSampleInterval"), "value": "30"},
        {"component_variable": cv("NumberOfConnectors"), "value": "4"},
        {"component_variable": cv("NoSuchKey"), "value": "1"}], "source": "probe"})
    assert [r["status"] for r in got] == ["Accepted", "Rejected", "UnknownVariable"]
    assert st.call("ocpp_generic", "monitor_variables", {"component_variables": [cv("HeartbeatInterval")]}) is None
    assert st.call("ocpp_generic", "change_availability", {"request": {"operational_status": "Inoperative"}}) == \
        {"status": "Accepted"}
    rejected = st.call("ocpp_generic", "change_availability",
                       {"request": {"operational_status": "Operative", "evse": {"id": 1}}})
    assert rejected["status"] == "Rejected" and rejected["status_info"]["reason_code"] == "InvalidInput"
    unknown = st.call("ocpp_generic", "change_availability",
                      {"request": {"operational_status": "Operative", "evse": {"id": 9, "connector_id": 1}}})
    assert unknown["status"] == "Rejected"
    assert st.call("ocpp_generic", "security_event", {"event": {"type": "StartupOfTheDevice", "info": "x"}}) is None
    assert st.var("ocpp_generic", "security_event") == {"type": "StartupOfTheDevice", "info": "x"}
    assert st.csms.wait_for("SecurityEventNotification")["payload"]["type"] == "StartupOfTheDevice"
    main = st.call("main", "get_configuration_key", {"keys": []})
    assert {k["key"] for k in main["configuration_keys"]} >= {"HeartbeatInterval", "NumberOfConnectors"}
    assert st.call("main", "set_configuration_key", {"key": "ConnectionTimeOut", "value": "20"}) == "Accepted"
    assert st.call("main", "set_configuration_key", {"key": "Bogus", "value": "20"}) == "NotSupported"
    assert st.call("main", "monitor_configuration_keys", {"keys": ["ConnectionTimeOut"]}) is None
    assert st.call("main", "security_event", {"type": "ResetOrReboot", "info": "y"}) is None
    assert st.csms.wait_for(lambda e: e["action"] == "SecurityEventNotification"
                            and e["payload"]["type"] == "ResetOrReboot")


@GENERATIONS
def test_every_command_answers_2_0_1(station, generation):
    st = station(version="2.0.1", generation=generation)
    hb = cv("HeartbeatInterval", "OCPPCommCtrlr")
    got = st.call("ocpp_generic", "get_variables", {"requests": [
        {"component_variable": hb}, {"component_variable": cv("X", "NoSuchCtrlr")},
        {"component_variable": hb, "attribute_type": "MaxSet"}]})
    assert [r["status"] for r in got] == ["Accepted", "UnknownComponent", "NotSupportedAttributeType"]
    got = st.call("ocpp_generic", "set_variables", {"requests": [{"component_variable": hb, "value": "x"}],
                                                    "source": "probe"})
    assert got[0]["status"] == "Rejected"
    assert st.call("ocpp_generic", "change_availability",
                   {"request": {"operational_status": "Inoperative", "evse": {"id": 1}}}) == {"status": "Accepted"}
    assert st.call("ocpp_generic", "change_availability",
                   {"request": {"operational_status": "Inoperative", "evse": {"id": 5}}})["status"] == "Rejected"
    # the 1.6 interface on a 2.0.1 station: no configuration keys to act on
    assert st.call("main", "get_configuration_key", {"keys": ["HeartbeatInterval"]}) == \
        {"configuration_keys": [], "unknown_keys": ["HeartbeatInterval"]}
    assert st.call("main", "set_configuration_key", {"key": "HeartbeatInterval", "value": "5"}) == "NotSupported"
    st.call("ocpp_generic", "security_event", {"event": {"type": "InvalidTLSVersion", "critical": False}})
    st.call("ocpp_generic", "security_event", {"event": {"type": "MaintenanceLoginAccepted"}})
    assert st.csms.wait_for("SecurityEventNotification")["payload"]["type"] == "MaintenanceLoginAccepted"
    types = [e["payload"]["type"] for e in st.csms.entries("SecurityEventNotification")]
    assert "InvalidTLSVersion" not in types  # not critical: published on the bus, not sent
    assert st.var("ocpp_generic", "security_event", lambda v: v["type"] == "InvalidTLSVersion")


@GENERATIONS
@pytest.mark.parametrize("args, fragment", [
    ({"keys": "HeartbeatInterval"}, "keys"),           # wrong type
    ({}, "keys"),                                       # missing argument
    ({"keys": [], "extra": 1}, "extra"),                # unknown argument
    ({"keys": [1, 2]}, "keys"),                         # wrong item type
])
def test_invalid_arguments_get_schema_validation_error(station, generation, args, fragment):
    st = station(version="1.6", generation=generation)
    with pytest.raises(CommandError) as exc:
        st.call("main", "get_configuration_key", args)
    assert exc.value.error_type == "SchemaValidationError"
    assert fragment in exc.value.message
    assert st.call("main", "get_configuration_key", {"keys": ["HeartbeatInterval"]})["configuration_keys"]


def test_invalid_nested_argument_and_bad_date_time(station):
    st = station(version="1.6")
    with pytest.raises(CommandError) as exc:
        st.call("ocpp_generic", "security_event", {"event": {"type": "X", "timestamp": "yesterday"}})
    assert exc.value.error_type == "SchemaValidationError" and "timestamp" in exc.value.message
    with pytest.raises(CommandError) as exc:
        st.call("ocpp_generic", "get_variables", {"requests": [{"component_variable": {"variable": {"name": "a"}}}]})
    assert exc.value.error_type == "SchemaValidationError" and "component" in exc.value.message


def test_malformed_g3_input(station):
    st = station(version="1.6", generation="2025.12")
    peer, base = st.peer, f"{st.peer.prefix}modules/{MODULE}/impl/main/cmd"
    reply_to_probe = f"{base}/{{}}/response/probe"
    # not JSON: no origin to answer to -> the module logs it and goes on
    size = st.bridge.log_size()
    assert peer.call_raw(f"{base}/stop", b"{nope", reply_to_probe.format("stop"), timeout=1) is None
    st.bridge.wait_log(r"not JSON", after=size)
    # no call id: answered with an error
    reply = peer.call_raw(f"{base}/stop", json.dumps({"msg_type": "Cmd", "data": {"args": {}, "origin": "probe"}}),
                          reply_to_probe.format("stop"))
    assert reply["data"]["data"]["error"]["__everest__error_type"] == "MessageParsingError"
    # unknown command: answered with an error naming it
    with pytest.raises(CommandError) as exc:
        st.call("main", "launch_rockets", {})
    assert "launch_rockets" in exc.value.message
    # envelope of the wrong kind
    size = st.bridge.log_size()
    peer.publish_raw(f"{base}/stop", json.dumps({"msg_type": "Var", "data": {}}))
    st.bridge.wait_log(r"not a Cmd envelope", after=size)
    # still serving
    assert st.call("main", "get_configuration_key", {"keys": ["HeartbeatInterval"]})["unknown_keys"] == []
    assert st.bridge.alive


def test_malformed_g2_input(station):
    st = station(version="1.6", generation="2024.11")
    topic = f"{st.peer.prefix}modules/{MODULE}/impl/main/cmd"
    reply = st.peer.call_raw(topic, b"not json at all", topic)
    assert reply["type"] == "result" and reply["data"]["error"]["__everest__error_type"] == "MessageParsingError"
    reply = st.peer.call_raw(topic, json.dumps({"name": "stop", "type": "call", "data": {"args": {}}}), topic)
    assert reply["data"]["error"]["__everest__error_type"] == "MessageParsingError"
    assert st.call("main", "get_configuration_key", {"keys": []})["configuration_keys"]
    assert st.bridge.alive


def test_previous_generation_name_set_custom_configuration_key(station):
    st = station(version="1.6", generation="2024.11")
    assert st.call("main", "set_custom_configuration_key", {"key": "ConnectionTimeOut", "value": "33"}) == "Accepted"
    answer = st.call("main", "get_configuration_key", {"keys": ["ConnectionTimeOut"]})
    assert answer["configuration_keys"][0]["value"] == "33"


def test_stop_and_restart_before_ocpp_started_return_false(station):
    st = station(version="1.6", global_ready=False)
    assert st.call("ocpp_generic", "stop") is False
    assert st.call("main", "restart") is False
    assert st.csms.entries() == []
    st.peer.send_global_ready()
    st.csms.wait_for("BootNotification", timeout=20)
    assert st.call("main", "stop") is True


def test_arguments_that_make_no_valid_ocpp_message_get_schema_validation_error(station):
    """Found by fuzzing: a vendor id longer than OCPP allows (EVerest's type sets no limit)
    made the 2.0.1 handler raise (a traceback, and HandlerException)."""
    st = station(version="2.0.1")
    with pytest.raises(CommandError) as exc:
        st.call("data_transfer", "data_transfer", {"request": {"vendor_id": "v" * 300}})
    assert exc.value.error_type == "SchemaValidationError" and "vendorId" in exc.value.message
    assert st.call("data_transfer", "data_transfer", {"request": {"vendor_id": "acme"}})["status"] == "Accepted"
    assert "Traceback" not in st.bridge.log_text()
