"""Named one-shot deadlines: the OCPP core's only notion of time. PURE.

Owns the table of timers the blocks set (``set(name, due, fn)``) and ``run_due(now)``, which runs
every timer whose time has come, earliest first; a timer that raises is logged and the others
still run. ``now`` always comes from outside.

Must never: read a clock or sleep.
"""

from __future__ import annotations

import logging
from typing import Callable

log = logging.getLogger("ocpp_bridge.ocpp")


class Timers:
    def __init__(self) -> None:
        self._due: dict[str, tuple[float, Callable[[], None]]] = {}

    def set(self, name: str, due: float, fn: Callable[[], None]) -> None:
        self._due[name] = (due, fn)

    def cancel(self, name: str) -> None:
        self._due.pop(name, None)

    def is_set(self, name: str) -> bool:
        return name in self._due

    def next_due(self) -> float | None:
        return min((due for due, _ in self._due.values()), default=None)

    def run_due(self, now: float) -> None:
        for name, (due, fn) in sorted(self._due.items(), key=lambda kv: kv[1][0]):
            if due <= now and self._due.get(name, (None,))[0] == due:
                del self._due[name]
                try:
                    fn()
                except Exception:  # one block's bug must not stop the others' timers
                    log.exception("timer %s failed", name)

    def clear(self) -> None:
        self._due.clear()
