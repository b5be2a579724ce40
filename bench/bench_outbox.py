"""Benchmark: the durable outbox — enqueue latency and backlog drain rate.

Owns: printing, in one run,
- durable enqueue latency (p50 / p99 / max, microseconds) of ``send_transactional`` while
  offline: schema check + INSERT + fsync'd commit (WAL, ``synchronous=FULL``);
- the drain rate (messages/s) of a backlog of N SecurityEventNotifications through a
  loopback CSMS that answers every CALL at once, for: the outbox on a file (one fsync'd
  DELETE per CALLRESULT), the outbox on an in-memory SQLite (no disk), and the plain
  in-memory queue of ordinary calls (``StationCore.call``: the baseline);
and the file system the database directory is on, since fsync cost depends on it.

Must never: assert on timings (figures only) or touch the network.

Run: ``.venv/bin/python bench/bench_outbox.py [--backlog 10000] [--samples 2000] [--dir PATH]``
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "module"))

from ocpp_bridge.ocpp.outbox import Outbox  # noqa: E402
from ocpp_bridge.ocpp.station import StationCore  # noqa: E402

EVENT = {"type": "TamperDetectionActivated", "timestamp": "2026-01-01T00:00:00.000Z", "techInfo": "bench"}


class Loopback:
    """The CSMS: remembers the last CALL written; ``answer`` returns its CALLRESULT text."""

    def __init__(self) -> None:
        self.last: str | None = None
        self.count = 0

    def send(self, text: str) -> bool:
        self.last = text
        self.count += 1
        return True

    def answer(self) -> str | None:
        if self.last is None:
            return None
        unique_id = json.loads(self.last)[1]
        self.last = None
        return json.dumps([3, unique_id, {}])


def core_with(outbox: Outbox, wire: Loopback) -> StationCore:
    core = StationCore("1.6", wire.send, outbox=outbox, queue_threshold=10**9)
    core.registration = "Accepted"
    return core


def drain(core: StationCore, wire: Loopback, expected: int) -> float:
    """Answer every CALL until ``expected`` have gone; returns the seconds taken."""
    start = time.perf_counter()
    core.on_connected(time.time())
    while wire.count < expected or wire.last is not None:
        text = wire.answer()
        if text is None:
            core.poll(time.time())
            continue
        core.on_text(text, time.time())
    return time.perf_counter() - start


def enqueue_latency(directory: str, samples: int) -> list[float]:
    wire = Loopback()
    core = core_with(Outbox.open(directory, "1.6"), wire)
    core.now = time.time()
    times = []
    for _ in range(samples):
        t0 = time.perf_counter()
        core.send_transactional("SecurityEventNotification", EVENT, None)
        times.append((time.perf_counter() - t0) * 1e6)
    core.close()
    return times


def durable_drain(directory: str, backlog: int, in_memory: bool) -> tuple[float, float]:
    """(seconds to fill while offline, seconds to drain) for an outbox backlog."""
    wire = Loopback()
    outbox = Outbox.in_memory("1.6") if in_memory else Outbox.open(directory, "1.6")
    core = core_with(outbox, wire)
    core.now = time.time()
    t0 = time.perf_counter()
    for _ in range(backlog):
        core.send_transactional("SecurityEventNotification", EVENT, None)
    filled = time.perf_counter() - t0
    taken = drain(core, wire, backlog)
    assert len(core.outbox) == 0, "backlog not drained"
    core.close()
    return filled, taken


def ordinary_drain(backlog: int) -> float:
    wire = Loopback()
    core = core_with(Outbox.in_memory("1.6"), wire)
    core.connected, core.now = True, time.time()
    wire_sent = wire.count
    for _ in range(backlog):
        core.call("SecurityEventNotification", EVENT)
    # the first call went out at once; answer it and the rest from here
    return drain(core, wire, wire_sent + backlog)


def filesystem_of(path: str) -> str:
    best, kind = "", "?"
    try:
        with open("/proc/mounts", encoding="utf-8") as mounts:
            for line in mounts:
                _dev, mount, fstype, *_ = line.split()
                if os.path.realpath(path).startswith(mount) and len(mount) > len(best):
                    best, kind = mount, fstype
    except OSError:
        pass
    return kind


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backlog", type=int, default=10_000)
    parser.add_argument("--samples", type=int, default=2_000)
    parser.add_argument("--dir", default=None, help="where outbox.db goes (default: a temporary directory here)")
    args = parser.parse_args()
    root = tempfile.mkdtemp(prefix="bench-outbox-", dir=args.dir or os.getcwd())
    try:
        print(f"database directory {root} ({filesystem_of(root)}), sqlite WAL synchronous=FULL")
        lat = enqueue_latency(os.path.join(root, "latency"), args.samples)
        q = statistics.quantiles(lat, n=100)
        print(f"durable enqueue ({args.samples} messages): p50 {q[49]:.0f} us  p99 {q[98]:.0f} us  "
              f"max {max(lat):.0f} us")
        filled, file_s = durable_drain(os.path.join(root, "drain"), args.backlog, in_memory=False)
        _, mem_db_s = durable_drain(root, args.backlog, in_memory=True)
        plain_s = ordinary_drain(args.backlog)
        print(f"backlog of {args.backlog}: filled offline in {filled:.2f} s")
        for name, seconds in (("outbox, file (fsync per ack)", file_s), ("outbox, in-memory SQLite", mem_db_s),
                              ("ordinary in-memory queue", plain_s)):
            print(f"  drain {name:30s} {args.backlog / seconds:9.0f} msg/s  ({seconds:.2f} s)")
        print(f"  durable / in-memory queue rate: {plain_s / file_s:.2f}")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
