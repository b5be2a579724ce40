"""One charging station's OCPP-J conversation with its CSMS, for either version. PURE.

Theory of operation
-------------------
The engine feeds four things in, always with the current time: ``on_connected``,
``on_disconnected``, ``on_text`` (a frame from the CSMS) and ``poll`` (a timer may be due).
The core answers through ``send_text`` (a frame to write) and through typed events (``events``, see ``events.py``) that
the engine turns into MQTT variables. Nothing here opens a socket, starts a thread or reads
a clock: ``self.now`` is the time of the call being handled.

Incoming CALLs are checked against the official schema and routed to the handler a
functional block registered with ``handle(action, fn)`` (one handler per action: a second
registration is a start-up error); any failure becomes the CALLERROR the version defines.
A frame holding a value we cannot carry (a lone surrogate, an integer beyond 64 bits:
``rpc.py`` decides) never gets that far; a CALLRESULT we cannot use fails its call at once.
Our answers are encoded before they are written, so one that cannot be sent as UTF-8 JSON
becomes InternalError rather than a dropped connection. A handler whose answer waits on
another module returns a ``Deferred``; the core answers the CSMS when it resolves, or after
``answer_timeout_s`` (module option CsmsAnswerTimeoutS) with the fallback of
``late_answers`` and a log line, whichever comes first. Outgoing CALLs are schema-checked before they are queued (an invalid
message is never sent) and go through ``RpcSession`` one at a time. Until the CSMS has
Accepted our BootNotification, only BootNotification may leave (``may_send``), and, while
Pending, what a block queued while answering a TriggerMessage (``triggered()``: 1.6 §4.2,
2.0.1 B02.FR.01 / F06 — a triggered message goes right after the answer, as in libocpp).

Two kinds of outgoing message
-----------------------------
*Transactional* (``send_transactional``: 1.6 StartTransaction, StopTransaction, transaction
MeterValues; 2.0.1 TransactionEvent; SecurityEventNotification in both) go to the durable
``Outbox`` first and are removed only when their CALLRESULT is in. Their results reach the
handler a block registered once with ``on_tx_result(action, fn)`` (no closures, so messages
queued before a restart find it too). The outbox is strictly FIFO; its head is offered to the
session next to the ordinary queue and the older of the two goes, so other messages may
interleave but never overtake an older transactional one. The head goes only when connected,
running, Accepted, past the resume delay (``resume_delay_s`` after every connection, module
option MessageQueueResumeDelay) and past its retry time.

- CALLERROR or no answer in time: one attempt spent (persisted); below the ``retry_policy``
  limit the message goes again after ``interval x attempts`` under a new message id, else it
  is dropped with a log line and its handler gets ``result=None``.
- Connection lost while it was in flight: no attempt is spent; it stays the head.
- A CALLRESULT that arrives after its timeout but before the retry went out is taken as the
  answer (the retry is not sent: the CSMS has the message once).
- 1.6 StartTransaction.conf: its transactionId is recorded for the tx_key in the same commit
  that removes the message (``set_transaction_id``), so no restart can lose it.
- A block whose records live in the outbox's file (``Outbox.host``) groups the messages it
  queues and the records it writes in one state change with ``atomic``: one commit, all or
  nothing, nothing sent before the commit.

*Ordinary* (``call``) keep their ``on_done`` callbacks and live in memory only. Offline they
are dropped (on_done gets a ``LocalFailure``), and a disconnect drops those still queued, unless
2.0.1 QueueAllMessages is true; BootNotification is always kept.

Size threshold (``queue_threshold``, default 500, counting both queues): above it the oldest
ordinary messages go first (the excess, at least a tenth of the threshold); if that is not
enough, the outbox's thinning rule (``Outbox.thin``) drops every second periodic meter-value
update. Nothing else in the outbox is ever dropped for size.

``stop`` (the EVerest command): new messages of either kind are dropped with a log line while
stopped; what the outbox already holds stays and is sent after ``restart``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Callable

from ocpp_bridge import json_edge
from ocpp_bridge.deferred import Deferred
from ocpp_bridge.ocpp.delivery import DEFAULT_QUEUE_THRESHOLD, Delivery, RetryPolicy, TxResultHandler, default_retry_policy
from ocpp_bridge.ocpp.errors import OcppError
from ocpp_bridge.ocpp.events import ConnectionChanged, EventBus, FrameLogged
from ocpp_bridge.ocpp.late_answers import late_answer
from ocpp_bridge.ocpp.outbox import Outbox
from ocpp_bridge.ocpp.outcome import LocalFailure, ignore
from ocpp_bridge.ocpp.rpc import CALLRESULT, Call, CallError, CallResult, FrameError, encode, error_code, parse_frame
from ocpp_bridge.ocpp.schemas import OcppSchemas, SchemaViolation
from ocpp_bridge.ocpp.session import Done, OutgoingCall, RpcSession
from ocpp_bridge.ocpp.timers import Timers

log = logging.getLogger("ocpp_bridge.ocpp")

DEFAULT_ANSWER_TIMEOUT_S = 5.0  # module option CsmsAnswerTimeoutS


class InvalidOutgoing(Exception):
    """An outgoing message failed its schema; it was not queued."""


class StationCore:
    """The shared context of one station: schemas, session, timers, routing, events."""

    def __init__(self, version: str, send_text: Callable[[str], bool], *, timeout_s: float = 30.0,
                 outbox: Outbox | None = None, retry_policy: RetryPolicy = default_retry_policy,
                 queue_all: Callable[[], bool] = lambda: False,
                 queue_threshold: int = DEFAULT_QUEUE_THRESHOLD) -> None:
        self.version = version
        self.schemas = OcppSchemas(version)
        self.session = RpcSession(timeout_s=timeout_s)
        self.timers = Timers()
        self.now = 0.0
        self.connected = False
        self.running = True
        self.registration = "Unknown"  # Unknown | Pending | Rejected | Accepted
        self.queue_all = queue_all
        self.answer_timeout_s = DEFAULT_ANSWER_TIMEOUT_S  # longest wait on a module for a CALL's answer
        self._late_answers = 0  # numbers the deadline timers of deferred answers
        self._answering = False  # while a CALL is being answered, nothing else may be written
        self._triggering = False  # while a TriggerMessage is answered: see ``triggered``
        self._send_text = send_text
        self._handlers: dict[str, Callable[[dict[str, Any]], Any]] = {}
        self.events = EventBus()  # typed events between the blocks (ocpp/events.py)
        self.delivery = Delivery(self, outbox if outbox is not None else Outbox.in_memory(version), retry_policy,
                                 queue_threshold)
        self.outbox = self.delivery.outbox

    @property
    def resume_delay_s(self) -> float:
        return self.delivery.resume_delay_s

    @resume_delay_s.setter
    def resume_delay_s(self, seconds: float) -> None:
        self.delivery.resume_delay_s = seconds

    @property
    def queue_threshold(self) -> int:
        return self.delivery.queue_threshold

    @queue_threshold.setter
    def queue_threshold(self, count: int) -> None:
        self.delivery.queue_threshold = count

    # ------------------------------------------------------------- wiring
    def handle(self, action: str, fn: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
        """Register the handler of a CSMS-initiated CALL; ValueError when ``action`` has one."""
        if action in self._handlers:
            raise ValueError(f"two handlers for the CSMS's {action}: {self._handlers[action]!r} and {fn!r}")
        self._handlers[action] = fn

    # ------------------------------------------------------------- inputs
    def on_connected(self, now: float) -> None:
        self.now = now
        self.connected = True
        self.delivery.connected(now)
        self.events.publish(ConnectionChanged(True))
        self.pump()

    def on_disconnected(self, now: float) -> None:
        self.now = now
        was = self.connected
        self.connected = False
        self.session.abort_in_flight("disconnected")
        self.delivery.disconnected()
        if not self.queue_all():
            dropped = self.session.drop_queued(keep=lambda c: c.action == "BootNotification",
                                               why="offline and QueueAllMessages is off")
            if dropped:
                log.info("connection lost: dropped %d queued non-transactional message(s)", dropped)
        if was:
            self.events.publish(ConnectionChanged(False))

    def on_text(self, text: str, now: float) -> None:
        self.now = now
        self.events.publish(FrameLogged("in", text))
        try:
            frame = parse_frame(text, self.version)
        except FrameError as exc:
            log.warning("bad frame from CSMS (%s): %s — %.200s", exc.code, exc.description, text)
            answer = exc.answer()
            if answer is not None:
                self._write(encode(answer))
                return
            if (exc.message_type == CALLRESULT and exc.unique_id is not None
                    and not self.delivery.awaits_late(exc.unique_id)):
                # a CALLRESULT we cannot use fails its call now, as a CALLERROR would, not at the timeout
                self.session.on_answer(CallError(exc.unique_id, exc.code, exc.description))
                self.pump()
            return
        if isinstance(frame, Call):
            self._answering = True
            try:
                self._answer_call(frame)
            finally:
                self._answering = False
        else:
            result = frame.payload if isinstance(frame, CallResult) else None
            if not self.delivery.take_late(frame.unique_id, result):
                self.session.on_answer(frame)
        self.pump()

    def poll(self, now: float) -> float | None:
        """Run what is due; returns the next deadline (or None)."""
        self.now = now
        self.session.check_timeout(now)
        self.timers.run_due(now)
        self.pump()
        deadlines = [d for d in (self.timers.next_due(), self.session.deadline(), self.delivery.due())
                     if d is not None]
        return min(deadlines, default=None)

    # ------------------------------------------------------------- outgoing
    def call(self, action: str, payload: dict[str, Any], on_done: Done | None = None, *,
             front: bool = False) -> OutgoingCall | None:
        """Queue a CALL to the CSMS after checking it against its schema.

        While stopped (the ``stop`` command), or offline without QueueAllMessages, nothing is
        queued: the call is dropped (on_done gets a ``LocalFailure``) and None returned.
        """
        if not self.running:
            log.info("OCPP is stopped: dropping %s", action)
            (on_done or ignore)(None, LocalFailure("stopped", "OCPP is stopped"))
            return None
        self._check_outgoing(action, payload)
        if not self.connected and action != "BootNotification" and not self.queue_all():
            log.info("offline: dropping %s (QueueAllMessages is off)", action)
            (on_done or ignore)(None, LocalFailure("dropped", "offline"))
            return None
        call = self.session.enqueue(action, payload, on_done or ignore, front=front)
        call.allowed_before_accepted = self._triggering
        self.delivery.enforce_threshold()
        self.pump()
        return call

    def send_transactional(self, action: str, payload: dict[str, Any], tx_key: str | None) -> int:
        """Check, store durably (committed before this returns) and queue a transactional
        message; returns its outbox row id, or 0 when OCPP is stopped (nothing stored).

        ``tx_key`` groups one transaction's messages (None for SecurityEventNotification).
        The result reaches the handler registered with ``on_tx_result(action, ...)``.
        """
        if not self.running:
            log.info("OCPP is stopped: not queueing %s", action)
            return 0
        self._check_outgoing(action, payload)
        row_id = self.delivery.send(action, payload, tx_key)
        self.pump()
        return row_id

    @contextmanager
    def atomic(self) -> Iterator[None]:
        """One state change of a block: the transactional messages it queues and what it writes
        meanwhile to the tables the outbox hosts (``Outbox.host``) commit together. All or
        nothing: an exception rolls back the file and the outbox's memory and propagates;
        nothing queued inside is sent before the commit. Nested, it joins as a savepoint."""
        with self.delivery.atomic():
            yield
        self.pump()

    def on_tx_result(self, action: str, fn: TxResultHandler) -> None:
        """Register (once, at construction) who hears the results of ``action``'s transactional sends."""
        self.delivery.on_result(action, fn)

    def set_transaction_id(self, tx_key: str, transaction_id: int) -> None:
        """1.6: the CSMS's transactionId of ``tx_key``; queued MeterValues/StopTransaction carry it."""
        self.outbox.set_transaction_id(tx_key, transaction_id)

    def messages_in_queue(self, tx_key: str | None = None) -> int:
        """Unacknowledged messages of ``tx_key`` (None: of any transaction), in flight included."""
        return self.outbox.count(tx_key)

    def pending_transactional(self, tx_key: str) -> list[tuple[str, dict[str, Any]]]:
        """(action, payload as it would be sent) of ``tx_key``'s unacknowledged messages, in order."""
        return self.outbox.pending(tx_key)

    def close(self) -> None:
        self.outbox.close()

    def _check_outgoing(self, action: str, payload: dict[str, Any]) -> None:
        try:
            self.schemas.check_request(action, payload)
        except SchemaViolation as exc:
            log.error("not sending %s: it breaks the schema (%s)", action, exc)
            raise InvalidOutgoing(f"{action} breaks the OCPP {self.version} schema: {exc}") from None
        try:  # the last line: never queue or store what cannot be sent (e.g. a lone surrogate)
            json_edge.dumps(payload)
        except json_edge.Unusable as exc:
            log.error("not sending %s: %s", action, exc)
            raise InvalidOutgoing(f"{action} cannot be sent as UTF-8 JSON: {exc}") from None

    @contextmanager
    def triggered(self) -> Iterator[None]:
        """Around the handling of a TriggerMessage: the CALLs queued inside may leave while
        Pending too (after the CALLRESULT, as every CALL queued by a handler)."""
        self._triggering = True
        try:
            yield
        finally:
            self._triggering = False

    def may_report(self) -> bool:
        """May a block queue a report now: Accepted, or Pending inside ``triggered``."""
        return self.registration == "Accepted" or (self._triggering and self.registration == "Pending")

    def may_send(self, call: OutgoingCall) -> bool:
        if not (self.connected and self.running):
            return False
        if self.registration == "Accepted" or call.action == "BootNotification":
            return True
        return call.allowed_before_accepted and self.registration == "Pending"

    def pump(self) -> None:
        """Send the next queued CALL if the line is free."""
        if self._answering:
            return  # a CALL queued by a handler goes after that handler's CALLRESULT
        if self.delivery.settling:
            return  # a message queued by a result handler is not durable before that commit
        if self.session.in_flight is not None:
            return
        taken = self.session.next_frame(self.now, self.may_send, extra=self.delivery.candidate())
        if taken is None:
            return
        call, text = taken
        self.delivery.sent(call)
        if not self._write(text):
            self.session.abort_in_flight("disconnected")

    def _write(self, text: str) -> bool:
        self.events.publish(FrameLogged("out", text))
        return self._send_text(text)

    def check_response(self, action: str, payload: dict[str, Any]) -> bool:
        try:
            self.schemas.check_response(action, payload)
            return True
        except SchemaViolation as exc:
            log.warning("CSMS answer to %s breaks the schema: %s", action, exc)
            return False

    # ------------------------------------------------------------- incoming CALL
    def _answer_call(self, call: Call) -> None:
        def error(kind: str, description: str) -> None:
            code = error_code(kind, self.version)
            log.warning("answering %s %s with %s: %s", call.action, call.unique_id, code, description)
            self._write(encode(CallError(call.unique_id, code, description[:255])))

        if not self.schemas.knows(call.action):
            return error("not_implemented", f"unknown action {call.action!r}")
        handler = self._handlers.get(call.action)
        if handler is None:
            return error("not_supported", f"{call.action} is not supported by this charge point")
        try:
            self.schemas.check_request(call.action, call.payload)
        except SchemaViolation as exc:
            return error(exc.kind, str(exc.message))
        try:
            response = handler(call.payload)
        except OcppError as exc:
            return error(exc.kind, exc.description)
        except Exception as exc:  # a handler bug answers InternalError, never crashes the core
            log.exception("handler of %s failed", call.action)
            return error("internal", f"{type(exc).__name__}: {exc}")
        if isinstance(response, Deferred):  # e.g. UnlockConnector waits for the EVSE's answer
            return self._answer_later(call, response, error)
        self._send_answer(call, response, error)

    def _answer_later(self, call: Call, answer: Deferred, error: Callable[[str, str], None]) -> None:
        """Answer when ``answer`` resolves, or with the fallback after ``answer_timeout_s``."""
        self._late_answers += 1
        timer = f"csms-answer-{self._late_answers}"

        def too_late() -> None:
            fallback = late_answer(self.version, call.action)
            log.warning("%s %s: no answer from the module within %.0fs; answering the CSMS %s", call.action,
                        call.unique_id, self.answer_timeout_s, fallback if fallback is not None else "InternalError")
            if fallback is None:
                answer.fail(f"no answer within {self.answer_timeout_s:.0f}s")
            else:
                answer.resolve(fallback)

        def send(value: Any, failure: str | None) -> None:
            self.timers.cancel(timer)
            if failure is not None:
                error("internal", failure)
            else:
                self._send_answer(call, value, error)

        self.timers.set(timer, self.now + max(0.0, self.answer_timeout_s), too_late)
        answer.then(send)

    def _send_answer(self, call: Call, response: dict[str, Any], error: Callable[[str, str], None]) -> None:
        try:
            self.schemas.check_response(call.action, response)
            text = encode(CallResult(call.unique_id, response))
        except SchemaViolation as exc:
            log.error("our answer to %s breaks the schema: %s — %.300r", call.action, exc, response)
            return error("internal", "response failed validation")
        except json_edge.Unusable as exc:  # e.g. a lone surrogate that came in some other way
            log.error("our answer to %s cannot be sent as UTF-8 JSON: %s — %.300r", call.action, exc, response)
            return error("internal", "response cannot be encoded")
        self._write(text)
