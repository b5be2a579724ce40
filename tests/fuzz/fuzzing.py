"""Settings and bookkeeping shared by the property-based fuzz tests.

Owns: one hypothesis profile for every fuzz test (``fuzz_settings``: derandomized, so CI
runs the same examples every time, no example database, no deadline: the machine is
shared and slow examples are not failures), the per-test example budget (scaled by the
environment variable ``OCPP_BRIDGE_FUZZ_SCALE``, default 1, for a longer run by hand;
hypothesis's own cache goes to the temporary folder, not the checkout),
``Tally`` (the counts each test records, printed in the terminal summary with the run time
by ``conftest.py``), and ``TracebackWatch``: a log handler that collects every record
carrying an exception, since "the process never prints a traceback" is one of the
properties.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field

from hypothesis import HealthCheck, settings
from hypothesis.configuration import set_hypothesis_home_dir

# hypothesis keeps a unicode cache in its home directory: not in the checkout
set_hypothesis_home_dir(os.path.join(tempfile.gettempdir(), "ocpp-bridge-hypothesis"))

SCALE = float(os.environ.get("OCPP_BRIDGE_FUZZ_SCALE", "1"))


def fuzz_settings(examples: int) -> settings:
    return settings(
        max_examples=max(1, int(examples * SCALE)),
        deadline=None,
        derandomize=True,
        database=None,
        print_blob=False,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much,
                               HealthCheck.large_base_example],
    )


@dataclass
class Tally:
    """What one fuzz test sent and what it got back."""

    name: str
    counts: Counter = field(default_factory=Counter)
    started: float = field(default_factory=time.monotonic)
    seconds: float = 0.0

    def add(self, key: str) -> None:
        self.counts[key] += 1

    @property
    def examples(self) -> int:
        return self.counts["examples"]


class TracebackWatch(logging.Handler):
    """Collects log records that carry an exception (a traceback would be printed)."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info:
            self.records.append(record)

    def describe(self) -> str:
        return "\n".join(f"{r.name}: {r.getMessage()} ({r.exc_info[0].__name__}: {r.exc_info[1]})"
                         for r in self.records[:5])
