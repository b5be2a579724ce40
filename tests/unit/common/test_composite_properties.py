"""Invariants of the composite charging schedule (``ocpp/common/composite.py``) over generated
profile sets (hypothesis): never above the station maximum or the external constraints (any
EVSE, and EVSE 0), EVSE 0 never above the sum of its EVSEs, well-formed output (first period at
0, strictly increasing, inside the window, merged), A and W agreeing through voltage x phases,
no 0 unless a profile says 0, and the same answer for the same question in any profile order.

Owns the strategies of version-neutral profiles and windows these properties run on."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from ocpp_bridge.ocpp.common.composite import (
    CompositeSchedule,
    Context,
    Profile,
    Running,
    Schedule,
    SchedulePeriod,
    composite,
)

BASE = 1_705_449_600.0  # 2024-01-17T00:00:00Z
STEP = 300  # profile times fall on a 5-minute grid around BASE
CAPS = ("ChargingStationMaxProfile", "ChargingStationExternalConstraints")
SETTINGS = settings(max_examples=150, deadline=None)


def grid(low: int, high: int) -> st.SearchStrategy[int]:
    """Seconds, multiples of ``STEP`` in [low, high]."""
    return st.integers(low // STEP, high // STEP).map(lambda n: n * STEP)


# built once: a strategy made inside a draw is validated again at every draw (slow)
PERIOD_STARTS = st.sets(grid(STEP, 6 * 3600), max_size=3)
LIMITS = {True: st.integers(0, 64).map(float), False: st.integers(1, 64).map(float)}
UNITS = st.sampled_from(["A", "W"])
MAYBE_START = st.none() | grid(-2 * 86400, 86400).map(lambda s: BASE + s)
MAYBE_DURATION = st.none() | grid(STEP, 2 * 86400)
MAYBE_MIN_RATE = st.none() | st.sampled_from([0.0, 6.0])
PURPOSE = st.sampled_from(["TxProfile", "TxDefaultProfile", *CAPS])
KIND = st.sampled_from(["Absolute", "Recurring", "Relative"])
RECURRENCY = st.sampled_from(["Daily", "Weekly"])
MAYBE_FROM = st.none() | grid(-86400, 86400)
MAYBE_LENGTH = st.none() | grid(0, 2 * 86400)
TX_ID = st.sampled_from([None, "t1", "t2", "other"])
EVSE = [st.integers(0, n) for n in range(4)]
STACK = st.integers(0, 3)


@st.composite
def schedules(draw, phases=st.sampled_from([None, 1, 3]), zero=True) -> Schedule:
    starts = sorted(draw(PERIOD_STARTS))
    unit = draw(UNITS)
    scale = 230.0 if unit == "W" else 1.0  # W limits of the same order as the A ones
    return Schedule(
        unit=unit,
        periods=tuple(SchedulePeriod(s, draw(LIMITS[zero]) * scale, draw(phases)) for s in [0, *starts]),
        start_schedule=draw(MAYBE_START),
        duration=draw(MAYBE_DURATION),
        min_charging_rate=draw(MAYBE_MIN_RATE),
    )


@st.composite
def profiles(draw, profile_id: int, evses: int, **schedule_options) -> Profile:
    purpose, kind = draw(PURPOSE), draw(KIND)
    valid_from, length = draw(MAYBE_FROM), draw(MAYBE_LENGTH)
    valid_from = None if valid_from is None else BASE + valid_from
    evse = 0 if purpose == "ChargingStationMaxProfile" else draw(EVSE[evses])
    return Profile(
        id=profile_id,
        stack_level=draw(STACK),
        purpose=purpose,
        kind=kind,
        schedules=(draw(schedules(**schedule_options)),),
        evse=max(evse, 1) if purpose == "TxProfile" else evse,
        recurrency=draw(RECURRENCY) if kind == "Recurring" else None,
        valid_from=valid_from,
        valid_to=None if length is None else (valid_from or BASE) + length,
        transaction_id=draw(TX_ID) if purpose == "TxProfile" else None,
    )


AROUND = grid(-86400, 86400)
FRACTION = st.sampled_from([0.0, 0.0, 0.5, 0.7, -0.3, -0.5])
DURATION = st.sampled_from([0, 1, 7]) | grid(STEP, 2 * 86400)


@st.composite
def cases(draw, **schedule_options):
    """(profiles, context, start, duration): a station of 1..3 EVSEs and a window."""
    evses = draw(st.integers(1, 3))
    count = draw(st.integers(0, 6))
    installed = [draw(profiles(i + 1, evses, **schedule_options)) for i in range(count)]
    transactions = {e: Running(f"t{e}", BASE + draw(AROUND)) for e in range(1, evses + 1) if draw(st.booleans())}
    context = Context(evses=tuple(range(1, evses + 1)), transactions=transactions)
    # windows that start or end just off a profile's own times catch what falls between seconds
    times = sorted({BASE + draw(AROUND), *_times(installed), *(r.started for r in transactions.values())})
    start = times[draw(st.integers(0, len(times) - 1))] + draw(FRACTION)
    end = times[draw(st.integers(0, len(times) - 1))]
    duration = draw(DURATION) if draw(st.booleans()) or end <= start else math.ceil(end - start)
    return installed, context, start, duration


def _times(installed: list[Profile]) -> list[float]:
    """The instants a profile names: validity bounds, schedule starts and their periods'."""
    out = [t for p in installed for t in (p.valid_from, p.valid_to) if t is not None]
    for p in installed:
        for s in p.schedules:
            if s.start_schedule is not None:
                out += [s.start_schedule + period.start_period for period in s.periods]
    return out


def limit_at(result: CompositeSchedule, offset: int) -> float:
    """The limit in force ``offset`` seconds into the window."""
    return [p.limit for p in result.periods if p.start_period <= offset][-1]


def offsets(*results: CompositeSchedule) -> list[int]:
    return sorted({p.start_period for r in results for p in r.periods})


def every_evse(context: Context) -> list[int]:
    return [0, *context.evses]


def cap(purpose: str, limit: float, unit: str, phases: int, profile_id: int, stack_level: int) -> Profile:
    """A maximum in force at every instant, on EVSE 0."""
    schedule = Schedule(unit, (SchedulePeriod(0, limit, phases),))  # type: ignore[arg-type]
    return Profile(profile_id, stack_level, purpose, "Absolute", (schedule,))  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- properties
@SETTINGS
@given(cases(), st.sampled_from(["A", "W"]))
def test_periods_are_well_formed(case, unit):
    installed, context, start, duration = case
    for evse in every_evse(context):
        result = composite(installed, evse, start, duration, unit, context)
        starts = [p.start_period for p in result.periods]
        assert starts[0] == 0
        assert all(a < b for a, b in zip(starts, starts[1:], strict=False))
        assert len(starts) == 1 if duration == 0 else starts[-1] < duration
        pairs = [(p.limit, p.number_phases) for p in result.periods]
        assert all(a != b for a, b in zip(pairs, pairs[1:], strict=False)), "adjacent equal periods not merged"


@SETTINGS
@given(cases(), st.sampled_from(["A", "W"]), st.integers(1, 64), st.sampled_from(["A", "W"]), st.sampled_from([1, 3]),
       st.sampled_from(CAPS))
def test_never_above_a_maximum_that_wins_everywhere(case, unit, amps, cap_unit, cap_phases, purpose):
    installed, context, start, duration = case
    limit = amps * (230.0 * cap_phases if cap_unit == "W" else 1.0)
    top = cap(purpose, limit, cap_unit, cap_phases, profile_id=999, stack_level=99)
    ceiling = limit if cap_unit == unit else amps * 230.0 * cap_phases if unit == "W" else limit / (230.0 * cap_phases)
    for evse in every_evse(context):
        result = composite([*installed, top], evse, start, duration, unit, context)
        assert all(p.limit <= ceiling * (1 + 1e-9) for p in result.periods)


@SETTINGS
@given(cases(), st.sampled_from(["A", "W"]))
def test_never_above_the_caps_in_force(case, unit):
    # A station max at every instant (at the lowest stack level: generated caps may win over it);
    # the composite with every profile never exceeds the composite of the caps alone.
    installed, context, start, duration = case
    caps = [p for p in installed if p.purpose in CAPS] + [cap(CAPS[0], 40.0, "A", 3, profile_id=999, stack_level=0)]
    for evse in every_evse(context):
        full = composite([*installed, caps[-1]], evse, start, duration, unit, context)
        ceiling = composite(caps, evse, start, duration, unit, context)
        for offset in offsets(full, ceiling):
            assert limit_at(full, offset) <= limit_at(ceiling, offset) * (1 + 1e-9)


@SETTINGS
@given(cases(), st.sampled_from(["A", "W"]))
def test_evse_0_is_never_above_the_sum_of_its_evses(case, unit):
    installed, context, start, duration = case
    station = composite(installed, 0, start, duration, unit, context)
    each = [composite(installed, e, start, duration, unit, context) for e in context.evses]
    for offset in offsets(station, *each):
        assert limit_at(station, offset) <= sum(limit_at(r, offset) for r in each) * (1 + 1e-9)


@SETTINGS
@given(cases(phases=st.sampled_from([None, 3])))
def test_watts_and_amps_agree_through_voltage_times_phases(case):
    installed, context, start, duration = case  # every phase count 3 (or the default 3)
    for evse in every_evse(context):
        amps = composite(installed, evse, start, duration, "A", context)
        watts = composite(installed, evse, start, duration, "W", context)
        for offset in offsets(amps, watts):
            assert abs(limit_at(watts, offset) - limit_at(amps, offset) * 690.0) <= 1e-6 * max(1.0, limit_at(watts, offset))
        if amps.min_charging_rate is None:
            assert watts.min_charging_rate is None
        else:
            assert abs(watts.min_charging_rate - amps.min_charging_rate * 690.0) <= 1e-6


@SETTINGS
@given(cases(zero=False), st.sampled_from(["A", "W"]))
def test_no_zero_unless_a_profile_says_zero(case, unit):
    installed, context, start, duration = case
    for evse in every_evse(context):
        assert all(p.limit > 0 for p in composite(installed, evse, start, duration, unit, context).periods)


@SETTINGS
@given(cases(), st.sampled_from(["A", "W"]), st.randoms(use_true_random=False))
def test_the_same_question_gets_the_same_answer_in_any_profile_order(case, unit, rnd):
    installed, context, start, duration = case
    shuffled = list(installed)
    rnd.shuffle(shuffled)
    for evse in every_evse(context):
        first = composite(installed, evse, start, duration, unit, context)
        assert composite(installed, evse, start, duration, unit, context) == first
        assert composite(shuffled, evse, start, duration, unit, context) == first
