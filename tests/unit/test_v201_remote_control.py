"""OCPP 2.0.1 remote control (block F), GetTransactionStatus (E14), Reset (B11/B12) and
DataTransfer (P) on the pure core, with a scripted CSMS, a fake EVSE port and a fake clock.
Test ids cite OCA 2.0.1 cases only where the test covers what the case checks.
"""

import json

import pytest
from v201_harness import Sim, auth_first, charging, full_session_start, plug, sample, tx_finished, tx_started

from ocpp_bridge.ocpp import evse_events as E

TOKEN = {"idToken": "REMOTE1", "type": "ISO14443"}


def start(sim, evse=1, rid=5, token=TOKEN, **extra):
    payload = {"idToken": token, "remoteStartId": rid, **extra}
    if evse is not None:
        payload["evseId"] = evse
    return sim.request("RequestStartTransaction", payload)


def events(sim):
    return sim.payloads("TransactionEvent")


def trigger(sim, message, evse=None):
    payload = {"requestedMessage": message}
    if evse is not None:
        payload["evse"] = evse
    return sim.request("TriggerMessage", payload)["status"]


# ------------------------------------------------------------------------ remote start
def test_tc_f_01_remote_start_cable_plugin_first(tmp_path):
    sim = Sim(tmp_path)
    sim.ev(plug(1, "s1"))
    assert start(sim) == {"status": "Accepted"}
    assert sim.port.of("provide_token") == [(E.IdToken("REMOTE1", "ISO14443"), (1,), True, 5)]
    sim.ev(tx_started(1, "s1", "REMOTE1"))
    started = events(sim)[0]
    assert started["triggerReason"] == "RemoteStart"
    assert started["transactionInfo"]["remoteStartId"] == 5
    assert started["idToken"] == TOKEN


def test_remote_start_on_a_transaction_started_at_plug_in_answers_its_id(tmp_path):
    sim = Sim(tmp_path, overrides={"TxCtrlr": {"TxStartPoint": "EVConnected"}})
    sim.ev(plug(1, "s1"))
    assert start(sim) == {"status": "Accepted", "transactionId": "s1"}
    sim.ev(tx_started(1, "s1", "REMOTE1"))
    updated = events(sim)[1]
    assert (updated["eventType"], updated["triggerReason"]) == ("Updated", "RemoteStart")
    assert updated["transactionInfo"]["remoteStartId"] == 5 and updated["idToken"] == TOKEN


def test_tc_f_02_remote_start_first_authorize_remote_start_true(tmp_path):
    sim = Sim(tmp_path, overrides={"AuthCtrlr": {"AuthorizeRemoteStart": True}})
    assert start(sim, evse=2, rid=8) == {"status": "Accepted"}
    assert sim.port.of("provide_token") == [(E.IdToken("REMOTE1", "ISO14443"), (2,), False, 8)]


def test_tc_f_03_remote_start_first_then_plug_in(tmp_path):
    sim = Sim(tmp_path)
    start(sim, evse=1, rid=6)
    sim.ev(auth_first(1, "s1", "REMOTE1"))
    assert events(sim) == []
    sim.ev(tx_started(1, "s1", "REMOTE1"))
    started = events(sim)[0]
    assert (started["triggerReason"], started["transactionInfo"]["remoteStartId"]) == ("RemoteStart", 6)


@pytest.mark.parametrize("case", ["no evse", "unknown evse", "busy", "unavailable", "reserved"])
def test_remote_start_rejected(tmp_path, case):
    sim = Sim(tmp_path)
    evse = {"no evse": None, "unknown evse": 7}.get(case, 1)
    if case == "busy":
        full_session_start(sim, 1, "s1")
    elif case == "unavailable":
        sim.cp.change_availability(1, None, False)
    elif case == "reserved":
        sim.request("ReserveNow", {"id": 1, "expiryDateTime": "2027-01-01T00:00:00Z", "evseId": 1,
                                   "idToken": {"idToken": "SOMEONE", "type": "ISO14443"}})
    assert start(sim, evse=evse) == {"status": "Rejected"}
    assert sim.port.of("provide_token") == []


def test_remote_start_for_the_reserving_token_is_accepted(tmp_path):
    sim = Sim(tmp_path)
    sim.request("ReserveNow", {"id": 1, "expiryDateTime": "2027-01-01T00:00:00Z", "evseId": 1, "idToken": TOKEN})
    assert start(sim)["status"] == "Accepted"


# ------------------------------------------------------------------------ remote stop
def test_tc_c_45_remote_start_for_the_master_pass_group_is_rejected(tmp_path):  # C16
    sim = Sim(tmp_path)
    sim.set("AuthCtrlr", "MasterPassGroupId", "POLICE")
    assert start(sim, groupIdToken={"idToken": "POLICE", "type": "Central"}) == {"status": "Rejected"}
    assert sim.port.of("provide_token") == []
    assert start(sim, groupIdToken={"idToken": "FAMILY", "type": "Central"}) == {"status": "Accepted"}


def test_tc_f_08_remote_stop(tmp_path):
    sim = Sim(tmp_path)
    full_session_start(sim, 2, "s2")
    assert sim.request("RequestStopTransaction", {"transactionId": "s2"}) == {"status": "Accepted"}
    assert sim.port.of("stop_transaction") == [(2, "Remote")]
    sim.ev(tx_finished(2, "s2", "Remote"))
    ended = events(sim)[-1]
    assert (ended["triggerReason"], ended["transactionInfo"]["stoppedReason"]) == ("RemoteStop", "Remote")


def test_tc_f_09_remote_stop_unknown_transaction(tmp_path):
    sim = Sim(tmp_path)
    full_session_start(sim, 1, "s1")
    assert sim.request("RequestStopTransaction", {"transactionId": "nope"}) == {"status": "Rejected"}
    assert sim.port.of("stop_transaction") == []


def test_remote_stop_of_a_transaction_not_yet_authorized_ends_it_here(tmp_path):
    sim = Sim(tmp_path, overrides={"TxCtrlr": {"TxStartPoint": "EVConnected"}})
    sim.ev(plug(1, "s1"))
    assert sim.request("RequestStopTransaction", {"transactionId": "s1"}) == {"status": "Accepted"}
    ended = events(sim)[-1]
    assert (ended["eventType"], ended["triggerReason"], ended["transactionInfo"]["stoppedReason"]) == \
        ("Ended", "RemoteStop", "Remote")
    assert sim.port.of("stop_transaction") == []


# ------------------------------------------------------------------------ GetTransactionStatus
def status_of(sim, tid=None):
    return sim.request("GetTransactionStatus", {"transactionId": tid} if tid else {})


def test_tc_e_28_unknown_transaction(tmp_path):
    sim = Sim(tmp_path)
    assert status_of(sim, "nope") == {"messagesInQueue": False, "ongoingIndicator": False}


def test_tc_e_29_and_e_30_ongoing_with_and_without_messages_in_queue(tmp_path):
    sim = Sim(tmp_path)
    sim.hold.add("TransactionEvent")
    full_session_start(sim, 1, "s1")
    assert status_of(sim, "s1") == {"messagesInQueue": True, "ongoingIndicator": True}
    sim.hold.clear()
    sim.settle()
    assert status_of(sim, "s1") == {"messagesInQueue": False, "ongoingIndicator": True}


def test_tc_e_31_and_e_32_ended_with_and_without_messages_in_queue(tmp_path):
    sim = Sim(tmp_path)
    full_session_start(sim, 1, "s1")
    sim.disconnect()
    sim.ev(tx_finished(1, "s1", "EVDisconnected"))
    sim.hold.add("TransactionEvent")        # the CSMS does not answer the Ended event yet
    sim.connect()
    assert events(sim)[-1]["eventType"] == "Ended"
    assert status_of(sim, "s1") == {"messagesInQueue": True, "ongoingIndicator": False}
    sim.answer_held("TransactionEvent", {})
    assert status_of(sim, "s1") == {"messagesInQueue": False, "ongoingIndicator": False}


def test_tc_e_33_and_e_34_without_transaction_id(tmp_path):
    sim = Sim(tmp_path)
    sim.disconnect()
    full_session_start(sim, 1, "s1")
    sim.connect()
    assert status_of(sim) == {"messagesInQueue": False}
    sim.disconnect()
    sim.ev(charging(1, "s1", "SuspendedEV"))
    sim.up = True
    sim.cp.core.on_connected(sim.now)        # reconnected, the CSMS has not answered yet
    sim.hold.add("TransactionEvent")
    assert status_of(sim) == {"messagesInQueue": True}


# ------------------------------------------------------------------------ unlock
def test_tc_f_05_unlock_with_an_authorized_transaction(tmp_path):
    sim = Sim(tmp_path)
    full_session_start(sim, 1, "s1")
    assert sim.request("UnlockConnector", {"evseId": 1, "connectorId": 1}) == {"status": "OngoingAuthorizedTransaction"}
    assert sim.port.of("force_unlock") == []


def test_tc_f_06_unlock_without_transaction(tmp_path):
    sim = Sim(tmp_path)
    assert sim.request("UnlockConnector", {"evseId": 2, "connectorId": 1}) == {"status": "Unlocked"}
    assert sim.port.of("force_unlock") == [(2, 1)]
    sim.port.ok["force_unlock"] = False
    assert sim.request("UnlockConnector", {"evseId": 2, "connectorId": 1}) == {"status": "UnlockFailed"}


def test_unlock_waits_for_the_evse(tmp_path):
    sim = Sim(tmp_path)
    sim.port.hold.add("force_unlock")
    assert sim.request("UnlockConnector", {"evseId": 1, "connectorId": 1}) is None   # no answer yet
    name, done = sim.port.held.pop()
    done(True)
    sim.settle()
    assert sim.reply_to()[2] == {"status": "Unlocked"}


def test_tc_f_10_unlock_unknown_connector(tmp_path):
    sim = Sim(tmp_path)
    assert sim.request("UnlockConnector", {"evseId": 1, "connectorId": 3}) == {"status": "UnknownConnector"}
    assert sim.request("UnlockConnector", {"evseId": 5, "connectorId": 1}) == {"status": "UnknownConnector"}


# ------------------------------------------------------------------------ TriggerMessage
def test_tc_f_11_and_f_12_trigger_meter_values(tmp_path):
    sim = Sim(tmp_path)
    assert trigger(sim, "MeterValues") == "Rejected"                      # no reading yet
    sim.ev(E.MeterReading(1, sample(11)), E.MeterReading(2, sample(22)))
    assert trigger(sim, "MeterValues", {"id": 2}) == "Accepted"
    assert trigger(sim, "MeterValues") == "Accepted"
    sent = [(p["evseId"], p["meterValue"][0]["sampledValue"][0]["value"],
             p["meterValue"][0]["sampledValue"][0]["context"]) for p in sim.payloads("MeterValues")]
    assert sent == [(2, 22, "Trigger"), (1, 11, "Trigger"), (2, 22, "Trigger")]


def test_tc_f_13_and_f_14_trigger_transaction_event(tmp_path):
    sim = Sim(tmp_path)
    assert trigger(sim, "TransactionEvent") == "Rejected"
    full_session_start(sim, 1, "a")
    full_session_start(sim, 2, "b")
    assert trigger(sim, "TransactionEvent", {"id": 2}) == "Accepted"
    assert trigger(sim, "TransactionEvent") == "Accepted"
    triggered = [e["transactionInfo"]["transactionId"] for e in events(sim) if e["triggerReason"] == "Trigger"]
    assert triggered == ["b", "a", "b"]


def test_the_answer_goes_before_the_triggered_message(tmp_path):
    sim = Sim(tmp_path)
    n = len(sim.sent)
    assert trigger(sim, "StatusNotification", {"id": 1, "connectorId": 1}) == "Accepted"
    assert sim.sent[n][0] == 3                                   # the CALLRESULT first
    assert sim.sent[n + 1][:1] == [2] and sim.sent[n + 1][2] == "StatusNotification"


@pytest.mark.parametrize("message, action", [("LogStatusNotification", "LogStatusNotification"),   # TC_F_15
                                             ("FirmwareStatusNotification", "FirmwareStatusNotification")])  # TC_F_18
def test_trigger_status_notifications_report_idle(tmp_path, message, action):
    sim = Sim(tmp_path)
    assert trigger(sim, message) == "Accepted"
    assert sim.payloads(action) == [{"status": "Idle"}]


def test_tc_f_20_trigger_heartbeat(tmp_path):
    sim = Sim(tmp_path)
    assert trigger(sim, "Heartbeat") == "Accepted"
    assert sim.payloads("Heartbeat") == [{}]


def test_tc_f_23_and_f_24_trigger_status_notification(tmp_path):
    sim = Sim(tmp_path)
    n = len(sim.payloads("StatusNotification"))
    assert trigger(sim, "StatusNotification", {"id": 1, "connectorId": 1}) == "Accepted"
    sim.ev(plug(2, "s2"))
    assert trigger(sim, "StatusNotification", {"id": 2, "connectorId": 1}) == "Accepted"
    got = [(p["evseId"], p["connectorStatus"]) for p in sim.payloads("StatusNotification")[n:]]
    assert got == [(1, "Available"), (2, "Occupied"), (2, "Occupied")]
    assert trigger(sim, "StatusNotification", {"id": 1}) == "Rejected"       # F06.FR.12
    assert trigger(sim, "StatusNotification") == "Rejected"
    assert trigger(sim, "StatusNotification", {"id": 9, "connectorId": 1}) == "Rejected"


def test_tc_f_26_trigger_boot_notification_rejected_when_accepted(tmp_path):
    sim = Sim(tmp_path)
    assert trigger(sim, "BootNotification") == "Rejected"
    assert sim.actions().count("BootNotification") == 1


def test_trigger_boot_notification_while_pending(tmp_path):
    sim = Sim(tmp_path, connect=False)
    sim.answers["BootNotification"] = {"status": "Pending", "interval": 300, "currentTime": "2026-01-01T00:00:00Z"}
    sim.connect()
    assert trigger(sim, "BootNotification") == "Accepted"
    assert [p["reason"] for p in sim.payloads("BootNotification")] == ["PowerUp", "Triggered"]


def registered_as(tmp_path, status: str) -> Sim:
    sim = Sim(tmp_path, connect=False)
    sim.answers["BootNotification"] = {"status": status, "interval": 300, "currentTime": "2026-01-01T00:00:00Z"}
    sim.connect()
    assert sim.cp.core.registration == status
    return sim


@pytest.mark.parametrize("message, evse", [("Heartbeat", None), ("StatusNotification", {"id": 1, "connectorId": 1}),
                                           ("FirmwareStatusNotification", None), ("LogStatusNotification", None)])
def test_tc_b_02_triggered_messages_go_out_while_pending(tmp_path, message, evse):  # B02.FR.01 / F06
    sim = registered_as(tmp_path, "Pending")
    n = len(sim.sent)
    assert trigger(sim, message, evse) == "Accepted"
    after = sim.sent[n:]
    assert after[0][0] == 3 and [f[2] for f in after if f[0] == 2] == [message]
    sim.cp.core.call("Heartbeat", {})  # not triggered: waits for Accepted
    assert sim.actions().count("Heartbeat") == (1 if message == "Heartbeat" else 0)


def test_tc_b_03_only_a_boot_notification_may_be_triggered_while_rejected(tmp_path):
    sim = registered_as(tmp_path, "Rejected")
    assert trigger(sim, "Heartbeat") == "Rejected"
    assert trigger(sim, "BootNotification") == "Accepted"
    assert sim.actions() == ["BootNotification", "BootNotification"]


@pytest.mark.parametrize("status", ["Pending", "Rejected"])
def test_tc_b_02_no_request_start_or_stop_before_accepted(tmp_path, status):  # B02.FR.05
    sim = Sim(tmp_path)
    full_session_start(sim, 1, "s1")
    sim.answers["BootNotification"] = {"status": status, "interval": 300, "currentTime": "2026-01-01T00:00:00Z"}
    sim.cp.provisioning.registration.send_boot()  # registered again (e.g. after a restart)
    sim.settle()
    assert sim.cp.core.registration == status
    assert start(sim, evse=2) == {"status": "Rejected"}
    assert sim.request("RequestStopTransaction", {"transactionId": "s1"}) == {"status": "Rejected"}
    assert sim.port.of("provide_token") == [] and sim.port.of("stop_transaction") == []


def test_tc_f_27_trigger_not_implemented(tmp_path):
    sim = Sim(tmp_path)
    assert trigger(sim, "PublishFirmwareStatusNotification") == "NotImplemented"


def test_other_blocks_can_add_triggers(tmp_path):
    sim = Sim(tmp_path)
    sim.cp.remote_control.add_trigger("SignChargingStationCertificate", lambda evse: "Rejected")
    assert trigger(sim, "SignChargingStationCertificate") == "Rejected"


# ------------------------------------------------------------------------ Reset
def reset(sim, kind, evse=None):
    payload = {"type": kind}
    if evse is not None:
        payload["evseId"] = evse
    return sim.request("Reset", payload)["status"]


def test_tc_b_20_reset_on_idle_without_transaction(tmp_path):
    sim = Sim(tmp_path)
    assert reset(sim, "OnIdle") == "Accepted"
    assert sim.port.of("reset") == []            # not before the answer is out
    sim.tick(0)
    assert sim.port.of("reset") == [("Soft",)]


def test_tc_b_21_reset_on_idle_with_a_transaction_is_scheduled(tmp_path):
    sim = Sim(tmp_path)
    full_session_start(sim, 1, "s1")
    assert reset(sim, "OnIdle") == "Scheduled"
    sim.tick(100)
    assert sim.port.of("reset") == [] and sim.port.of("stop_transaction") == []
    sim.ev(tx_finished(1, "s1", "EVDisconnected"))
    sim.tick(0)
    assert sim.port.of("reset") == [("Soft",)]


def test_tc_b_41_reset_on_idle_waits_for_every_transaction(tmp_path):
    sim = Sim(tmp_path)
    full_session_start(sim, 1, "a")
    full_session_start(sim, 2, "b")
    assert reset(sim, "OnIdle") == "Scheduled"
    sim.ev(tx_finished(1, "a", "EVDisconnected"))
    sim.tick(0)
    assert sim.port.of("reset") == []
    sim.ev(tx_finished(2, "b", "Local"))
    sim.tick(0)
    assert sim.port.of("reset") == [("Soft",)]


def test_tc_b_22_reset_immediate_with_a_transaction(tmp_path):
    sim = Sim(tmp_path)
    full_session_start(sim, 1, "s1")
    assert reset(sim, "Immediate") == "Accepted"
    assert sim.port.of("stop_transaction") == [(1, "HardReset")]
    assert sim.port.of("reset") == []
    sim.ev(tx_finished(1, "s1", "HardReset"))
    ended = events(sim)[-1]
    assert (ended["eventType"], ended["triggerReason"], ended["transactionInfo"]["stoppedReason"]) == \
        ("Ended", "ResetCommand", "ImmediateReset")
    sim.tick(0)
    assert sim.port.of("reset") == [("Hard",)]


def test_reset_immediate_does_not_wait_forever_for_the_evse(tmp_path):
    sim = Sim(tmp_path)
    full_session_start(sim, 1, "s1")
    reset(sim, "Immediate")
    sim.tick(29)
    assert sim.port.of("reset") == []
    sim.tick(1)
    assert events(sim)[-1]["transactionInfo"]["stoppedReason"] == "ImmediateReset"
    sim.tick(0)
    assert sim.port.of("reset") == [("Hard",)]
    assert sim.cp.core.messages_in_queue("s1") == 0      # the Ended event was stored and sent


def test_reset_waits_a_little_for_the_ended_event_to_reach_the_csms(tmp_path):
    sim = Sim(tmp_path)
    full_session_start(sim, 1, "s1")
    sim.hold.add("TransactionEvent")
    reset(sim, "Immediate")
    sim.ev(tx_finished(1, "s1", "HardReset"))
    sim.tick(5)
    assert sim.port.of("reset") == []                    # the Ended event is still on its way
    sim.answer_held("TransactionEvent", {})
    sim.tick(0.5)
    assert sim.port.of("reset") == [("Hard",)]


def test_reset_does_not_wait_for_an_unanswered_queue_forever(tmp_path):
    sim = Sim(tmp_path)
    full_session_start(sim, 1, "s1")
    sim.hold.add("TransactionEvent")
    reset(sim, "Immediate")
    sim.ev(tx_finished(1, "s1", "HardReset"))
    sim.tick(9.5)
    assert sim.port.of("reset") == []
    sim.tick(0.5)
    assert sim.port.of("reset") == [("Hard",)]


def test_a_refused_reset_is_tried_again_reset_retries_times(tmp_path):  # OCPPCommCtrlr.ResetRetries
    sim = Sim(tmp_path, overrides={"OCPPCommCtrlr": {"ResetRetries": 1}})
    sim.port.ok["reset"] = False
    assert reset(sim, "Immediate") == "Accepted"
    sim.tick(0)
    assert sim.port.of("reset") == [("Hard",)]
    sim.tick(5)
    assert sim.port.of("reset") == [("Hard",), ("Hard",)]      # one retry ...
    sim.tick(60)
    assert sim.port.of("reset") == [("Hard",), ("Hard",)]      # ... and no more


def test_reset_of_one_evse_is_rejected(tmp_path):
    sim = Sim(tmp_path)
    assert reset(sim, "Immediate", evse=1) == "Rejected"


# ------------------------------------------------------------------------ DataTransfer
def test_data_transfer_without_a_data_transfer_module(tmp_path):
    sim = Sim(tmp_path)
    assert sim.request("DataTransfer", {"vendorId": "acme"}) == {"status": "UnknownVendorId"}


@pytest.mark.parametrize("answer, expected", [
    ({"status": "Accepted", "data": "x"}, {"status": "Accepted", "data": "x"}),
    ({"status": "Offline"}, {"status": "UnknownVendorId"}),
])
def test_data_transfer_goes_to_the_module(tmp_path, answer, expected):
    sim = Sim(tmp_path)
    sim.port.data_transfer_answer = answer
    assert sim.request("DataTransfer", {"vendorId": "acme", "messageId": "m", "data": {"a": 1}}) == expected
    assert sim.port.of("data_transfer") == [({"vendorId": "acme", "messageId": "m", "data": {"a": 1}},)]


def test_data_transfer_to_the_csms(tmp_path):
    sim = Sim(tmp_path)
    sim.answers["DataTransfer"] = {"status": "Accepted", "data": {"ok": True}}
    d = sim.cp.data_transfer_to_csms("acme", "hello", "payload")
    sim.settle()
    assert d.value == {"status": "Accepted", "data": {"ok": True}}
    assert sim.payloads("DataTransfer") == [{"vendorId": "acme", "messageId": "hello", "data": "payload"}]


def test_data_transfer_to_the_csms_offline_or_refused(tmp_path):
    sim = Sim(tmp_path)
    sim.disconnect()
    assert sim.cp.data_transfer_to_csms("acme", None, None).value == {"status": "Offline"}
    sim.connect()
    d = sim.cp.data_transfer_to_csms("acme", None, None)
    frame = sim.calls("DataTransfer")[-1]
    sim.hold.add("DataTransfer")
    sim.cp.core.on_text(json.dumps([4, frame[1], "NotImplemented", "no", {}]), sim.now)
    assert d.value == {"status": "Rejected"}


def test_a_remote_start_not_used_within_the_connection_timeout_is_forgotten(tmp_path):
    sim = Sim(tmp_path, overrides={"TxCtrlr": {"EVConnectionTimeOut": 30}})
    start(sim, evse=1, rid=6)
    sim.tick(31)
    sim.ev(plug(1, "s1"), tx_started(1, "s1", "REMOTE1"))
    started = events(sim)[0]
    assert started["triggerReason"] == "Authorized" and "remoteStartId" not in started["transactionInfo"]
