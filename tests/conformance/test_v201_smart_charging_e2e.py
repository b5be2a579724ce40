"""OCPP 2.0.1 smart charging (block K) end to end: the bridge as a real process, simulated EVSE
managers and an EVerest peer on a real mosquitto, the real `ocpp` CSMS. Named after OCA 2.0.1
test cases (ids only) where the test covers the case.
"""

from support.station import CP_ID

V = "2.0.1"
PAST = "2020-01-01T00:00:00.000Z"  # Absolute schedules started long ago are in force now


def wait_available(st, evses: int) -> None:
    for n in range(1, evses + 1):
        st.csms.wait_for(lambda e, n=n: e["action"] == "StatusNotification" and e["payload"]["evseId"] == n
                         and e["payload"]["connectorStatus"] == "Available", timeout=10)


def booted(charging_station, evses: int = 1):
    st = charging_station(evses=evses, version=V)
    wait_available(st, evses)
    return st


def profile(pid: int, purpose: str = "TxDefaultProfile", stack: int = 0, limit: float = 16.0,
            kind: str = "Relative") -> dict:
    schedule: dict = {"id": 1, "chargingRateUnit": "A", "chargingSchedulePeriod": [{"startPeriod": 0, "limit": limit}]}
    if kind != "Relative":
        schedule["startSchedule"] = PAST
    return {"id": pid, "stackLevel": stack, "chargingProfilePurpose": purpose, "chargingProfileKind": kind,
            "chargingSchedule": [schedule]}


def set_profile(st, evse: int, wire: dict) -> dict:
    return st.csms.call(CP_ID, "SetChargingProfile", {"evseId": evse, "chargingProfile": wire})


def limits(st, evse: int = 1, duration: int = 600) -> list[float]:
    answer = st.csms.call(CP_ID, "GetCompositeSchedule", {"evseId": evse, "duration": duration,
                                                          "chargingRateUnit": "A"})
    assert answer["status"] == "Accepted"
    return [p["limit"] for p in answer["schedule"]["chargingSchedulePeriod"]]


def test_tc_k_04_replace_a_profile_with_its_id(charging_station):
    st = booted(charging_station)
    assert set_profile(st, 1, profile(11, limit=10))["status"] == "Accepted"
    assert limits(st) == [10]
    assert set_profile(st, 1, profile(11, limit=6))["status"] == "Accepted"
    assert limits(st) == [6]


def test_tc_k_33_get_charging_profiles_by_evse_and_stack_level(charging_station):
    st = booted(charging_station, evses=2)
    for pid, evse, stack in ((1, 1, 0), (2, 1, 1), (3, 2, 1)):
        assert set_profile(st, evse, profile(pid, stack=stack))["status"] == "Accepted"
    mark = st.csms.mark()
    answer = st.csms.call(CP_ID, "GetChargingProfiles", {"requestId": 42, "evseId": 1,
                                                         "chargingProfile": {"stackLevel": 1}})
    assert answer["status"] == "Accepted"
    report = st.csms.wait_for(lambda e: e["action"] == "ReportChargingProfiles", timeout=10, after_index=mark)
    payload = report["payload"]
    assert (payload["requestId"], payload["evseId"], payload["chargingLimitSource"]) == (42, 1, "CSO")
    assert [p["id"] for p in payload["chargingProfile"]] == [2]
    assert not payload.get("tbc", False)


def test_tc_k_41_composite_schedule_capped_by_the_station_maximum(charging_station):
    st = booted(charging_station)
    assert set_profile(st, 0, profile(1, limit=20))["status"] == "Accepted"  # TxDefault for every EVSE
    assert limits(st) == [20]
    assert set_profile(st, 0, profile(2, "ChargingStationMaxProfile", limit=12, kind="Absolute"))["status"] \
        == "Accepted"
    assert limits(st) == [12]
    assert set_profile(st, 1, profile(3, limit=8))["status"] == "Accepted"  # the EVSE's own TxDefault wins
    assert limits(st) == [8]


def test_clear_charging_profile_by_id_and_by_criteria(charging_station):
    st = booted(charging_station)
    assert set_profile(st, 1, profile(1, limit=10))["status"] == "Accepted"
    assert set_profile(st, 1, profile(2, stack=1, limit=7))["status"] == "Accepted"
    assert limits(st) == [7]
    assert st.csms.call(CP_ID, "ClearChargingProfile", {"chargingProfileId": 2}) == {"status": "Accepted"}
    assert limits(st) == [10]
    criteria = {"chargingProfileCriteria": {"evseId": 1, "chargingProfilePurpose": "TxDefaultProfile"}}
    assert st.csms.call(CP_ID, "ClearChargingProfile", criteria) == {"status": "Accepted"}
    assert st.csms.call(CP_ID, "ClearChargingProfile", criteria) == {"status": "Unknown"}
    nothing = st.csms.call(CP_ID, "GetChargingProfiles", {"requestId": 1, "chargingProfile": {}})
    assert nothing["status"] == "NoProfiles"


def test_tc_k_37_remote_start_with_a_charging_profile(charging_station):
    """K05 / F01.FR.08-11: the RequestStartTransaction's TxProfile (no transactionId) becomes the
    started transaction's profile, with its transactionId, and ends with it."""
    st = booted(charging_station)
    refused = st.csms.call(CP_ID, "RequestStartTransaction", {
        "idToken": {"idToken": "REMOTE", "type": "Central"}, "remoteStartId": 6, "evseId": 1,
        "chargingProfile": profile(5, "TxDefaultProfile", limit=9)})
    assert (refused["status"], refused["statusInfo"]["reasonCode"]) == ("Rejected", "InvalidProfile")
    ev = st.evse(1)
    mark = st.csms.mark()
    ev.plug_in()
    reply = st.csms.call(CP_ID, "RequestStartTransaction", {
        "idToken": {"idToken": "REMOTE", "type": "Central"}, "remoteStartId": 7, "evseId": 1,
        "chargingProfile": profile(5, "TxProfile", limit=9)})
    assert reply == {"status": "Accepted"}
    ev.start_transaction({"id_token": {"value": "REMOTE", "type": "Central"}, "authorization_type": "OCPP"})
    ev.start_charging()
    started = st.csms.wait_for(lambda e: e["action"] == "TransactionEvent" and e["payload"]["eventType"] == "Started",
                               timeout=10, after_index=mark)["payload"]
    assert started["transactionInfo"]["remoteStartId"] == 7
    assert limits(st) == [9]
    report_mark = st.csms.mark()
    assert st.csms.call(CP_ID, "GetChargingProfiles", {"requestId": 3, "chargingProfile": {
        "chargingProfilePurpose": "TxProfile"}})["status"] == "Accepted"
    report = st.csms.wait_for(lambda e: e["action"] == "ReportChargingProfiles", timeout=10,
                              after_index=report_mark)["payload"]
    assert [(p["id"], p["transactionId"]) for p in report["chargingProfile"]] == \
        [(5, started["transactionInfo"]["transactionId"])]
    ev.stop_transaction("EVDisconnected")
    st.csms.wait_for(lambda e: e["action"] == "TransactionEvent" and e["payload"]["eventType"] == "Ended",
                     timeout=10, after_index=mark)
    assert st.csms.call(CP_ID, "GetChargingProfiles", {"requestId": 4, "chargingProfile": {
        "chargingProfilePurpose": "TxProfile"}})["status"] == "NoProfiles"
