"""Who hears of a stored configuration change, for either version's store. PURE.

Owns the rule both stores (1.6 ``ConfigurationKeys``, 2.0.1 ``DeviceModel``) follow after they
committed a new value: every listener hears of it, in the order they were added; one that
raises is logged with what changed and who failed, and neither undoes the change nor keeps the
others from hearing it (the answer to the CSMS says what was stored).

Must never: store anything, or let a listener's exception escape.
"""

from __future__ import annotations

import logging
from typing import Any, Callable

log = logging.getLogger("ocpp_bridge.ocpp.configuration")


class ChangeListeners:
    def __init__(self) -> None:
        self._listeners: list[Callable[..., None]] = []

    def add(self, fn: Callable[..., None]) -> None:
        self._listeners.append(fn)

    def notify(self, what: str, *args: Any) -> None:
        """``fn(*args)`` for every listener; ``what`` names the change in a failure's log line."""
        for fn in list(self._listeners):
            try:
                fn(*args)
            except Exception:  # the change is stored: every listener hears of it, none undoes it
                log.exception("%s was changed and stored, but its listener %s failed", what,
                              getattr(fn, "__qualname__", repr(fn)))
