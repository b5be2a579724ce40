"""OCPP 1.6 Smart Charging end to end: simulated EVSE managers and an EVerest peer on a real
mosquitto, the bridge as a real process, the real `ocpp` CSMS. Named after OCTT 1.6 cases
(ids only) where the test covers the case. Profiles start in the past and have one period, so
what applies does not depend on when the test runs.
"""

from support.station import CP_ID

PAST = "2020-01-01T00:00:00Z"


def booted(charging_station, evses: int = 1):
    st = charging_station(evses=evses, version="1.6")
    for n in range(1, evses + 1):
        st.csms.wait_for(lambda e, n=n: e["action"] == "StatusNotification" and e["payload"]["connectorId"] == n
                         and e["payload"]["status"] == "Available", timeout=10)
    return st


def profile(pid: int, purpose: str, limit: float, stack: int = 0, **extra) -> dict:
    return {"chargingProfileId": pid, "stackLevel": stack, "chargingProfilePurpose": purpose,
            "chargingProfileKind": "Absolute", **extra,
            "chargingSchedule": {"chargingRateUnit": "A", "startSchedule": PAST,
                                 "chargingSchedulePeriod": [{"startPeriod": 0, "limit": limit}]}}


def set_profile(st, connector: int, wire: dict) -> str:
    return st.csms.call(CP_ID, "SetChargingProfile", {"connectorId": connector, "csChargingProfiles": wire})["status"]


def limits(st, connector: int = 1, duration: int = 300) -> list[float]:
    answer = st.csms.call(CP_ID, "GetCompositeSchedule", {"connectorId": connector, "duration": duration,
                                                          "chargingRateUnit": "A"})
    assert answer["status"] == "Accepted" and answer["connectorId"] == connector
    return [p["limit"] for p in answer["chargingSchedule"]["chargingSchedulePeriod"]]


def test_tc_056_central_smart_charging_tx_default_profile(charging_station):
    st = booted(charging_station)
    assert set_profile(st, 1, profile(1, "ChargePointMaxProfile", 20.0)) == "Rejected"  # only on connector 0
    assert set_profile(st, 0, profile(1, "TxDefaultProfile", 16.0)) == "Accepted"
    assert limits(st) == [16.0]
    assert set_profile(st, 0, profile(2, "TxDefaultProfile", 12.0)) == "Accepted"  # same level + purpose
    assert limits(st) == [12.0]
    assert st.csms.call(CP_ID, "ClearChargingProfile", {"id": 1}) == {"status": "Unknown"}  # replaced


def test_tc_057_central_smart_charging_tx_profile(charging_station):
    st = booted(charging_station)
    ev = st.evse(1)
    assert set_profile(st, 1, profile(5, "TxProfile", 10.0)) == "Rejected"  # no transaction yet
    mark = st.csms.mark()
    ev.plug_in()
    ev.start_transaction("TAG1", meter_wh=0)
    tid = st.csms.wait_for("StartTransaction", after_index=mark)["response"]["transactionId"]
    assert set_profile(st, 1, profile(5, "TxProfile", 10.0, transactionId=tid + 1)) == "Rejected"
    assert set_profile(st, 0, profile(6, "TxDefaultProfile", 16.0)) == "Accepted"
    assert set_profile(st, 1, profile(5, "TxProfile", 10.0, transactionId=tid)) == "Accepted"
    assert limits(st) == [10.0]  # the TxProfile overrides the TxDefaultProfile
    ev.stop_transaction("Local", "TAG1")
    st.csms.wait_for("StopTransaction", after_index=mark)
    assert limits(st) == [16.0]  # the TxProfile ended with its transaction
    assert st.csms.call(CP_ID, "ClearChargingProfile", {"id": 5}) == {"status": "Unknown"}


def test_tc_066_get_composite_schedule(charging_station):
    st = booted(charging_station, evses=2)
    assert set_profile(st, 1, profile(1, "TxDefaultProfile", 16.0)) == "Accepted"
    assert set_profile(st, 2, profile(2, "TxDefaultProfile", 6.0)) == "Accepted"
    assert set_profile(st, 0, profile(3, "ChargePointMaxProfile", 20.0)) == "Accepted"
    answer = st.csms.call(CP_ID, "GetCompositeSchedule", {"connectorId": 1, "duration": 600})
    schedule = answer["chargingSchedule"]
    assert (answer["status"], schedule["duration"], schedule["chargingRateUnit"]) == ("Accepted", 600, "A")
    assert schedule["startSchedule"] == answer["scheduleStart"]
    assert [p["limit"] for p in schedule["chargingSchedulePeriod"]] == [16.0]
    assert limits(st, 0) == [20.0]  # the station: 16 + 6 capped by its maximum
    assert st.csms.call(CP_ID, "GetCompositeSchedule", {"connectorId": 3, "duration": 600}) == {
        "status": "Rejected"}


def test_tc_067_clear_charging_profile(charging_station):
    st = booted(charging_station, evses=2)
    for pid, connector, stack in ((1, 1, 0), (2, 1, 1), (3, 2, 1)):
        assert set_profile(st, connector, profile(pid, "TxDefaultProfile", 8.0 + pid, stack)) == "Accepted"

    def clear(**criteria) -> str:
        return st.csms.call(CP_ID, "ClearChargingProfile", criteria)["status"]

    assert clear(id=2) == "Accepted"
    assert limits(st, 1) == [9.0]
    assert clear(connectorId=2, chargingProfilePurpose="TxDefaultProfile", stackLevel=0) == "Unknown"
    assert clear(stackLevel=1) == "Accepted"
    assert clear(id=3) == "Unknown"
    assert clear() == "Accepted"
    assert clear() == "Unknown"


def test_tc_059_remote_start_transaction_with_charging_profile(charging_station):
    """§5.16: the RemoteStartTransaction's TxProfile (no transactionId) is the started
    transaction's; it caps the composite while the transaction runs and ends with it."""
    st = booted(charging_station)
    assert set_profile(st, 0, profile(1, "TxDefaultProfile", 16.0)) == "Accepted"
    ev = st.evse(1)
    mark = st.csms.mark()
    ev.plug_in()
    assert st.csms.call(CP_ID, "RemoteStartTransaction", {
        "connectorId": 1, "idTag": "REMOTE1", "chargingProfile": profile(7, "TxProfile", 8.0)}) == {
        "status": "Accepted"}
    ev.start_transaction({"id_token": {"value": "REMOTE1", "type": "Central"}, "authorization_type": "OCPP"})
    st.csms.wait_for("StartTransaction", after_index=mark)
    assert limits(st) == [8.0]
    ev.stop_transaction("Remote", "REMOTE1")
    st.csms.wait_for("StopTransaction", after_index=mark)
    assert limits(st) == [16.0]
    assert st.csms.call(CP_ID, "ClearChargingProfile", {"id": 7}) == {"status": "Unknown"}


def test_installed_profiles_survive_kill_9(charging_station):
    st = booted(charging_station)
    assert set_profile(st, 0, profile(1, "ChargePointMaxProfile", 20.0)) == "Accepted"
    assert set_profile(st, 1, profile(2, "TxDefaultProfile", 11.0)) == "Accepted"
    mark = st.csms.mark()
    st.restart_bridge(kill=True)
    st.csms.wait_for("BootNotification", after_index=mark, timeout=20)
    assert limits(st) == [11.0]
    assert limits(st, 0) == [11.0]
