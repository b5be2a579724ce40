"""Outgoing CALLs: one in flight, correlation by message id, response timeout. PURE.

Owns the charge point's side of the OCPP-J request/response rule: at most one CALL of ours
is waiting for an answer; the next one goes only when that answer (or its timeout) is in.
It knows no sockets and no clock: ``now`` is always passed in, and frames are returned as
text for the caller to write.

The session asks ``may_send(call)`` before taking a queued call, so the station core decides
(e.g. "nothing but BootNotification before Accepted") without the session knowing OCPP's
rules. The core may also offer one call from outside the queue (``extra``: the head of the
durable outbox); whichever comes first by (front, creation order) goes. Creation order is
one counter (``next_seq``) for both, so an older message is never overtaken by a newer one.

Must never: read a clock, write to a socket, persist anything, or retry a call by itself.
"""

from __future__ import annotations

import itertools
import logging
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable

from ocpp_bridge.ocpp.outcome import Done, LocalFailure, Reason

__all__ = ["Done", "OutgoingCall", "RpcSession"]
from ocpp_bridge.ocpp.rpc import Call, CallError, CallResult, encode

log = logging.getLogger("ocpp_bridge.ocpp.session")

# on_done(result_payload, failure): see ocpp/outcome.py (a CallError, or a LocalFailure).


@dataclass
class OutgoingCall:
    action: str
    payload: dict[str, Any]
    on_done: Done
    seq: int = 0
    front: bool = False
    tx: Any = None  # the outbox entry this call sends, if any (opaque here)
    allowed_before_accepted: bool = False  # a triggered message: may leave while Pending (station core)
    unique_id: str | None = None
    sent_at: float | None = None
    timeout_s: float | None = None


@dataclass
class RpcSession:
    """The queue of CALLs waiting to go and the one in flight."""

    timeout_s: float = 30.0
    new_id: Callable[[], str] = field(default=lambda: str(uuid.uuid4()))
    _queue: deque[OutgoingCall] = field(default_factory=deque)
    _in_flight: OutgoingCall | None = None
    _seq: itertools.count[int] = field(default_factory=itertools.count)

    # ------------------------------------------------------------------ queue
    def enqueue(self, action: str, payload: dict[str, Any], on_done: Done, *, front: bool = False,
                timeout_s: float | None = None) -> OutgoingCall:
        call = OutgoingCall(action, payload, on_done, next(self._seq), front=front, timeout_s=timeout_s)
        (self._queue.appendleft if front else self._queue.append)(call)
        return call

    def next_seq(self) -> int:
        """A creation number for a call built outside this queue (see ``next_frame``'s ``extra``)."""
        return next(self._seq)

    @property
    def in_flight(self) -> OutgoingCall | None:
        return self._in_flight

    def queued(self) -> list[OutgoingCall]:
        return list(self._queue)

    def next_frame(self, now: float, may_send: Callable[[OutgoingCall], bool] = lambda c: True,
                   extra: OutgoingCall | None = None) -> tuple[OutgoingCall, str] | None:
        """When nothing is in flight, send the first sendable queued call or ``extra`` (already
        judged sendable by the caller), whichever is older; returns (call, frame text)."""
        if self._in_flight is not None:
            return None
        queued = next((c for c in self._queue if may_send(c)), None)
        if queued is not None and (extra is None or _order(queued) < _order(extra)):
            self._queue.remove(queued)
            call = queued
        elif extra is not None:
            call = extra
        else:
            return None
        call.unique_id = self.new_id()
        call.sent_at = now
        self._in_flight = call
        return call, encode(Call(call.unique_id, call.action, call.payload))

    # ------------------------------------------------------------------ answers
    def on_answer(self, frame: CallResult | CallError) -> bool:
        """Deliver a CALLRESULT/CALLERROR. False (and a log line) for an id we don't await."""
        call = self._in_flight
        if call is None or frame.unique_id != call.unique_id:
            log.warning("dropping answer for unknown message id %r", frame.unique_id)
            return False
        self._in_flight = None
        if isinstance(frame, CallResult):
            call.on_done(frame.payload, None)
        else:
            call.on_done(None, frame)
        return True

    def deadline(self) -> float | None:
        call = self._in_flight
        if call is None or call.sent_at is None:
            return None
        return call.sent_at + (call.timeout_s or self.timeout_s)

    def check_timeout(self, now: float) -> OutgoingCall | None:
        """Fail the in-flight call if its answer is overdue; returns it."""
        due = self.deadline()
        if due is None or now < due:
            return None
        call = self._in_flight
        assert call is not None and call.sent_at is not None  # a deadline means a call in flight
        self._in_flight = None
        log.warning("no answer to %s (%s) within %.1fs", call.action, call.unique_id, now - call.sent_at)
        call.on_done(None, LocalFailure("timeout", "no response", call.unique_id or ""))
        return call

    def abort_in_flight(self, reason: Reason = "disconnected") -> None:
        """The connection went down while waiting: fail the in-flight call."""
        call = self._in_flight
        self._in_flight = None
        if call is not None:
            call.on_done(None, LocalFailure(reason, "connection lost", call.unique_id or ""))

    def drop_queued(self, keep: Callable[[OutgoingCall], bool] = lambda c: False,
                    why: str = "dropped from the queue") -> int:
        """Remove queued calls (telling each ``Dropped``) except those ``keep`` accepts."""
        dropped = [c for c in self._queue if not keep(c)]
        self._queue = deque(c for c in self._queue if keep(c))
        for call in dropped:
            call.on_done(None, LocalFailure("dropped", why))
        return len(dropped)


def _order(call: OutgoingCall) -> tuple[int, int]:
    return (0 if call.front else 1, call.seq)
