"""BootNotification and Heartbeat: the registration lifecycle, shared by 1.6 and 2.0.1. PURE.

Rules (OCPP 1.6 §4.2 / 2.0.1 B01-B03):
- On every new connection while not Accepted, send BootNotification ahead of anything else.
- Accepted: adopt the CSMS's interval as the heartbeat interval (when > 0) and send Heartbeat
  at that interval.
- Pending / Rejected: send nothing but BootNotification again after ``interval`` seconds (our
  default when the CSMS says 0); Pending still answers the CSMS's own CALLs.
- No answer / CALLERROR: retry the boot after the default retry interval.
"""

from __future__ import annotations

import logging
from typing import Any, Callable

from ocpp_bridge.ocpp.events import BootAnswered, ConnectionChanged, CsmsTime, Registered
from ocpp_bridge.ocpp.outcome import Failure, LocalFailure
from ocpp_bridge.ocpp.station import StationCore

log = logging.getLogger("ocpp_bridge.ocpp.registration")

BOOT_TIMER = "boot-retry"
HEARTBEAT_TIMER = "heartbeat"


class Registration:
    def __init__(
        self,
        core: StationCore,
        boot_payload: Callable[[], dict[str, Any]],
        heartbeat_interval: Callable[[], int],
        adopt_interval: Callable[[int], None],
        *,
        retry_default_s: float = 30.0,
    ):
        self.core = core
        self._boot_payload = boot_payload
        self._heartbeat_interval = heartbeat_interval
        self._adopt_interval = adopt_interval
        self.retry_default_s = retry_default_s
        self._boot_pending = False
        core.events.subscribe(ConnectionChanged, self._on_connection)

    # ------------------------------------------------------------------ boot
    def _on_connection(self, event: ConnectionChanged) -> None:
        if event.up and self.core.registration != "Accepted":
            self.send_boot()

    def send_boot(self) -> None:
        if self._boot_pending or not self.core.running:
            return
        self.core.timers.cancel(BOOT_TIMER)
        self._boot_pending = True
        self.core.call("BootNotification", self._boot_payload(), self._on_boot_answer, front=True)

    def _on_boot_answer(self, result: dict[str, Any] | None, error: Failure | None) -> None:
        self._boot_pending = False
        if error is not None or result is None or not self.core.check_response("BootNotification", result):
            if isinstance(error, LocalFailure) and error.reason == "disconnected":
                return  # the next connection boots again
            why = error.code if error is not None else "invalid response"
            log.warning("BootNotification failed (%s); retrying in %.0fs", why, self.retry_default_s)
            self._retry_boot(self.retry_default_s)
            return
        status = result["status"]
        interval = int(result.get("interval", 0))
        self.core.registration = status
        log.info("BootNotification %s (interval %s)", status, interval)
        info = result.get("statusInfo")
        self.core.events.publish(BootAnswered(status, result["currentTime"], interval,
                                              dict(info) if isinstance(info, dict) else None))
        if status == "Accepted":
            if interval > 0:
                self._adopt_interval(interval)
            self.schedule_heartbeat()
            self.core.events.publish(Registered())
        else:
            self._retry_boot(interval if interval > 0 else self.retry_default_s)

    def _retry_boot(self, after_s: float) -> None:
        self.core.timers.set(BOOT_TIMER, self.core.now + after_s, self.send_boot)

    # ------------------------------------------------------------------ heartbeat
    def schedule_heartbeat(self) -> None:
        """(Re)start the heartbeat timer from now with the configured interval."""
        interval = self._heartbeat_interval()
        if self.core.registration != "Accepted" or interval <= 0:
            self.core.timers.cancel(HEARTBEAT_TIMER)
            return
        self.core.timers.set(HEARTBEAT_TIMER, self.core.now + interval, self._beat)

    def _beat(self) -> None:
        if self.core.connected and self.core.running:
            self.send_heartbeat()
        self.schedule_heartbeat()

    def send_heartbeat(self) -> None:
        """A Heartbeat now (the timer's, or a TriggerMessage's); its answer gives the CSMS's time."""
        self.core.call("Heartbeat", {}, self._on_heartbeat_answer)

    def _on_heartbeat_answer(self, result: dict[str, Any] | None, error: Failure | None) -> None:
        if result is not None and self.core.check_response("Heartbeat", result):
            self.core.events.publish(CsmsTime(result["currentTime"]))

    # ------------------------------------------------------------------ lifecycle
    def reset(self) -> None:
        """Forget the registration (after ``stop``): the next connection boots again."""
        self._boot_pending = False
        self.core.registration = "Unknown"
        self.core.timers.cancel(BOOT_TIMER)
        self.core.timers.cancel(HEARTBEAT_TIMER)
