"""The websocket side against the real `ocpp` CSMS: CALLERRORs for broken or unknown CSMS
calls, answers to unknown ids, reconnects, stop/restart and HTTP Basic auth (TC_085,
TC_A_01), both OCPP versions."""

import json
import time

import pytest

from support.station import CP_ID

BOTH = pytest.mark.parametrize("version", ["1.6", "2.0.1"])


@pytest.mark.parametrize("version, frame, code", [
    ("1.6", [2, "u1", "DoesNotExist", {}], "NotImplemented"),
    ("1.6", [2, "u2", "UpdateFirmware", {"location": "http://x", "retrieveDate": "2026-01-01T00:00:00Z"}],
     "NotSupported"),
    ("1.6", [2, "u3", "ChangeConfiguration", {"key": 1, "value": "x"}], "TypeConstraintViolation"),
    ("1.6", [2, "u4", "ChangeConfiguration", {"key": "k", "value": "v", "what": 1}], "FormationViolation"),
    ("1.6", [2, "u5", "GetConfiguration", {"key": ["x" * 51]}], "PropertyConstraintViolation"),
    ("1.6", [2, "u6", "ChangeConfiguration", {"value": "v"}], "OccurenceConstraintViolation"),
    ("2.0.1", [2, "v1", "DoesNotExist", {}], "NotImplemented"),
    ("2.0.1", [2, "v2", "UpdateFirmware", {"requestId": 1, "firmware": {
        "location": "http://x", "retrieveDateTime": "2026-01-01T00:00:00Z"}}], "NotSupported"),
    ("2.0.1", [2, "v3", "GetVariables", {"getVariableData": 5}], "TypeConstraintViolation"),
    ("2.0.1", [2, "v4", "GetVariables", {}], "OccurrenceConstraintViolation"),
    ("2.0.1", [2, "v5", "GetBaseReport", {"requestId": 1, "reportBase": "Everything"}],
     "PropertyConstraintViolation"),
    ("2.0.1", [2, "v6", "GetBaseReport", {"requestId": 1, "reportBase": "FullInventory", "x": 1}],
     "FormatViolation"),
])
def test_bad_csms_calls_get_the_right_callerror(station, version, frame, code):
    st = station(version=version)
    reply = json.loads(st.csms.send_raw(CP_ID, json.dumps(frame)))
    assert reply[0] == 4 and reply[1] == frame[1] and reply[2] == code, reply


@pytest.mark.parametrize("version, text, expected", [
    ("2.0.1", "this is not json", ["-1", "RpcFrameworkError"]),
    ("2.0.1", '[9, "w1", "Heartbeat", {}]', ["w1", "MessageTypeNotSupported"]),
    ("2.0.1", '[2, "w2", "Heartbeat"]', ["w2", "RpcFrameworkError"]),
    ("1.6", '[2, "w3", "Heartbeat"]', ["w3", "FormationViolation"]),
])
def test_broken_frames_get_an_answer_where_the_spec_wants_one(station, version, text, expected):
    st = station(version=version)
    reply = json.loads(st.csms.send_raw(CP_ID, text))
    assert reply[0] == 4 and reply[1:3] == expected


@BOTH
def test_garbage_and_unknown_result_ids_are_logged_and_dropped(station, version):
    st = station(version=version)
    size = st.bridge.log_size()
    st.csms.send_raw(CP_ID, json.dumps([3, "no-such-id", {}]), expect_reply=False)
    st.bridge.wait_log(r"unknown message id 'no-such-id'", after=size)
    if version == "1.6":
        st.csms.send_raw(CP_ID, "not json", expect_reply=False)
        st.bridge.wait_log(r"bad frame from CSMS", after=size)
    # the station still works
    if version == "1.6":
        assert st.csms.call(CP_ID, "GetConfiguration", {"key": ["HeartbeatInterval"]})["configurationKey"]
    else:
        assert st.csms.call(CP_ID, "GetVariables", {"getVariableData": [
            {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}}]})
    assert st.bridge.alive


@BOTH
def test_csms_drop_then_automatic_reconnect(station, version):
    st = station(version=version)
    st.var("ocpp_generic", "is_connected", lambda v: v is True)
    seen = len(st.values("ocpp_generic", "is_connected"))
    st.csms.disconnect(CP_ID)
    st.var("ocpp_generic", "is_connected", lambda v: v is False, after=seen)
    st.var("ocpp_generic", "is_connected", lambda v: v is True, after=seen + 1, timeout=20)
    st.csms.wait_for_station(CP_ID, count=2, timeout=20)
    # still registered: it keeps answering and beating on the new connection
    if version == "1.6":
        assert st.csms.call(CP_ID, "ChangeConfiguration", {"key": "HeartbeatInterval", "value": "1"})["status"] == "Accepted"
    else:
        reply = st.csms.call(CP_ID, "SetVariables", {"setVariableData": [{"component": {"name": "OCPPCommCtrlr"},
                             "variable": {"name": "HeartbeatInterval"}, "attributeValue": "1"}]})
        assert reply["setVariableResult"][0]["attributeStatus"] == "Accepted"
    st.csms.wait_for("Heartbeat", timeout=10)


@BOTH
def test_stop_disconnects_and_restart_boots_again(station, version):
    st = station(version=version)
    st.var("ocpp_generic", "is_connected", lambda v: v is True)
    seen = len(st.values("ocpp_generic", "is_connected"))
    assert st.call("ocpp_generic", "stop") is True
    st.var("ocpp_generic", "is_connected", lambda v: v is False, after=seen)
    st.csms.wait_disconnected(CP_ID)
    boots = len(st.csms.entries("BootNotification"))
    # nothing is stored or sent while stopped
    st.call("ocpp_generic", "security_event", {"event": {"type": "TamperDetectionActivated"}})
    assert not st.csms.connected(CP_ID)
    assert st.call("main", "restart") is True
    st.csms.wait_for_station(CP_ID, count=2, timeout=20)
    st.csms.wait_for(lambda e: e["action"] == "BootNotification", timeout=20, after_index=boots)
    st.var("ocpp_generic", "is_connected", lambda v: v is True, after=seen + 1)
    st.heartbeat_sentinel()      # an event stored while stopped would go before it
    assert "SecurityEventNotification" not in st.actions()


@BOTH
def test_tc_085_tc_a_01_basic_auth(station, version):
    st = station(version=version, csms_kwargs={"basic_auth_password": "s3cret-passw0rd-16"},
                 config={"SecurityProfile": 1, "BasicAuthPassword": "s3cret-passw0rd-16"})
    auth = st.csms.handshake(CP_ID)
    assert auth, "the CSMS recorded the handshake"
    assert st.csms.connected(CP_ID)


@BOTH
def test_basic_auth_wrong_password_is_refused_and_retried(station, version):
    st = station(version=version, csms_kwargs={"basic_auth_password": "right-password-123"},
                 config={"SecurityProfile": 1, "BasicAuthPassword": "wrong-password-123"}, wait_boot=False)
    deadline = time.time() + 15
    while len(st.csms.rejected) < 2 and time.time() < deadline:
        time.sleep(0.1)
    assert len(st.csms.rejected) >= 2, "refused, then dialled again"
    assert all(r["status"] == 401 for r in st.csms.rejected)
    assert st.csms.entries() == [] and st.bridge.alive
