"""One charging station's OCPP-J conversation with its CSMS, for either version. PURE.

Theory of operation
-------------------
The engine feeds four things in, always with the current time: ``on_connected``,
``on_disconnected``, ``on_text`` (a frame from the CSMS) and ``poll`` (a timer may be due).
The core answers through ``send_text`` (a frame to write) and through named events that
the engine turns into MQTT variables. Nothing here opens a socket, starts a thread or reads
a clock: ``self.now`` is the time of the call being handled.

Incoming CALLs are checked against the official schema and routed to the handler a
functional block registered with ``handle(action, fn)``; any failure becomes the CALLERROR
the version defines. Outgoing CALLs are schema-checked before they are queued (an invalid
message is never sent) and go through ``RpcSession`` one at a time. Until the CSMS has
Accepted our BootNotification, only BootNotification may leave (``may_send``).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from typing import Any, Callable

from ocpp_bridge.ocpp.rpc import Call, CallError, CallResult, FrameError, encode, error_code, parse_frame
from ocpp_bridge.ocpp.schemas import OcppSchemas, SchemaViolation
from ocpp_bridge.ocpp.session import Done, OutgoingCall, RpcSession

log = logging.getLogger("ocpp_bridge.ocpp")


class OcppCallError(Exception):
    """Raised by a handler to answer a CALL with a CALLERROR of the given kind (see rpc.error_code)."""

    def __init__(self, kind: str, description: str = ""):
        super().__init__(description or kind)
        self.kind = kind
        self.description = description


class InvalidOutgoing(Exception):
    """An outgoing message failed its schema; it was not queued."""


class Timers:
    """Named one-shot deadlines; the core's only notion of time."""

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
                fn()

    def clear(self) -> None:
        self._due.clear()


class StationCore:
    """The shared context of one station: schemas, session, timers, routing, events."""

    def __init__(self, version: str, send_text: Callable[[str], bool], *, timeout_s: float = 30.0):
        self.version = version
        self.schemas = OcppSchemas(version)
        self.session = RpcSession(timeout_s=timeout_s)
        self.timers = Timers()
        self.now = 0.0
        self.connected = False
        self.running = True
        self.registration = "Unknown"  # Unknown | Pending | Rejected | Accepted
        self._answering = False  # while a CALL is being answered, nothing else may be written
        self._send_text = send_text
        self._handlers: dict[str, Callable[[dict], dict]] = {}
        self._listeners: dict[str, list[Callable[..., None]]] = defaultdict(list)

    # ------------------------------------------------------------- wiring
    def handle(self, action: str, fn: Callable[[dict], dict]) -> None:
        """Register the handler of a CSMS-initiated CALL."""
        self._handlers[action] = fn

    def on(self, event: str, fn: Callable[..., None]) -> None:
        self._listeners[event].append(fn)

    def emit(self, event: str, *args: Any) -> None:
        for fn in self._listeners.get(event, ()):
            try:
                fn(*args)
            except Exception:  # a listener must never break the protocol core
                log.exception("listener of %s failed", event)

    # ------------------------------------------------------------- inputs
    def on_connected(self, now: float) -> None:
        self.now = now
        self.connected = True
        self.emit("connected", True)
        self.pump()

    def on_disconnected(self, now: float) -> None:
        self.now = now
        was = self.connected
        self.connected = False
        self.session.abort_in_flight("Disconnected")
        if was:
            self.emit("connected", False)

    def on_text(self, text: str, now: float) -> None:
        self.now = now
        self.emit("frame", "in", text)
        try:
            frame = parse_frame(text, self.version)
        except FrameError as exc:
            log.warning("bad frame from CSMS (%s): %s — %.200s", exc.code, exc.description, text)
            answer = exc.answer()
            if answer is not None:
                self._write(encode(answer))
            return
        if isinstance(frame, Call):
            self._answering = True
            try:
                self._answer_call(frame)
            finally:
                self._answering = False
        else:
            self.session.on_answer(frame)
        self.pump()

    def poll(self, now: float) -> float | None:
        """Run what is due; returns the next deadline (or None)."""
        self.now = now
        self.session.check_timeout(now)
        self.timers.run_due(now)
        self.pump()
        deadlines = [d for d in (self.timers.next_due(), self.session.deadline()) if d is not None]
        return min(deadlines, default=None)

    # ------------------------------------------------------------- outgoing
    def call(self, action: str, payload: dict, on_done: Done | None = None, *, front: bool = False) -> OutgoingCall | None:
        """Queue a CALL to the CSMS after checking it against its schema.

        While stopped (the ``stop`` command) nothing is queued: the call is dropped and None returned.
        """
        if not self.running:
            log.info("OCPP is stopped: dropping %s", action)
            (on_done or _ignore)(None, CallError("", "Dropped", "OCPP is stopped"))
            return None
        try:
            self.schemas.check_request(action, payload)
        except SchemaViolation as exc:
            log.error("not sending %s: it breaks the schema (%s)", action, exc)
            raise InvalidOutgoing(f"{action} breaks the OCPP {self.version} schema: {exc}") from None
        call = self.session.enqueue(action, payload, on_done or _ignore, front=front)
        self.pump()
        return call

    def may_send(self, call: OutgoingCall) -> bool:
        if not (self.connected and self.running):
            return False
        return self.registration == "Accepted" or call.action == "BootNotification"

    def pump(self) -> None:
        """Send the next queued CALL if the line is free."""
        if self._answering:
            return  # a CALL queued by a handler goes after that handler's CALLRESULT
        taken = self.session.next_frame(self.now, self.may_send)
        if taken is not None and not self._write(taken[1]):
            self.session.abort_in_flight("Disconnected")

    def _write(self, text: str) -> bool:
        self.emit("frame", "out", text)
        return self._send_text(text)

    def check_response(self, action: str, payload: dict) -> bool:
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
        except OcppCallError as exc:
            return error(exc.kind, exc.description)
        except Exception as exc:  # a handler bug answers InternalError, never crashes the core
            log.exception("handler of %s failed", call.action)
            return error("internal", f"{type(exc).__name__}: {exc}")
        try:
            self.schemas.check_response(call.action, response)
        except SchemaViolation as exc:
            log.error("our answer to %s breaks the schema: %s — %s", call.action, exc, response)
            return error("internal", "response failed validation")
        self._write(encode(CallResult(call.unique_id, response)))


def _ignore(result: dict | None, error: CallError | None) -> None:
    return None


class StationLifecycle:
    """``stop`` / ``start`` / ``close`` shared by the 1.6 and 2.0.1 charge points.

    Expects ``core``, ``provisioning`` (with ``registration``) and ``db`` on the instance.
    """

    def stop(self) -> None:
        """Stop talking OCPP: forget the queue and the registration."""
        self.core.running = False
        self.core.session.drop_queued()
        self.provisioning.registration.reset()

    def start(self) -> None:
        self.core.running = True

    def close(self) -> None:
        self.db.close()
