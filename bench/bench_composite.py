"""Benchmark: the cost of one composite schedule (``ocpp/common/composite.py``).

Owns: printing, for 1, 10 and 100 installed profiles and a station of 1 or 128 EVSEs, the
median and p99 time of ``composite`` over a 24 h window for EVSE 1 and for EVSE 0 (the station:
the sum over every EVSE), and each case's median as a ratio to the baseline measured in the same
process (1 profile, 1 EVSE, EVSE 1). The profile sets are made up but shaped like libocpp's
fixtures: hourly daily grids, short absolute blocks, relative schedules, TxProfiles for the
running transactions, one station maximum and external constraints.

Must never: assert on timings (figures only).

Run: ``.venv/bin/python bench/bench_composite.py [--samples 200] [--budget 5]``
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "module"))

from ocpp_bridge.ocpp.common.composite import (  # noqa: E402
    Context,
    Profile,
    Running,
    Schedule,
    SchedulePeriod,
    composite,
)

START = 1_705_449_600.0  # 2024-01-17T00:00:00Z
DAY = 86400


def hourly(rnd: random.Random, unit: str) -> Schedule:
    scale = 230.0 if unit == "W" else 1.0
    periods = tuple(SchedulePeriod(h * 3600, rnd.randint(6, 32) * scale, rnd.choice([None, 1, 3])) for h in range(24))
    return Schedule(unit, periods, start_schedule=START - DAY, duration=DAY)  # type: ignore[arg-type]


def block(rnd: random.Random, unit: str) -> Schedule:
    scale = 230.0 if unit == "W" else 1.0
    periods = tuple(SchedulePeriod(i * 900, rnd.randint(6, 32) * scale) for i in range(4))
    return Schedule(unit, periods, start_schedule=START + rnd.randrange(0, DAY, 300), duration=3600)  # type: ignore[arg-type]


def station(count: int, evses: int, seed: int = 1) -> tuple[list[Profile], Context]:
    """``count`` profiles over ``evses`` EVSEs, each with a transaction running."""
    rnd = random.Random(seed)
    installed = [Profile(1, 0, "ChargingStationMaxProfile", "Recurring", (hourly(rnd, "A"),), recurrency="Daily")]
    for i in range(2, count + 1):
        unit = rnd.choice(["A", "W"])
        evse = rnd.choice([0, *range(1, evses + 1)])
        shape = rnd.randrange(5)
        if shape == 0:
            installed.append(Profile(i, rnd.randint(0, 5), "TxDefaultProfile", "Recurring", (hourly(rnd, unit),),
                                     evse=evse, recurrency="Daily"))
        elif shape == 1:
            installed.append(Profile(i, rnd.randint(0, 5), "TxDefaultProfile", "Absolute", (block(rnd, unit),), evse=evse))
        elif shape == 2:
            relative = Schedule(unit, block(rnd, unit).periods, duration=7200)  # type: ignore[arg-type]
            installed.append(Profile(i, rnd.randint(0, 5), "TxDefaultProfile", "Relative", (relative,), evse=evse))
        elif shape == 3:
            installed.append(Profile(i, rnd.randint(0, 5), "TxProfile", "Absolute", (block(rnd, unit),),
                                     evse=evse or 1, transaction_id=f"tx{evse or 1}"))
        else:
            installed.append(Profile(i, rnd.randint(0, 5), "ChargingStationExternalConstraints", "Recurring",
                                     (hourly(rnd, unit),), evse=evse, recurrency="Daily"))
    installed = installed[:count]
    transactions = {e: Running(f"tx{e}", START - rnd.randrange(0, 3600)) for e in range(1, evses + 1)}
    return installed, Context(evses=tuple(range(1, evses + 1)), transactions=transactions)


def measure(count: int, evses: int, target: int, samples: int, budget: float) -> list[float]:
    """Milliseconds per call, ``samples`` calls or as many as fit in ``budget`` seconds (>= 5)."""
    installed, context = station(count, evses)
    composite(installed, target, START, DAY, "A", context)  # warm up
    times: list[float] = []
    deadline = time.perf_counter() + budget
    while len(times) < samples and (len(times) < 5 or time.perf_counter() < deadline):
        t0 = time.perf_counter()
        composite(installed, target, START, DAY, "A", context)
        times.append((time.perf_counter() - t0) * 1e3)
    return times


def p99(times: list[float]) -> float:
    return statistics.quantiles(times, n=100)[98] if len(times) >= 2 else times[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=200, help="calls per case (at most)")
    parser.add_argument("--budget", type=float, default=5.0, help="seconds per case (at least 5 calls)")
    args = parser.parse_args()
    baseline = statistics.median(measure(1, 1, 1, args.samples, args.budget))
    print(f"composite over 24 h, unit A; baseline (1 profile, 1 EVSE, EVSE 1): median {baseline:.3f} ms")
    print(f"{'profiles':>8} {'EVSEs':>5} {'EVSE':>4} {'calls':>5} {'median ms':>10} {'p99 ms':>9} {'x baseline':>10}")
    for count in (1, 10, 100):
        for evses in (1, 128):
            for target in (1, 0):
                times = measure(count, evses, target, args.samples, args.budget)
                median = statistics.median(times)
                print(f"{count:>8} {evses:>5} {target:>4} {len(times):>5} {median:>10.3f} {p99(times):>9.3f} "
                      f"{median / baseline:>10.1f}")


if __name__ == "__main__":
    main()
