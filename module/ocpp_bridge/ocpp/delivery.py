"""The delivery policy of transactional messages: what the durable outbox sends, when, and
what a failure costs. PURE.

Owns, for one station core: the outbox (``outbox.py``: the durable FIFO), the retry policy
(``retry_policy(action) -> (attempts, interval)``, read at every failure), the resume delay after
each connection (MessageQueueResumeDelay), the late answers (a CALLRESULT that comes after its
timeout but before the retry went out is taken), the result handlers blocks register per action
(``on_tx_result``; no closures, so messages queued before a restart find them too), the size
threshold of both queues, and ``atomic`` (a block's messages and its records hosted in the
outbox's file commit together).

Rules (the station core's docstring tells the whole story):
- the head goes only when connected, running, Accepted, past the resume delay and past its
  retry time; it is offered to the session next to the ordinary queue and the older goes;
- CALLERROR or timeout: one attempt spent (persisted), a retry after ``interval x attempts``
  under a new message id while attempts are left, else dropped with a log line (its handler
  hears ``result=None``); a lost connection spends nothing;
- 1.6 StartTransaction.conf: its transactionId is recorded in the commit that removes it;
- over ``queue_threshold`` messages in both queues: the oldest ordinary ones go first, then
  the outbox's thinning rule (``Outbox.thin``).

Must never: write to the socket (the core pumps), read a clock, or send anything but the
outbox's head.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Callable

from ocpp_bridge.ocpp.outbox import Entry, Outbox
from ocpp_bridge.ocpp.outcome import Failure, LocalFailure
from ocpp_bridge.ocpp.session import OutgoingCall

if TYPE_CHECKING:
    from ocpp_bridge.ocpp.station import StationCore

log = logging.getLogger("ocpp_bridge.ocpp")

# action -> (maximum attempts, retry interval in seconds); read on every failure.
RetryPolicy = Callable[[str], tuple[int, float]]
# (tx_key, request payload as sent, CALLRESULT payload or None when dropped)
TxResultHandler = Callable[[str | None, dict[str, Any], dict[str, Any] | None], None]

DEFAULT_QUEUE_THRESHOLD = 500


def default_retry_policy(action: str) -> tuple[int, float]:
    return 3, 60.0


class Delivery:
    def __init__(self, core: StationCore, outbox: Outbox, retry_policy: RetryPolicy,
                 queue_threshold: int = DEFAULT_QUEUE_THRESHOLD) -> None:
        self.core = core
        self.outbox = outbox
        self.retry_policy = retry_policy
        self.queue_threshold = queue_threshold
        self.resume_delay_s = 0.0
        self.settling = False  # while a result is being committed, nothing may be sent
        self._resume_at = 0.0
        self._handlers: dict[str, TxResultHandler] = {}
        self._late: dict[str, Entry] = {}  # message id of a timed-out send -> its entry
        for entry in outbox.entries():  # queued before this start: older than anything new
            entry.seq = core.session.next_seq()
        if len(outbox):
            log.info("outbox holds %d message(s) from before; they go after BootNotification is Accepted",
                     len(outbox))

    # ------------------------------------------------------------- what the core tells us
    def connected(self, now: float) -> None:
        self._resume_at = now + max(0.0, self.resume_delay_s)
        if self.resume_delay_s > 0 and len(self.outbox):
            log.info("outbox resumes in %.0fs (MessageQueueResumeDelay)", self.resume_delay_s)

    def disconnected(self) -> None:
        self._late.clear()

    def awaits_late(self, unique_id: str) -> bool:
        return unique_id in self._late

    def take_late(self, frame_id: str, result: dict[str, Any] | None) -> bool:
        """An answer for a message whose try timed out: taken when it is a CALLRESULT and the
        message is still queued (True: it was one of ours)."""
        late = self._late.pop(frame_id, None)
        if late is None:
            return False
        if result is not None and late in self.outbox:
            log.info("late answer to %s (%s) taken: it will not be sent again", late.action, frame_id)
            self._acknowledge(late, result)
        else:
            log.info("late CALLERROR to %s (%s) ignored: the attempt was counted", late.action, frame_id)
        return True

    def sent(self, call: OutgoingCall) -> None:
        """``call`` went on the wire: an answer to an earlier try of it no longer counts."""
        if call.tx is not None:
            self._late = {uid: e for uid, e in self._late.items() if e is not call.tx}

    # ------------------------------------------------------------- what the blocks do
    def send(self, action: str, payload: dict[str, Any], tx_key: str | None) -> int:
        entry = self.outbox.add(action, payload, tx_key, self.core.now)
        entry.seq = self.core.session.next_seq()
        self.enforce_threshold()
        return entry.row_id

    @contextmanager
    def atomic(self) -> Iterator[None]:
        settling = self.settling
        self.settling = True
        try:
            with self.outbox.transaction():
                yield
        finally:
            self.settling = settling

    def on_result(self, action: str, fn: TxResultHandler) -> None:
        self._handlers[action] = fn

    # ------------------------------------------------------------- the head
    def _open(self) -> bool:
        core = self.core
        return core.connected and core.running and core.registration == "Accepted" and core.now >= self._resume_at

    def candidate(self) -> OutgoingCall | None:
        """The outbox's head as the next call, when it may go now."""
        entry = self.outbox.head()
        if entry is None or not self._open() or self.core.now < entry.not_before:
            return None
        return OutgoingCall(entry.action, self.outbox.outgoing_payload(entry),
                            lambda result, error: self._done(entry, result, error), seq=entry.seq, tx=entry)

    def due(self) -> float | None:
        """When the outbox head becomes sendable, if that is later than now."""
        core = self.core
        entry = self.outbox.head()
        if (entry is None or core.session.in_flight is not None or not core.connected or not core.running
                or core.registration != "Accepted"):
            return None
        due = max(entry.not_before, self._resume_at)
        return due if due > core.now else None

    def _done(self, entry: Entry, result: dict[str, Any] | None, error: Failure | None) -> None:
        if result is not None:
            self._acknowledge(entry, result)
            return
        assert error is not None
        if isinstance(error, LocalFailure) and error.reason == "disconnected":
            log.info("%s (%s) cut by the lost connection: sent again after reconnecting, no attempt spent",
                     entry.action, error.unique_id)
            return
        if isinstance(error, LocalFailure) and error.reason == "timeout":
            self._late[error.unique_id] = entry
        max_attempts, interval_s = self.retry_policy(entry.action)
        now = self.core.now
        if self.outbox.record_failure(entry, now, int(max_attempts), float(interval_s)):
            log.warning("%s (%s) failed with %s: attempt %d of %d, next try in %.0fs", entry.action,
                        error.unique_id, error.code, entry.attempts, max(1, max_attempts), entry.not_before - now)
            return
        log.error("%s dropped after %d failed attempt(s) (last: %s %s): %.300s", entry.action, entry.attempts,
                  error.code, error.description, self.outbox.outgoing_payload(entry))
        self._finish(entry, None)

    def _acknowledge(self, entry: Entry, result: dict[str, Any]) -> None:
        if not self.core.check_response(entry.action, result):
            log.warning("%s was answered with an invalid CALLRESULT; it counts as delivered", entry.action)
        self._finish(entry, result)

    def _finish(self, entry: Entry, result: dict[str, Any] | None) -> None:
        """Remove ``entry`` and tell its handler, in one commit (whatever the handler writes to
        the outbox, e.g. ``set_transaction_id`` or a new message, commits with the removal)."""
        self._late = {uid: e for uid, e in self._late.items() if e is not entry}
        payload = self.outbox.outgoing_payload(entry)
        self.settling = True
        try:
            with self.outbox.transaction():
                tx_id = (result or {}).get("transactionId")
                if (self.core.version == "1.6" and entry.action == "StartTransaction" and entry.tx_key is not None
                        and isinstance(tx_id, int) and not isinstance(tx_id, bool)):
                    self.outbox.set_transaction_id(entry.tx_key, tx_id)
                self.outbox.remove(entry)
                self._tell(entry, payload, result)
        finally:
            self.settling = False

    def _tell(self, entry: Entry, payload: dict[str, Any], result: dict[str, Any] | None) -> None:
        handler = self._handlers.get(entry.action)
        if handler is None:
            return
        try:
            handler(entry.tx_key, payload, result)
        except Exception:  # a block's bug must not lose the removal or stop the queue
            log.exception("result handler of %s failed", entry.action)

    # ------------------------------------------------------------- size
    def enforce_threshold(self) -> None:
        session = self.core.session
        excess = len(session.queued()) + len(self.outbox) - self.queue_threshold
        if excess <= 0:
            return
        ordinary = [c for c in session.queued() if c.action != "BootNotification"]
        if ordinary:
            victims = {id(c) for c in ordinary[:max(excess, self.queue_threshold // 10, 1)]}
            n = session.drop_queued(keep=lambda c: id(c) not in victims, why="queue over its size threshold")
            log.warning("queue above %d messages: dropped the %d oldest non-transactional one(s)",
                        self.queue_threshold, n)
            excess -= n
        if excess <= 0:
            return
        in_flight = session.in_flight
        for entry in self.outbox.thin(excess, keep=in_flight.tx if in_flight is not None else None):
            log.warning("queue above %d messages: thinned out %s #%d of %s", self.queue_threshold,
                        entry.action, entry.row_id, entry.tx_key)
            self._tell(entry, self.outbox.outgoing_payload(entry), None)
