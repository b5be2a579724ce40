"""``charging_schedules`` through the real bridge process on a real mosquitto, both OCPP
versions: published when OCPP starts, one composite per EVSE and one for the whole station
(EVSE 0), with the default limits (no profile is installed: no CSMS message installs one yet),
and published again every PublishChargingScheduleIntervalS. The EVerest peer (module id
``probe``) watches the variable before the bridge starts OCPP, so it sees the first one."""

import pytest

from support.station import MODULE, start_charging_station

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
