"""Reconnect back-off (OCPP 2.0.1 §5.3 style), with seeded generators."""

import random

import pytest

from ocpp_bridge.ocpp.backoff import Backoff


class CountingRandom(random.Random):
    def __init__(self, seed):
        super().__init__(seed)
        self.draws = []

    def uniform(self, a, b):
        value = super().uniform(a, b)
        self.draws.append((a, b, value))
        return value


def test_first_delay_is_minimum_plus_a_random_part():
    rng = CountingRandom(1)
    delay = Backoff(10, 5, 3, rng).next_delay()
    (a, b, drawn), = rng.draws
    assert (a, b) == (0.0, 5.0)
    assert delay == 10 + drawn and 10 <= delay <= 15


def test_base_doubles_repeat_times_then_stays():
    backoff = Backoff(2, 0, 3, random.Random(0))
    assert [backoff.next_delay() for _ in range(7)] == [2, 4, 8, 16, 16, 16, 16]


def test_no_doubling_when_repeat_times_is_zero():
    backoff = Backoff(3, 0, 0, random.Random(0))
    assert [backoff.next_delay() for _ in range(3)] == [3, 3, 3]


def test_jitter_on_every_redial_including_after_the_cap():
    rng = CountingRandom(7)
    backoff = Backoff(1, 4, 2, rng)
    delays = [backoff.next_delay() for _ in range(10)]
    assert len(rng.draws) == 10
    bases = [1, 2, 4, 4, 4, 4, 4, 4, 4, 4]
    for delay, base, (_, _, drawn) in zip(delays, bases, rng.draws, strict=True):
        assert delay == pytest.approx(base + drawn)
        assert base <= delay <= base + 4
    capped = delays[2:]
    assert len(set(capped)) == len(capped), "the capped delays must still vary"


def test_same_seed_same_sequence_other_seed_other_sequence():
    def run(seed):
        backoff = Backoff(0.5, 1.5, 4, random.Random(seed))
        return [backoff.next_delay() for _ in range(8)]
    assert run(42) == run(42)
    assert run(42) != run(43)


def test_reset_starts_again_from_the_minimum():
    backoff = Backoff(1, 0, 5, random.Random(0))
    for _ in range(4):
        backoff.next_delay()
    assert backoff.attempts == 4 and backoff.base_delay() == 16
    backoff.reset()
    assert backoff.attempts == 0
    assert backoff.next_delay() == 1


@pytest.mark.parametrize("args", [(-1, 0, 1), (1, -0.1, 1), (1, 1, -1), (1, 1, 1.5), (1, 1, True)])
def test_refuses_bad_settings(args):
    with pytest.raises(ValueError):
        Backoff(*args, rng=random.Random(0))
