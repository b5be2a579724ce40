"""What both versions' remote control checks alike (ocpp/common/remote_control.py): the gate
before Accepted and the TriggerMessage registry, on a real station core."""

import json

import pytest

from ocpp_bridge.ocpp.common.remote_control import TriggerMessages, accepted, remote_stop, report_idle
from ocpp_bridge.ocpp.station import StationCore


def core_registered(status, version="1.6"):
    sent = []
    core = StationCore(version, lambda text: sent.append(json.loads(text)) or True)
    core.registration = status
    core.on_connected(0.0)
    return core, sent


@pytest.mark.parametrize("status, ok", [("Accepted", True), ("Pending", False), ("Rejected", False),
                                        ("Unknown", False)])
def test_remote_start_and_stop_act_only_once_accepted(caplog, status, ok):
    core, _sent = core_registered(status)
    assert accepted(core, "RemoteStartTransaction", "1.6 §4.2") is ok
    assert ("Rejected (1.6 §4.2)" in caplog.text) is not ok


@pytest.mark.parametrize("status, evse, answer", [("Accepted", 2, "Accepted"), ("Accepted", None, "Rejected"),
                                                  ("Pending", 2, "Rejected")])
def test_a_remote_stop_stops_a_known_transaction_once_accepted(status, evse, answer):
    core, _sent = core_registered(status)
    stopped = []
    assert remote_stop(core, "RequestStopTransaction", "B02.FR.05", evse, stopped.append) == {"status": answer}
    assert stopped == ([evse] if answer == "Accepted" else [])


def test_a_kind_nobody_registered_is_not_implemented():
    core, _sent = core_registered("Accepted")
    assert TriggerMessages(core).answer("Heartbeat", None) == "NotImplemented"


@pytest.mark.parametrize("status, answer", [("Accepted", "Accepted"), ("Pending", "Accepted"),
                                            ("Rejected", "Rejected"), ("Unknown", "Rejected")])
def test_only_a_boot_notification_may_be_triggered_unless_accepted_or_pending(status, answer):
    core, _sent = core_registered(status)
    triggers = TriggerMessages(core)
    asked = []
    triggers.add("Heartbeat", lambda target: asked.append(target) or "Accepted")
    triggers.add("BootNotification", lambda target: "Accepted")
    assert triggers.answer("Heartbeat", 3) == answer
    assert asked == ([3] if answer == "Accepted" else [])
    assert triggers.answer("BootNotification", None) == "Accepted"


def test_a_triggered_message_may_leave_while_pending_and_a_later_sender_replaces_the_first():
    core, sent = core_registered("Pending", "2.0.1")
    triggers = TriggerMessages(core)
    triggers.add("LogStatusNotification", lambda target: "Rejected")
    triggers.add("LogStatusNotification", lambda target: report_idle(core, "LogStatusNotification"))
    assert triggers.answer("LogStatusNotification", None) == "Accepted"
    assert [f[2:] for f in sent if f[0] == 2] == [["LogStatusNotification", {"status": "Idle"}]]
    core.call("Heartbeat", {})                                    # not triggered: waits for Accepted
    assert [f[2] for f in sent if f[0] == 2] == ["LogStatusNotification"]
