"""OCPP 1.6 charging sessions end to end: simulated EVSE managers and an EVerest peer on a real
mosquitto, the bridge as a real process, the real `ocpp` CSMS. Named after OCTT 1.6 cases
(ids only) where the test covers the case.
"""

import time

import pytest

from support.station import CP_ID, MODULE

MV = "Energy.Active.Import.Register,Power.Active.Import"


def configure(st, **keys) -> None:
    for key, value in keys.items():
        assert st.csms.call(CP_ID, "ChangeConfiguration", {"key": key, "value": str(value)})["status"] == "Accepted"


def statuses(st, connector: int, after: int = 0) -> list[str]:
    return [e["payload"]["status"] for e in st.csms.entries("StatusNotification", CP_ID)
            if e["payload"]["connectorId"] == connector and e["index"] >= after]


def wait_status(st, connector: int, status: str, after: int = 0, timeout: float = 10) -> dict:
    return st.csms.wait_for(lambda e: e["action"] == "StatusNotification" and e["payload"]["connectorId"] == connector
                            and e["payload"]["status"] == status, timeout=timeout, after_index=after)


def booted(charging_station, evses: int = 1, **kw):
    st = charging_station(evses=evses, version="1.6", **kw)
    for n in range(1, evses + 1):
        wait_status(st, n, "Available")
    return st


def test_tc_003_regular_charging_session_with_csms_authorize(charging_station):
    st = booted(charging_station)
    st.peer.watch_var(MODULE, "ocpp_generic", "ocpp_transaction_event")
    ev = st.evse(1)
    mark = st.csms.mark()
    ev.plug_in()
    assert st.validate("TAG1")["authorization_status"] == "Accepted"
    assert st.csms.entries("Authorize", CP_ID)[-1]["payload"] == {"idTag": "TAG1"}
    ev.start_transaction("TAG1", meter_wh=1000)
    start = st.csms.wait_for("StartTransaction", after_index=mark)
    # the CSMS's transactionId reaches the bus (Updated) on the websocket's time, the EVSE's
    # stop on MQTT's: stop only after it, or Ended may come first on a slow machine
    st.var("ocpp_generic", "ocpp_transaction_event", lambda v: v["transaction_event"] == "Updated")
    ev.start_charging()
    ev.meter(1800, 7000)
    ev.stop_transaction("Local", "TAG1")
    stop = st.csms.wait_for("StopTransaction", after_index=mark)
    ev.unplug()
    wait_status(st, 1, "Available", after=stop["index"])
    assert start["payload"]["idTag"] == "TAG1" and start["payload"]["meterStart"] == 1000
    tid = start["response"]["transactionId"]
    assert (stop["payload"]["transactionId"], stop["payload"]["meterStop"], stop["payload"]["reason"]) == (
        tid, 1800, "Local")
    assert statuses(st, 1, mark) == ["Preparing", "Charging", "Finishing", "Available"]
    # the bus heard Started, Updated (with the CSMS's id) and Ended
    st.var("ocpp_generic", "ocpp_transaction_event", lambda v: v["transaction_event"] == "Ended")
    events = st.values("ocpp_generic", "ocpp_transaction_event")
    assert [e["transaction_event"] for e in events] == ["Started", "Updated", "Ended"]
    assert events[1]["transaction_id"] == str(tid) and events[0]["evse"] == {"id": 1, "connector_id": 1}


def test_tc_005_1_ev_side_disconnect(charging_station):
    st = booted(charging_station)
    ev = st.evse(1)
    mark = st.csms.mark()
    ev.plug_in()
    ev.start_transaction("TAG1", meter_wh=10)
    ev.start_charging()
    ev.unplug()
    stop = st.csms.wait_for("StopTransaction", after_index=mark)
    assert stop["payload"]["reason"] == "EVDisconnected"
    wait_status(st, 1, "Available", after=stop["index"])


def test_local_list_authorization_full_and_differential(charging_station):  # TC_043_4 / TC_043_5
    st = booted(charging_station)
    configure(st, LocalPreAuthorize="true")
    full = {"listVersion": 1, "updateType": "Full", "localAuthorizationList": [
        {"idTag": "LOCAL1", "idTagInfo": {"status": "Accepted"}}, {"idTag": "GONE", "idTagInfo": {"status": "Accepted"}}]}
    assert st.csms.call(CP_ID, "SendLocalList", full) == {"status": "Accepted"}
    diff = {"listVersion": 1, "updateType": "Differential",
            "localAuthorizationList": [{"idTag": "LOCAL2", "idTagInfo": {"status": "Blocked"}}, {"idTag": "GONE"}]}
    assert st.csms.call(CP_ID, "SendLocalList", diff) == {"status": "VersionMismatch"}
    diff["listVersion"] = 2
    assert st.csms.call(CP_ID, "SendLocalList", diff) == {"status": "Accepted"}
    assert st.csms.call(CP_ID, "GetLocalListVersion", {}) == {"listVersion": 2}
    before = len(st.csms.entries("Authorize", CP_ID))
    assert st.validate("LOCAL1")["authorization_status"] == "Accepted"  # from the list, no Authorize
    st.heartbeat_sentinel()     # an Authorize queued for it would be in the ledger before this
    assert len(st.csms.entries("Authorize", CP_ID)) == before
    st.csms.set_response("Authorize", {"idTagInfo": {"status": "Invalid"}})
    assert st.validate("LOCAL2")["authorization_status"] == "Invalid"  # Blocked locally: the CSMS decides
    assert st.validate("GONE")["authorization_status"] == "Invalid"


def test_auth_cache_hit_while_offline(charging_station):
    st = booted(charging_station)
    st.csms.set_response("Authorize", {"idTagInfo": {"status": "Accepted", "expiryDate": "2099-01-01T00:00:00Z"}})
    assert st.validate("CACHED")["authorization_status"] == "Accepted"
    st.csms.stop()  # the CSMS goes away: the bridge is offline
    st.var("ocpp_generic", "is_connected", lambda v: v is False, timeout=10)
    result = st.validate("CACHED")
    assert result["authorization_status"] == "Accepted" and result["expiry_time"] == "2099-01-01T00:00:00Z"
    assert st.validate("UNKNOWN")["authorization_status"] == "Invalid"


def test_tc_011_1_remote_start_and_tc_012_remote_stop(charging_station):
    st = booted(charging_station)
    st.peer.watch_var(MODULE, "auth_provider", "provided_token")     # subscribed when it returns
    ev = st.evse(1)
    assert st.csms.call(CP_ID, "RemoteStartTransaction", {"idTag": "REMOTE", "connectorId": 1}) == {
        "status": "Accepted"}
    token = st.var("auth_provider", "provided_token")
    assert token["id_token"] == {"value": "REMOTE", "type": "Central"}
    assert token["prevalidated"] is True and token["connectors"] == [1]
    mark = st.csms.mark()
    ev.plug_in()
    ev.start_transaction("REMOTE")
    start = st.csms.wait_for("StartTransaction", after_index=mark)
    tid = start["response"]["transactionId"]
    assert st.csms.call(CP_ID, "RemoteStopTransaction", {"transactionId": tid + 1000}) == {"status": "Rejected"}
    assert st.csms.call(CP_ID, "RemoteStopTransaction", {"transactionId": tid}) == {"status": "Accepted"}
    assert ev.wait_command("stop_transaction")["request"]["reason"] == "Remote"
    stop = st.csms.wait_for("StopTransaction", after_index=mark)
    assert (stop["payload"]["transactionId"], stop["payload"]["reason"]) == (tid, "Remote")


def test_two_evses_charging_at_once(charging_station):
    st = booted(charging_station, evses=2)
    a, b = st.evse(1), st.evse(2)
    mark = st.csms.mark()
    a.plug_in()
    b.plug_in()
    a.start_transaction("A", meter_wh=100)
    b.start_transaction("B", meter_wh=200)
    starts = [st.csms.wait_for(lambda e: e["action"] == "StartTransaction" and e["payload"]["idTag"] == tag
                               and "response" in e, after_index=mark) for tag in ("A", "B")]
    b.stop_transaction("Local")
    a.stop_transaction("Local")
    for start in starts:
        st.csms.wait_for(lambda e: e["action"] == "StopTransaction" and e["payload"]["transactionId"] ==
                         start["response"]["transactionId"], after_index=mark)
    stops = {e["payload"]["transactionId"]: e["payload"]["meterStop"] for e in st.csms.entries("StopTransaction")}
    by_tag = {s["payload"]["idTag"]: s for s in starts}
    assert by_tag["A"]["payload"]["connectorId"] == 1 and by_tag["B"]["payload"]["connectorId"] == 2
    assert stops == {by_tag["A"]["response"]["transactionId"]: 100, by_tag["B"]["response"]["transactionId"]: 200}


def test_meter_values_at_the_configured_interval_and_measurands(charging_station):
    st = booted(charging_station)
    configure(st, MeterValueSampleInterval=1, MeterValuesSampledData=MV, ClockAlignedDataInterval=0)
    ev = st.evse(1)
    mark = st.csms.mark()
    ev.plug_in()
    ev.start_transaction("TAG", meter_wh=500)
    ev.start_charging()
    ev.meter(600, 3700)
    first = st.csms.wait_for("MeterValues", after_index=mark, timeout=30)
    # the next sample comes within the wait, far below the 60 s default: the configured 1 s
    st.csms.wait_for("MeterValues", after_index=first["index"] + 1, timeout=30)
    ev.stop_transaction("Local")
    tid = st.csms.wait_for("StartTransaction", after_index=mark)["response"]["transactionId"]
    values = first["payload"]["meterValue"][0]["sampledValue"]
    assert first["payload"]["transactionId"] == tid
    assert [(v["measurand"], v["unit"], v["context"]) for v in values] == [
        ("Energy.Active.Import.Register", "Wh", "Sample.Periodic"), ("Power.Active.Import", "W", "Sample.Periodic")]


def test_clock_aligned_meter_values(charging_station):
    st = booted(charging_station)
    ev = st.evse(1)
    ev.meter(42, 0)
    configure(st, ClockAlignedDataInterval=1, MeterValuesAlignedData="Energy.Active.Import.Register")
    mv = st.csms.wait_for(lambda e: e["action"] == "MeterValues" and "transactionId" not in e["payload"], timeout=30)
    sv = mv["payload"]["meterValue"][0]["sampledValue"][0]
    assert (sv["value"], sv["context"]) == ("42", "Sample.Clock")
    assert mv["payload"]["meterValue"][0]["timestamp"].endswith(".000Z")


def test_tc_017_1_unlock_connector(charging_station):
    st = booted(charging_station)
    assert st.csms.call(CP_ID, "UnlockConnector", {"connectorId": 1}) == {"status": "Unlocked"}
    assert st.evse(1).wait_command("force_unlock")["connector_id"] == 1
    assert st.csms.call(CP_ID, "UnlockConnector", {"connectorId": 2}) == {"status": "NotSupported"}


def test_change_availability_outside_and_during_a_transaction(charging_station):
    st = booted(charging_station)
    ev = st.evse(1)
    mark = st.csms.mark()
    assert st.csms.call(CP_ID, "ChangeAvailability", {"connectorId": 1, "type": "Inoperative"}) == {
        "status": "Accepted"}
    wait_status(st, 1, "Unavailable", after=mark)
    assert st.csms.call(CP_ID, "ChangeAvailability", {"connectorId": 1, "type": "Operative"}) == {
        "status": "Accepted"}
    wait_status(st, 1, "Available", after=mark)
    ev.plug_in()
    ev.start_transaction("TAG")
    start = st.csms.wait_for("StartTransaction", after_index=mark)
    assert st.csms.call(CP_ID, "ChangeAvailability", {"connectorId": 0, "type": "Inoperative"}) == {
        "status": "Scheduled"}
    # sentinel: connector 1's current status, reported after anything the change queued
    trigger = st.csms.mark()
    assert st.csms.call(CP_ID, "TriggerMessage", {"requestedMessage": "StatusNotification", "connectorId": 1}) == {
        "status": "Accepted"}
    now = st.csms.wait_for(lambda e: e["action"] == "StatusNotification" and e["payload"]["connectorId"] == 1,
                           after_index=trigger)
    assert now["payload"]["status"] != "Unavailable"
    assert "Unavailable" not in statuses(st, 1, start["index"])
    ev.stop_transaction("Local")
    stop = st.csms.wait_for("StopTransaction", after_index=mark)
    wait_status(st, 1, "Unavailable", after=stop["index"])
    assert "Unavailable" not in [e["payload"]["status"] for e in st.csms.entries("StatusNotification", CP_ID)
                                 if e["payload"]["connectorId"] == 1 and start["index"] < e["index"] < stop["index"]]
    wait_status(st, 0, "Unavailable", after=mark)
    assert statuses(st, 0, mark)[-1] == "Unavailable"


@pytest.mark.parametrize("kind", ["Hard", "Soft"])
def test_tc_013_tc_014_reset_without_a_transaction(charging_station, kind):
    st = booted(charging_station)
    mark = st.csms.mark()
    assert st.csms.call(CP_ID, "ChangeAvailability", {"connectorId": 1, "type": "Inoperative"}) == {
        "status": "Accepted"}
    wait_status(st, 1, "Unavailable", after=mark)
    assert st.csms.call(CP_ID, "Reset", {"type": kind}) == {"status": "Accepted"}
    # no system module: the bridge restarts its OCPP side and boots again
    boot = st.csms.wait_for("BootNotification", after_index=mark, timeout=15)
    for connector, status in ((0, "Available"), (1, "Unavailable")):  # the availability persists
        wait_status(st, connector, status, after=boot["index"])
    assert st.csms.call(CP_ID, "ChangeAvailability", {"connectorId": 1, "type": "Operative"}) == {
        "status": "Accepted"}
    wait_status(st, 1, "Available", after=boot["index"])
    assert "StopTransaction" not in st.actions(mark)


@pytest.mark.parametrize("kind, reason", [("Soft", "SoftReset"), ("Hard", "HardReset")])
def test_tc_015_tc_016_reset_with_a_running_transaction(charging_station, kind, reason):
    st = booted(charging_station)
    ev = st.evse(1)
    mark = st.csms.mark()
    ev.plug_in()
    ev.start_transaction("TAG")
    st.csms.wait_for("StartTransaction", after_index=mark)
    assert st.csms.call(CP_ID, "Reset", {"type": kind}) == {"status": "Accepted"}
    assert ev.wait_command("stop_transaction")["request"]["reason"] == reason
    stop = st.csms.wait_for("StopTransaction", after_index=mark)
    assert stop["payload"]["reason"] == reason
    # no system module: the bridge restarts its OCPP side and boots again
    st.csms.wait_for("BootNotification", after_index=stop["index"], timeout=20)
    st.heartbeat_sentinel()      # a StopTransaction still queued would go before it
    assert len(st.csms.entries("StopTransaction")) == 1  # it left before the reset cut the line


@pytest.mark.parametrize("what", ["BootNotification", "DiagnosticsStatusNotification", "FirmwareStatusNotification",
                                  "Heartbeat", "MeterValues", "StatusNotification"])
def test_tc_054_trigger_message(charging_station, what):
    st = booted(charging_station)
    st.evse(1).meter(5, 0)
    if what == "MeterValues":     # sent once the bridge has the reading
        sent = triggered_meter_values(st)
        assert sent["payload"]["meterValue"][0]["sampledValue"][0]["value"] == "5"
    else:
        mark = st.csms.mark()
        payload = {"requestedMessage": what, "connectorId": 1}
        assert st.csms.call(CP_ID, "TriggerMessage", payload) == {"status": "Accepted"}
        st.csms.wait_for(what, after_index=mark, timeout=20)


def triggered_meter_values(st, connector: int = 1, timeout: float = 30) -> dict:
    """TriggerMessage MeterValues until the bridge has the simulator's reading (published on
    MQTT, so it may not have it yet). It answers Accepted either way and logs when it has no
    reading, so every try ends on something seen, never on a pause."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        mark, log_mark = st.csms.mark(), st.bridge.log_size()
        payload = {"requestedMessage": "MeterValues", "connectorId": connector}
        assert st.csms.call(CP_ID, "TriggerMessage", payload) == {"status": "Accepted"}
        while time.monotonic() < deadline:
            sent = [e for e in st.csms.entries("MeterValues", CP_ID) if e["index"] >= mark]
            if sent:
                return sent[0]
            if "TriggerMessage MeterValues: no reading" in st.bridge.log_text()[log_mark:]:
                break
            time.sleep(0.05)
    raise TimeoutError(f"no triggered MeterValues for connector {connector} within {timeout} s")


def test_status_notification_error_codes_from_evse_manager_errors(charging_station):
    st = booted(charging_station)
    ev = st.evse(1)
    mark = st.csms.mark()
    ev.raise_error("MREC4OverCurrentFailure", "too much current")
    faulted = st.csms.wait_for(lambda e: e["action"] == "StatusNotification" and e["payload"]["connectorId"] == 1
                               and e["payload"]["errorCode"] != "NoError", after_index=mark)
    assert faulted["payload"]["errorCode"] == "OverCurrentFailure"
    ev.clear_error("MREC4OverCurrentFailure")
    cleared = st.csms.wait_for(lambda e: e["action"] == "StatusNotification" and e["payload"]["connectorId"] == 1
                               and e["payload"]["errorCode"] == "NoError", after_index=faulted["index"] + 1)
    assert cleared["payload"]["status"] == "Available"


# ---------------------------------------------------------------------------- reservations
def reserve(st, connector: int, rid: int, id_tag: str, parent: str | None = None) -> dict:
    payload = {"connectorId": connector, "expiryDate": "2099-01-01T00:00:00Z", "idTag": id_tag, "reservationId": rid}
    if parent is not None:
        payload["parentIdTag"] = parent
    return st.csms.call(CP_ID, "ReserveNow", payload)


def test_tc_053_reserved_connector_used_with_a_parent_id_tag(charging_station, peer):
    # the stack's reservation module (EVerest's Auth) holds the reservation: the EVSE reports none
    reservation = peer(module_id="reservation_module")
    reservation.implement("main", "reserve_now", lambda args: "Accepted")
    st = booted(charging_station, evses=2,
                bridge_kwargs={"connections": {"reservation": [("reservation_module", "main")]}})
    parents = {"CHILD": "FAMILY", "STRANGER": "OTHERS"}
    st.csms.set_response("Authorize", lambda p: {"idTagInfo": {"status": "Accepted", "parentIdTag": parents[p["idTag"]]}})
    mark = st.csms.mark()
    assert reserve(st, 1, 53, "OWNER", parent="FAMILY") == {"status": "Accepted"}
    wait_status(st, 1, "Reserved", after=mark)
    # another tag is refused on the reserved connector (valid elsewhere only)
    stranger = st.validate("STRANGER")
    assert stranger["authorization_status"] == "Accepted" and stranger["evse_ids"] == [2]
    # a tag with the reservation's parent may use it
    child = st.validate("CHILD")
    assert child["authorization_status"] == "Accepted" and child["parent_id_token"]["value"] == "FAMILY"
    assert "evse_ids" not in child
    ev = st.evse(1)
    ev.plug_in()
    ev.start_transaction("CHILD")
    start = st.csms.wait_for("StartTransaction", after_index=mark)
    assert (start["payload"]["idTag"], start["payload"]["reservationId"]) == ("CHILD", 53)


def test_tc_046_2_reserved_connector_remote_start(charging_station):
    st = booted(charging_station)
    st.peer.watch_var(MODULE, "auth_provider", "provided_token")
    ev = st.evse(1)
    mark = st.csms.mark()
    assert reserve(st, 1, 46, "OWNER") == {"status": "Accepted"}
    wait_status(st, 1, "Reserved", after=mark)
    assert st.csms.call(CP_ID, "RemoteStartTransaction", {"idTag": "OTHER", "connectorId": 1}) == {
        "status": "Rejected"}
    assert st.csms.call(CP_ID, "RemoteStartTransaction", {"idTag": "OWNER", "connectorId": 1}) == {
        "status": "Accepted"}
    st.var("auth_provider", "provided_token", lambda v: v["id_token"]["value"] == "OWNER")
    assert [v["id_token"]["value"] for v in st.values("auth_provider", "provided_token")] == ["OWNER"]
    ev.plug_in()
    ev.start_transaction("OWNER")
    start = st.csms.wait_for("StartTransaction", after_index=mark)
    assert (start["payload"]["idTag"], start["payload"]["reservationId"]) == ("OWNER", 46)


# ---------------------------------------------------------------------------- before Accepted
def register_again(st, status: str) -> None:
    """The CSMS makes the station boot again (TriggerMessage) and answers ``status``."""
    st.csms.set_boot_response(status, 300)
    seen = len(st.values("ocpp_generic", "boot_notification_response"))
    assert st.csms.call(CP_ID, "TriggerMessage", {"requestedMessage": "BootNotification"}) == {"status": "Accepted"}
    st.var("ocpp_generic", "boot_notification_response", lambda v: v["status"] == status, after=seen)


def test_tc_001_nothing_starts_while_the_boot_is_rejected(charging_station):
    st = charging_station(evses=1, version="1.6", boot_status="Rejected")
    st.peer.watch_var(MODULE, "auth_provider", "provided_token")
    assert st.csms.call(CP_ID, "RemoteStartTransaction", {"idTag": "EARLY", "connectorId": 1}) == {
        "status": "Rejected"}
    mark = st.csms.mark()
    register_again(st, "Accepted")
    wait_status(st, 1, "Available", after=mark)
    assert st.csms.call(CP_ID, "RemoteStartTransaction", {"idTag": "LATER", "connectorId": 1}) == {
        "status": "Accepted"}
    st.var("auth_provider", "provided_token", lambda v: v["id_token"]["value"] == "LATER")
    assert [v["id_token"]["value"] for v in st.values("auth_provider", "provided_token")] == ["LATER"]


def test_tc_002_no_remote_start_or_stop_while_pending(charging_station):
    st = booted(charging_station, evses=2)
    st.peer.watch_var(MODULE, "auth_provider", "provided_token")
    ev = st.evse(1)
    mark = st.csms.mark()
    ev.plug_in()
    ev.start_transaction("TAG")
    tid = st.csms.wait_for("StartTransaction", after_index=mark)["response"]["transactionId"]
    register_again(st, "Pending")
    assert st.csms.call(CP_ID, "RemoteStartTransaction", {"idTag": "EARLY", "connectorId": 2}) == {
        "status": "Rejected"}
    assert st.csms.call(CP_ID, "RemoteStopTransaction", {"transactionId": tid}) == {"status": "Rejected"}
    register_again(st, "Accepted")
    assert st.csms.call(CP_ID, "RemoteStartTransaction", {"idTag": "LATER", "connectorId": 2}) == {
        "status": "Accepted"}
    assert st.csms.call(CP_ID, "RemoteStopTransaction", {"transactionId": tid}) == {"status": "Accepted"}
    st.var("auth_provider", "provided_token", lambda v: v["id_token"]["value"] == "LATER")
    assert [v["id_token"]["value"] for v in st.values("auth_provider", "provided_token")] == ["LATER"]
    stop = st.csms.wait_for("StopTransaction", after_index=mark)
    assert stop["payload"]["reason"] == "Remote"
    assert [cmd for cmd, _ in ev.commands].count("stop_transaction") == 1


@pytest.mark.parametrize("what", ["DiagnosticsStatusNotification", "FirmwareStatusNotification", "Heartbeat",
                                  "MeterValues", "StatusNotification"])
def test_tc_002_tc_054_trigger_message_while_pending(charging_station, what):
    st = charging_station(evses=1, version="1.6", boot_status="Pending")
    st.evse(1).meter(5, 0)
    payload = {"requestedMessage": what, "connectorId": 1}
    deadline = time.monotonic() + 15
    while True:  # MeterValues needs the reading: trigger until the bridge has it
        mark = st.csms.mark()
        assert st.csms.call(CP_ID, "TriggerMessage", payload) == {"status": "Accepted"}
        try:
            sent = st.csms.wait_for(what, after_index=mark, timeout=2)
            break
        except TimeoutError:
            if what != "MeterValues" or time.monotonic() > deadline:
                raise
    assert sent["payload"].get("connectorId", 1) == 1
    # a triggered BootNotification moves the registration on
    mark = st.csms.mark()
    register_again(st, "Accepted")
    wait_status(st, 1, "Available", after=mark)
