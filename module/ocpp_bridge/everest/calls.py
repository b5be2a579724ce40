"""Commands we call on the modules we require: ids, answers, timeouts. PURE.

Owns the bookkeeping of outstanding calls to other modules (``evse_manager.get_evse``,
``enable_disable``, ...): each gets a fresh id and a deadline; the answer or the timeout
completes it exactly once with ``on_done(retval, error)`` where error is
``(error_type, message)`` or None. No MQTT here: the engine publishes what ``start``
returns and feeds results and the time back in.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Callable

from ocpp_bridge.everest.protocol import CMD_TIMEOUT, IncomingResult

OnDone = Callable[[Any, "tuple[str, str] | None"], None]


@dataclass
class PendingCall:
    call_id: str
    description: str
    deadline: float
    on_done: OnDone


class OutstandingCalls:
    def __init__(self, new_id: Callable[[], str] = lambda: str(uuid.uuid4())):
        self._pending: dict[str, PendingCall] = {}
        self._new_id = new_id

    def start(self, description: str, now: float, timeout_s: float, on_done: OnDone) -> str:
        call_id = self._new_id()
        self._pending[call_id] = PendingCall(call_id, description, now + timeout_s, on_done)
        return call_id

    def answer(self, result: IncomingResult) -> bool:
        """Complete the call the result belongs to; False if it isn't ours (or already timed out)."""
        call = self._pending.pop(result.call_id, None)
        if call is None:
            return False
        call.on_done(result.retval, result.error)
        return True

    def expire(self, now: float) -> list[PendingCall]:
        overdue = [c for c in self._pending.values() if c.deadline <= now]
        for call in overdue:
            del self._pending[call.call_id]
            call.on_done(None, (CMD_TIMEOUT, f"{call.description}: no answer before the timeout"))
        return overdue

    def deadline(self) -> float | None:
        return min((c.deadline for c in self._pending.values()), default=None)

    def __len__(self) -> int:
        return len(self._pending)
