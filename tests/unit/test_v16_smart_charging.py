"""OCPP 1.6 Smart Charging: SetChargingProfile's acceptance and refusal rules, replacement
(§3.13.2), ClearChargingProfile's criteria, GetCompositeSchedule read back, the §9.4 keys,
profiles surviving a restart, TxProfiles ending with their transaction, and
RemoteStartTransaction's profile (§5.16). Pure charge point, scripted CSMS, fake EVSE port,
fake clock."""

from ocpp_bridge.ocpp.timefmt import iso
from ocpp_bridge.ocpp.v16.smart_charging import composite_answer
from support.cp16 import T0, Rig


def profile(pid=1, purpose="TxDefaultProfile", stack=0, limits=(16.0,), unit="A", tid=None, kind="Absolute",
            start="2026-01-01T00:00:00Z"):
    schedule = {"chargingRateUnit": unit,
                "chargingSchedulePeriod": [{"startPeriod": 600 * n, "limit": lim} for n, lim in enumerate(limits)]}
    if start is not None:
        schedule["startSchedule"] = start
    wire = {"chargingProfileId": pid, "stackLevel": stack, "chargingProfilePurpose": purpose,
            "chargingProfileKind": kind, "chargingSchedule": schedule}
    if tid is not None:
        wire["transactionId"] = tid
    return wire


def set_profile(rig, connector, wire):
    return rig.request("SetChargingProfile", {"connectorId": connector, "csChargingProfiles": wire})["status"]


def installed(rig):
    """(id, connector) of every installed profile, in installation order."""
    return [(i.id, i.evse) for i in rig.cp.blocks.smart_charging.profiles.installed()]


def composite(rig, connector=1, duration=3600, unit="A"):
    payload = {"connectorId": connector, "duration": duration}
    if unit is not None:
        payload["chargingRateUnit"] = unit
    return rig.request("GetCompositeSchedule", payload)


def limits(answer):
    return [(p["startPeriod"], p["limit"]) for p in answer["chargingSchedule"]["chargingSchedulePeriod"]]


def charging(rig, evse=1):
    """A transaction runs on ``evse``: its CSMS transactionId."""
    rig.start_tx(evse, rig.plug_in(evse))
    tid = rig.cp.blocks.transactions.active(evse).transaction_id
    assert tid is not None
    return tid


# ------------------------------------------------------------------ SetChargingProfile

def test_tc_056_tx_default_profile_on_a_connector_and_on_connector_0(tmp_path):
    rig = Rig(tmp_path).boot()
    assert set_profile(rig, 1, profile(1)) == "Accepted"
    assert set_profile(rig, 0, profile(2, stack=1)) == "Accepted"
    assert installed(rig) == [(1, 1), (2, 0)]


def test_charge_point_max_profile_only_on_connector_0(tmp_path):
    rig = Rig(tmp_path).boot()
    assert set_profile(rig, 1, profile(1, "ChargePointMaxProfile")) == "Rejected"
    assert installed(rig) == []
    assert set_profile(rig, 0, profile(1, "ChargePointMaxProfile")) == "Accepted"
    assert installed(rig) == [(1, 0)]


def test_a_connector_beyond_the_count_is_rejected(tmp_path):
    rig = Rig(tmp_path, evse_count=2).boot()
    assert set_profile(rig, 3, profile(1)) == "Rejected"
    assert set_profile(rig, 2, profile(1)) == "Accepted"
    assert installed(rig) == [(1, 2)]


def test_tc_057_tx_profile_needs_a_running_transaction_on_its_connector(tmp_path):
    rig = Rig(tmp_path).boot()
    assert set_profile(rig, 1, profile(1, "TxProfile")) == "Rejected"  # nothing runs
    tid = charging(rig, 1)
    assert set_profile(rig, 0, profile(1, "TxProfile")) == "Rejected"  # never on connector 0
    assert set_profile(rig, 2, profile(1, "TxProfile")) == "Rejected"  # runs on 1, not 2
    assert set_profile(rig, 1, profile(1, "TxProfile", tid=tid + 1)) == "Rejected"  # another transaction
    assert installed(rig) == []
    assert set_profile(rig, 1, profile(1, "TxProfile", stack=1, tid=tid)) == "Accepted"
    assert set_profile(rig, 1, profile(2, "TxProfile", stack=2)) == "Accepted"  # without transactionId
    assert installed(rig) == [(1, 1), (2, 1)]


def test_tx_profile_ends_with_its_transaction(tmp_path):
    rig = Rig(tmp_path).boot()
    session = rig.plug_in(1)
    rig.start_tx(1, session)
    set_profile(rig, 1, profile(1, "TxProfile"))
    set_profile(rig, 1, profile(2, "TxDefaultProfile"))
    assert installed(rig) == [(1, 1), (2, 1)]
    rig.stop_tx(1, session)
    assert installed(rig) == [(2, 1)]


def test_stack_level_above_the_maximum_is_rejected(tmp_path):
    rig = Rig(tmp_path, overrides={"ChargeProfileMaxStackLevel": 3}).boot()
    assert set_profile(rig, 1, profile(1, stack=4)) == "Rejected"
    assert set_profile(rig, 1, profile(1, stack=3)) == "Accepted"


def test_only_the_allowed_rate_units(tmp_path):
    rig = Rig(tmp_path, overrides={"ChargingScheduleAllowedChargingRateUnit": "Current"}).boot()
    assert set_profile(rig, 1, profile(1, unit="W", limits=(11000.0,))) == "Rejected"
    assert set_profile(rig, 1, profile(1, unit="A")) == "Accepted"


def test_more_periods_than_allowed_are_rejected(tmp_path):
    rig = Rig(tmp_path, overrides={"ChargingScheduleMaxPeriods": 2}).boot()
    assert set_profile(rig, 1, profile(1, limits=(16.0, 10.0, 6.0))) == "Rejected"
    assert set_profile(rig, 1, profile(1, limits=(16.0, 10.0))) == "Accepted"


def test_max_profiles_installed_counts_replacements_as_not_adding(tmp_path):
    rig = Rig(tmp_path, overrides={"MaxChargingProfilesInstalled": 2}).boot()
    assert set_profile(rig, 1, profile(1, stack=0)) == "Accepted"
    assert set_profile(rig, 1, profile(2, stack=1)) == "Accepted"
    assert set_profile(rig, 1, profile(3, stack=2)) == "Rejected"  # a third
    assert set_profile(rig, 1, profile(2, stack=3, limits=(8.0,))) == "Accepted"  # same id
    assert set_profile(rig, 1, profile(4, stack=0, limits=(9.0,))) == "Accepted"  # same stack level + purpose
    assert installed(rig) == [(2, 1), (4, 1)]


def test_replacement_by_id_and_by_stack_level_and_purpose_on_the_same_connector(tmp_path):
    rig = Rig(tmp_path).boot()
    set_profile(rig, 1, profile(1, stack=0))
    set_profile(rig, 2, profile(2, stack=0))           # same level + purpose, another connector: added
    set_profile(rig, 0, profile(3, "ChargePointMaxProfile", stack=0))  # another purpose: added
    assert installed(rig) == [(1, 1), (2, 2), (3, 0)]
    set_profile(rig, 1, profile(5, stack=0))           # replaces 1
    assert installed(rig) == [(2, 2), (3, 0), (5, 1)]
    set_profile(rig, 1, profile(2, stack=4))           # id 2 moves to connector 1
    assert installed(rig) == [(3, 0), (5, 1), (2, 1)]


def test_profile_keys_are_reported_read_only(tmp_path):
    rig = Rig(tmp_path).boot()
    names = ["ChargeProfileMaxStackLevel", "ChargingScheduleAllowedChargingRateUnit", "ChargingScheduleMaxPeriods",
             "MaxChargingProfilesInstalled", "SupportedFeatureProfiles"]
    answer = rig.request("GetConfiguration", {"key": names})
    got = {k["key"]: (k["readonly"], k["value"]) for k in answer["configurationKey"]}
    assert got["ChargingScheduleAllowedChargingRateUnit"] == (True, "Current,Power")
    assert all(got[n][0] for n in names)
    assert "SmartCharging" in got["SupportedFeatureProfiles"][1].split(",")
    assert rig.request("ChangeConfiguration", {"key": "ChargeProfileMaxStackLevel", "value": "99"}) == {
        "status": "Rejected"}


# ------------------------------------------------------------------ ClearChargingProfile

def three(rig):
    set_profile(rig, 1, profile(1, stack=0))
    set_profile(rig, 1, profile(2, stack=1))
    set_profile(rig, 2, profile(3, stack=1))
    set_profile(rig, 0, profile(4, "ChargePointMaxProfile", stack=1))


def clear(rig, **criteria):
    return rig.request("ClearChargingProfile", criteria)["status"]


def test_tc_067_clear_by_id_ignores_the_other_fields(tmp_path):
    rig = Rig(tmp_path).boot()
    three(rig)
    assert clear(rig, id=2, connectorId=2, stackLevel=0) == "Accepted"
    assert installed(rig) == [(1, 1), (3, 2), (4, 0)]
    assert clear(rig, id=2) == "Unknown"


def test_clear_by_connector_purpose_and_stack_level(tmp_path):
    rig = Rig(tmp_path).boot()
    three(rig)
    assert clear(rig, connectorId=1, stackLevel=1) == "Accepted"
    assert installed(rig) == [(1, 1), (3, 2), (4, 0)]
    assert clear(rig, chargingProfilePurpose="TxDefaultProfile", stackLevel=1) == "Accepted"
    assert installed(rig) == [(1, 1), (4, 0)]
    assert clear(rig, connectorId=0, chargingProfilePurpose="TxDefaultProfile") == "Unknown"
    assert clear(rig, connectorId=0) == "Accepted"
    assert installed(rig) == [(1, 1)]


def test_clear_without_criteria_clears_all(tmp_path):
    rig = Rig(tmp_path).boot()
    assert clear(rig) == "Unknown"
    three(rig)
    assert clear(rig) == "Accepted"
    assert installed(rig) == []


# ------------------------------------------------------------------ GetCompositeSchedule

def test_tc_066_composite_schedule_read_back(tmp_path):
    rig = Rig(tmp_path).boot()
    set_profile(rig, 1, profile(1, limits=(16.0, 10.0)))
    set_profile(rig, 0, profile(2, "ChargePointMaxProfile", limits=(12.0,)))
    answer = composite(rig, 1, 3600)
    assert answer["status"] == "Accepted" and answer["connectorId"] == 1
    assert answer["scheduleStart"] == iso(T0) == "2026-01-01T00:00:00.000Z"
    schedule = answer["chargingSchedule"]
    assert (schedule["duration"], schedule["startSchedule"], schedule["chargingRateUnit"]) == (
        3600, iso(T0), "A")
    assert limits(answer) == [(0, 12.0), (600, 10.0)]  # capped by the station maximum
    clear(rig, id=2)
    assert limits(composite(rig, 1, 3600)) == [(0, 16.0), (600, 10.0)]
    set_profile(rig, 1, profile(3, stack=1, unit="W", limits=(10000.0,)))
    assert limits(composite(rig, 1, 600)) == [(0, 14.5)]  # 10000 W / (230 V x 3): one decimal


def test_composite_of_the_station_and_in_watts(tmp_path):
    rig = Rig(tmp_path).boot()
    set_profile(rig, 1, profile(1, limits=(10.0,)))
    set_profile(rig, 2, profile(2, limits=(6.0,)))
    assert limits(composite(rig, 0, 600)) == [(0, 16.0)]
    watts = composite(rig, 1, 600, unit="W")
    assert watts["chargingSchedule"]["chargingRateUnit"] == "W"
    assert limits(watts) == [(0, 10.0 * 230 * 3)]


def test_composite_without_unit_uses_the_first_allowed_unit(tmp_path):
    rig = Rig(tmp_path, overrides={"ChargingScheduleAllowedChargingRateUnit": "Power,Current"}).boot()
    assert composite(rig, 1, 600, unit=None)["chargingSchedule"]["chargingRateUnit"] == "W"
    rig2 = Rig(tmp_path / "other").boot()
    assert composite(rig2, 1, 600, unit=None)["chargingSchedule"]["chargingRateUnit"] == "A"


def test_composite_for_an_unknown_connector_is_rejected(tmp_path):
    rig = Rig(tmp_path, evse_count=2).boot()
    assert composite(rig, 3) == {"status": "Rejected"}


# ------------------------------------------------------------------ persistence

def test_profiles_survive_a_restart(tmp_path):
    rig = Rig(tmp_path).boot()
    set_profile(rig, 1, profile(1, limits=(14.0,)))
    set_profile(rig, 0, profile(2, "ChargePointMaxProfile", stack=3))
    rig.restart()
    rig.boot()
    assert installed(rig) == [(1, 1), (2, 0)]
    assert limits(composite(rig, 1, 600)) == [(0, 14.0)]
    assert clear(rig, id=1) == "Accepted"
    rig.restart()
    assert installed(rig) == [(2, 0)]


# ------------------------------------------------------------------ RemoteStartTransaction's profile

def test_remote_start_profile_becomes_the_started_transactions_tx_profile(tmp_path):
    rig = Rig(tmp_path).boot()
    wire = profile(7, "TxProfile", limits=(8.0,))
    assert rig.request("RemoteStartTransaction", {"idTag": "R", "connectorId": 1, "chargingProfile": wire}) == {
        "status": "Accepted"}
    assert installed(rig) == []  # no transaction yet
    session = rig.plug_in(1)
    rig.start_tx(1, session, id_tag="R")
    assert installed(rig) == [(7, 1)]
    assert limits(composite(rig, 1, 600)) == [(0, 8.0)]
    rig.stop_tx(1, session)
    assert installed(rig) == []


def test_remote_start_profile_without_connector_goes_where_the_transaction_starts(tmp_path):
    rig = Rig(tmp_path).boot()
    rig.request("RemoteStartTransaction", {"idTag": "R", "chargingProfile": profile(7, "TxProfile")})
    rig.start_tx(2, rig.plug_in(2), id_tag="R")
    assert installed(rig) == [(7, 2)]
    rig.start_tx(1, rig.plug_in(1))  # used once
    assert installed(rig) == [(7, 2)]


# ------------------------------------------------------------------ what the composite assumes

def test_default_limit_supply_voltage_and_phases_come_from_their_keys(tmp_path):
    rig = Rig(tmp_path, overrides={"CompositeScheduleDefaultLimitAmps": 32, "CompositeScheduleDefaultLimitWatts": 7000,
                                   "SupplyVoltage": 240, "CompositeScheduleDefaultNumberPhases": 1}).boot()
    assert limits(composite(rig, unit="A")) == [(0, 32)]
    assert limits(composite(rig, unit="W")) == [(0, 7000)]
    assert set_profile(rig, 1, profile(1, unit="W", limits=(7200.0,))) == "Accepted"
    assert limits(composite(rig, unit="A")) == [(0, 30)]  # 7200 W / (240 V x 1 phase)
    assert composite(rig, unit="A")["chargingSchedule"]["chargingSchedulePeriod"][0]["numberPhases"] == 1


def test_the_keys_refuse_values_out_of_range(tmp_path):
    rig = Rig(tmp_path).boot()
    for key, value in (("CompositeScheduleDefaultNumberPhases", "4"), ("SupplyVoltage", "0"),
                       ("IgnoredProfilePurposesOffline", "ChargingStationMaxProfile")):
        assert rig.request("ChangeConfiguration", {"key": key, "value": value})["status"] == "Rejected", key
    assert rig.request("ChangeConfiguration", {"key": "IgnoredProfilePurposesOffline",
                                               "value": "TxDefaultProfile"})["status"] == "Accepted"


def test_offline_the_purposes_ignored_offline_leave_the_composite(tmp_path):
    """K06 / libocpp: by default profiles keep applying offline; IgnoredProfilePurposesOffline
    names the purposes that do not, and they apply again once the CSMS is back."""
    rig = Rig(tmp_path).boot()
    assert set_profile(rig, 1, profile(1, limits=(10.0,))) == "Accepted"
    rig.disconnect()
    assert limits(composite_now(rig)) == [(0, 10)]
    rig.reconnect()
    rig.request("ChangeConfiguration", {"key": "IgnoredProfilePurposesOffline", "value": "TxDefaultProfile"})
    rig.disconnect()
    assert limits(composite_now(rig)) == [(0, 48)]
    rig.reconnect()
    assert limits(composite_now(rig)) == [(0, 10)]


def composite_now(rig, connector=1):
    """The composite the block would answer, computed without a CSMS request (offline too)."""
    schedule = rig.cp.blocks.smart_charging.profiles.schedule(connector, rig.cp.core.now, 3600, "A")
    return composite_answer(schedule, iso(rig.cp.core.now))
