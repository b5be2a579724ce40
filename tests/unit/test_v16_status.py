"""OCPP 1.6 StatusNotification from the EVSE events: sequences, errors, MinimumStatusDuration,
resending on (re)registration. Pure charge point, scripted CSMS, fake clock."""

from ocpp_bridge.ocpp import evse_events as E
from ocpp_bridge.ocpp.v16.status import fault_of
from support.cp16 import Rig


def test_boot_reports_every_connector_and_connector_zero(tmp_path):  # TC_001 (status part)
    rig = Rig(tmp_path, evse_count=2).boot()
    assert [(p["connectorId"], p["status"], p["errorCode"]) for p in rig.calls("StatusNotification")] == [
        (0, "Available", "NoError"), (1, "Available", "NoError"), (2, "Available", "NoError")]


def test_session_status_sequence(tmp_path):  # TC_003 (status part)
    rig = Rig(tmp_path).boot()
    s = rig.plug_in(1)
    rig.event(E.AuthRequired(1, 1, s))
    rig.start_tx(1, s)
    rig.event(E.ChargingStateChanged(1, 1, s, "SuspendedEV", rig.stamp()))
    rig.event(E.ChargingStateChanged(1, 1, s, "Charging", rig.stamp()))
    rig.event(E.ChargingStateChanged(1, 1, s, "SuspendedEVSE", rig.stamp()))
    rig.event(E.ChargingStateChanged(1, 1, s, "EVConnected", rig.stamp()))  # not a status of its own
    rig.stop_tx(1, s)
    rig.unplug(1, s)
    assert rig.statuses(1) == ["Available", "Preparing", "Charging", "SuspendedEV", "Charging", "SuspendedEVSE",
                               "Finishing", "Available"]
    assert rig.statuses(2) == ["Available"]
    # StartTransaction before Charging; Finishing before StopTransaction (as libocpp does)
    seq = [f[2] if f[2] != "StatusNotification" else f[3]["status"] for f in rig.sent
           if f[0] == 2 and f[2] in ("StartTransaction", "StopTransaction", "StatusNotification")
           and f[3].get("connectorId", 1) == 1]
    assert seq[seq.index("StartTransaction") + 1] == "Charging"
    assert seq[seq.index("StopTransaction") - 1] == "Finishing"


def test_plugin_timeout_returns_to_available(tmp_path):
    rig = Rig(tmp_path).boot()
    s = rig.plug_in(1)
    rig.event(E.PluginTimeout(1, 1, s))
    assert rig.statuses(1) == ["Available", "Preparing", "Available"]


def test_errors_are_mapped_and_only_inoperative_faults(tmp_path):
    rig = Rig(tmp_path).boot()
    n = len(rig.calls("StatusNotification"))
    rig.event(E.EvseFault(1, "evse_board_support/MREC2GroundFailure", True, "rcd tripped"))
    rig.event(E.EvseFault(1, "evse_manager/Inoperative", True, "contactor"))
    rig.event(E.EvseFault(1, "evse_manager/Inoperative", False))
    rig.event(E.EvseFault(1, "evse_board_support/MREC2GroundFailure", False))
    rig.event(E.EvseFault(0, "some_module/SomethingOdd", True, "odd"))
    new = rig.calls("StatusNotification")[n:]
    assert new[0] == {"connectorId": 1, "errorCode": "GroundFailure", "status": "Available",
                      "vendorId": "https://chargex.inl.gov", "vendorErrorCode": "CX002",
                      "timestamp": new[0]["timestamp"]}
    assert (new[1]["status"], new[1]["errorCode"], new[1]["info"]) == ("Faulted", "OtherError", "caused_by:contactor")
    assert (new[2]["status"], new[2]["errorCode"]) == ("Available", "GroundFailure")  # the earlier error still on
    assert (new[3]["status"], new[3]["errorCode"]) == ("Available", "NoError")
    assert (new[4]["connectorId"], new[4]["errorCode"], new[4]["vendorErrorCode"], new[4]["info"]) == (
        0, "OtherError", "SomethingOdd", "odd")


def test_fault_map():
    assert fault_of("powermeter/CommunicationFault").error_code == "PowerMeterFailure"
    assert fault_of("evse_manager/MREC4OverCurrentFailure").vendor_error_code == "CX004"
    odd = fault_of("x/" + "Y" * 80, "d" * 80)
    assert odd.error_code == "OtherError" and len(odd.vendor_error_code) == 50 and len(odd.info) == 50
    assert not odd.faulted and fault_of("evse_manager/Inoperative").faulted


def test_minimum_status_duration_suppresses_short_states(tmp_path):
    rig = Rig(tmp_path, overrides={"MinimumStatusDuration": 10}).boot()
    s = rig.plug_in(1)
    rig.advance(3)
    rig.event(E.PluginTimeout(1, 1, s))  # back to Available within 10 s: nothing is sent
    rig.advance(20)
    assert rig.statuses(1) == ["Available"]
    rig.plug_in(1)
    rig.advance(9)
    assert rig.statuses(1) == ["Available"]
    rig.advance(2)
    assert rig.statuses(1) == ["Available", "Preparing"]


def test_minimum_status_duration_change_takes_effect(tmp_path):
    rig = Rig(tmp_path).boot()
    assert rig.request("ChangeConfiguration", {"key": "MinimumStatusDuration", "value": "5"}) == {"status": "Accepted"}
    rig.plug_in(1)
    assert rig.statuses(1) == ["Available"]
    rig.advance(5)
    assert rig.statuses(1) == ["Available", "Preparing"]


def test_statuses_resent_after_reconnect_and_reregistration(tmp_path):  # MicroOcpp #178
    rig = Rig(tmp_path).boot()
    rig.disconnect()
    s = rig.plug_in(1)  # offline: nothing can be sent
    rig.reconnect()  # still registered: every connector is sent again, with the current status
    assert rig.calls("StatusNotification")[-3:] == [
        {"connectorId": c, "errorCode": "NoError", "status": st, "timestamp": rig.stamp()}
        for c, st in ((0, "Available"), (1, "Preparing"), (2, "Available"))]
    n = len(rig.sent)
    rig.request("TriggerMessage", {"requestedMessage": "BootNotification"})
    assert rig.actions(n) == ["BootNotification", "StatusNotification", "StatusNotification", "StatusNotification"]
    assert s


def test_a_status_refused_or_cut_by_a_disconnect_is_sent_again(tmp_path):
    """1.6 counts a status as sent only while no error came back, and every reconnection sends
    all connectors: neither a CALLERROR nor a lost connection can hide a status (cf. 2.0.1 H8)."""
    rig = Rig(tmp_path).boot()
    rig.answers["StatusNotification"] = None           # held
    rig.plug_in(1)
    rig.error_held()                                     # Preparing refused
    rig.answers["StatusNotification"] = {}
    rig.disconnect()
    rig.reconnect()                                      # sent again, answered
    assert rig.statuses(1)[-2:] == ["Preparing", "Preparing"]
    rig.answers["StatusNotification"] = None
    rig.disconnect()
    rig.reconnect()                                      # connector 0 in flight, 1 and 2 queued ...
    rig.disconnect()                                     # ... and cut / dropped
    rig.answers["StatusNotification"] = {}
    rig.reconnect()
    assert rig.statuses(1) == ["Available", "Preparing", "Preparing", "Preparing"]
    assert [p["connectorId"] for p in rig.calls("StatusNotification")[-3:]] == [0, 1, 2]


def test_nothing_before_accepted(tmp_path):
    rig = Rig(tmp_path)
    rig.answers["BootNotification"] = {"status": "Pending", "interval": 30, "currentTime": "2026-01-01T00:00:00Z"}
    rig.cp.core.on_connected(rig.now)
    rig.pump_answers()
    rig.plug_in(1)
    assert rig.actions() == ["BootNotification"]
    rig.answers["BootNotification"] = {"status": "Accepted", "interval": 30, "currentTime": "2026-01-01T00:00:00Z"}
    rig.advance(31)
    assert rig.statuses() == ["Available", "Preparing", "Available"]


def test_a_refused_status_leaves_the_csms_with_what_it_had(tmp_path):
    """A CALLERROR means the CSMS did not take the status: it still has the one before, so a
    change back to that one is not news (common/status_reports.py, as in 2.0.1)."""
    rig = Rig(tmp_path).boot()
    rig.answers["StatusNotification"] = None           # held
    s = rig.plug_in(1)
    rig.error_held()                                     # Preparing refused: the CSMS has Available
    rig.answers["StatusNotification"] = {}
    rig.event(E.PluginTimeout(1, 1, s))                  # back to Available: nothing new for the CSMS
    rig.plug_in(1)                                       # Preparing again: sent
    assert rig.statuses(1) == ["Available", "Preparing", "Preparing"]
