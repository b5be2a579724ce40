"""OCPP 2.0.1 charging sessions end to end: simulated EVSE managers and an EVerest peer on a
real mosquitto, the bridge as a real process, the real `ocpp` CSMS. Named after OCA 2.0.1
test cases (ids only) where the test covers the case.
"""

import time

from ocpp_bridge.demo.csms import CallErrorReply
from support.station import CP_ID, MODULE

V = "2.0.1"


def wait_status(st, evse: int, status: str, after: int = 0, timeout: float = 10) -> dict:
    return st.csms.wait_for(lambda e: e["action"] == "StatusNotification" and e["payload"]["evseId"] == evse
                            and e["payload"]["connectorStatus"] == status, timeout=timeout, after_index=after)


def statuses(st, evse: int, after: int = 0) -> list[str]:
    return [e["payload"]["connectorStatus"] for e in st.csms.entries("StatusNotification", CP_ID)
            if e["payload"]["evseId"] == evse and e["index"] >= after]


def wait_event(st, event_type: str, after: int = 0, trigger: str | None = None, timeout: float = 10) -> dict:
    return st.csms.wait_for(lambda e: e["action"] == "TransactionEvent" and e["payload"]["eventType"] == event_type
                            and (trigger is None or e["payload"]["triggerReason"] == trigger),
                            timeout=timeout, after_index=after)


def tx_events(st, after: int = 0, tid: str | None = None) -> list[dict]:
    return [e["payload"] for e in st.csms.entries("TransactionEvent", CP_ID) if e["index"] >= after
            and (tid is None or e["payload"]["transactionInfo"]["transactionId"] == tid)]


def set_variables(st, component: str, **values) -> None:
    data = [{"component": {"name": component}, "variable": {"name": name}, "attributeValue": str(value)}
            for name, value in values.items()]
    result = st.csms.call(CP_ID, "SetVariables", {"setVariableData": data})["setVariableResult"]
    assert [r["attributeStatus"] for r in result] == ["Accepted"] * len(data)


def booted(charging_station, evses: int = 1, **kw):
    st = charging_station(evses=evses, version=V, **kw)
    for n in range(1, evses + 1):
        wait_status(st, n, "Available")
    return st


# ---------------------------------------------------------------------------- sessions
def test_tc_e_01_full_session_with_csms_authorize(charging_station):
    st = booted(charging_station)
    st.peer.watch_var(MODULE, "ocpp_generic", "ocpp_transaction_event")
    ev = st.evse(1)
    mark = st.csms.mark()
    sid = ev.plug_in()
    wait_status(st, 1, "Occupied", after=mark)
    assert st.validate("TAG1")["authorization_status"] == "Accepted"
    assert st.csms.entries("Authorize", CP_ID)[-1]["payload"] == {"idToken": {"idToken": "TAG1", "type": "ISO14443"}}
    ev.start_transaction("TAG1", type="RFID", meter_wh=1000)
    started = wait_event(st, "Started", mark)["payload"]
    assert started["triggerReason"] == "Authorized" and started["transactionInfo"]["transactionId"] == sid
    assert started["evse"] == {"id": 1, "connectorId": 1} and started["idToken"]["idToken"] == "TAG1"
    assert started["meterValue"][0]["sampledValue"][0]["value"] == 1000
    ev.start_charging()
    wait_event(st, "Updated", mark, trigger="ChargingStateChanged")
    ev.meter(1800, 7000)
    ev.stop_transaction("Local", "TAG1")
    ended = wait_event(st, "Ended", mark)["payload"]
    ev.unplug()
    wait_status(st, 1, "Available", after=mark + 1)
    assert (ended["triggerReason"], ended["transactionInfo"]["stoppedReason"]) == ("StopAuthorized", "Local")
    assert ended["meterValue"][-1]["sampledValue"][0]["value"] == 1800
    assert [e["seqNo"] for e in tx_events(st, mark)] == [0, 1, 2]
    assert statuses(st, 1, mark) == ["Occupied", "Available"]
    st.var("ocpp_generic", "ocpp_transaction_event", lambda v: v["transaction_event"] == "Ended")
    bus = st.values("ocpp_generic", "ocpp_transaction_event")
    assert [b["transaction_event"] for b in bus] == ["Started", "Updated", "Ended"]
    assert bus[0] == {"transaction_event": "Started", "session_id": sid, "evse": {"id": 1, "connector_id": 1},
                      "transaction_id": sid}


def test_local_list_authorization_without_authorize(charging_station):  # TC_C_27
    st = booted(charging_station)
    set_variables(st, "AuthCtrlr", LocalPreAuthorize="true")
    full = {"versionNumber": 1, "updateType": "Full", "localAuthorizationList": [
        {"idToken": {"idToken": "LOCAL1", "type": "ISO14443"}, "idTokenInfo": {"status": "Accepted"}}]}
    assert st.csms.call(CP_ID, "SendLocalList", full) == {"status": "Accepted"}
    before = len(st.csms.entries("Authorize", CP_ID))
    assert st.validate("LOCAL1")["authorization_status"] == "Accepted"
    st.heartbeat_sentinel()     # an Authorize queued for it would be in the ledger before this
    assert len(st.csms.entries("Authorize", CP_ID)) == before


def test_tc_d_01_d_02_d_06_local_list_full_differential_and_version_mismatch(charging_station):
    st = booted(charging_station)
    set_variables(st, "AuthCtrlr", LocalPreAuthorize="true")
    item = lambda token, status="Accepted": {"idToken": {"idToken": token, "type": "ISO14443"},  # noqa: E731
                                             "idTokenInfo": {"status": status}}
    assert st.csms.call(CP_ID, "SendLocalList", {"versionNumber": 1, "updateType": "Full",
                                                 "localAuthorizationList": [item("A"), item("GONE")]}) == {
        "status": "Accepted"}
    diff = {"versionNumber": 1, "updateType": "Differential",
            "localAuthorizationList": [item("B", "Blocked"), {"idToken": {"idToken": "GONE", "type": "ISO14443"}}]}
    assert st.csms.call(CP_ID, "SendLocalList", diff) == {"status": "VersionMismatch"}
    diff["versionNumber"] = 2
    assert st.csms.call(CP_ID, "SendLocalList", diff) == {"status": "Accepted"}
    assert st.csms.call(CP_ID, "GetLocalListVersion", {}) == {"versionNumber": 2}
    st.csms.set_response("Authorize", {"idTokenInfo": {"status": "Invalid"}})
    assert st.validate("A")["authorization_status"] == "Accepted"        # from the list
    assert st.validate("B")["authorization_status"] == "Invalid"         # Blocked locally: the CSMS decides
    assert st.validate("GONE")["authorization_status"] == "Invalid"


def test_auth_cache_hit_while_offline(charging_station):
    st = booted(charging_station)
    st.csms.set_response("Authorize", {"idTokenInfo": {"status": "Accepted",
                                                       "cacheExpiryDateTime": "2099-01-01T00:00:00Z"}})
    assert st.validate("CACHED")["authorization_status"] == "Accepted"
    st.csms.stop()
    st.var("ocpp_generic", "is_connected", lambda v: v is False, timeout=10)
    result = st.validate("CACHED")
    assert result["authorization_status"] == "Accepted" and result["expiry_time"] == "2099-01-01T00:00:00Z"
    assert st.validate("UNKNOWN")["authorization_status"] == "Unknown"


FAMILY = {"idToken": "FAMILY", "type": "Central"}


def test_tc_c_41_group_id_token_stays_in_the_authorization_cache(charging_station):
    st = booted(charging_station)
    set_variables(st, "AuthCtrlr", LocalPreAuthorize="true")
    st.peer.watch_var(MODULE, "ocpp_generic", "ocpp_transaction_event_response")
    st.csms.set_response("Authorize", {"idTokenInfo": {"status": "Accepted", "groupIdToken": FAMILY}})
    for token in ("A", "B"):  # both cached with their group
        assert st.validate(token)["parent_id_token"]["value"] == "FAMILY"
    asked = len(st.csms.entries("Authorize", CP_ID))
    ev = st.evse(1)
    mark = st.csms.mark()
    ev.plug_in()
    assert st.validate("A")["parent_id_token"]["value"] == "FAMILY"
    ev.start_transaction("A")
    wait_event(st, "Started", mark)
    # the CSMS's TransactionEventResponse (idTokenInfo without group) is in the cache now
    st.var("ocpp_generic", "ocpp_transaction_event_response",
           lambda v: v["original_transaction_event"]["transaction_event"] == "Started")
    a, b = st.validate("A"), st.validate("B")  # from the cache: the same group, so B may stop A's
    assert (a["parent_id_token"]["value"], b["parent_id_token"]["value"]) == ("FAMILY", "FAMILY")
    assert len(st.csms.entries("Authorize", CP_ID)) == asked
    ev.stop_transaction("Local", "B")
    ended = wait_event(st, "Ended", mark)["payload"]
    assert (ended["triggerReason"], ended["idToken"]["idToken"]) == ("StopAuthorized", "B")


def test_tc_c_49_master_pass_group_id_reaches_the_auth_module(charging_station, peer):
    auth = peer(module_id="auth_module")
    auth.implement("main", "set_connection_timeout", lambda args: None)
    auth.implement("main", "set_master_pass_group_id", lambda args: None)
    st = booted(charging_station, bridge_kwargs={"connections": {"auth": [("auth_module", "main")]}})
    set_variables(st, "AuthCtrlr", MasterPassGroupId="POLICE")
    auth.wait_call("main", "set_master_pass_group_id", lambda a: a == {"master_pass_group_id": "POLICE"})
    read = st.csms.call(CP_ID, "GetVariables", {"getVariableData": [
        {"component": {"name": "AuthCtrlr"}, "variable": {"name": "MasterPassGroupId"}}]})["getVariableResult"][0]
    assert (read["attributeStatus"], read["attributeValue"]) == ("Accepted", "POLICE")
    ev = st.evse(1)
    mark = st.csms.mark()
    ev.plug_in()
    ev.start_transaction("DRIVER")
    wait_event(st, "Started", mark)
    # a master pass: valid, in the master pass group (the Auth module stops with it, starts nothing)
    st.csms.set_response("Authorize", {"idTokenInfo": {"status": "Accepted",
                                                       "groupIdToken": {"idToken": "POLICE", "type": "Central"}}})
    cop = st.validate("COP")
    assert (cop["authorization_status"], cop["parent_id_token"]["value"]) == ("Accepted", "POLICE")
    ev.stop_transaction("MasterPass", "COP")
    ended = wait_event(st, "Ended", mark)["payload"]
    assert (ended["transactionInfo"]["stoppedReason"], ended["idToken"]["idToken"]) == ("MasterPass", "COP")
    reply = st.csms.call(CP_ID, "RequestStartTransaction", {
        "idToken": {"idToken": "COP", "type": "ISO14443"}, "remoteStartId": 9, "evseId": 1,
        "groupIdToken": {"idToken": "POLICE", "type": "Central"}})
    assert reply == {"status": "Rejected"}
    pushed = len(auth.calls_received("main", "set_master_pass_group_id"))
    st.restart_bridge()  # the auth module hears it again at the next start
    auth.wait_call("main", "set_master_pass_group_id", lambda a: a == {"master_pass_group_id": "POLICE"},
                   after=pushed, timeout=20)


def test_tc_f_01_remote_start_and_tc_f_08_remote_stop(charging_station):
    st = booted(charging_station)
    st.peer.watch_var(MODULE, "auth_provider", "provided_token")     # subscribed when it returns
    ev = st.evse(1)
    mark = st.csms.mark()
    ev.plug_in()
    reply = st.csms.call(CP_ID, "RequestStartTransaction",
                         {"idToken": {"idToken": "REMOTE", "type": "Central"}, "remoteStartId": 42, "evseId": 1})
    assert reply == {"status": "Accepted"}
    token = st.var("auth_provider", "provided_token")
    assert token["id_token"] == {"value": "REMOTE", "type": "Central"} and token["request_id"] == 42
    assert token["prevalidated"] is True and token["connectors"] == [1]
    ev.start_transaction({"id_token": {"value": "REMOTE", "type": "Central"}, "authorization_type": "OCPP"})
    started = wait_event(st, "Started", mark)["payload"]
    assert started["triggerReason"] == "RemoteStart" and started["transactionInfo"]["remoteStartId"] == 42
    tid = started["transactionInfo"]["transactionId"]
    assert st.csms.call(CP_ID, "RequestStopTransaction", {"transactionId": "nope"}) == {"status": "Rejected"}
    assert st.csms.call(CP_ID, "RequestStopTransaction", {"transactionId": tid}) == {"status": "Accepted"}
    assert ev.wait_command("stop_transaction")["request"]["reason"] == "Remote"
    ended = wait_event(st, "Ended", mark)["payload"]
    assert (ended["triggerReason"], ended["transactionInfo"]["stoppedReason"]) == ("RemoteStop", "Remote")


def test_two_evses_charging_at_once(charging_station):
    st = booted(charging_station, evses=2)
    a, b = st.evse(1), st.evse(2)
    mark = st.csms.mark()
    sa, sb = a.plug_in(), b.plug_in()
    a.start_transaction("A", meter_wh=100)
    b.start_transaction("B", meter_wh=200)
    a.start_charging()
    b.start_charging()
    b.unplug()
    a.unplug()
    for sid in (sa, sb):
        st.csms.wait_for(lambda e, sid=sid: e["action"] == "TransactionEvent" and e["payload"]["eventType"] == "Ended"
                         and e["payload"]["transactionInfo"]["transactionId"] == sid, after_index=mark)
    for sid, evse, energy in ((sa, 1, 100), (sb, 2, 200)):
        events = tx_events(st, mark, sid)
        assert [(e["eventType"], e["seqNo"]) for e in events] == [("Started", 0), ("Updated", 1), ("Ended", 2)]
        assert events[0]["evse"]["id"] == evse
        assert events[0]["meterValue"][0]["sampledValue"][0]["value"] == energy


def test_tc_j_09_meter_values_at_the_configured_interval(charging_station):
    st = booted(charging_station)
    set_variables(st, "SampledDataCtrlr", TxUpdatedInterval=1,
                  TxUpdatedMeasurands="Energy.Active.Import.Register,Power.Active.Import,Current.Import")
    ev = st.evse(1)
    mark = st.csms.mark()
    ev.plug_in()
    ev.start_transaction("TAG1", meter_wh=10)
    ev.meter(500, 7000, current_A={"L1": 16.0, "L2": 16.0, "L3": 16.0})
    first = wait_event(st, "Updated", mark, trigger="MeterValuePeriodic", timeout=30)
    # the next sample comes within the wait, far below the 60 s default: the configured 1 s
    wait_event(st, "Updated", first["index"] + 1, trigger="MeterValuePeriodic", timeout=30)
    values = {(v["measurand"], v.get("phase")): (v["value"], v["context"], v["unitOfMeasure"]["unit"])
              for v in first["payload"]["meterValue"][0]["sampledValue"]}
    assert values == {("Energy.Active.Import.Register", None): (500, "Sample.Periodic", "Wh"),
                      ("Power.Active.Import", None): (7000, "Sample.Periodic", "W"),
                      ("Current.Import", "L1"): (16, "Sample.Periodic", "A"),
                      ("Current.Import", "L2"): (16, "Sample.Periodic", "A"),
                      ("Current.Import", "L3"): (16, "Sample.Periodic", "A")}


def test_tc_g_01_g_02_status_sequence_with_a_fault(charging_station):
    st = booted(charging_station)
    ev = st.evse(1)
    mark = st.csms.mark()
    ev.raise_error("MREC4OverCurrentFailure")
    faulted = wait_status(st, 1, "Faulted", after=mark)
    ev.clear_error("MREC4OverCurrentFailure")
    done = wait_status(st, 1, "Available", after=faulted["index"])
    ev.plug_in()
    occupied = wait_status(st, 1, "Occupied", after=done["index"])
    ev.unplug()
    wait_status(st, 1, "Available", after=occupied["index"])
    assert statuses(st, 1, mark) == ["Faulted", "Available", "Occupied", "Available"]


# ---------------------------------------------------------------------------- B04: statuses after an outage
def reconnected(st) -> None:
    """The CSMS drops the station's connection; wait until the bridge is connected again."""
    count = st.csms.connection_count(CP_ID)
    st.csms.disconnect(CP_ID)
    st.csms.wait_for_station(CP_ID, timeout=30, count=count + 1)


def test_tc_b_04_after_an_outage_longer_than_offline_threshold_every_connector_is_sent(charging_station):
    st = booted(charging_station, evses=2)
    set_variables(st, "OCPPCommCtrlr", OfflineThreshold=0)   # any outage is longer than that
    mark = st.csms.mark()
    reconnected(st)
    wait_status(st, 1, "Available", after=mark, timeout=20)   # unchanged, and sent all the same
    wait_status(st, 2, "Available", after=mark, timeout=20)
    assert "BootNotification" not in st.actions(mark)          # a reconnect, not a new registration


def test_tc_b_04_after_a_shorter_outage_only_what_the_csms_lacks_is_sent(charging_station):
    st = booted(charging_station, evses=2)
    set_variables(st, "OCPPCommCtrlr", OfflineThreshold=3600)
    refused: list[dict] = []

    def refuse_the_first_occupied(payload: dict) -> dict:
        if payload["connectorStatus"] == "Occupied" and not refused:
            refused.append(payload)
            raise CallErrorReply("InternalError", "not now")
        return st.csms.default_response("StatusNotification", payload)

    st.csms.set_response("StatusNotification", refuse_the_first_occupied)
    mark = st.csms.mark()
    st.evse(1).plug_in()
    st.csms.wait_for(lambda e: e["action"] == "StatusNotification" and "error" in e, after_index=mark)
    again = st.csms.mark()
    reconnected(st)
    wait_status(st, 1, "Occupied", after=again, timeout=20)  # refused, so never reported: sent again
    beat = st.csms.mark()
    assert st.csms.call(CP_ID, "TriggerMessage", {"requestedMessage": "Heartbeat"}) == {"status": "Accepted"}
    st.csms.wait_for("Heartbeat", after_index=beat)  # queued after whatever the reconnect sent
    assert [(e["payload"]["evseId"], e["payload"]["connectorStatus"])
            for e in st.csms.entries("StatusNotification", CP_ID) if e["index"] >= again] == [(1, "Occupied")]


def test_tc_h_01_reserve_and_tc_h_17_cancel(charging_station):
    st = booted(charging_station)
    ev = st.evse(1)
    mark = st.csms.mark()
    reply = st.csms.call(CP_ID, "ReserveNow", {"id": 3, "evseId": 1, "expiryDateTime": "2099-01-01T00:00:00Z",
                                               "idToken": {"idToken": "R", "type": "ISO14443"}})
    assert reply == {"status": "Accepted"}
    assert ev.wait_command("reserve")["reservation_id"] == 3
    reserved = wait_status(st, 1, "Reserved", after=mark)
    assert st.csms.call(CP_ID, "CancelReservation", {"reservationId": 3}) == {"status": "Accepted"}
    ev.wait_command("cancel_reservation")
    wait_status(st, 1, "Available", after=reserved["index"])


def test_tc_h_08_tc_h_14_tc_h_09_reserve_an_unspecified_evse(charging_station):
    st = booted(charging_station, evses=2)
    read = st.csms.call(CP_ID, "GetVariables", {"getVariableData": [
        {"component": {"name": "ReservationCtrlr"}, "variable": {"name": "NonEvseSpecific"}}]})["getVariableResult"][0]
    assert read["attributeValue"] == "true"

    def reserve(rid: int, token: str) -> dict:
        return st.csms.call(CP_ID, "ReserveNow", {"id": rid, "expiryDateTime": "2099-01-01T00:00:00Z",
                                                  "idToken": {"idToken": token, "type": "ISO14443"}})

    mark = st.csms.mark()
    assert reserve(8, "A") == {"status": "Accepted"}  # TC_H_08: one reservation, two free EVSEs
    trigger = {"requestedMessage": "StatusNotification", "evse": {"id": 1, "connectorId": 1}}
    assert st.csms.call(CP_ID, "TriggerMessage", trigger) == {"status": "Accepted"}
    wait_status(st, 1, "Available", after=mark)
    # the triggered one goes after any status the reservation caused: there was none
    assert (statuses(st, 1, mark), statuses(st, 2, mark)) == (["Available"], [])
    assert reserve(14, "B") == {"status": "Accepted"}  # TC_H_14: as many reservations as free EVSEs
    for evse in (1, 2):
        wait_status(st, evse, "Reserved", after=mark)
    assert reserve(9, "C") == {"status": "Occupied"}  # TC_H_09
    reserved = st.csms.mark()
    assert st.csms.call(CP_ID, "CancelReservation", {"reservationId": 8}) == {"status": "Accepted"}
    for evse in (1, 2):
        wait_status(st, evse, "Available", after=reserved)


def test_tc_h_08_unspecified_evse_through_the_reservation_module(charging_station, peer):
    reservation = peer(module_id="reservation_module")
    reservation.implement("main", "reserve_now", lambda args: "Accepted")
    reservation.implement("main", "cancel_reservation", lambda args: True)
    st = booted(charging_station, bridge_kwargs={"connections": {"reservation": [("reservation_module", "main")]}})
    reply = st.csms.call(CP_ID, "ReserveNow", {"id": 5, "expiryDateTime": "2099-01-01T00:00:00Z",
                                               "idToken": {"idToken": "A", "type": "ISO14443"}})
    assert reply == {"status": "Accepted"}
    request = reservation.wait_call("main", "reserve_now")["args"]["request"]
    assert (request["reservation_id"], request["id_token"], "evse_id" in request) == (5, "A", False)
    assert st.csms.call(CP_ID, "CancelReservation", {"reservationId": 5}) == {"status": "Accepted"}
    assert reservation.wait_call("main", "cancel_reservation")["args"] == {"reservation_id": 5}


def test_tc_f_06_unlock_and_tc_f_05_with_transaction(charging_station):
    st = booted(charging_station)
    ev = st.evse(1)
    assert st.csms.call(CP_ID, "UnlockConnector", {"evseId": 1, "connectorId": 1}) == {"status": "Unlocked"}
    assert ev.wait_command("force_unlock")["connector_id"] == 1
    assert st.csms.call(CP_ID, "UnlockConnector", {"evseId": 1, "connectorId": 2}) == {
        "status": "UnknownConnector"}
    mark = st.csms.mark()
    ev.plug_in()
    ev.start_transaction("TAG1")
    wait_event(st, "Started", mark)
    assert st.csms.call(CP_ID, "UnlockConnector", {"evseId": 1, "connectorId": 1}) == {
        "status": "OngoingAuthorizedTransaction"}


# ---------------------------------------------------------------------------- availability
def test_tc_g_03_availability_outside_a_transaction(charging_station):
    st = booted(charging_station)
    ev = st.evse(1)
    mark = st.csms.mark()
    assert st.csms.call(CP_ID, "ChangeAvailability", {"operationalStatus": "Inoperative", "evse": {"id": 1}}) == {
        "status": "Accepted"}
    wait_status(st, 1, "Unavailable", after=mark)
    args = ev.wait_command("enable_disable", lambda a: a["cmd_source"]["enable_state"] == "Disable")
    assert args["cmd_source"]["enable_source"] == "CSMS"
    assert st.csms.call(CP_ID, "ChangeAvailability", {"operationalStatus": "Operative", "evse": {"id": 1}}) == {
        "status": "Accepted"}
    wait_status(st, 1, "Available", after=mark + 1)


def test_tc_g_11_availability_during_a_transaction(charging_station):
    st = booted(charging_station)
    ev = st.evse(1)
    mark = st.csms.mark()
    ev.plug_in()
    ev.start_transaction("TAG1")
    wait_event(st, "Started", mark)
    assert st.csms.call(CP_ID, "ChangeAvailability", {"operationalStatus": "Inoperative", "evse": {"id": 1}}) == {
        "status": "Scheduled"}
    ev.stop_transaction("Local", "TAG1")
    ended = wait_event(st, "Ended", mark)
    unavailable = wait_status(st, 1, "Unavailable", after=mark)
    assert unavailable["index"] > ended["index"]
    ev.unplug()


def test_change_availability_from_the_bus(charging_station):
    st = booted(charging_station)
    mark = st.csms.mark()
    reply = st.call("ocpp_generic", "change_availability",
                    {"request": {"operational_status": "Inoperative", "evse": {"id": 1, "connector_id": 1}}})
    assert reply["status"] == "Accepted"
    wait_status(st, 1, "Unavailable", after=mark)


# ---------------------------------------------------------------------------- reset, trigger
def test_tc_b_22_reset_immediate_with_a_running_transaction(charging_station):
    st = booted(charging_station)
    ev = st.evse(1)
    mark = st.csms.mark()
    ev.plug_in()
    ev.start_transaction("TAG1")
    ev.start_charging()
    wait_event(st, "Updated", mark)
    assert st.csms.call(CP_ID, "Reset", {"type": "Immediate"}) == {"status": "Accepted"}
    assert ev.wait_command("stop_transaction")["request"]["reason"] == "HardReset"
    ended = wait_event(st, "Ended", mark)["payload"]
    assert (ended["triggerReason"], ended["transactionInfo"]["stoppedReason"]) == ("ResetCommand", "ImmediateReset")
    boot = st.csms.wait_for("BootNotification", after_index=mark, timeout=20)   # the OCPP side restarted
    assert boot["index"] > wait_event(st, "Ended", mark)["index"]


def wait_until_triggered_meter_values_accepted(st, timeout: float = 30) -> None:
    """TriggerMessage MeterValues until Accepted: the bridge answers Rejected while it has no
    reading, so every try ends on an answer, never on a pause."""
    deadline = time.monotonic() + timeout
    while st.csms.call(CP_ID, "TriggerMessage", {"requestedMessage": "MeterValues"})["status"] != "Accepted":
        assert time.monotonic() < deadline, f"still no reading after {timeout} s"
        time.sleep(0.05)


def test_trigger_message_for_each_type(charging_station):  # TC_F_11..F_27
    st = booted(charging_station)
    ev = st.evse(1)
    ev.meter(77, 10)
    wait_until_triggered_meter_values_accepted(st)     # the bridge has the reading (MQTT)
    expected = {"BootNotification": "Rejected", "Heartbeat": "Accepted", "LogStatusNotification": "Accepted",
                "FirmwareStatusNotification": "Accepted", "MeterValues": "Accepted",
                "TransactionEvent": "Rejected", "PublishFirmwareStatusNotification": "NotImplemented"}
    for message, status in expected.items():
        mark = st.csms.mark()
        assert st.csms.call(CP_ID, "TriggerMessage", {"requestedMessage": message})["status"] == status, message
        if status == "Accepted":
            st.csms.wait_for(message, after_index=mark)
    mark = st.csms.mark()
    assert st.csms.call(CP_ID, "TriggerMessage", {"requestedMessage": "StatusNotification",
                                                  "evse": {"id": 1, "connectorId": 1}}) == {"status": "Accepted"}
    wait_status(st, 1, "Available", after=mark)
    mv = st.csms.entries("MeterValues", CP_ID)[-1]["payload"]
    assert mv["evseId"] == 1 and mv["meterValue"][0]["sampledValue"][0]["context"] == "Trigger"
    mark = st.csms.mark()
    ev.plug_in()
    ev.start_transaction("TAG1")
    wait_event(st, "Started", mark)
    assert st.csms.call(CP_ID, "TriggerMessage", {"requestedMessage": "TransactionEvent"}) == {"status": "Accepted"}
    wait_event(st, "Updated", mark, trigger="Trigger")


def test_tc_e_31_get_transaction_status(charging_station):
    st = booted(charging_station)
    ev = st.evse(1)
    mark = st.csms.mark()
    ev.plug_in()
    ev.start_transaction("TAG1")
    tid = wait_event(st, "Started", mark)["payload"]["transactionInfo"]["transactionId"]
    assert st.csms.call(CP_ID, "GetTransactionStatus", {"transactionId": tid}) == {
        "ongoingIndicator": True, "messagesInQueue": False}
    ev.unplug()
    wait_event(st, "Ended", mark)
    assert st.csms.call(CP_ID, "GetTransactionStatus", {"transactionId": tid}) == {
        "ongoingIndicator": False, "messagesInQueue": False}
