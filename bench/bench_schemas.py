"""Benchmark: schema validation cost per message, against plain ``json.loads``.

Owns: printing median and p99 microseconds per call for a 1.6 MeterValues and a
2.0.1 TransactionEvent request: the baseline (``json.loads`` of the frame text),
``rpc.parse_frame`` of the same text, and ``OcppSchemas.check_request`` of its
payload (validator already built), plus the validation/baseline ratio.

Must never: assert on timings (figures only) or touch the network.

Run: ``.venv/bin/python bench/bench_schemas.py [iterations]``
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "module"))

from ocpp_bridge.ocpp.rpc import Call, encode, parse_frame  # noqa: E402
from ocpp_bridge.ocpp.schemas import OcppSchemas  # noqa: E402

METER_VALUES_16 = {
    "connectorId": 1,
    "transactionId": 42,
    "meterValue": [{
        "timestamp": "2024-05-01T12:00:00.123Z",
        "sampledValue": [
            {"value": "1234.5", "context": "Sample.Periodic", "measurand": "Energy.Active.Import.Register",
             "location": "Outlet", "unit": "Wh"},
            {"value": "21.4", "context": "Sample.Periodic", "measurand": "Current.Import",
             "phase": "L1", "location": "Outlet", "unit": "A"},
            {"value": "230.1", "context": "Sample.Periodic", "measurand": "Voltage",
             "phase": "L1-N", "location": "Outlet", "unit": "V"},
            {"value": "4920", "context": "Sample.Periodic", "measurand": "Power.Active.Import",
             "location": "Outlet", "unit": "W"},
        ],
    }],
}

TRANSACTION_EVENT_201 = {
    "eventType": "Updated",
    "timestamp": "2024-05-01T12:00:00.123Z",
    "triggerReason": "MeterValuePeriodic",
    "seqNo": 17,
    "transactionInfo": {"transactionId": "5f0a6c2e-6f7e-4c1b-9d53-8d2c0f1c9a11", "chargingState": "Charging"},
    "evse": {"id": 1, "connectorId": 1},
    "meterValue": [{
        "timestamp": "2024-05-01T12:00:00.123Z",
        "sampledValue": [
            {"value": 1234.5, "context": "Sample.Periodic", "measurand": "Energy.Active.Import.Register",
             "location": "Outlet", "unitOfMeasure": {"unit": "Wh"}},
            {"value": 21.4, "context": "Sample.Periodic", "measurand": "Current.Import", "phase": "L1",
             "location": "Outlet", "unitOfMeasure": {"unit": "A"}},
            {"value": 230.1, "context": "Sample.Periodic", "measurand": "Voltage", "phase": "L1-N",
             "location": "Outlet", "unitOfMeasure": {"unit": "V"}},
            {"value": 4920, "context": "Sample.Periodic", "measurand": "Power.Active.Import",
             "location": "Outlet", "unitOfMeasure": {"unit": "W"}},
        ],
    }],
}


def measure(fn, arg, iterations: int) -> tuple[float, float]:
    for _ in range(min(200, iterations)):  # warm-up
        fn(arg)
    samples = []
    clock = time.perf_counter_ns
    for _ in range(iterations):
        start = clock()
        fn(arg)
        samples.append(clock() - start)
    samples.sort()
    median = statistics.median(samples) / 1000
    p99 = samples[min(len(samples) - 1, int(len(samples) * 0.99))] / 1000
    return median, p99


def main() -> None:
    iterations = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    print(f"python {sys.version.split()[0]}, {iterations} iterations, microseconds per call")
    print(f"{'case':<34}{'median':>10}{'p99':>10}{'x json.loads':>14}")
    for version, action, payload in (("1.6", "MeterValues", METER_VALUES_16),
                                     ("2.0.1", "TransactionEvent", TRANSACTION_EVENT_201)):
        text = encode(Call("bench-1", action, payload))
        schemas = OcppSchemas(version)
        schemas.check_request(action, payload)  # builds and caches the validator
        base_median, base_p99 = measure(json.loads, text, iterations)
        rows = [
            ("json.loads (baseline)", base_median, base_p99),
            ("rpc.parse_frame", *measure(lambda t: parse_frame(t, version), text, iterations)),
            ("check_request", *measure(lambda p: schemas.check_request(action, p), payload, iterations)),
        ]
        print(f"-- {version} {action} ({len(text)} bytes)")
        for name, median, p99 in rows:
            print(f"   {name:<31}{median:>10.1f}{p99:>10.1f}{median / base_median:>14.1f}")


if __name__ == "__main__":
    main()
