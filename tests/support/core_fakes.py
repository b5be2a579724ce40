"""Small stand-ins for the station's ports, for the unit tests of the version-neutral core
(``ocpp/common``): a configuration store, a core with a fake clock, timers and the real event
bus, and an EVSE port that records what it was asked.

``FakeConfig`` reads the real 1.6 keys and 2.0.1 variables (by their label, falling back to
their declared default), so a test can run one piece of common logic with either version's
settings.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Callable

from ocpp_bridge.ocpp.events import EventBus


class FakeConfig:
    def __init__(self, values: dict[Any, Any] | None = None):
        """``values``: setting -> value (anything else reads as its default)."""
        self.values = {setting.label: value for setting, value in (values or {}).items()}
        self.listeners: dict[str, list[Callable[[], None]]] = defaultdict(list)

    def read(self, setting):
        return self.values.get(setting.label, setting.fallback)

    def on_change(self, setting, fn: Callable[[], None]) -> None:
        self.listeners[setting.label].append(fn)

    def set(self, setting, value) -> None:
        """Change a setting the way the CSMS would: its listeners hear of it."""
        self.values[setting.label] = value
        for fn in self.listeners[setting.label]:
            fn()


class FakeTimers:
    def __init__(self):
        self.due: dict[str, tuple[float, Callable[[], None]]] = {}

    def set(self, name: str, due: float, fn: Callable[[], None]) -> None:
        self.due[name] = (due, fn)

    def cancel(self, name: str) -> None:
        self.due.pop(name, None)


class FakeCore:
    """The step's time, timers and the event bus; ``advance`` runs every timer on the way in
    order, with ``now`` set to each one's due time."""

    def __init__(self, now: float):
        self.now = now
        self.timers = FakeTimers()
        self.events = EventBus()

    def advance(self, seconds: float) -> None:
        end = self.now + seconds
        while self.timers.due:
            name, (due, fn) = min(self.timers.due.items(), key=lambda kv: kv[1][0])
            if due > end:
                break
            del self.timers.due[name]
            self.now = max(self.now, due)
            fn()
        self.now = end

    def jump(self, seconds: float) -> None:
        """The clock jumps: the next step sees the new time at once (late timers run late)."""
        self.now += seconds
        for name, (due, fn) in sorted(self.timers.due.items(), key=lambda kv: kv[1][0]):
            if due <= self.now and self.timers.due.get(name, (None,))[0] == due:
                del self.timers.due[name]
                fn()


class RecordingEvse:
    """An EVSE port that records every request as (name, evse, *args)."""

    def __init__(self):
        self.calls: list[tuple] = []

    def stop_transaction(self, evse: int, reason: str, done=None) -> None:
        self.calls.append(("stop_transaction", evse, reason))

    def pause_charging(self, evse: int, done=None) -> None:
        self.calls.append(("pause_charging", evse))
