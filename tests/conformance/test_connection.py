"""The websocket side against the real `ocpp` CSMS: CALLERRORs for broken or unknown CSMS
calls, answers to unknown ids, reconnects, stop/restart, HTTP Basic auth (TC_085,
TC_A_01) and its password changed by the CSMS (TC_073, TC_A_09/TC_A_10 of use case A01:
used from the next connection on, kept over a restart, write-only, never logged), and CSMS
calls answered in bounded time when the module they wait on stays silent, both OCPP
versions."""

import base64
import json
import time

import pytest

from support.secrets_used import secret
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
    ("2.0.1", [2, "v2", "ClearDisplayMessage", {"id": 1}], "NotSupported"),  # no display block
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
    st = station(version=version, csms_kwargs={"basic_auth_password": secret("s3cret-passw0rd-16")},
                 config={"SecurityProfile": 1, "BasicAuthPassword": "s3cret-passw0rd-16"})
    auth = st.csms.handshake(CP_ID)
    assert auth, "the CSMS recorded the handshake"
    assert st.csms.connected(CP_ID)


@BOTH
def test_basic_auth_wrong_password_is_refused_and_retried(station, version):
    st = station(version=version, csms_kwargs={"basic_auth_password": "right-password-123"},
                 config={"SecurityProfile": 1, "BasicAuthPassword": secret("wrong-password-123")}, wait_boot=False)
    deadline = time.time() + 15
    while len(st.csms.rejected) < 2 and time.time() < deadline:
        time.sleep(0.1)
    assert len(st.csms.rejected) >= 2, "refused, then dialled again"
    assert all(r["status"] == 401 for r in st.csms.rejected)
    assert st.csms.entries() == [] and st.bridge.alive


# ------------------------------------------------------------------ the Basic-auth password
MODULE_OPTION_PASSWORD = secret("module-opt10n-passw0rd")
NEW_PASSWORD = secret("OCA_OCTT_admin_test-1")
NEWER_PASSWORD = secret("0ther-passw0rd-for-step-4")


def basic(password):
    return "Basic " + base64.b64encode(f"{CP_ID}:{password}".encode()).decode()


def password_station(station, tmp_path, version):
    return station(version=version, csms_kwargs={"basic_auth_password": MODULE_OPTION_PASSWORD},
                   config={"SecurityProfile": 1, "BasicAuthPassword": MODULE_OPTION_PASSWORD,
                           "MessageLogPath": str(tmp_path / "frames")})


def change_password(st, password):
    """The CSMS stores a new password (it accepts only that one from now on) and sends it."""
    st.csms.basic_auth_password = password
    if st.version == "1.6":
        return st.csms.call(CP_ID, "ChangeConfiguration", {"key": "AuthorizationKey", "value": password})["status"]
    reply = st.csms.call(CP_ID, "SetVariables", {"setVariableData": [{
        "component": {"name": "SecurityCtrlr"}, "variable": {"name": "BasicAuthPassword"},
        "attributeValue": password}]})
    return reply["setVariableResult"][0]["attributeStatus"]


def assert_no_secret_logged(st, tmp_path, *secrets):
    frames = "\n".join(p.read_text(encoding="utf-8") for p in (tmp_path / "frames").glob("*.log"))
    logged = st.bridge.log_text()
    assert "AuthorizationKey" in frames or "BasicAuthPassword" in frames, "the frame log holds the change"
    for value in secrets:
        for text in (value, base64.b64encode(f"{CP_ID}:{value}".encode()).decode()):
            assert text not in logged, f"{text!r} in the bridge log"
            assert text not in frames, f"{text!r} in the frame log"
    assert "********" in logged and "********" in frames


def assert_write_only(st, key_or_variable):
    if st.version == "1.6":
        key = st.csms.call(CP_ID, "GetConfiguration", {"key": [key_or_variable]})["configurationKey"][0]
        assert key["key"] == key_or_variable and "value" not in key
        mqtt = st.call("main", "get_configuration_key", {"keys": [key_or_variable]})["configuration_keys"]
        assert all("value" not in k for k in mqtt)
        return
    component, variable = key_or_variable.split(".")
    got = st.csms.call(CP_ID, "GetVariables", {"getVariableData": [
        {"component": {"name": component}, "variable": {"name": variable}}]})["getVariableResult"][0]
    assert got["attributeStatus"] == "Rejected" and "attributeValue" not in got
    mqtt = st.call("ocpp_generic", "get_variables", {"requests": [{"component_variable": {
        "component": {"name": component}, "variable": {"name": variable}}}]})
    assert mqtt[0]["status"] == "Rejected" and "value" not in mqtt[0]


def test_tc_073_authorization_key_is_used_from_the_next_connection_on(station, tmp_path):
    st = password_station(station, tmp_path, "1.6")
    assert st.csms.handshake(CP_ID)["headers"]["Authorization"] == basic(MODULE_OPTION_PASSWORD)
    # steps 1-3: Accepted, then it disconnects and reconnects with the new password
    assert change_password(st, NEW_PASSWORD) == "Accepted"
    st.csms.wait_for_station(CP_ID, count=2, timeout=20)
    assert st.csms.handshake(CP_ID)["headers"]["Authorization"] == basic(NEW_PASSWORD)
    # steps 4-6: and again
    assert change_password(st, NEWER_PASSWORD) == "Accepted"
    st.csms.wait_for_station(CP_ID, count=3, timeout=20)
    assert st.csms.handshake(CP_ID)["headers"]["Authorization"] == basic(NEWER_PASSWORD)
    assert_write_only(st, "AuthorizationKey")
    # the stored password survives a restart and wins over the module option
    st.restart_bridge()
    st.csms.wait_for_station(CP_ID, count=4, timeout=20)
    assert st.csms.handshake(CP_ID)["headers"]["Authorization"] == basic(NEWER_PASSWORD)
    assert not [r for r in st.csms.rejected if r["status"] == 401], "never dialled with an old password"
    assert_no_secret_logged(st, tmp_path, MODULE_OPTION_PASSWORD, NEW_PASSWORD, NEWER_PASSWORD)


def test_tc_a_09_a01_basic_auth_password_is_used_from_the_next_connection_on(station, tmp_path):
    st = password_station(station, tmp_path, "2.0.1")
    seen = len(st.csms.entries())
    # steps 1-6: Accepted, reconnect with the new password, BootNotification
    assert change_password(st, NEW_PASSWORD) == "Accepted"
    st.csms.wait_for_station(CP_ID, count=2, timeout=20)
    assert st.csms.handshake(CP_ID)["headers"]["Authorization"] == basic(NEW_PASSWORD)
    st.csms.wait_for("BootNotification", timeout=20, after_index=seen)
    assert_write_only(st, "SecurityCtrlr.BasicAuthPassword")
    st.restart_bridge()
    st.csms.wait_for_station(CP_ID, count=3, timeout=20)
    assert st.csms.handshake(CP_ID)["headers"]["Authorization"] == basic(NEW_PASSWORD)
    assert not [r for r in st.csms.rejected if r["status"] == 401], "never dialled with an old password"
    assert_no_secret_logged(st, tmp_path, MODULE_OPTION_PASSWORD, NEW_PASSWORD)


def test_tc_a_10_a01_a_too_short_password_is_rejected_and_the_old_one_stays(station, tmp_path):
    st = password_station(station, tmp_path, "2.0.1")
    short = "sh0rt-pw"  # fewer than the 16 characters A01 asks for
    assert change_password(st, short) == "Rejected"
    st.csms.basic_auth_password = MODULE_OPTION_PASSWORD
    st.csms.disconnect(CP_ID)  # the next connection still uses the old password
    st.csms.wait_for_station(CP_ID, count=2, timeout=20)
    assert st.csms.handshake(CP_ID)["headers"]["Authorization"] == basic(MODULE_OPTION_PASSWORD)
    assert_no_secret_logged(st, tmp_path, MODULE_OPTION_PASSWORD, short)


# ------------------------------------------------------------------ answers that wait on a module
@BOTH
def test_h5_unlock_with_an_evse_that_never_answers_gets_unlock_failed_in_bounded_time(station, version):
    st = station(version=version, bridge_kwargs={"evse_managers": [("probe", "evse")]})
    st.peer.implement("evse", "force_unlock", lambda args: st.peer.NO_REPLY)
    size = st.bridge.log_size()
    payload = {"connectorId": 1} if version == "1.6" else {"evseId": 1, "connectorId": 1}
    # CsmsAnswerTimeoutS (5 s by default), not CommandTimeoutS (300 s): well within the CSMS's 30 s
    assert st.csms.call(CP_ID, "UnlockConnector", payload, timeout=30) == {"status": "UnlockFailed"}
    assert st.peer.calls_received("evse", "force_unlock"), "the EVSE was asked"
    st.bridge.wait_log(r"UnlockConnector \S+: no answer from the module within 5s; answering the CSMS", after=size)
