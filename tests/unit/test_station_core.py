"""The pure OCPP station core paired with a scripted CSMS: no sockets, a fake clock.

Covers boot/heartbeat rules (TC_001 / TC_002 / TC_B_01..03 at unit level), CALLERROR
answers, correlation and one-call-in-flight.
"""

import json

import pytest

from ocpp_bridge.ocpp.events import BootAnswered, ConfigurationChanged
from ocpp_bridge.ocpp.v16.charge_point import ChargePoint16
from ocpp_bridge.ocpp.v201.charge_point import ChargePoint201

STATION = {"vendor": "ACME", "model": "Box", "serial_number": "SN1", "firmware_version": "1.0"}


class Wire:
    """Collects what the station writes; plays the CSMS by hand."""

    def __init__(self):
        self.sent: list[list] = []
        self.up = True

    def send(self, text: str) -> bool:
        if not self.up:
            return False
        self.sent.append(json.loads(text))
        return True

    def calls(self, action=None):
        return [f for f in self.sent if f[0] == 2 and (action is None or f[2] == action)]

    def last(self):
        return self.sent[-1]


def make(version, tmp_path, wire, overrides=None):
    cls = ChargePoint16 if version == "1.6" else ChargePoint201
    return cls(db_dir=str(tmp_path), send_text=wire.send, station=STATION, overrides=overrides,
               timeout_s=30, evse_count=2, security_profile=0)


def answer(cp, frame, payload, now):
    cp.core.on_text(json.dumps([3, frame[1], payload]), now)


def boot_answer(status, interval, version):
    return {"status": status, "interval": interval, "currentTime": "2026-01-01T00:00:00Z"}


def settle_status(cp, now):
    """Answer the StatusNotifications the status block sends after an Accepted boot: they are
    not what these tests look at, and one in flight would hold everything else back."""
    while (call := cp.core.session.in_flight) is not None and call.action == "StatusNotification":
        cp.core.on_text(json.dumps([3, call.unique_id, {}]), now)


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
def test_boot_accepted_then_heartbeats_at_csms_interval(version, tmp_path):  # TC_001 / TC_B_01
    wire = Wire()
    cp = make(version, tmp_path, wire)
    events = []
    cp.core.events.subscribe(BootAnswered, events.append)
    cp.core.on_connected(1000.0)
    boot = wire.calls("BootNotification")
    assert len(boot) == 1
    if version == "1.6":
        assert boot[0][3] == {"chargePointVendor": "ACME", "chargePointModel": "Box",
                              "chargePointSerialNumber": "SN1", "firmwareVersion": "1.0"}
    else:
        assert boot[0][3]["chargingStation"]["vendorName"] == "ACME" and boot[0][3]["reason"] == "PowerUp"
    answer(cp, boot[0], boot_answer("Accepted", 7, version), 1000.1)
    assert events and events[0].status == "Accepted"
    assert cp.core.registration == "Accepted"
    settle_status(cp, 1000.1)
    nxt = cp.core.poll(1000.2)
    assert nxt == pytest.approx(1007.1)
    cp.core.poll(1007.2)
    hb = wire.calls("Heartbeat")
    assert len(hb) == 1
    answer(cp, hb[0], {"currentTime": "2026-01-01T00:00:07Z"}, 1007.3)
    assert cp.core.poll(1007.4) == pytest.approx(1014.2)


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
@pytest.mark.parametrize("status", ["Pending", "Rejected"])
def test_boot_not_accepted_sends_only_boot_again(version, status, tmp_path):  # TC_002 / TC_B_02 / TC_B_03
    wire = Wire()
    cp = make(version, tmp_path, wire)
    cp.core.on_connected(0.0)
    answer(cp, wire.calls("BootNotification")[0], boot_answer(status, 5, version), 0.1)
    # something wants to go out meanwhile: it must wait
    from ocpp_bridge.ocpp.security_events import send_security_event
    send_security_event(cp.core, "StartupOfTheDevice", None)
    cp.core.poll(3.0)
    assert [f[2] for f in wire.calls()] == ["BootNotification"]
    cp.core.poll(5.2)
    assert [f[2] for f in wire.calls()] == ["BootNotification", "BootNotification"]
    answer(cp, wire.calls()[-1], boot_answer("Accepted", 100, version), 5.3)
    assert [f[2] for f in wire.calls()] == ["BootNotification", "BootNotification", "SecurityEventNotification"]


def test_pending_still_answers_csms_calls(tmp_path):
    wire = Wire()
    cp = make("1.6", tmp_path, wire)
    cp.core.on_connected(0.0)
    answer(cp, wire.calls()[0], boot_answer("Pending", 60, "1.6"), 0.1)
    cp.core.on_text(json.dumps([2, "g1", "GetConfiguration", {"key": ["HeartbeatInterval"]}]), 1.0)
    assert wire.last()[0] == 3 and wire.last()[1] == "g1"
    assert wire.last()[2]["configurationKey"][0]["key"] == "HeartbeatInterval"


@pytest.mark.parametrize("version, frame, code", [
    ("1.6", [2, "x1", "NoSuchAction", {}], "NotImplemented"),
    ("1.6", [2, "x2", "GetDiagnostics", {"location": "ftp://x"}], "NotSupported"),  # no system module
    ("1.6", [2, "x3", "ChangeConfiguration", {"key": "HeartbeatInterval"}], None),  # missing value
    ("1.6", [2, "x4", "ChangeConfiguration", {"key": 5, "value": "1"}], "TypeConstraintViolation"),
    ("1.6", [2, "x5", "ChangeConfiguration", {"key": "a", "value": "1", "extra": 1}], "FormationViolation"),
    ("2.0.1", [2, "y1", "NoSuchAction", {}], "NotImplemented"),
    ("2.0.1", [2, "y2", "ClearDisplayMessage", {"id": 1}], "NotSupported"),
    ("2.0.1", [2, "y3", "GetVariables", {"getVariableData": "nope"}], "TypeConstraintViolation"),
    ("2.0.1", [2, "y4", "SetVariables", {}], "OccurrenceConstraintViolation"),
    ("2.0.1", [2, "y5", "GetVariables", {"getVariableData": [], "bogus": 1}], "FormatViolation"),
])
def test_bad_calls_get_the_versions_callerror(version, frame, code, tmp_path):
    wire = Wire()
    cp = make(version, tmp_path, wire)
    cp.core.on_connected(0.0)
    cp.core.on_text(json.dumps(frame), 1.0)
    reply = wire.last()
    assert reply[0] == 4 and reply[1] == frame[1]
    if code is None:  # 1.6's spelling of a missing field
        assert reply[2] in ("OccurenceConstraintViolation", "OccurrenceConstraintViolation")
    else:
        assert reply[2] == code


@pytest.mark.parametrize("version, text, expect", [
    ("1.6", "not json", None),
    ("1.6", '[2, "z1", "Heartbeat"]', "FormationViolation"),
    ("2.0.1", "not json", ["-1", "RpcFrameworkError"]),
    ("2.0.1", '[7, "z2", "x", {}]', ["z2", "MessageTypeNotSupported"]),
])
def test_broken_frames(version, text, expect, tmp_path):
    wire = Wire()
    cp = make(version, tmp_path, wire)
    cp.core.on_connected(0.0)
    before = len(wire.sent)
    cp.core.on_text(text, 1.0)
    if expect is None:
        assert len(wire.sent) == before
    elif isinstance(expect, str):
        assert wire.last()[0] == 4 and wire.last()[2] == expect
    else:
        assert wire.last()[:3] == [4] + expect


def test_result_for_unknown_id_dropped_and_one_call_in_flight(tmp_path):
    wire = Wire()
    cp = make("1.6", tmp_path, wire)
    cp.core.on_connected(0.0)
    answer(cp, wire.calls()[0], boot_answer("Accepted", 300, "1.6"), 0.1)
    settle_status(cp, 0.1)
    from ocpp_bridge.ocpp.security_events import send_security_event
    send_security_event(cp.core, "StartupOfTheDevice", "a")
    send_security_event(cp.core, "ResetOrReboot", "b")
    assert len(wire.calls("SecurityEventNotification")) == 1  # second waits for the first's answer
    cp.core.on_text(json.dumps([3, "not-ours", {}]), 1.0)
    assert len(wire.calls("SecurityEventNotification")) == 1
    answer(cp, wire.calls("SecurityEventNotification")[0], {}, 1.1)
    assert len(wire.calls("SecurityEventNotification")) == 2


def test_response_timeout_frees_the_line(tmp_path):
    wire = Wire()
    cp = make("1.6", tmp_path, wire)
    cp.core.on_connected(0.0)
    assert cp.core.poll(1.0) == pytest.approx(30.0)  # boot's response deadline
    cp.core.poll(30.0)
    assert cp.core.session.in_flight is None
    # the boot is retried after the default retry interval
    cp.core.poll(60.1)
    assert len(wire.calls("BootNotification")) == 2


def test_change_configuration_takes_effect_on_heartbeat(tmp_path):
    wire = Wire()
    cp = make("1.6", tmp_path, wire)
    cp.core.on_connected(0.0)
    answer(cp, wire.calls()[0], boot_answer("Accepted", 300, "1.6"), 0.0)
    changed = []
    cp.core.events.subscribe(ConfigurationChanged, lambda e: changed.append(e.key))
    cp.core.on_text(json.dumps([2, "c1", "ChangeConfiguration", {"key": "HeartbeatInterval", "value": "10"}]), 50.0)
    assert wire.last() == [3, "c1", {"status": "Accepted"}]
    assert changed == ["HeartbeatInterval"]
    assert cp.core.poll(50.0) == pytest.approx(60.0)
    cp.core.on_text(json.dumps([2, "c2", "ChangeConfiguration", {"key": "NumberOfConnectors", "value": "5"}]), 51.0)
    assert wire.last() == [3, "c2", {"status": "Rejected"}]
    cp.core.on_text(json.dumps([2, "c3", "ChangeConfiguration", {"key": "NoSuchKey", "value": "5"}]), 51.0)
    assert wire.last() == [3, "c3", {"status": "NotSupported"}]


def test_set_variables_takes_effect_on_heartbeat_201(tmp_path):
    wire = Wire()
    cp = make("2.0.1", tmp_path, wire)
    cp.core.on_connected(0.0)
    answer(cp, wire.calls()[0], boot_answer("Accepted", 300, "2.0.1"), 0.0)
    req = {"setVariableData": [{"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"},
                                "attributeValue": "15"}]}
    cp.core.on_text(json.dumps([2, "s1", "SetVariables", req]), 100.0)
    assert wire.last()[2]["setVariableResult"][0]["attributeStatus"] == "Accepted"
    assert cp.core.poll(100.0) == pytest.approx(115.0)
    get = {"getVariableData": [{"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}},
                               {"component": {"name": "NoSuchCtrlr"}, "variable": {"name": "X"}}]}
    cp.core.on_text(json.dumps([2, "g1", "GetVariables", get]), 101.0)
    results = wire.last()[2]["getVariableResult"]
    assert results[0]["attributeStatus"] == "Accepted" and results[0]["attributeValue"] == "15"
    assert results[1]["attributeStatus"] == "UnknownComponent"


def test_stop_drops_queue_and_nothing_is_sent_until_restart(tmp_path):
    wire = Wire()
    cp = make("1.6", tmp_path, wire)
    cp.core.on_connected(0.0)
    answer(cp, wire.calls()[0], boot_answer("Accepted", 300, "1.6"), 0.0)
    cp.stop()
    cp.core.on_disconnected(1.0)
    from ocpp_bridge.ocpp.security_events import send_security_event
    send_security_event(cp.core, "StartupOfTheDevice", None)
    assert cp.core.session.queued() == []
    cp.start()
    cp.core.on_connected(2.0)
    assert wire.calls()[-1][2] == "BootNotification"  # boots again after restart


def test_a_failing_timer_is_logged_and_the_others_still_run(caplog):
    from ocpp_bridge.ocpp.timers import Timers

    timers, ran = Timers(), []
    timers.set("broken", 1.0, lambda: 1 / 0)
    timers.set("fine", 2.0, lambda: ran.append("fine"))
    timers.run_due(5.0)
    assert ran == ["fine"] and not timers.is_set("broken")
    assert "timer broken failed" in caplog.text


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
def test_a_second_handler_for_an_action_is_refused(tmp_path, version):
    cp = make(version, tmp_path, Wire())  # every block has registered its handlers
    with pytest.raises(ValueError, match="two handlers"):  # review H9: no silent replacement
        cp.core.handle("DataTransfer", lambda payload: {"status": "Accepted"})
