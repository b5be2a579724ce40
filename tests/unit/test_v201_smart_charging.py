"""OCPP 2.0.1 smart charging (block K) on the pure core: SetChargingProfile's acceptance and
refusal rules, ClearChargingProfile by id and by criteria, GetCompositeSchedule read back,
GetChargingProfiles with its reports, SmartChargingCtrlr variables, a Relative TxProfile
anchored at its transaction's start, and profiles surviving a restart. Fake EVSE port and clock.
"""

import pytest
from v201_harness import T0, Sim, charging, full_session_start, plug, tx_finished, tx_started, unplug

from ocpp_bridge.ocpp.timefmt import iso
from ocpp_bridge.ocpp.v201.device_model import VariableKey

SMART = "SmartChargingCtrlr"


def profile(pid=1, purpose="TxDefaultProfile", stack=0, kind="Absolute", limit=16.0, unit="A", periods=None,
            start=T0, **extra):
    schedule = {"id": 1, "chargingRateUnit": unit,
                "chargingSchedulePeriod": periods or [{"startPeriod": 0, "limit": limit}]}
    if start is not None:
        schedule["startSchedule"] = iso(start)
    return {"id": pid, "stackLevel": stack, "chargingProfilePurpose": purpose, "chargingProfileKind": kind,
            "chargingSchedule": [schedule], **extra}


def set_profile(sim, evse=1, **kw):
    return sim.request("SetChargingProfile", {"evseId": evse, "chargingProfile": profile(**kw)})


def status(answer):
    return answer["status"], answer.get("statusInfo", {}).get("reasonCode")


def composite(sim, evse=1, duration=3600, unit="A"):
    return sim.request("GetCompositeSchedule", {"evseId": evse, "duration": duration, "chargingRateUnit": unit})


def entries(sim):
    return sim.cp.model.int_value(SMART, "Entries", variable_instance="ChargingProfiles")


@pytest.fixture
def sim(tmp_path):
    return Sim(tmp_path)


# ---------------------------------------------------------------------------- K01 accepted
def test_tx_default_profile_is_accepted_and_counted(sim):
    assert status(set_profile(sim)) == ("Accepted", None)
    assert [i.id for i in sim.cp.blocks.smart_charging.profiles.installed()] == [1]
    assert entries(sim) == 1


def test_same_id_replaces_the_installed_profile(sim):
    set_profile(sim, pid=7, limit=10)
    assert status(set_profile(sim, pid=7, limit=12, stack=3)) == ("Accepted", None)
    installed = sim.cp.blocks.smart_charging.profiles.installed()
    assert [(i.id, i.profile.stack_level) for i in installed] == [(7, 3)]
    assert entries(sim) == 1


def test_tx_profile_for_the_running_transaction_is_accepted(sim):
    full_session_start(sim, 1, "s1")
    assert status(set_profile(sim, purpose="TxProfile", transactionId="s1")) == ("Accepted", None)


# ---------------------------------------------------------------------------- K01 refused
@pytest.mark.parametrize("evse, kw, reason", [
    (3, {}, "UnknownEvse"),
    (0, {"purpose": "ChargingStationExternalConstraints"}, "InvalidValue"),
    (1, {"purpose": "ChargingStationMaxProfile"}, "InvalidValue"),
    (0, {"purpose": "ChargingStationMaxProfile", "kind": "Relative", "start": None}, "InvalidValue"),
    (0, {"purpose": "TxProfile", "transactionId": "s1"}, "InvalidValue"),
    (1, {"purpose": "TxProfile"}, "InvalidValue"),
    (1, {"purpose": "TxProfile", "transactionId": "nope"}, "TxNotFound"),
    (1, {"stack": 9}, "InvalidStackLevel"),
    (1, {"start": None}, "InvalidSchedule"),
    (1, {"kind": "Relative"}, "InvalidSchedule"),
    (1, {"kind": "Recurring"}, "InvalidSchedule"),
    (1, {"periods": [{"startPeriod": 10, "limit": 6}]}, "InvalidSchedule"),
    (1, {"periods": [{"startPeriod": 0, "limit": 6}, {"startPeriod": 0, "limit": 8}]}, "InvalidSchedule"),
    (1, {"periods": [{"startPeriod": 0, "limit": 6, "numberPhases": 3, "phaseToUse": 1}]}, "InvalidSchedule"),
    (1, {"periods": [{"startPeriod": 60 * n, "limit": 6} for n in range(25)]}, "TooManyElements"),
], ids=["unknown-evse", "external-constraints", "max-not-on-0", "max-relative", "tx-on-0", "tx-no-id",
        "tx-not-running", "stack-level", "absolute-no-start", "relative-with-start", "recurring-no-kind",
        "first-period-not-0", "periods-not-increasing", "phase-to-use", "too-many-periods"])
def test_refused_profiles(sim, evse, kw, reason):
    full_session_start(sim, 1, "s1")
    assert status(set_profile(sim, evse=evse, **kw)) == ("Rejected", reason)
    assert sim.cp.blocks.smart_charging.profiles.installed() == []
    assert entries(sim) == 0


def test_rate_unit_not_in_rate_unit_variable_is_refused(tmp_path):
    sim = Sim(tmp_path, overrides={SMART: {"RateUnit": "A"}})
    assert status(set_profile(sim, unit="W", limit=11000)) == ("Rejected", "UnsupportedRateUnit")
    assert status(set_profile(sim, unit="A")) == ("Accepted", None)


def test_disabled_smart_charging_refuses_every_profile(sim):
    sim.set(SMART, "Enabled", "false")
    assert status(set_profile(sim)) == ("Rejected", "NotEnabled")


def test_unavailable_smart_charging_answers_not_supported(tmp_path):
    sim = Sim(tmp_path, overrides={SMART: {"Available": "false"}})
    reply = set_profile(sim)
    assert reply[0] == 4 and reply[2] == "NotSupported"


def test_same_stack_level_and_purpose_with_overlapping_validity_is_refused(sim):
    set_profile(sim, pid=1, stack=2, validTo=iso(T0 + 3600))
    assert status(set_profile(sim, pid=2, stack=2)) == ("Rejected", "DuplicateProfile")
    # another EVSE, another stack level, or validity after the first one's: no clash
    assert status(set_profile(sim, evse=2, pid=3, stack=2)) == ("Accepted", None)
    assert status(set_profile(sim, pid=4, stack=1)) == ("Accepted", None)
    assert status(set_profile(sim, pid=5, stack=2, validFrom=iso(T0 + 3600))) == ("Accepted", None)


def test_more_profiles_than_entries_allow_are_refused(sim):
    for n in range(20):
        assert status(set_profile(sim, pid=n + 1, stack=n % 9, evse=n // 9)) == ("Accepted", None)
    assert entries(sim) == 20
    assert status(set_profile(sim, pid=99, evse=2, stack=8)) == ("Rejected", "OutOfStorage")
    assert status(set_profile(sim, pid=1, stack=0, evse=0)) == ("Accepted", None)  # a replacement fits


# ---------------------------------------------------------------------------- K10
def test_clear_by_id(sim):
    set_profile(sim, pid=1)
    set_profile(sim, pid=2, evse=2)
    assert sim.request("ClearChargingProfile", {"chargingProfileId": 1})["status"] == "Accepted"
    assert [i.id for i in sim.cp.blocks.smart_charging.profiles.installed()] == [2]
    assert sim.request("ClearChargingProfile", {"chargingProfileId": 1})["status"] == "Unknown"
    assert entries(sim) == 1


def test_clear_by_criteria(sim):
    set_profile(sim, pid=1, evse=1, stack=1)
    set_profile(sim, pid=2, evse=1, stack=2)
    set_profile(sim, pid=3, evse=2, stack=1)
    set_profile(sim, pid=4, evse=0, purpose="ChargingStationMaxProfile", stack=1)
    criteria = {"evseId": 1, "chargingProfilePurpose": "TxDefaultProfile", "stackLevel": 1}
    assert sim.request("ClearChargingProfile", {"chargingProfileCriteria": criteria})["status"] == "Accepted"
    assert [i.id for i in sim.cp.blocks.smart_charging.profiles.installed()] == [2, 3, 4]
    assert sim.request("ClearChargingProfile", {"chargingProfileCriteria": criteria})["status"] == "Unknown"
    cleared = sim.request("ClearChargingProfile", {"chargingProfileCriteria": {"stackLevel": 1}})
    assert cleared["status"] == "Accepted"
    assert [i.id for i in sim.cp.blocks.smart_charging.profiles.installed()] == [2]


# ---------------------------------------------------------------------------- K08
def test_composite_schedule_reads_back_the_installed_profile(sim):
    set_profile(sim, periods=[{"startPeriod": 0, "limit": 10}, {"startPeriod": 600, "limit": 6}])
    answer = composite(sim, duration=1200)
    assert answer["status"] == "Accepted"
    schedule = answer["schedule"]
    assert (schedule["evseId"], schedule["duration"], schedule["chargingRateUnit"]) == (1, 1200, "A")
    assert schedule["scheduleStart"] == iso(T0)
    assert [(p["startPeriod"], p["limit"]) for p in schedule["chargingSchedulePeriod"]] == [(0, 10), (600, 6)]


def test_composite_schedule_refusals(tmp_path):
    sim = Sim(tmp_path, overrides={SMART: {"RateUnit": "A"}})
    assert status(composite(sim, evse=3)) == ("Rejected", "UnknownEvse")
    assert status(composite(sim, unit="W")) == ("Rejected", "UnsupportedRateUnit")
    assert composite(sim, evse=0)["status"] == "Accepted"


def test_relative_tx_profile_counts_from_the_transaction_start(sim):
    full_session_start(sim, 1, "s1")
    started = T0  # the events' timestamp (TS)
    sim.tick(300)
    periods = [{"startPeriod": 0, "limit": 20}, {"startPeriod": 600, "limit": 8}]
    assert status(set_profile(sim, purpose="TxProfile", transactionId="s1", kind="Relative", start=None,
                              periods=periods)) == ("Accepted", None)
    schedule = composite(sim, duration=1200)["schedule"]
    # the switch to 8 A is 600 s after the start, i.e. 300 s into a window that starts 300 s later
    assert sim.now - started == 300
    assert [(p["startPeriod"], p["limit"]) for p in schedule["chargingSchedulePeriod"]][:2] == [(0, 20), (300, 8)]


def test_relative_tx_profile_keeps_its_origin_after_a_restart(sim):
    full_session_start(sim, 1, "s1")
    sim.restart()
    sim.connect()
    sim.tick(300)
    periods = [{"startPeriod": 0, "limit": 20}, {"startPeriod": 600, "limit": 8}]
    assert status(set_profile(sim, purpose="TxProfile", transactionId="s1", kind="Relative", start=None,
                              periods=periods)) == ("Accepted", None)
    schedule = composite(sim, duration=1200)["schedule"]
    assert [(p["startPeriod"], p["limit"]) for p in schedule["chargingSchedulePeriod"]][:2] == [(0, 20), (300, 8)]


def test_tx_profile_ends_with_its_transaction(sim):
    full_session_start(sim, 1, "s1")
    set_profile(sim, purpose="TxProfile", transactionId="s1")
    sim.ev(tx_finished(1, "s1"), unplug(1, "s1"))
    assert sim.cp.blocks.smart_charging.profiles.installed() == []
    assert entries(sim) == 0


def test_profiles_survive_a_restart(sim):
    set_profile(sim, pid=5, limit=13)
    sim.restart()
    sim.connect()
    assert [i.id for i in sim.cp.blocks.smart_charging.profiles.installed()] == [5]
    assert entries(sim) == 1
    assert composite(sim)["schedule"]["chargingSchedulePeriod"][0]["limit"] == 13


# ---------------------------------------------------------------------------- K09
def test_get_charging_profiles_reports_per_evse(sim):
    assert sim.request("GetChargingProfiles", {"requestId": 4, "chargingProfile": {}})["status"] == "NoProfiles"
    set_profile(sim, pid=1, evse=1)
    set_profile(sim, pid=2, evse=2)
    set_profile(sim, pid=3, evse=2, stack=1)
    answer = sim.request("GetChargingProfiles", {"requestId": 5, "chargingProfile": {}})
    assert answer["status"] == "Accepted"
    reports = sim.payloads("ReportChargingProfiles")
    assert [(r["requestId"], r["evseId"], [p["id"] for p in r["chargingProfile"]], r.get("tbc", False),
             r["chargingLimitSource"]) for r in reports] == [(5, 1, [1], True, "CSO"), (5, 2, [2, 3], False, "CSO")]
    one = sim.request("GetChargingProfiles", {"requestId": 6, "evseId": 2, "chargingProfile": {"stackLevel": 1}})
    assert one["status"] == "Accepted"
    assert [p["id"] for p in sim.payloads("ReportChargingProfiles")[-1]["chargingProfile"]] == [3]
    none = sim.request("GetChargingProfiles", {"requestId": 7, "chargingProfile": {"chargingLimitSource": ["EMS"]}})
    assert none["status"] == "NoProfiles"


# ---------------------------------------------------------------------------- variables
def test_entries_is_read_only_for_the_csms(sim):
    key = VariableKey(SMART, "Entries", variable_instance="ChargingProfiles")
    assert sim.cp.model.set(key, "3", by_csms=True) == "Rejected"


# ---------------------------------------------------------------------------- what the composite assumes
def test_default_limit_supply_voltage_and_phases_come_from_their_variables(tmp_path):
    sim = Sim(tmp_path, overrides={SMART: {"CompositeScheduleDefaultLimitAmps": "32",
                                           "CompositeScheduleDefaultLimitWatts": "7000", "SupplyVoltage": "240",
                                           "CompositeScheduleDefaultNumberPhases": "1"}})
    periods = lambda answer: [(p["startPeriod"], p["limit"], p["numberPhases"])  # noqa: E731
                              for p in answer["schedule"]["chargingSchedulePeriod"]]
    assert periods(composite(sim)) == [(0, 32, 1)]
    assert periods(composite(sim, unit="W")) == [(0, 7000, 1)]
    set_profile(sim, unit="W", limit=7200)
    assert periods(composite(sim)) == [(0, 30, 1)]  # 7200 W / (240 V x 1 phase)


def test_the_composite_variables_refuse_values_out_of_range(sim):
    answer = sim.request("SetVariables", {"setVariableData": [
        {"component": {"name": SMART}, "variable": {"name": name}, "attributeValue": value}
        for name, value in (("CompositeScheduleDefaultNumberPhases", "4"), ("SupplyVoltage", "0"),
                            ("IgnoredProfilePurposesOffline", "ChargingStationExternalConstraints"),
                            ("IgnoredProfilePurposesOffline", "TxDefaultProfile"))]})
    assert [r["attributeStatus"] for r in answer["setVariableResult"]] == ["Rejected", "Rejected", "Rejected",
                                                                          "Accepted"]


def test_offline_the_purposes_ignored_offline_leave_the_composite(sim):
    """K06 / libocpp: by default profiles keep applying offline; IgnoredProfilePurposesOffline
    names the purposes that do not, and they apply again once the CSMS is back."""
    set_profile(sim, limit=10)
    profiles = sim.cp.blocks.smart_charging.profiles
    limit_now = lambda: [p.limit for p in profiles.schedule(1, sim.now, 60, "A").periods]  # noqa: E731
    sim.disconnect()
    assert limit_now() == [10]
    sim.connect()
    sim.cp.model.set_internal(VariableKey(SMART, "IgnoredProfilePurposesOffline"), "TxDefaultProfile")
    sim.disconnect()
    assert limit_now() == [48]
    sim.connect()
    assert limit_now() == [10]


# ---------------------------------------------------------------------------- K05
REMOTE = {"idToken": "REMOTE1", "type": "ISO14443"}


def remote_start(sim, evse=1, rid=5, **profile_kw):
    payload = {"idToken": REMOTE, "remoteStartId": rid, "evseId": evse,
               "chargingProfile": profile(**{"purpose": "TxProfile", "kind": "Relative", "start": None, **profile_kw})}
    return sim.request("RequestStartTransaction", payload)


def installed(sim):
    return [(i.id, i.evse, i.profile.purpose, i.profile.transaction_id)
            for i in sim.cp.blocks.smart_charging.profiles.installed()]


def test_tc_k_37_remote_start_profile_becomes_the_transactions_tx_profile(sim):
    assert remote_start(sim, pid=9, limit=10) == {"status": "Accepted"}
    assert installed(sim) == []  # held until its transaction runs
    sim.ev(plug(1, "s1"), tx_started(1, "s1", "REMOTE1"), charging(1, "s1"))
    assert installed(sim) == [(9, 1, "TxProfile", "s1")]
    assert [p["limit"] for p in composite(sim)["schedule"]["chargingSchedulePeriod"]] == [10]
    sim.ev(tx_finished(1, "s1", token="REMOTE1"), unplug(1, "s1"))
    assert installed(sim) == []


def test_remote_start_profile_on_a_transaction_already_running_is_installed_when_it_is_authorized(tmp_path):
    sim = Sim(tmp_path, overrides={"TxCtrlr": {"TxStartPoint": "EVConnected"}})
    sim.ev(plug(1, "s1"))
    assert remote_start(sim, pid=9) == {"status": "Accepted", "transactionId": "s1"}
    assert installed(sim) == []  # the transaction there is not the request's until it is authorized by it
    sim.ev(tx_started(1, "s1", "REMOTE1"))
    assert installed(sim) == [(9, 1, "TxProfile", "s1")]


def test_remote_start_profile_does_not_go_to_a_transaction_the_request_did_not_start(sim):
    assert remote_start(sim, pid=9) == {"status": "Accepted"}
    full_session_start(sim, 1, "s1", token="LOCAL")  # another token: authorized locally, not by the request
    assert installed(sim) == []


@pytest.mark.parametrize("kw, reason", [
    ({"purpose": "TxDefaultProfile"}, "InvalidProfile"),                  # F01.FR.09
    ({"transactionId": "s1"}, "InvalidProfile"),                          # F01.FR.11
    ({"stack": 9}, "InvalidStackLevel"),                                  # K01's rules apply
    ({"periods": [{"startPeriod": 10, "limit": 6}]}, "InvalidSchedule"),
])
def test_remote_start_with_a_profile_the_station_refuses_is_rejected(sim, kw, reason):
    answer = remote_start(sim, **kw)
    assert (answer["status"], answer["statusInfo"]["reasonCode"]) == ("Rejected", reason)
    assert sim.port.of("provide_token") == []


def test_remote_start_profile_is_ignored_when_smart_charging_is_disabled(tmp_path):
    sim = Sim(tmp_path, overrides={SMART: {"Enabled": False}})
    assert remote_start(sim, pid=9) == {"status": "Accepted"}
    full_session_start(sim, 1, "s1", token="REMOTE1")
    assert installed(sim) == []


# ---------------------------------------------------------------------------- LimitChangeSignificance
def rate_changes(sim):
    return [e for e in sim.payloads("TransactionEvent") if e["triggerReason"] == "ChargingRateChanged"]


def test_a_limit_change_of_a_running_transaction_is_reported(sim):
    set_profile(sim, pid=1, limit=16)
    full_session_start(sim, 1, "s1")
    assert rate_changes(sim) == []  # the limit in force at the start needs no report
    set_profile(sim, pid=2, purpose="TxProfile", transactionId="s1", limit=10)
    reported = rate_changes(sim)
    assert [(e["eventType"], e["transactionInfo"]["transactionId"]) for e in reported] == [("Updated", "s1")]


def test_changes_below_limit_change_significance_are_not_reported_until_they_add_up(tmp_path):
    sim = Sim(tmp_path, overrides={SMART: {"LimitChangeSignificance": "10"}})
    set_profile(sim, pid=1, limit=16)
    full_session_start(sim, 1, "s1")
    set_profile(sim, pid=1, limit=15)     # 6.25 % of 16
    assert rate_changes(sim) == []
    set_profile(sim, pid=1, limit=14.2)   # 11.25 % of 16, the last reported limit
    assert len(rate_changes(sim)) == 1
    set_profile(sim, pid=1, limit=14.0)   # 1.4 % of 14.2
    assert len(rate_changes(sim)) == 1


def test_a_period_boundary_that_changes_the_limit_is_reported_on_time(sim):
    full_session_start(sim, 1, "s1")
    set_profile(sim, purpose="TxProfile", transactionId="s1", kind="Relative", start=None,
                periods=[{"startPeriod": 0, "limit": 16}, {"startPeriod": 600, "limit": 8}])
    assert len(rate_changes(sim)) == 1    # 48 A (no profile) -> 16 A
    sim.tick(599)
    assert len(rate_changes(sim)) == 1
    sim.tick(1)
    assert len(rate_changes(sim)) == 2    # 16 A -> 8 A, 600 s after the transaction started


def test_no_rate_change_is_reported_for_a_transaction_that_ended(sim):
    full_session_start(sim, 1, "s1")
    set_profile(sim, purpose="TxProfile", transactionId="s1", limit=10)
    sim.ev(tx_finished(1, "s1"), unplug(1, "s1"))  # its TxProfile goes: the limit would be 48 A again
    events = sim.payloads("TransactionEvent")
    assert events[-1]["eventType"] == "Ended"
    assert len(rate_changes(sim)) == 1
