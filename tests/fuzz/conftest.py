"""Fixtures of the fuzz tests: a ``Tally`` per test (printed with its run time in the
terminal summary) and the ``tracebacks`` watch on the ``ocpp_bridge`` loggers. The shared
settings and helpers live in ``fuzzing.py``."""

from __future__ import annotations

import logging
import time

import pytest
from fuzzing import Tally, TracebackWatch

_TALLIES: list[Tally] = []


@pytest.fixture
def tally(request):
    t = Tally(request.node.nodeid.split("::", 1)[-1])
    yield t
    t.seconds = time.monotonic() - t.started
    _TALLIES.append(t)


def pytest_terminal_summary(terminalreporter):
    if not _TALLIES:
        return
    terminalreporter.section("fuzz examples")
    total_n, total_s = 0, 0.0
    for t in _TALLIES:
        detail = ", ".join(f"{k} {v}" for k, v in sorted(t.counts.items()) if k != "examples")
        terminalreporter.write_line(f"{t.examples:6d} examples {t.seconds:6.1f} s  {t.name}  ({detail})")
        total_n += t.examples
        total_s += t.seconds
    terminalreporter.write_line(f"{total_n:6d} examples {total_s:6.1f} s  in all")


@pytest.fixture
def tracebacks():
    """The watch, with the module's loggers at ERROR meanwhile: thousands of expected
    warnings ("bad frame", "invalid arguments") would only slow the run down."""
    watch = TracebackWatch()
    root = logging.getLogger("ocpp_bridge")
    level = root.level
    root.setLevel(logging.ERROR)
    root.addHandler(watch)
    yield watch
    root.removeHandler(watch)
    root.setLevel(level)
