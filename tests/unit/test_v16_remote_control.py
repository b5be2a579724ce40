"""OCPP 1.6 remote control: RemoteStart/StopTransaction, UnlockConnector, Reset, TriggerMessage,
DataTransfer both ways. Pure charge point, scripted CSMS, fake EVSE port, fake clock."""

import pytest

from ocpp_bridge.ocpp.events import RemoteStartProfile
from ocpp_bridge.ocpp.evse_events import EvseFault, IdToken
from support.cp16 import Rig


def provided(rig):
    return [c for c in rig.port.calls if c[0] == "provide_token"]


@pytest.mark.parametrize("authorize_remote, prevalidated", [(False, True), (True, False)])
def test_tc_011_1_remote_start_provides_the_token(tmp_path, authorize_remote, prevalidated):
    rig = Rig(tmp_path, overrides={"AuthorizeRemoteTxRequests": authorize_remote}).boot()
    assert rig.request("RemoteStartTransaction", {"idTag": "R1", "connectorId": 2}) == {"status": "Accepted"}
    assert provided(rig) == [("provide_token", IdToken("R1", "Central"), [2], prevalidated)]
    assert rig.request("RemoteStartTransaction", {"idTag": "R2"}) == {"status": "Accepted"}
    assert provided(rig)[-1][2] == [1, 2]


def test_tc_010_remote_start_with_cable_plugged_in_first(tmp_path):
    rig = Rig(tmp_path).boot()
    s = rig.plug_in(1)
    assert rig.request("RemoteStartTransaction", {"idTag": "R1", "connectorId": 1}) == {"status": "Accepted"}
    rig.start_tx(1, s, id_tag="R1")
    assert rig.calls("StartTransaction")[0]["idTag"] == "R1"
    assert rig.statuses(1)[-1] == "Charging"


def test_tc_027_remote_start_rejections(tmp_path):
    rig = Rig(tmp_path).boot()
    assert rig.request("RemoteStartTransaction", {"idTag": "R", "connectorId": 0}) == {"status": "Rejected"}
    assert rig.request("RemoteStartTransaction", {"idTag": "R", "connectorId": 3}) == {"status": "Rejected"}
    s = rig.plug_in(1)
    rig.start_tx(1, s)
    assert rig.request("RemoteStartTransaction", {"idTag": "R", "connectorId": 1}) == {"status": "Rejected"}
    rig.event(EvseFault(2, "evse_manager/Inoperative", True))
    assert rig.request("RemoteStartTransaction", {"idTag": "R", "connectorId": 2}) == {"status": "Rejected"}
    profile = {"chargingProfileId": 1, "stackLevel": 0, "chargingProfilePurpose": "TxDefaultProfile",
               "chargingProfileKind": "Absolute",
               "chargingSchedule": {"chargingRateUnit": "A", "chargingSchedulePeriod": [{"startPeriod": 0,
                                                                                         "limit": 16}]}}
    assert rig.request("RemoteStartTransaction", {"idTag": "R", "chargingProfile": profile}) == {"status": "Rejected"}
    assert provided(rig) == []


def test_remote_start_hands_on_a_tx_profile(tmp_path):
    rig = Rig(tmp_path).boot()
    seen = []
    rig.cp.core.events.subscribe(RemoteStartProfile, lambda e: seen.append((e.evse, e.profile["chargingProfileId"])))
    profile = {"chargingProfileId": 9, "stackLevel": 0, "chargingProfilePurpose": "TxProfile",
               "chargingProfileKind": "Relative",
               "chargingSchedule": {"chargingRateUnit": "W", "chargingSchedulePeriod": [{"startPeriod": 0,
                                                                                         "limit": 5000.5}]}}
    assert rig.request("RemoteStartTransaction", {"idTag": "R", "connectorId": 1, "chargingProfile": profile}) == {
        "status": "Accepted"}
    assert seen == [(1, 9)]


def test_tc_012_remote_stop(tmp_path):
    rig = Rig(tmp_path).boot()
    s = rig.plug_in(2)
    rig.start_tx(2, s)
    assert rig.request("RemoteStopTransaction", {"transactionId": 999}) == {"status": "Rejected"}
    assert rig.request("RemoteStopTransaction", {"transactionId": 100}) == {"status": "Accepted"}
    assert rig.port.calls[-1] == ("stop_transaction", 2, "Remote")
    rig.stop_tx(2, s, reason="Remote")
    assert rig.calls("StopTransaction")[0]["reason"] == "Remote"


def test_tc_017_1_unlock_without_session(tmp_path):
    rig = Rig(tmp_path).boot()
    assert rig.request("UnlockConnector", {"connectorId": 1}) == {"status": "Unlocked"}
    assert rig.port.calls == [("force_unlock", 1, 1)]


def test_unlock_answer_waits_for_the_evse(tmp_path):
    rig = Rig(tmp_path).boot()
    rig.port.hold.add("force_unlock")
    assert rig.request("UnlockConnector", {"connectorId": 2}) is None
    name, done = rig.port.held.pop()
    done(False)
    rig.cp.core.poll(rig.now)
    assert rig.reply() == {"status": "UnlockFailed"}


def test_unlock_unknown_connector_not_supported(tmp_path):  # TC_031
    rig = Rig(tmp_path).boot()
    assert rig.request("UnlockConnector", {"connectorId": 3}) == {"status": "NotSupported"}
    assert rig.request("UnlockConnector", {"connectorId": 0}) == {"status": "NotSupported"}


def test_unlock_stops_the_transaction_first(tmp_path):  # TC_018_1
    rig = Rig(tmp_path).boot()
    s = rig.plug_in(1)
    rig.start_tx(1, s)
    assert rig.request("UnlockConnector", {"connectorId": 1}) == {"status": "Unlocked"}
    assert rig.port.calls[-2:] == [("stop_transaction", 1, "UnlockCommand"), ("force_unlock", 1, 1)]


@pytest.mark.parametrize("kind, reason", [("Soft", "SoftReset"), ("Hard", "HardReset")])
def test_tc_013_014_reset_stops_transactions_first(tmp_path, kind, reason):
    rig = Rig(tmp_path).boot()
    a, b = rig.plug_in(1), rig.plug_in(2)
    rig.start_tx(1, a)
    rig.start_tx(2, b)
    assert rig.request("Reset", {"type": kind}) == {"status": "Accepted"}
    assert [c for c in rig.port.calls if c[0] == "stop_transaction"] == [("stop_transaction", 1, reason),
                                                                          ("stop_transaction", 2, reason)]
    rig.advance(1)
    assert "reset" not in rig.port.names()  # transactions still running
    rig.stop_tx(1, a, reason=reason)
    rig.stop_tx(2, b, reason=reason)
    rig.advance(1.1)  # a soft reset also lets the StopTransactions go out first
    assert rig.port.calls[-1] == ("reset", kind)
    assert [p["reason"] for p in rig.calls("StopTransaction")] == [reason, reason]


def test_reset_without_transactions_goes_after_the_answer(tmp_path):
    rig = Rig(tmp_path).boot()
    order = []
    rig.port.reset = lambda kind, done=None: (order.append(("reset", len(rig.sent))), done and done(True))
    rig.request("Reset", {"type": "Hard"})
    reply_index = next(i for i, f in enumerate(rig.sent) if f[0] == 3 and f[1] == rig.last_request_id)
    assert order and order[0][1] > reply_index


def test_reset_gives_up_waiting_and_retries(tmp_path):
    rig = Rig(tmp_path, overrides={"ResetRetries": 1}).boot()
    s = rig.plug_in(1)
    rig.start_tx(1, s)
    rig.port.ok["reset"] = False
    rig.request("Reset", {"type": "Soft"})
    rig.advance(29)  # the EVSEs get common.reset.STOP_WAIT_S (30 s, both versions) to end their transactions
    assert "reset" not in rig.port.names()
    rig.advance(2)  # the transaction never ended: reset anyway after the wait
    assert rig.port.names().count("reset") == 1
    rig.advance(10)
    assert rig.port.names().count("reset") == 2  # one retry (ResetRetries 1), then no more
    rig.advance(60)
    assert rig.port.names().count("reset") == 2


@pytest.mark.parametrize("what", ["BootNotification", "DiagnosticsStatusNotification", "FirmwareStatusNotification",
                                  "Heartbeat", "MeterValues", "StatusNotification"])
def test_tc_054_trigger_message(tmp_path, what):
    rig = Rig(tmp_path).boot()
    rig.meter(1, 10.0)
    n = len(rig.sent)
    payload = {"requestedMessage": what}
    if what in ("MeterValues", "StatusNotification"):
        payload["connectorId"] = 1
    assert rig.request("TriggerMessage", payload) == {"status": "Accepted"}
    after = rig.sent[n:]
    assert after[0][0] == 3  # the CALLRESULT goes first
    assert after[1][2] == what
    if what == "StatusNotification":
        assert after[1][3]["connectorId"] == 1 and len(rig.actions(n)) == 1
    if what in ("DiagnosticsStatusNotification", "FirmwareStatusNotification"):
        assert after[1][3] == {"status": "Idle"}


def test_trigger_status_for_all_connectors_and_rejection(tmp_path):
    rig = Rig(tmp_path).boot()
    n = len(rig.sent)
    rig.request("TriggerMessage", {"requestedMessage": "StatusNotification"})
    assert [p["connectorId"] for p in rig.calls("StatusNotification")[3:]] == [0, 1, 2]
    assert rig.request("TriggerMessage", {"requestedMessage": "Heartbeat", "connectorId": 5}) == {
        "status": "Rejected"}
    assert n


def test_data_transfer_from_csms(tmp_path):
    rig = Rig(tmp_path).boot()
    req = {"vendorId": "com.acme", "messageId": "ping", "data": "x"}
    assert rig.request("DataTransfer", req) == {"status": "UnknownVendorId"}
    rig.port.data_transfer_answer = {"status": "Accepted", "data": "pong"}
    assert rig.request("DataTransfer", req) == {"status": "Accepted", "data": "pong"}
    assert rig.port.calls[-1] == ("data_transfer", req)


def test_data_transfer_to_csms(tmp_path):
    rig = Rig(tmp_path).boot()
    rig.answers["DataTransfer"] = {"status": "Rejected", "data": "no"}
    d = rig.cp.data_transfer_to_csms("com.acme", "hello", {"a": 1})
    rig.pump_answers()
    assert d.value == {"status": "Rejected", "data": "no"}
    assert rig.calls("DataTransfer")[-1] == {"vendorId": "com.acme", "messageId": "hello", "data": '{"a": 1}'}
    rig.disconnect()
    assert rig.cp.data_transfer_to_csms("com.acme", None, None).value == {"status": "Offline"}


# ---------------------------------------------------------------------------- before Accepted
def registered_as(tmp_path, status: str) -> Rig:
    rig = Rig(tmp_path)
    rig.answers["BootNotification"] = {"status": status, "interval": 300, "currentTime": "2026-01-01T00:00:00Z"}
    rig.cp.core.on_connected(rig.now)
    rig.pump_answers()
    assert rig.cp.core.registration == status
    return rig


@pytest.mark.parametrize("status", ["Pending", "Rejected"])
def test_tc_001_tc_002_no_remote_start_or_stop_before_accepted(tmp_path, status):
    rig = Rig(tmp_path).boot()
    s = rig.plug_in(1)
    rig.start_tx(1, s)
    tid = rig.cp.blocks.transactions.active(1).transaction_id
    rig.answers["BootNotification"] = {"status": status, "interval": 300, "currentTime": "2026-01-01T00:00:00Z"}
    rig.request("TriggerMessage", {"requestedMessage": "BootNotification"})  # the CSMS re-registers us
    assert rig.cp.core.registration == status
    assert rig.request("RemoteStartTransaction", {"idTag": "R", "connectorId": 2}) == {"status": "Rejected"}
    assert rig.request("RemoteStopTransaction", {"transactionId": tid}) == {"status": "Rejected"}
    assert provided(rig) == [] and "stop_transaction" not in rig.port.names()


@pytest.mark.parametrize("what", ["DiagnosticsStatusNotification", "FirmwareStatusNotification", "Heartbeat",
                                  "MeterValues", "StatusNotification"])
def test_tc_002_tc_054_triggered_messages_go_out_while_pending(tmp_path, what):
    rig = registered_as(tmp_path, "Pending")
    rig.meter(1, 10.0)
    n = len(rig.sent)
    assert rig.request("TriggerMessage", {"requestedMessage": what, "connectorId": 1}) == {"status": "Accepted"}
    after = rig.sent[n:]
    assert after[0][0] == 3 and [f[2] for f in after[1:] if f[0] == 2] == [what]
    assert rig.cp.core.registration == "Pending"


def test_only_triggered_messages_leave_while_pending(tmp_path):
    rig = registered_as(tmp_path, "Pending")
    n = len(rig.sent)
    rig.cp.core.call("Heartbeat", {})  # not triggered: waits for Accepted
    rig.event(EvseFault(1, "evse_manager/Inoperative", True))  # a status change: waits too
    assert rig.actions(n) == []
    rig.request("TriggerMessage", {"requestedMessage": "MeterValues", "connectorId": 1})  # no reading: nothing
    assert rig.actions(n) == []


def test_nothing_triggered_leaves_while_rejected(tmp_path):
    rig = registered_as(tmp_path, "Rejected")
    n = len(rig.sent)
    assert rig.request("TriggerMessage", {"requestedMessage": "StatusNotification", "connectorId": 1}) == {
        "status": "Rejected"}
    assert rig.actions(n) == []  # Rejected: nothing but BootNotification (1.6 §4.2)
    assert rig.request("TriggerMessage", {"requestedMessage": "BootNotification"}) == {"status": "Accepted"}
    assert rig.actions(n) == ["BootNotification"]


def test_tc_002_a_triggered_boot_notification_moves_the_registration_on(tmp_path):
    rig = registered_as(tmp_path, "Pending")
    rig.answers["BootNotification"] = {"status": "Accepted", "interval": 300, "currentTime": "2026-01-01T00:00:00Z"}
    n = len(rig.sent)
    assert rig.request("TriggerMessage", {"requestedMessage": "BootNotification"}) == {"status": "Accepted"}
    assert rig.cp.core.registration == "Accepted"
    assert rig.actions(n)[:2] == ["BootNotification", "StatusNotification"]
