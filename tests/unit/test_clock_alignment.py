"""Clock-aligned instants (``ocpp/clock_alignment.py``), shared by 1.6 ClockAlignedDataInterval
and 2.0.1 AlignedDataCtrlr: multiples of the interval counted from each UTC midnight, so every
day has the same pattern, whatever the interval. Worked examples over consecutive days."""

import pytest

from ocpp_bridge.ocpp.clock_alignment import DAY_S, next_aligned

MIDNIGHT = 1_767_225_600.0  # 2026-01-01T00:00:00Z
DAYS = 5


def day_schedule(midnight: float, interval: int) -> list[float]:
    """The aligned instants of one day, as offsets from its midnight, walked one by one from
    just before that midnight to (and including) the next one."""
    offsets = []
    t = next_aligned(midnight - 1, interval)
    while t <= midnight + DAY_S:
        offsets.append(t - midnight)
        t = next_aligned(t, interval)
    return offsets


@pytest.mark.parametrize("interval, expected", [
    # 420 s: 205 whole spans and a 300 s one before midnight (aligned to the epoch instead, the
    # first instant after midnight would drift by 300 s a day: +120, +240, +360, ...)
    (420, [k * 420.0 for k in range(206)] + [86400.0]),
    (900, [k * 900.0 for k in range(97)]),              # 96 quarter hours, the 97th is midnight
    (86400, [0.0, 86400.0]),                            # once a day, at midnight
    (7000, [k * 7000.0 for k in range(13)] + [86400.0]),  # 7000 does not divide a day: 2400 s left
])
def test_every_day_has_the_same_instants_from_midnight(interval, expected):
    for day in range(DAYS):
        assert day_schedule(MIDNIGHT + day * DAY_S, interval) == expected, f"day {day}"


def test_first_instant_of_each_day_with_420_s():
    for day in range(1, DAYS + 1):
        midnight = MIDNIGHT + day * DAY_S
        assert next_aligned(midnight - 0.5, 420) == midnight       # the last span is cut short
        assert next_aligned(midnight, 420) == midnight + 420       # strictly later than now
        assert next_aligned(midnight + 419.9, 420) == midnight + 420


def test_intervals_longer_than_a_day_fall_on_every_midnight():
    assert next_aligned(MIDNIGHT + 5, 100000) == MIDNIGHT + DAY_S
    assert next_aligned(MIDNIGHT + DAY_S, 100000) == MIDNIGHT + 2 * DAY_S


def test_a_non_positive_interval_is_refused():
    with pytest.raises(ValueError):
        next_aligned(MIDNIGHT, 0)
