"""The ``system`` module on the bus, seen from the OCPP side (EVerest's ``system`` interface).

Owns the calls the station makes of the system module: the boot reason before a 2.0.1
BootNotification (``get_boot_reason``, waited for ``BOOT_REASON_WAIT_S`` at most: a silent system
module only delays OCPP that long) and the charger's reset (``reset``). Without a system
connection a reset restarts the module's own OCPP side instead (reconnect and boot again), as
EVerest's OCPP module does with no system to ask.

Must never: decide when to reset or what to report (the OCPP blocks do).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from ocpp_bridge.engine import Engine

log = logging.getLogger("ocpp_bridge.system")

REQ = "system"
BOOT_REASON_WAIT_S = 10.0


class SystemLink:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @property
    def present(self) -> bool:
        return bool(self.engine.settings.connections.get(REQ))

    def boot_reason(self, done: Callable[[str | None], None]) -> None:
        """``done(reason)``, the system's BootReason name (the same names as 2.0.1's), or None."""
        def finished(retval: Any, error: tuple[str, str] | None) -> None:
            if error is None and isinstance(retval, str):
                done(retval)
                return
            log.warning("no boot reason from the system module (%s)", error)
            done(None)
        self.engine.call_required(REQ, 0, "get_boot_reason", {}, finished, timeout_s=BOOT_REASON_WAIT_S)

    def reset(self, kind: str, done: Callable[[bool], None] | None = None) -> None:
        """``kind`` Soft | Hard: the system module resets the charger; without one, OCPP
        reconnects and boots again."""
        if self.present:
            def finished(retval: Any, error: tuple[str, str] | None) -> None:
                if done is not None:
                    done(error is None)
            self.engine.call_required(REQ, 0, "reset", {"type": kind, "scheduled": False}, finished)
            return
        log.warning("%s reset requested and no system module connected: restarting the OCPP connection", kind)
        self.engine.reconnect_ocpp()
        if done is not None:
            done(True)
