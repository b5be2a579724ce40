"""The composite charging schedule (``ocpp/common/composite.py``): worked examples, one or more
per rule of its docstring, on libocpp's profile fixtures (``tests/fixtures/smart_charging``)
mapped onto the version-neutral ``Profile`` by each version's adapter (``to_profile``), so these
examples exercise the adapters too. Every expected schedule is derived by hand from the
OCPP text (1.6 §3.13 and the ChargingProfile types; 2.0.1 K08, "Composite Schedule"): it says
which period is in force at each instant, and why, in the test's comment.

Owns ``load``: a fixture through its version's ``to_profile``."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from ocpp_bridge.ocpp.common.composite import (
    Context,
    Profile,
    Running,
    Schedule,
    SchedulePeriod,
    composite,
)
from ocpp_bridge.ocpp.v16.smart_charging import to_profile as v16_profile
from ocpp_bridge.ocpp.v201.smart_charging import to_profile as v201_profile

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "smart_charging"
TX = "f1522902-1170-416f-8e43-9e3bce28fde7"  # the transaction id of the fixtures' TxProfiles


def at(text: str) -> float:
    """Epoch seconds of an ISO 8601 UTC time."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def load(name: str, evse: int = 0, **changes: Any) -> Profile:
    """The fixture ``name`` (a path under ``FIXTURES``) as a ``Profile`` installed on ``evse``,
    mapped by its version's adapter (a 1.6 profile has ``chargingProfileId``)."""
    wire = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    to_profile = v16_profile if "chargingProfileId" in wire else v201_profile
    return dataclasses.replace(to_profile(wire, evse), **changes)


def flat(profile: Profile, limit: float, unit: str = "A", phases: int | None = None, **changes: Any) -> Profile:
    """``profile`` with one period of ``limit`` from its origin, for ever."""
    return dataclasses.replace(profile, schedules=(Schedule(unit, (SchedulePeriod(0, limit, phases),)),),  # type: ignore[arg-type]
                               **changes)


def periods(profiles, evse, start, duration, unit="A", context=None, phases=False):
    """The composite's periods as (start_period, limit[, number_phases]) tuples."""
    result = composite(profiles, evse, start, duration, unit, context or Context(evses=(1,)))
    if phases:
        return [(p.start_period, p.limit, p.number_phases) for p in result.periods]
    return [(p.start_period, p.limit) for p in result.periods]


def running(started: str, transaction_id: str = TX) -> dict[int, Running]:
    return {1: Running(transaction_id, at(started))}


# ----------------------------------------------------------------------------- validity
def test_absolute_profile_counts_from_its_start_schedule_inside_its_validity():
    # Absolute_301: 32 A @0, 31 A @1800, 30 A @2700 for 3600 s from 12:02, valid 12:00..14:00.
    # Before 12:02 and after 13:02 nothing applies: the default 48 A.
    profile = load("v16/Absolute_301.json", evse=1)
    assert periods([profile], 1, at("2024-01-01T11:00:00Z"), 4 * 3600) == [
        (0, 48.0), (3720, 32.0), (5520, 31.0), (6420, 30.0), (7320, 48.0)]


def test_valid_to_cuts_a_period_short():
    profile = load("v16/Absolute_301.json", evse=1, valid_to=at("2024-01-01T12:40:00Z"))
    assert periods([profile], 1, at("2024-01-01T12:00:00Z"), 3600) == [
        (0, 48.0), (120, 32.0), (1920, 31.0), (2400, 48.0)]


def test_valid_from_hides_the_occurrences_before_it():
    # Recurring_Daily_301 recurs daily at 08:00 from 2024-01-01, but is valid only from
    # 2024-01-01T12:00: the first occurrence that counts is the next day's.
    profile = load("v16/Recurring_Daily_301.json", evse=1)
    assert periods([profile], 1, at("2024-01-01T07:00:00Z"), 27 * 3600) == [
        (0, 48.0), (90000, 16.0), (91800, 15.0), (92700, 14.0), (93600, 48.0)]


def test_a_profile_valid_only_outside_the_window_is_not_there():
    profile = load("v16/Absolute_301.json", evse=1)
    assert periods([profile], 1, at("2024-01-02T12:02:00Z"), 3600) == [(0, 48.0)]


# ----------------------------------------------------------------------------- TxProfile
K41 = "2024-08-21T12:24:36Z"  # OCTT TC_K_41_CS: every profile's startSchedule


def k41(**tx_changes: Any) -> list[Profile]:
    return [load("v2/OCCT_TC_K_41_CS/0/id1-ChargingStationMaxProfile.json"),
            load("v2/OCCT_TC_K_41_CS/1/id2-TxDefaultProfile.json", evse=1),
            load("v2/OCCT_TC_K_41_CS/1/id2-TxProfile.json", evse=1, **tx_changes)]


# TxDefault 6/10/8/15/8 A @0/60/120/180/260 for 304 s, capped by the station's 10 A
K41_TX_DEFAULT_ONLY = [(0, 6.0), (60, 10.0), (120, 8.0), (180, 10.0), (260, 8.0), (304, 10.0)]


def test_occt_tc_k_41_tx_profile_over_tx_default_capped_by_station_max():
    # TxProfile 8/11/16/6/12 A @0/50/140/200/240 for 264 s over the TxDefault, capped at 10 A;
    # when the TxProfile ends (264) the TxDefault shows (8 A), when that ends (304) the gap
    # gets the station maximum (10 A). 50..200 is 11 then 16, both capped to 10: one period.
    context = Context(evses=(1,), transactions=running(K41))
    assert periods(k41(), 1, at(K41), 400, context=context, phases=True) == [
        (0, 8.0, 3), (50, 10.0, 3), (200, 6.0, 3), (240, 10.0, 3), (264, 8.0, 3), (304, 10.0, 3)]


def test_tx_profile_without_a_transaction_does_not_count():
    assert periods(k41(), 1, at(K41), 400) == K41_TX_DEFAULT_ONLY


def test_tx_profile_of_another_transaction_does_not_count():
    context = Context(evses=(1,), transactions=running(K41, "another-transaction"))
    assert periods(k41(), 1, at(K41), 400, context=context) == K41_TX_DEFAULT_ONLY


def test_tx_profile_without_transaction_id_belongs_to_the_running_transaction():
    context = Context(evses=(1,), transactions=running(K41, "another-transaction"))
    assert periods(k41(transaction_id=None), 1, at(K41), 400, context=context)[:2] == [(0, 8.0), (50, 10.0)]


def test_tx_profile_counts_only_once_its_transaction_runs():
    # The transaction starts 60 s into the window: before that, the TxDefault's 6 A.
    context = Context(evses=(1,), transactions=running("2024-08-21T12:25:36Z"))
    assert periods(k41(), 1, at(K41), 400, context=context) == [
        (0, 6.0), (60, 10.0), (200, 6.0), (240, 10.0), (264, 8.0), (304, 10.0)]


def test_tx_profile_wins_over_a_tx_default_of_a_higher_stack_level():
    profiles = k41()
    profiles[1] = dataclasses.replace(profiles[1], stack_level=9)
    context = Context(evses=(1,), transactions=running(K41))
    assert periods(profiles, 1, at(K41), 100, context=context) == [(0, 8.0), (50, 10.0)]


def test_tx_profile_on_another_evse_does_not_count():
    context = Context(evses=(1, 2), transactions={2: Running(TX, at(K41))})
    assert periods(k41(), 1, at(K41), 400, context=context) == K41_TX_DEFAULT_ONLY


# ----------------------------------------------------------------------------- recurring
def test_daily_recurrence_wraps_from_start_schedule_across_the_boundary():
    # TxDefaultProfile_100 recurs daily at 17:00 from 2023-01-17: 11 kW @0, 6 kW @8 h (01:00),
    # 12 kW @20 h (13:00). A day from 12:00: the occurrence of the day before (6 kW until 13:00),
    # then 12 kW, the new occurrence at 17:00 (11 kW), 6 kW from 01:00.
    profile = load("v16/TxDefaultProfile_100.json", evse=1)
    assert periods([profile], 1, at("2024-01-17T12:00:00Z"), 86400, "W", phases=True) == [
        (0, 6000.0, 3), (3600, 12000.0, 3), (18000, 11000.0, 3), (46800, 6000.0, 3)]


def test_daily_recurrence_lasts_its_duration_then_leaves_a_gap():
    profile = load("v16/Recurring_Daily_301.json", evse=1)
    assert periods([profile], 1, at("2024-02-01T07:30:00Z"), 3 * 3600) == [
        (0, 48.0), (1800, 16.0), (3600, 15.0), (4500, 14.0), (5400, 48.0)]


def test_weekly_recurrence_comes_back_a_week_later_not_a_day_later():
    # Recurring_Weekly_301: Wednesdays 16:00 (from 2024-01-03), 32/31/30 A for an hour.
    profile = load("v2/singles/Recurring_Weekly_301.json", evse=1)
    wednesday, tuesday = at("2024-01-10T15:00:00Z"), at("2024-01-09T15:00:00Z")
    assert periods([profile], 1, wednesday, 3 * 3600) == [(0, 48.0), (3600, 32.0), (5400, 31.0), (6300, 30.0),
                                                         (7200, 48.0)]
    assert periods([profile], 1, tuesday, 3 * 3600) == [(0, 48.0)]


def test_window_starting_inside_an_occurrence_picks_it_up_where_it_is():
    profile = load("v2/singles/Recurring_Weekly_301.json", evse=1)
    assert periods([profile], 1, at("2024-01-17T16:30:00Z"), 3600) == [(0, 31.0), (900, 30.0), (1800, 48.0)]


def test_recurrence_without_duration_lasts_to_the_next_recurrence():
    # No duration: last week's 30 A still holds on Wednesday 15:00, until the new occurrence.
    profile = load("v2/singles/Recurring_Weekly_NoDuration_301.json", evse=1)
    assert periods([profile], 1, at("2024-01-10T15:00:00Z"), 3 * 3600) == [
        (0, 30.0), (3600, 32.0), (5400, 31.0), (6300, 30.0)]


def test_absolute_profile_ignores_a_recurrency_kind():
    # TxDefaultProfile_2kw_17-20 is Absolute (with a stray recurrencyKind Daily): only on 2024-01-17.
    profile = load("v16/TxDefaultProfile_2kw_17-20.json", evse=1)
    assert periods([profile], 1, at("2024-01-17T17:00:00Z"), 3600, "W")[:2] == [(0, 2000.0), (1080, 33120.0)]
    assert periods([profile], 1, at("2024-01-18T17:00:00Z"), 3600, "W") == [(0, 33120.0)]


# ----------------------------------------------------------------------------- relative
def test_relative_profile_is_anchored_at_the_transaction_start():
    # Relative_303: 16/15/14 A @0/1800/2700 for 3600 s from the start of the transaction (10:00).
    profile = load("v16/Relative_303.json", evse=1)
    context = Context(evses=(1,), transactions=running("2024-06-01T10:00:00Z"))
    assert periods([profile], 1, at("2024-06-01T10:10:00Z"), 3600, context=context) == [
        (0, 16.0), (1200, 15.0), (2100, 14.0), (3000, 48.0)]


def test_relative_profile_without_transaction_is_anchored_at_the_window_start():
    profile = load("v16/Relative_303.json", evse=1)
    assert periods([profile], 1, at("2024-06-01T10:10:00Z"), 4000) == [
        (0, 16.0), (1800, 15.0), (2700, 14.0), (3600, 48.0)]


def test_relative_profile_valid_from_inside_the_window_keeps_the_window_start_as_origin():
    # Relative_301 (32/31/30 A @0/1800/2700 for 3600 s) is valid from 12:00. Asked from 11:30
    # without a transaction, its origin is 11:30: at 12:00 it is 1800 s in (31 A), at 12:15
    # 30 A, at 12:30 it ends. Its validity starting later does not move its origin.
    profile = load("v2/singles/Relative_301.json", evse=1)
    assert periods([profile], 1, at("2024-01-01T11:30:00Z"), 2 * 3600) == [
        (0, 48.0), (1800, 31.0), (2700, 30.0), (3600, 48.0)]


def test_relative_profile_without_duration_lasts_until_its_valid_to():
    profile = load("v2/singles/Relative_NoDuration_301.json", evse=1)
    assert periods([profile], 1, at("2024-01-01T12:00:00Z"), 3 * 3600) == [
        (0, 32.0), (1800, 31.0), (2700, 30.0), (7200, 48.0)]


# ----------------------------------------------------------------------------- stacking
GRID_DAY = "2024-01-17T18:00:00Z"


def test_higher_stack_level_wins_and_the_lower_shows_through_when_it_ends():
    # grid_hourly (stack 0) gives hour h the limit h + 1 W; the single (stack 1) 2000 W from
    # 18:04 for 1080 s. After 18:22 the grid's 19 W shows again, at 19:00 its 20 W.
    profiles = [load("v2/layered/TxProfile_grid_hourly.json", evse=1), load("v2/layered/TXProfile_single.json", evse=1)]
    context = Context(evses=(1,), transactions=running("2024-01-17T17:00:00Z"))
    assert periods(profiles, 1, at(GRID_DAY), 2 * 3600, "W", context) == [
        (0, 19.0), (240, 2000.0), (1320, 19.0), (3600, 20.0)]


def test_lower_stack_level_shows_through_when_the_higher_ones_validity_ends():
    profiles = [load("v2/layered/TxProfile_grid_hourly.json", evse=1),
                load("v2/layered/TXProfile_single.json", evse=1, valid_to=at("2024-01-17T18:10:00Z"))]
    context = Context(evses=(1,), transactions=running("2024-01-17T17:00:00Z"))
    assert periods(profiles, 1, at(GRID_DAY), 3600, "W", context) == [(0, 19.0), (240, 2000.0), (600, 19.0)]


def test_stacking_of_two_recurring_profiles_the_next_day():
    profiles = [load("v2/layered_recurring/TxProfile_grid_hourly.json", evse=1),
                load("v2/layered_recurring/TXProfile_single.json", evse=1)]
    context = Context(evses=(1,), transactions=running("2024-01-18T17:00:00Z"))
    assert periods(profiles, 1, at("2024-01-18T18:00:00Z"), 3600, "W", context) == [
        (0, 19.0), (240, 2000.0), (1320, 19.0)]


def test_equal_stack_levels_back_to_back_leave_no_gap():
    # TxDefaultProfile_401 (16 A, 08:00 for 300 s) and _402 (12 A, 08:05 for 300 s), daily.
    profiles = [load("v16/TxDefaultProfile_401.json", evse=1), load("v16/TxDefaultProfile_402.json", evse=1)]
    assert periods(profiles, 1, at("2024-03-05T08:00:00Z"), 900) == [(0, 16.0), (300, 12.0), (600, 48.0)]


# ----------------------------------------------------------------------------- purposes
def test_the_evses_own_tx_default_overrides_the_one_on_evse_0():
    # TxDefaultProfile_100 on EVSE 0 (even at a higher stack level) and, on EVSE 1 only,
    # 2 kW from 17:00 for 1080 s. EVSE 2 keeps EVSE 0's profile: 12 kW, 11 kW from 17:00.
    profiles = [load("v16/TxDefaultProfile_100.json", evse=0, stack_level=9),
                load("v16/TxDefaultProfile_2kw_17-20.json", evse=1)]
    context = Context(evses=(1, 2))
    start = at("2024-01-17T16:55:00Z")
    assert periods(profiles, 1, start, 1800, "W", context) == [(0, 12000.0), (300, 2000.0), (1380, 11000.0)]
    assert periods(profiles, 2, start, 1800, "W", context) == [(0, 12000.0), (300, 11000.0)]


def test_station_max_caps_in_its_own_unit_and_phases():
    # TxDefaultProfile_100 (W, 3 phases) under ChargingStationMaxProfile_24_Ampere (daily from
    # 00:00: 16 A 1 phase, 16 A 3 phases, 10 A 1 phase, 10 A 3 phases, hourly). In W at 230 V:
    # caps of 3680, 11040, 2300, 6900 W against the TxDefault's 11 kW then (01:00) 6 kW.
    profiles = [load("v16/TxDefaultProfile_100.json", evse=1), load("v16/ChargingStationMaxProfile_24_Ampere.json")]
    assert periods(profiles, 1, at("2024-01-17T00:00:00Z"), 4 * 3600, "W", phases=True) == [
        (0, 3680.0, 1), (3600, 6000.0, 3), (7200, 2300.0, 1), (10800, 6000.0, 3)]


def test_a_gap_under_a_station_max_gets_the_station_max():
    profile = load("v2/singles/ChargingStationMaxProfile_401.json")
    assert periods([profile], 1, at("2024-01-20T08:00:00Z"), 3600, phases=True) == [
        (0, 24.0, 1), (900, 28.0, 1), (1800, 30.0, 1), (2700, 32.0, 1)]


def test_station_max_installed_on_an_evse_is_not_a_cap():
    profiles = [load("v16/TxDefaultProfile_100.json", evse=1), load("v16/ChargingStationMaxProfile_24_Ampere.json", evse=1)]
    assert periods(profiles, 1, at("2024-01-17T00:00:00Z"), 3600, "W") == [(0, 11000.0)]


EXTERNAL = "v2/external/0/ChargingStationExternalConstraintProfile_grid_hourly.json"


def test_external_constraints_cap_the_evse():
    # External constraints: hour h of the day 10 (h + 1) W; station max 2000 W 00:00..01:00;
    # the TxProfile 10 W from 23:00. Between, no Tx/TxDefault: the lowest cap in force.
    profiles = [load(EXTERNAL), load("v2/external/0/ChargingStationMaxProfile_2000.json"),
                load("v2/external/1/TXProfile_2001.json", evse=1)]
    context = Context(evses=(1,), transactions=running("2024-01-16T23:00:00Z"))
    expected = [(h * 3600, 10.0 * (h + 1)) for h in range(23)] + [(82800, 10.0)]
    assert periods(profiles, 1, at("2024-01-17T00:00:00Z"), 86400, "W", context) == expected


def test_external_constraints_on_the_evse_itself_cap_it_and_no_other():
    profiles = [load(EXTERNAL, evse=1), load("v16/TxDefaultProfile_100.json", evse=0)]
    context = Context(evses=(1, 2))
    start = at("2024-01-17T12:00:00Z")
    assert periods(profiles, 1, start, 3600, "W", context) == [(0, 130.0)]
    assert periods(profiles, 2, start, 3600, "W", context) == [(0, 6000.0)]


# ----------------------------------------------------------------------------- EVSE 0
ABSOLUTE_301_NOON = at("2024-01-01T12:00:00Z")


def test_evse_0_is_the_sum_of_the_evses():
    # Absolute_301 on EVSE 0 applies to both EVSEs: 2 x (48 gap, 32, 31, 30, 48 gap).
    profiles = [load("v16/Absolute_301.json", evse=0)]
    assert periods(profiles, 0, ABSOLUTE_301_NOON, 7200, context=Context(evses=(1, 2))) == [
        (0, 96.0), (120, 64.0), (1920, 62.0), (2820, 60.0), (3720, 96.0)]


def test_evse_0_sums_each_evses_own_schedule():
    # EVSE 1: Absolute_301 (32/31/30 A from 12:02); EVSE 2: Relative_303 without transaction,
    # anchored at the window's start (16/15/14 A); both end an hour in (48 A each).
    profiles = [load("v16/Absolute_301.json", evse=1), load("v16/Relative_303.json", evse=2)]
    assert periods(profiles, 0, at("2024-01-01T12:02:00Z"), 3660, context=Context(evses=(1, 2))) == [
        (0, 48.0), (1800, 46.0), (2700, 44.0), (3600, 96.0)]


def test_evse_0_is_capped_by_the_station_max():
    cap = flat(load("v2/OCCT_TC_K_41_CS/0/id1-ChargingStationMaxProfile.json"), 63.0, phases=3)
    profiles = [load("v16/Absolute_301.json", evse=0), cap]
    assert periods(profiles, 0, ABSOLUTE_301_NOON, 7200, context=Context(evses=(1, 2))) == [
        (0, 63.0), (1920, 62.0), (2820, 60.0), (3720, 63.0)]


def test_evse_0_is_capped_by_the_station_external_constraints():
    # 12:00..13:00 the external constraint is 130 W; two EVSEs of EVSE 0's 12 kW / 11 kW.
    profiles = [load(EXTERNAL), load("v16/TxDefaultProfile_100.json", evse=0)]
    assert periods(profiles, 0, at("2024-01-17T12:00:00Z"), 7200, "W", Context(evses=(1, 2))) == [
        (0, 130.0), (3600, 140.0)]


def test_evse_0_without_evses_is_the_default():
    assert periods([], 0, ABSOLUTE_301_NOON, 60, context=Context(evses=())) == [(0, 48.0)]


# ----------------------------------------------------------------------------- units
def test_watts_to_amps_with_the_default_phases():
    # TXDefaultProfile_25_Watt (relative): 12420/8280/6210/4140/2070 W = 18/12/9/6/3 A at 230 V x 3.
    profile = load("v16/TXDefaultProfile_25_Watt.json", evse=1)
    assert periods([profile], 1, at("2024-01-01T00:00:00Z"), 3600, phases=True) == [
        (0, 18.0, 3), (300, 12.0, 3), (600, 9.0, 3), (900, 6.0, 3), (1200, 3.0, 3)]


def test_watts_to_amps_with_one_phase_and_another_supply_voltage():
    profile = load("v16/TXDefaultProfile_25_Watt.json", evse=1)
    context = Context(evses=(1,), supply_voltage=207.0, default_phases=1)
    assert periods([profile], 1, at("2024-01-01T00:00:00Z"), 600, context=context) == [(0, 60.0), (300, 40.0)]


def test_amps_to_watts_with_each_periods_phases():
    # Recurring_Daily_302_phase_limit: 16 A x 1, 15 A x 1, 14 A x 3 (daily at 08:00).
    profile = load("v16/Recurring_Daily_302_phase_limit.json", evse=1)
    assert periods([profile], 1, at("2024-01-10T08:00:00Z"), 3600, "W", phases=True) == [
        (0, 3680.0, 1), (1800, 3450.0, 1), (2700, 9660.0, 3)]


def test_limits_of_different_units_compare_after_conversion():
    # A 10 A x 3 cap (6900 W) is below 11 kW but above 6 kW.
    cap = flat(load("v2/OCCT_TC_K_41_CS/0/id1-ChargingStationMaxProfile.json"), 10.0, phases=3)
    profiles = [load("v16/TxDefaultProfile_100.json", evse=1), cap]
    assert periods(profiles, 1, at("2024-01-17T00:30:00Z"), 3600, "W") == [(0, 6900.0), (1800, 6000.0)]


# ----------------------------------------------------------------------------- gaps
def test_no_profile_gives_the_documented_default_in_either_unit():
    start = at("2024-01-01T00:00:00Z")
    assert periods([], 1, start, 3600, phases=True) == [(0, 48.0, 3)]
    assert periods([], 1, start, 3600, "W", phases=True) == [(0, 33120.0, 3)]


def test_the_default_is_configurable():
    context = Context(evses=(1,), default_limit_amps=32.0, default_phases=1)
    assert periods([], 1, at("2024-01-01T00:00:00Z"), 3600, context=context, phases=True) == [(0, 32.0, 1)]


def test_a_limit_of_0_is_kept_when_a_profile_says_so():
    # TxDefault_relative: 1000/7000/0/6000/1500/5000 W @0/70/140/210/280/350, no duration.
    profile = load("v2/relative/TxDefault_relative.json", evse=1)
    result = composite([profile], 1, at("2024-01-01T00:00:00Z"), 600, "W", Context(evses=(1,)))
    assert [(p.start_period, p.limit) for p in result.periods] == [
        (0, 1000.0), (70, 7000.0), (140, 0.0), (210, 6000.0), (280, 1500.0), (350, 5000.0)]
    assert result.min_charging_rate == 500.0


# ----------------------------------------------------------------------------- output
def test_adjacent_equal_periods_are_merged():
    # 402 made 16 A like 401: 08:00..08:10 is one period of 16 A.
    p402 = load("v16/TxDefaultProfile_402.json", evse=1)
    p402 = dataclasses.replace(p402, schedules=(dataclasses.replace(p402.schedules[0], periods=(SchedulePeriod(0, 16.0),)),))
    profiles = [load("v16/TxDefaultProfile_401.json", evse=1), p402]
    assert periods(profiles, 1, at("2024-03-05T08:00:00Z"), 900) == [(0, 16.0), (600, 48.0)]


def test_equal_limits_with_other_phases_are_not_merged():
    profile = load("v16/Recurring_Daily_302_phase_limit.json", evse=1)
    profile = dataclasses.replace(profile, schedules=(dataclasses.replace(profile.schedules[0], periods=(
        SchedulePeriod(0, 16.0, 1), SchedulePeriod(1800, 16.0, 3))),))
    assert periods([profile], 1, at("2024-01-10T08:00:00Z"), 3600, phases=True) == [(0, 16.0, 1), (1800, 16.0, 3)]


def test_only_periods_starting_inside_the_window():
    context = Context(evses=(1,), transactions=running(K41))
    assert periods(k41(), 1, at(K41), 200, context=context) == [(0, 8.0), (50, 10.0)]
    assert periods(k41(), 1, at(K41) + 100, 140, context=context) == [(0, 10.0), (100, 6.0)]


@pytest.mark.parametrize(("offset", "expected"), [(0, [(0, 8.0)]), (210, [(0, 6.0)]), (300, [(0, 8.0)])])
def test_duration_0_is_the_one_period_in_force_at_start(offset, expected):
    context = Context(evses=(1,), transactions=running(K41))
    result = composite(k41(), 1, at(K41) + offset, 0, "A", context)
    assert (result.duration, [(p.start_period, p.limit) for p in result.periods]) == (0, expected)


def test_a_window_starting_at_a_fraction_of_a_second_reports_whole_seconds():
    # The TxDefault of TC_K_41 changes 6 -> 10 A at 60 s; asked from 59.7 s after its start,
    # the change is 0.3 s in: reported from the next whole second, the limit in force then.
    assert periods(k41(), 1, at(K41) + 59.7, 61) == [(0, 6.0), (1, 10.0)]
    assert periods(k41(), 1, at(K41) + 59.7, 65) == [(0, 6.0), (1, 10.0), (61, 8.0)]


def test_a_change_a_fraction_of_a_second_before_the_window_end_is_not_a_period():
    # 119.7 s long from 0.3 s: the 8 A change at 120 s falls at 119.7 s, inside the window,
    # but the next whole second (120) is not.
    assert periods(k41(), 1, at(K41) + 0.3, 120) == [(0, 6.0), (60, 10.0)]


def test_changes_within_one_second_give_one_period_of_the_last():
    # At 12:02 Absolute_301 starts at 32 A, and a second TxDefault (stack 6) 0.4 s later at
    # 20 A: asked from 0.2 s before, the second whole second shows 20 A only.
    second = flat(load("v16/Absolute_301.json", evse=1), 20.0, stack_level=6, valid_from=at("2024-01-01T12:02:00.4Z"))
    assert periods([load("v16/Absolute_301.json", evse=1), second], 1, at("2024-01-01T12:01:59.8Z"), 60) == [
        (0, 48.0), (1, 20.0)]


def test_the_result_says_what_was_asked():
    result = composite([], 3, 1000.0, 60, "W", Context(evses=(3,)))
    assert (result.evse, result.start, result.duration, result.unit) == (3, 1000.0, 60, "W")


def test_min_charging_rate_of_the_schedule_in_force_at_start_in_the_output_unit():
    # TxDefault_relative's minChargingRate 500 W is 500 / 690 A.
    profile = load("v2/relative/TxDefault_relative.json", evse=1)
    result = composite([profile], 1, at("2024-01-01T00:00:00Z"), 600, "A", Context(evses=(1,)))
    assert result.min_charging_rate == pytest.approx(500 / 690)


def test_min_charging_rate_of_the_winner_not_of_a_profile_below_it():
    # TxProfile_relative (minChargingRate 0) wins over TxDefault_relative (500).
    profiles = [load("v2/relative/TxDefault_relative.json", evse=1), load("v2/relative/TxProfile_relative.json", evse=1)]
    context = Context(evses=(1,), transactions=running("2024-01-01T00:00:00Z"))
    assert composite(profiles, 1, at("2024-01-01T00:00:00Z"), 600, "W", context).min_charging_rate == 0.0


def test_no_min_charging_rate_when_no_schedule_is_in_force_at_start():
    profile = load("v2/relative/TxDefault_relative.json", evse=1, valid_from=at("2024-01-01T00:05:00Z"))
    assert composite([profile], 1, at("2024-01-01T00:00:00Z"), 600, "W", Context(evses=(1,))).min_charging_rate is None
