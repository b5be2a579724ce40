"""Input we cannot store or encode, through the real bridge process (issue 8 §4, faults 1-8).

A JSON string may hold a lone UTF-16 surrogate (``"\\ud800"`` is legal JSON text but no
UTF-8), an integer may exceed what SQLite stores (2^63), and JSON may nest 1000 levels
deep. Each reproduction of the issue is sent exactly as it was found: from the CSMS over a
real websocket, or from an EVerest peer over a real mosquitto. Each must get its clear
answer (the version's CALLERROR, a ``SchemaValidationError`` / ``MessageParsingError``
reply, or a log line), the websocket must stay up, and the bridge must print no traceback.
"""

from __future__ import annotations

import json

import pytest

from support.everest_peer import CommandError
from support.station import CP_ID, MODULE

SURROGATE = "\ud800"
TOO_BIG = 2 ** 63
DEEP = 1000


def raw(action: str, payload: dict, uid: str = "fuzz-1") -> str:
    """A CALL frame as the CSMS writes it (json.dumps escapes the surrogate as \\ud800)."""
    return json.dumps([2, uid, action, payload])


def callerror(reply: str | None) -> tuple[str, str]:
    assert reply is not None, "no answer to the CALL"
    frame = json.loads(reply)
    assert frame[0] == 4, f"expected a CALLERROR, got {reply}"
    return frame[1], frame[2]


def assert_still_healthy(st) -> None:
    """One connection all along, still answering, and no traceback in the log."""
    if st.version == "1.6":
        assert st.csms.call(CP_ID, "GetConfiguration", {"key": ["HeartbeatInterval"]})["configurationKey"]
    else:
        got = st.csms.call(CP_ID, "GetVariables", {"getVariableData": [
            {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}}]})
        assert got["getVariableResult"][0]["attributeStatus"] == "Accepted"
    assert st.csms.connection_count(CP_ID) == 1, "the websocket was dropped"
    assert st.call("main", "get_configuration_key", {"keys": []}) is not None
    assert st.bridge.alive
    assert "Traceback" not in st.bridge.log_text()


# ---------------------------------------------------------------- from the CSMS

def test_1_6_get_configuration_with_a_lone_surrogate_key_gets_type_constraint_violation(station):
    st = station(version="1.6")
    uid, code = callerror(st.csms.send_raw(CP_ID, raw("GetConfiguration", {"key": [SURROGATE]})))
    assert (uid, code) == ("fuzz-1", "TypeConstraintViolation")
    assert_still_healthy(st)


@pytest.mark.parametrize("action, payload", [
    ("GetVariables", {"getVariableData": [{"component": {"name": SURROGATE},
                                           "variable": {"name": "HeartbeatInterval"}}]}),
    ("SetVariables", {"setVariableData": [{"component": {"name": SURROGATE},
                                           "variable": {"name": "HeartbeatInterval"},
                                           "attributeValue": "10"}]}),
])
def test_2_0_1_variables_with_a_lone_surrogate_component_get_type_constraint_violation(station, action, payload):
    st = station(version="2.0.1")
    assert callerror(st.csms.send_raw(CP_ID, raw(action, payload))) == ("fuzz-1", "TypeConstraintViolation")
    assert_still_healthy(st)


def test_1_6_remote_start_with_a_lone_surrogate_id_tag_is_refused_before_the_bus(station):
    st = station(version="1.6")
    st.peer.watch_var(MODULE, "auth_provider", "provided_token")
    reply = st.csms.send_raw(CP_ID, raw("RemoteStartTransaction", {"idTag": SURROGATE}))
    assert callerror(reply) == ("fuzz-1", "TypeConstraintViolation")
    # the next remote start goes through: its token is the first one published
    assert st.csms.call(CP_ID, "RemoteStartTransaction", {"idTag": "GOOD"})["status"] == "Accepted"
    first = st.peer.wait_var(MODULE, "auth_provider", "provided_token")
    assert first["id_token"]["value"] == "GOOD"
    assert_still_healthy(st)


@pytest.mark.parametrize("version, action, payload, read_back", [
    ("1.6", "SendLocalList", {"listVersion": TOO_BIG, "updateType": "Full"}, "GetLocalListVersion"),
    ("2.0.1", "SendLocalList", {"versionNumber": TOO_BIG, "updateType": "Full"}, "GetLocalListVersion"),
])
def test_send_local_list_with_a_version_beyond_64_bits_gets_type_constraint_violation(
        station, version, action, payload, read_back):
    st = station(version=version)
    assert callerror(st.csms.send_raw(CP_ID, raw(action, payload))) == ("fuzz-1", "TypeConstraintViolation")
    got = st.csms.call(CP_ID, read_back, {})
    assert got == ({"listVersion": 0} if version == "1.6" else {"versionNumber": 0})
    assert_still_healthy(st)


# ---------------------------------------------------------------- from the bus

def schema_error(st, impl: str, cmd: str, args: dict) -> str:
    with pytest.raises(CommandError) as exc:
        st.call(impl, cmd, args)
    assert exc.value.error_type == "SchemaValidationError", exc.value
    return exc.value.message


def cv(component: str, variable: str = "HeartbeatInterval") -> dict:
    return {"component": {"name": component}, "variable": {"name": variable}}


@pytest.mark.parametrize("generation", ["2025.12", "2024.11"])
def test_bus_commands_with_lone_surrogates_get_schema_validation_error(station, generation):
    st = station(version="1.6", generation=generation)
    assert "surrogate" in schema_error(st, "main", "get_configuration_key", {"keys": [SURROGATE]})
    schema_error(st, "ocpp_generic", "get_variables", {"requests": [{"component_variable": cv(SURROGATE)}]})
    schema_error(st, "ocpp_generic", "set_variables",
                 {"requests": [{"component_variable": cv(SURROGATE), "value": "1"}], "source": "probe"})
    assert_still_healthy(st)


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
def test_security_event_with_a_lone_surrogate_type_is_refused_and_the_next_one_is_sent(station, version):
    st = station(version=version)
    schema_error(st, "main", "security_event", {"type": SURROGATE, "info": "x"})
    schema_error(st, "ocpp_generic", "security_event", {"event": {"type": SURROGATE}})
    schema_error(st, "ocpp_generic", "security_event", {"event": {"type": "ResetOrReboot", "info": SURROGATE}})
    assert st.call("main", "security_event", {"type": "ResetOrReboot", "info": "after"}) is None
    sent = st.csms.wait_for("SecurityEventNotification")["payload"]
    assert (sent["type"], sent.get("techInfo")) == ("ResetOrReboot", "after")
    assert_still_healthy(st)


def test_data_transfer_with_a_lone_surrogate_vendor_id_keeps_the_websocket(station):
    st = station(version="1.6")
    schema_error(st, "data_transfer", "data_transfer", {"request": {"vendor_id": SURROGATE}})
    assert st.call("data_transfer", "data_transfer", {"request": {"vendor_id": "acme"}})["status"] == "Accepted"
    assert_still_healthy(st)


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
def test_validate_token_with_a_lone_surrogate_keeps_the_database_and_the_websocket(station, version):
    st = station(version=version)
    provided = {"id_token": {"value": SURROGATE, "type": "ISO14443"}, "authorization_type": "RFID"}
    schema_error(st, "auth_validator", "validate_token", {"provided_token": provided})
    provided["id_token"]["value"] = "GOOD"
    assert st.call("auth_validator", "validate_token", {"provided_token": provided})[
        "authorization_status"] == "Accepted"
    assert_still_healthy(st)


def deep(levels: int) -> object:
    value: object = []
    for _ in range(levels - 1):
        value = [value]
    return value


def test_json_nested_1000_deep_on_a_command_topic_gets_message_parsing_error(station):
    st = station(version="1.6")
    base = f"{st.peer.prefix}modules/{MODULE}/impl/main/cmd/get_configuration_key"
    text = '{"msg_type":"Cmd","data":{"id":"deep-1","origin":"probe","args":{"keys":' + \
        "[" * DEEP + "]" * DEEP + "}}}"
    reply = st.peer.call_raw(base, text, f"{base}/response/probe")
    assert reply is not None, "no reply to a too-deep command"
    data = reply["data"]["data"]
    assert data["id"] == "deep-1"
    assert data["error"]["__everest__error_type"] == "MessageParsingError"
    assert_still_healthy(st)


def test_json_nested_1000_deep_on_an_evse_manager_variable_is_dropped_with_a_log_line(station):
    st = station(version="1.6")
    evse = st.peer.__class__(st.peer.port, prefix=st.peer.prefix, module_id="evse_manager_1").start()
    try:
        size = st.bridge.log_size()
        topic = evse.var_topic("evse_manager_1", "evse", "session_event")
        evse.publish_raw(topic, '{"msg_type":"Var","data":{"data":' + "[" * DEEP + "]" * DEEP + "}}")
        st.bridge.wait_log(r"session_event.*nested deeper", after=size)
        size = st.bridge.log_size()
        evse.publish_var("evse", "session_event", {"event": SURROGATE})
        st.bridge.wait_log(r"session_event.*surrogate", after=size)
    finally:
        evse.stop()
    assert_still_healthy(st)
