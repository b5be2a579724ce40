"""``charging_schedules`` through the real bridge process on a real mosquitto, both OCPP
versions: published when OCPP starts, one composite per EVSE and one for the whole station
(EVSE 0), with the default limits while no profile is installed, and published again every
PublishChargingScheduleIntervalS; published at once when the CSMS sets a profile, and when the
CSMS goes away if IgnoredProfilePurposesOffline names its purpose (K06); and the
``evse_energy_sink`` connections told each its EVSE's limits (``set_external_limits``). The EVerest peer (module id
``probe``) watches the variable, and answers the sinks' command, before the bridge starts OCPP,
so it sees the first ones."""

from pathlib import Path

import pytest

from ocpp_bridge.everest.definitions import Definitions
from support.station import CP_ID, MODULE, start_charging_station

ROOT = Path(__file__).resolve().parents[2]
PAST_START = 3  # the one at start, then two by the interval


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
def test_published_at_start_and_every_interval_for_each_evse_and_the_station(
        csms, peer, bridge, simulators, version):
    def watching_peer(**kwargs):
        p = peer(**kwargs)
        p.watch_var(MODULE, "ocpp_generic", "charging_schedules")
        return p

    st = start_charging_station(csms, watching_peer, bridge, simulators, evses=2, version=version,
                                config={"PublishChargingScheduleIntervalS": 1,
                                        "PublishChargingScheduleDurationS": 120})
    first = st.var("ocpp_generic", "charging_schedules", timeout=20)
    schedules = first["schedules"]
    assert [s["evse"] for s in schedules] == [0, 1, 2]
    assert {s["charging_rate_unit"] for s in schedules} == {"A"}      # RequestCompositeScheduleUnit's default
    assert {s["duration"] for s in schedules} == {120}
    assert [s["charging_schedule_period"] for s in schedules] == [
        [{"start_period": 0, "limit": 96, "number_phases": 3}],           # the station: both EVSEs' sum
        [{"start_period": 0, "limit": 48, "number_phases": 3}],
        [{"start_period": 0, "limit": 48, "number_phases": 3}]]
    st.var("ocpp_generic", "charging_schedules", timeout=20, after=PAST_START - 1)
    values = st.values("ocpp_generic", "charging_schedules")
    starts = [v["schedules"][0]["start_schedule"] for v in values]
    assert starts == sorted(starts) and len(set(starts)) == len(starts)  # each one a new window
    assert all([s["evse"] for s in v["schedules"]] == [0, 1, 2] for v in values)


def test_each_energy_sink_is_told_the_limits_of_its_evse(csms, peer, bridge, simulators):
    """Two ``evse_energy_sink`` connections to the peer: one its run-config entry maps to EVSE 2,
    one unmapped (the station). Each gets ``set_external_limits`` with that composite, at start
    and again with every interval's publication, as a valid ``ExternalLimits``."""
    definitions = Definitions.load(ROOT)

    def sink_peer(**kwargs):
        p = peer(**kwargs)
        for impl in ("grid_limits", "evse2_limits"):
            p.implement(impl, "set_external_limits", lambda args: None)
        return p

    st = start_charging_station(
        csms, sink_peer, bridge, simulators, evses=2, version="1.6",
        config={"PublishChargingScheduleIntervalS": 1},
        bridge_kwargs={"connections": {"evse_energy_sink": [("probe", "grid_limits"), ("probe", "evse2_limits")]},
                       "mappings": {"probe": {"implementations": {"evse2_limits": {"evse": 2}}}}})
    for impl, limit in (("grid_limits", 96), ("evse2_limits", 48)):
        first = st.peer.wait_call(impl, "set_external_limits", timeout=20)
        definitions.check_arguments("external_energy_limits", "set_external_limits", first["args"])
        entries = first["args"]["value"]["schedule_import"]
        assert [e["limits_to_root"]["ac_max_current_A"]["value"] for e in entries] == [limit]
        again = st.peer.wait_call(impl, "set_external_limits", timeout=20, after=1)
        assert again["args"]["value"]["schedule_import"][0]["timestamp"] > entries[0]["timestamp"]


def evse1_limits(value) -> list[float]:
    return [p["limit"] for p in value["schedules"][1]["charging_schedule_period"]]


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
def test_a_profile_is_published_at_once_and_offline_the_ignored_purposes_leave(csms, peer, bridge, simulators,
                                                                                 version):
    def sink_peer(**kwargs):
        p = peer(**kwargs)
        p.watch_var(MODULE, "ocpp_generic", "charging_schedules")
        p.implement("evse1_limits", "set_external_limits", lambda args: None)
        return p

    st = start_charging_station(
        csms, sink_peer, bridge, simulators, evses=1, version=version,
        config={"PublishChargingScheduleIntervalS": 0},  # only when the profiles change
        bridge_kwargs={"connections": {"evse_energy_sink": [("probe", "evse1_limits")]},
                       "mappings": {"probe": {"implementations": {"evse1_limits": {"evse": 1}}}}})
    st.var("ocpp_generic", "charging_schedules", lambda v: evse1_limits(v) == [48], timeout=20)
    period = [{"startPeriod": 0, "limit": 10}]
    common = {"stackLevel": 0, "chargingProfilePurpose": "TxDefaultProfile", "chargingProfileKind": "Relative"}
    if version == "1.6":
        assert st.csms.call(CP_ID, "ChangeConfiguration", {"key": "IgnoredProfilePurposesOffline",
                                                           "value": "TxDefaultProfile"})["status"] == "Accepted"
        answer = st.csms.call(CP_ID, "SetChargingProfile", {"connectorId": 1, "csChargingProfiles": {
            "chargingProfileId": 1, **common, "chargingSchedule": {"chargingRateUnit": "A",
                                                                   "chargingSchedulePeriod": period}}})
    else:
        result = st.csms.call(CP_ID, "SetVariables", {"setVariableData": [{
            "component": {"name": "SmartChargingCtrlr"}, "variable": {"name": "IgnoredProfilePurposesOffline"},
            "attributeValue": "TxDefaultProfile"}]})
        assert result["setVariableResult"][0]["attributeStatus"] == "Accepted"
        answer = st.csms.call(CP_ID, "SetChargingProfile", {"evseId": 1, "chargingProfile": {
            "id": 1, **common, "chargingSchedule": [{"id": 1, "chargingRateUnit": "A",
                                                     "chargingSchedulePeriod": period}]}})
    assert answer["status"] == "Accepted"
    st.var("ocpp_generic", "charging_schedules", lambda v: evse1_limits(v) == [10], timeout=10)
    st.peer.wait_call("evse1_limits", "set_external_limits", timeout=10,  # raises when it never comes
                      predicate=lambda args: args["value"]["schedule_import"][0]["limits_to_root"][
                          "ac_max_current_A"]["value"] == 10)
    st.csms.stop()  # offline: the TxDefaultProfile no longer applies
    st.var("ocpp_generic", "charging_schedules", lambda v: evse1_limits(v) == [48],
           after=len(st.values("ocpp_generic", "charging_schedules")), timeout=20)
