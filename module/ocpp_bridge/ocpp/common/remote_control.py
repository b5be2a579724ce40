"""What both versions' remote control checks the same way. PURE.

Owns:
- ``accepted(core, action, rule)``: a remote start or stop is answered Rejected while the
  CSMS has not Accepted our BootNotification (1.6 §4.2 allows none then; 2.0.1 B02.FR.05).
- ``remote_stop``: RemoteStopTransaction / RequestStopTransaction: Rejected before Accepted
  or for a transaction id we do not know; else the transaction stops (reason Remote).
- ``TriggerMessages``: the registry of what a TriggerMessage may ask for, which any block
  extends with ``add(requestedMessage, send)`` (``send(target)`` sends the message and
  returns the TriggerMessageStatus, Accepted or Rejected; ``target``: the version's connector
  id or EVSE, already checked by the adapter). A kind nobody registered -> NotImplemented;
  while the registration is neither Accepted nor Pending only a BootNotification may be
  triggered (1.6 §4.2, 2.0.1 B03) -> Rejected; the message is queued inside
  ``core.triggered()``, so it goes right after the CALLRESULT, while Pending too (1.6 §4.2,
  2.0.1 B02.FR.01 / F06.FR.04).
- ``report_idle``: the status notification of a process that is not running (firmware
  update, diagnostics or log upload): Idle, in both versions.

What stays per version: which connector or EVSE a request may name, what "busy" means for a
remote start, and which messages can be triggered.

Must never: start or stop anything itself.
"""

from __future__ import annotations

import logging
from typing import Callable, Generic, TypeVar

from ocpp_bridge.ocpp.station import StationCore

log = logging.getLogger("ocpp_bridge.ocpp.common.remote_control")

T = TypeVar("T")


def accepted(core: StationCore, action: str, rule: str) -> bool:
    """May the CSMS's ``action`` act now? False (and a log line citing ``rule``) before Accepted."""
    if core.registration == "Accepted":
        return True
    log.warning("%s while the registration is %s: Rejected (%s)", action, core.registration, rule)
    return False


def remote_stop(core: StationCore, action: str, rule: str, evse: int | None,
                stop: Callable[[int], object]) -> dict[str, str]:
    """The answer to a remote stop of the transaction on ``evse`` (None: no such transaction);
    ``stop(evse)`` ends it, the version's way."""
    if not accepted(core, action, rule) or evse is None:
        return {"status": "Rejected"}
    stop(evse)
    return {"status": "Accepted"}


def report_idle(core: StationCore, action: str) -> str:
    """No such process runs: its status notification says Idle."""
    core.call(action, {"status": "Idle"})
    return "Accepted"


class TriggerMessages(Generic[T]):
    def __init__(self, core: StationCore) -> None:
        self.core = core
        self._senders: dict[str, Callable[[T], str]] = {}

    def add(self, requested_message: str, send: Callable[[T], str]) -> None:
        """Let a block send ``requested_message`` when it is triggered (replaces an earlier sender)."""
        self._senders[requested_message] = send

    def answer(self, requested_message: str, target: T) -> str:
        """The TriggerMessageStatus for ``requested_message`` (sent, when Accepted)."""
        send = self._senders.get(requested_message)
        if send is None:
            return "NotImplemented"
        if requested_message != "BootNotification" and self.core.registration not in ("Accepted", "Pending"):
            return "Rejected"
        with self.core.triggered():
            return send(target)
