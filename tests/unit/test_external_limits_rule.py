"""The simulated EVSE's rule for ``set_external_limits`` (demo/external_limits.py): which entry
is in force, and the lower of the power and the current x voltage x phases caps."""

from ocpp_bridge.demo.external_limits import power_cap_w

T = 1_800_000_000.0  # 2027-01-15T08:00:00Z


def entry(at: str, **root) -> dict:
    return {"timestamp": at, "limits_to_root": {k: {"value": v, "source": "OCPP"} for k, v in root.items()},
            "limits_to_leaves": {}}


def limits(*entries) -> dict:
    return {"schedule_import": list(entries), "schedule_export": [], "schedule_setpoints": []}


def test_no_limits_no_cap():
    assert power_cap_w(None, T) is None
    assert power_cap_w(limits(), T) is None
    assert power_cap_w(limits(entry("2027-01-15T08:00:00Z")), T) is None  # an entry without a limit


def test_the_first_entry_is_in_force_even_before_its_timestamp():
    assert power_cap_w(limits(entry("2027-01-15T09:00:00Z", ac_max_current_A=10)), T) == 10 * 230 * 3


def test_the_last_entry_whose_time_has_come_is_in_force():
    schedule = limits(entry("2027-01-15T07:00:00Z", ac_max_current_A=32),
                      entry("2027-01-15T07:59:59Z", ac_max_current_A=16, ac_max_phase_count=1),
                      entry("2027-01-15T08:00:01Z", ac_max_current_A=6))
    assert power_cap_w(schedule, T) == 16 * 230
    assert power_cap_w(schedule, T + 1) == 6 * 230 * 3


def test_power_and_current_caps_the_lower_wins():
    assert power_cap_w(limits(entry("2027-01-15T08:00:00Z", total_power_W=5000, ac_max_current_A=10)), T) == 5000
    assert power_cap_w(limits(entry("2027-01-15T08:00:00Z", total_power_W=9000, ac_max_current_A=10)), T) == 6900
