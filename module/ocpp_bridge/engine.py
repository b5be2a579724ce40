"""The engine: the one thread that owns all state and makes every decision.

Theory of operation
-------------------
Two network threads only translate traffic into inbox events: paho (``MqttIn``,
``MqttUp``) and the websocket transport (``Connected``, ``Disconnected``,
``TextReceived``). The engine thread drains the inbox, feeds the pure parts (EVerest
``Protocol``, OCPP ``StationCore``), and writes what they return: MQTT publishes,
websocket frames, command replies. Timers are deadlines in the pure parts; the inbox wait
times out at the nearest one. No lock guards protocol state because no other thread
touches it; calls into paho and the transport are thread-safe sends that never wait for
the network (the transport thread writes the frames ``send`` queued; a write that fails
reaches us as ``Disconnected``).

One step, one time: each pass of the loop reads the clock once and sets it as the OCPP
core's ``now`` before anything runs, so a callback fired by a command timeout builds its
messages with the same time as the dispatch and the OCPP timers of that step.

Secrets: every log line goes through a ``Redactor`` (``log_redaction``) for as long as
``run`` runs, and every frame is masked (``secrets.mask_frame``) before the frame log
(logger ``ocpp_bridge.frames`` and the MessageLogPath file, stamped with our clock in UTC).
The Basic-auth password is the one the CSMS stored (1.6 AuthorizationKey, 2.0.1
SecurityCtrlr.BasicAuthPassword) once there is one, else the module option
BasicAuthPassword; when the CSMS changes it the engine reconnects with the new one.

Start-up (as an EVerest module): subscribe (commands, results, required vars, global ready)
-> announce module ready -> serve commands at once -> on the manager's global ready (or
after ``GlobalReadyTimeoutS`` without a manager) start OCPP.
"""

from __future__ import annotations

import logging
import queue
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import yaml

from ocpp_bridge.config import MODULE_NAME, Settings
from ocpp_bridge.deferred import Deferred
from ocpp_bridge.everest import errors as E
from ocpp_bridge.everest import protocol as P
from ocpp_bridge.everest.calls import OnDone, OutstandingCalls
from ocpp_bridge.everest.definitions import Definitions, ValidationFailure
from ocpp_bridge.everest.mqtt import MqttLink
from ocpp_bridge.log_redaction import install as install_redaction
from ocpp_bridge.ocpp.backoff import Backoff
from ocpp_bridge.ocpp.events import FrameLogged, PasswordChanged
from ocpp_bridge.ocpp.secrets import Redactor
from ocpp_bridge.ocpp.station import InvalidOutgoing
from ocpp_bridge.ocpp.timefmt import iso
from ocpp_bridge.ocpp.transport import Connected, Disconnected, TextReceived, WebSocketTransport, basic_auth_token

log = logging.getLogger("ocpp_bridge.engine")
frames_log = logging.getLogger("ocpp_bridge.frames")

BOOT_REASON_WAIT_S = 10.0
SHUTDOWN_WEBSOCKET_S = 2.0  # at most this long for the websocket's close handshake when stopping


@dataclass(frozen=True)
class MqttIn:
    topic: str
    payload: bytes


@dataclass(frozen=True)
class MqttUp:
    up: bool


@dataclass(frozen=True)
class Invoke:
    """Run ``fn`` on the engine thread (used by tests)."""

    fn: Callable[[], None]


@dataclass(frozen=True)
class Stop:
    """Wakes the loop after ``shutdown`` raised the stop flag."""


class Engine:
    def __init__(self, settings: Settings, definitions: Definitions, *, clock: Callable[[], float] = time.time,
                 mqtt: MqttLink | None = None):
        """``mqtt``: an MQTT link already made for this module (the start-up's, connected to
        the same broker); the engine takes it over instead of connecting again."""
        from ocpp_bridge.impls import build_impls
        from ocpp_bridge.station_factory import build_station

        self.settings = settings
        self.definitions = definitions
        self.clock = clock
        # SimpleQueue: put() is safe from a signal handler (shutdown) and from any thread
        self.inbox: queue.SimpleQueue = queue.SimpleQueue()
        self.protocol = P.Protocol(settings.prefix, settings.module_id, settings["EverestProtocol"])
        self.validate = bool(settings["ValidateSchema"])
        self.calls = OutstandingCalls()
        self._var_handlers: dict[tuple[str, str, str], list[Callable[[Any], None]]] = {}
        self._var_interfaces: dict[tuple[str, str, str], str] = {}
        self._stopping = False  # raised by ``shutdown`` (a plain assignment: no lock), read by the loop
        self.ocpp_started = False
        self._ready_deadline: float | None = None
        self._start_at: float | None = None
        self._message_log = None
        self.secrets = Redactor()
        self._csms_connection: int | None = None  # the transport's number of the connection we know is up

        on_message = lambda t, p: self.inbox.put(MqttIn(t, p))  # noqa: E731
        on_connection = lambda up: self.inbox.put(MqttUp(up))  # noqa: E731
        if mqtt is None:
            mqtt = MqttLink(host=settings.broker_host, port=settings.broker_port,
                            socket_path=settings.broker_socket, on_message=on_message, on_connection=on_connection)
        else:
            mqtt.attach(on_message=on_message, on_connection=on_connection)
        self.mqtt = mqtt
        version = settings.ocpp_version
        self.secrets.add(str(settings["BasicAuthPassword"]))
        self.station = build_station(settings, self._send_frame)
        self.station.core.resume_delay_s = float(settings["MessageQueueResumeDelay"])
        self.station.core.answer_timeout_s = float(settings["CsmsAnswerTimeoutS"])
        self.station.core.events.subscribe(FrameLogged, self._log_frame)
        self.station.core.events.subscribe(PasswordChanged, lambda _: self._on_password_changed())
        self.transport = WebSocketTransport(
            settings.central_system_url,
            "ocpp1.6" if version == "1.6" else "ocpp2.0.1",
            self.inbox.put,
            basic_auth=self._basic_auth(),
            ping_interval_s=float(settings["WebsocketPingIntervalS"]),
            pong_timeout_s=float(settings["WebsocketPongTimeoutS"]),
            backoff=Backoff(settings["RetryBackOffWaitMinimumS"], settings["RetryBackOffRandomRangeS"],
                            settings["RetryBackOffRepeatTimes"], random.Random()),
        )
        self._init_errors()
        self.impls = build_impls(self)

    # ================================================================ lifecycle
    def run(self) -> None:
        """Connect, announce ready, and process the inbox until ``shutdown``."""
        uninstall_redaction = install_redaction(self.secrets)
        try:
            self._run()
        finally:
            uninstall_redaction()

    def _run(self) -> None:
        provided = list(self.definitions.provides())
        required = [(c.module_id, c.implementation_id) for conns in self.settings.connections.values() for c in conns]
        self.mqtt.subscribe(self.protocol.subscriptions(provided, required, list(self._var_handlers)))
        self.mqtt.subscribe(self._error_subscriptions())
        if not self.mqtt.start(wait_s=30):
            log.error("MQTT broker %s:%s not reachable yet; paho keeps trying",
                      self.settings.broker_host, self.settings.broker_port)
        self._publish(self.protocol.metadata(MODULE_NAME, self.definitions.provides()))
        self._publish(self.protocol.module_ready())
        log.info("module %s ready on %s (EverestProtocol %s, OCPP %s)", self.settings.module_id,
                 self.settings.prefix, self.protocol.generation, self.settings.ocpp_version)
        timeout = self.settings["GlobalReadyTimeoutS"]
        if timeout > 0:
            self._ready_deadline = self.clock() + timeout
        try:
            self._loop()
        finally:
            self.transport.stop(timeout=SHUTDOWN_WEBSOCKET_S)
            self.mqtt.stop()
            self.station.close()
            if self._message_log:
                self._message_log.close()

    def shutdown(self) -> None:
        """Thread- and signal-safe: ask the engine loop to finish after the event in hand. It
        only assigns a flag and puts ``Stop`` on the inbox to wake the loop (``SimpleQueue.put``
        is reentrant): no lock a signal handler could block on (review H10)."""
        self._stopping = True
        self.inbox.put(Stop())

    def _loop(self) -> None:
        next_due: float | None = None
        while not self._stopping:
            wait = None if next_due is None else max(0.0, next_due - self.clock())
            try:
                event = self.inbox.get(timeout=wait)
            except queue.Empty:
                event = None
            next_due = self._step(event)

    def _step(self, event: Any) -> float | None:
        """One pass: one time for the event and the timers; returns the next deadline."""
        now = self.clock()
        self.station.core.now = now
        if event is not None:
            try:
                self._dispatch(event, now)
            except Exception:  # nothing that arrives may stop the engine
                log.exception("error while handling %r", type(event).__name__)
        try:
            return self._tick(now)
        except Exception:  # a timer's bug is logged; the engine keeps serving
            log.exception("error while running timers")
            return now + 1.0

    def _tick(self, now: float) -> float | None:
        self.station.core.now = now  # before any callback: a command timeout's too
        self.calls.expire(now)
        if self._ready_deadline is not None and now >= self._ready_deadline and not self.ocpp_started:
            log.warning("no global ready from a manager within %ss; starting OCPP anyway",
                        self.settings["GlobalReadyTimeoutS"])
            self._on_global_ready(now)
        if self._start_at is not None and now >= self._start_at:
            self._start_at = None
            self._start_ocpp(now)
        due = [d for d in (self.station.core.poll(now), self.calls.deadline(),
                           self._ready_deadline if not self.ocpp_started else None, self._start_at) if d is not None]
        return min(due, default=None)

    # ================================================================ dispatch
    def _dispatch(self, event: Any, now: float) -> None:
        if isinstance(event, MqttIn):
            self._on_mqtt(event, now)
        elif isinstance(event, TextReceived):
            self.station.core.on_text(event.text, now)
        elif isinstance(event, Connected):
            log.info("connected to CSMS %s (%s)", self.settings.central_system_url, event.subprotocol)
            self._csms_connection = event.connection
            self.station.core.on_connected(now)
        elif isinstance(event, Disconnected):
            log.warning("CSMS connection lost: %s", event.reason)
            self._csms_connection = None
            self.station.core.on_disconnected(now)
        elif isinstance(event, MqttUp):
            if event.up:
                log.info("MQTT (re)connected")
        elif isinstance(event, Invoke):
            event.fn()

    def _on_mqtt(self, event: MqttIn, now: float) -> None:
        self.station.core.now = now  # bus events reach the OCPP blocks with the current time
        if self._on_required_error(event):
            return
        try:
            msg = self.protocol.decode(event.topic, event.payload)
        except P.BadMessage as exc:
            log.warning("bad MQTT message: %s", exc.reason)
            if exc.reply is not None:
                self._publish(exc.reply)
            return
        if isinstance(msg, P.IncomingCommand):
            self._serve(msg)
        elif isinstance(msg, P.IncomingResult):
            if not self.calls.answer(msg):
                log.debug("result for a call that is not ours or timed out: %s", msg.call_id)
        elif isinstance(msg, P.IncomingVar):
            handlers = self._var_handlers.get((msg.module_id, msg.impl, msg.var), ())
            if handlers and self._valid_required_var(msg):
                for handler in handlers:
                    handler(msg.value)
        elif isinstance(msg, P.GlobalReady):
            self._on_global_ready(now)

    # ================================================================ commands we serve
    def _serve(self, call: P.IncomingCommand) -> None:
        impl = self.impls.get(call.impl)
        if impl is None:
            self._publish(self.protocol.error(call, P.MESSAGE_PARSING_ERROR, f"no implementation {call.impl!r}"))
            return
        interface = impl.interface
        cmd = impl.aliases.get(call.cmd, call.cmd) if self.protocol.generation == P.G2 else call.cmd
        handler = impl.commands.get(cmd)
        if handler is None:
            log.warning("unknown command %s.%s from %s", call.impl, call.cmd, call.origin)
            self._publish(self.protocol.error(call, P.MESSAGE_PARSING_ERROR,
                                              f"unknown command {call.cmd!r} on {call.impl!r} ({interface})"))
            return
        args = {} if call.args is None else call.args
        try:
            self.definitions.check_arguments(interface, cmd, args)
        except ValidationFailure as exc:
            log.warning("%s.%s from %s: invalid arguments: %s", call.impl, cmd, call.origin, exc)
            self._publish(self.protocol.error(call, P.SCHEMA_VALIDATION_ERROR, str(exc)))
            return
        try:
            result = handler(**args)
        except InvalidOutgoing as exc:  # valid on the bus, but no valid OCPP message (e.g. too long)
            log.warning("%s.%s from %s: %s", call.impl, cmd, call.origin, exc)
            self._publish(self.protocol.error(call, P.SCHEMA_VALIDATION_ERROR, str(exc)))
            return
        except Exception as exc:
            log.exception("%s.%s handler raised", call.impl, cmd)
            self._publish(self.protocol.error(call, P.HANDLER_EXCEPTION, f"{type(exc).__name__}: {exc}"))
            return
        if isinstance(result, Deferred):  # answered later, on this thread, when the answer is in
            result.then(lambda value, error: self._reply(call, interface, cmd, value, error))
        else:
            self._reply(call, interface, cmd, result, None)

    def _reply(self, call: P.IncomingCommand, interface: str, cmd: str, result: Any, error: str | None) -> None:
        if error is not None:
            log.warning("%s.%s failed: %s", call.impl, cmd, error)
            self._publish(self.protocol.error(call, P.HANDLER_EXCEPTION, error))
            return
        if self.validate:
            try:
                self.definitions.check_result(interface, cmd, result)
            except ValidationFailure as exc:
                log.error("%s.%s produced an invalid result: %s", call.impl, cmd, exc)
                self._publish(self.protocol.error(call, P.SCHEMA_VALIDATION_ERROR, f"invalid result: {exc}"))
                return
        try:
            out = self.protocol.result(call, result)
        except P.Unusable as exc:  # e.g. a lone surrogate that came in some other way
            log.error("%s.%s: result cannot be sent as UTF-8 JSON: %s", call.impl, cmd, exc)
            out = self.protocol.error(call, P.HANDLER_EXCEPTION, f"result cannot be encoded: {exc}")
        self._publish(out)

    # ================================================================ variables and calls
    def publish_var(self, impl: str, var: str, value: Any) -> bool:
        if self.validate:
            interface = self.impls[impl].interface
            try:
                self.definitions.check_variable(interface, var, value)
            except ValidationFailure as exc:
                log.error("not publishing %s/%s: %s", impl, var, exc)
                return False
        try:
            out = self.protocol.var(impl, var, value)
        except P.Unusable as exc:
            log.error("not publishing %s/%s: it cannot be sent as UTF-8 JSON: %s", impl, var, exc)
            return False
        self._publish(out)
        return True

    def on_required_var(self, requirement: str, var: str, handler: Callable[[int, Any], None]) -> None:
        """Before ``run``: call ``handler(index, value)`` when a connected module publishes ``var``."""
        interface = self.definitions.requires()[requirement]["interface"]
        for index, conn in enumerate(self.settings.connections.get(requirement, [])):
            key = (conn.module_id, conn.implementation_id, var)
            self._var_interfaces[key] = interface
            self._var_handlers.setdefault(key, []).append(lambda v, i=index: handler(i, v))

    def _valid_required_var(self, msg: P.IncomingVar) -> bool:
        """Like EVerest's subscribers (with validation on): a value that breaks its type is dropped."""
        if not self.validate:
            return True
        try:
            self.definitions.check_variable(self._var_interfaces[(msg.module_id, msg.impl, msg.var)], msg.var, msg.value)
            return True
        except ValidationFailure as exc:
            log.warning("dropping %s/%s/%s: %s", msg.module_id, msg.impl, msg.var, exc)
            return False

    def call_required(self, requirement: str, index: int, cmd: str, args: dict, on_done: OnDone,
                      timeout_s: float | None = None) -> None:
        """Call ``cmd`` on the ``index``-th connection of ``requirement``; on_done(retval, error).
        ``timeout_s`` defaults to CommandTimeoutS (EVerest's 300 s)."""
        conn = self.settings.connections[requirement][index]
        timeout = float(self.settings["CommandTimeoutS"]) if timeout_s is None else timeout_s
        call_id = self.calls.start(f"{conn.module_id}.{cmd}", self.clock(), timeout, on_done)
        try:
            out = self.protocol.call(conn.module_id, conn.implementation_id, cmd, args, call_id)
        except P.Unusable as exc:  # the call fails now rather than go out as text that is not UTF-8
            log.error("not calling %s.%s: its arguments cannot be sent as UTF-8 JSON: %s", conn.module_id, cmd, exc)
            self.calls.answer(P.IncomingResult(call_id, None, (P.SCHEMA_VALIDATION_ERROR, str(exc))))
            return
        self._publish(out)

    def _publish(self, out: P.Outgoing) -> None:
        self.mqtt.publish(out.topic, out.payload)

    # ================================================================ OCPP start / stop
    def _on_global_ready(self, now: float) -> None:
        if self.ocpp_started or self._start_at is not None:
            return
        self._ready_deadline = None
        self._start_at = now + self.settings["DelayOcppStart"] / 1000.0

    def _start_ocpp(self, now: float) -> None:
        self.ocpp_started = True
        log.info("starting OCPP %s towards %s", self.settings.ocpp_version, self.settings.central_system_url)
        for impl in self.impls.values():
            impl.on_ocpp_started()
        self.evse_link.on_ocpp_started()
        self.auth_link.push()
        if self.settings.connections.get("system") and self.station.version != "1.6":
            # then connect; a silent system module delays OCPP by BOOT_REASON_WAIT_S at most
            self.call_required("system", 0, "get_boot_reason", {}, self._on_boot_reason, timeout_s=BOOT_REASON_WAIT_S)
        else:
            self.transport.start()

    def _on_boot_reason(self, reason: Any, error: tuple[str, str] | None) -> None:
        """2.0.1 BootNotification.reason from the system module (same enum names as OCPP's)."""
        if error is None and isinstance(reason, str):
            self.station.provisioning.boot_reason = reason
        else:
            log.warning("no boot reason from the system module (%s); reporting %s", error,
                        self.station.provisioning.boot_reason)
        self.transport.start()

    def stop_ocpp(self) -> bool:
        """The ``stop`` command: disconnect; nothing is queued or sent until ``restart``."""
        if not self.ocpp_started:
            return False
        self.station.stop()
        self.transport.pause()
        self.station.core.on_disconnected(self.clock())
        return True

    def restart_ocpp(self) -> bool:
        if not self.ocpp_started:
            return False
        self.station.start()
        self.transport.resume()
        return True

    def reconnect_ocpp(self) -> None:
        """A reset without a system module: drop the connection, then connect and boot again."""
        self.station.provisioning.registration.reset()
        self.transport.reconnect()

    def _send_frame(self, text: str) -> bool:
        """The station's writer: queue ``text`` for the connection we know is up (never blocks)."""
        connection = self._csms_connection
        return connection is not None and self.transport.send(text, connection)

    # ================================================================ Basic-auth password
    def _basic_auth(self) -> tuple[str, str] | None:
        """(user, password) for security profile 1: the password the CSMS stored wins over the
        module option BasicAuthPassword once there is one (TC_073 / A01: it must survive a restart)."""
        if self.settings["SecurityProfile"] != 1:
            return None
        user = str(self.settings["ChargePointId"])
        stored = self.station.provisioning.basic_auth_password()
        password = stored if stored is not None else str(self.settings["BasicAuthPassword"])
        self.secrets.add(password)
        self.secrets.add(basic_auth_token(user, password))
        log.info("HTTP Basic auth as %s with the password %s", user,
                 "the CSMS set" if stored is not None else "of the module option BasicAuthPassword")
        return user, password

    def _on_password_changed(self) -> None:
        """The CSMS (or a module) set a new Basic-auth password; our answer is already queued."""
        credentials = self._basic_auth()
        if credentials is None:
            log.info("Basic-auth password stored; not used while SecurityProfile is 0")
            return
        self.transport.set_basic_auth(*credentials)
        if not self.ocpp_started or not self.station.core.running:
            return  # the next connection uses it
        if self.station.version == "1.6":
            log.info("Basic-auth password changed: reconnecting with the new one (TC_073)")
            self.transport.reconnect()
        else:
            log.info("Basic-auth password changed: reconnecting with the new one and booting (A01)")
            self.reconnect_ocpp()

    # ================================================================ framework errors
    # The errors of the connected evse_managers, kept per EVSE id in ``evse_errors``; only the
    # types their interface declares count. We raise none of our own: the interfaces we
    # provide are EVerest's, and CSMS reachability is the ``is_connected`` variable.
    # Everything here runs on the engine thread.
    def _init_errors(self) -> None:
        evse_conns = self.settings.connections.get("evse_manager", [])
        self._error_sources = {(c.module_id, c.implementation_id): i for i, c in enumerate(evse_conns, start=1)}
        self.evse_errors = E.EvseErrors(self._error_sources.values())
        self.evse_errors.on_change(self._log_evse_error)
        evse_interface = self.definitions.requires().get("evse_manager", {}).get("interface", "evse_manager")
        self._evse_error_types = E.declared_types(self.definitions.interface(evse_interface), self._error_names)

    def _error_names(self, file: str) -> list[str]:
        """The error names ``errors/<file>.yaml`` declares (none when there is no such file)."""
        path = Path(self.definitions.root) / "errors" / f"{file}.yaml"
        try:
            doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            log.error("cannot read error declarations %s: %s", path, exc)
            return []
        return [str(e.get("name")) for e in doc.get("errors") or [] if isinstance(e, dict)]

    def _error_subscriptions(self) -> list[str]:
        return [E.subscription(self.settings.prefix, m, i, self.protocol.generation) for (m, i) in self._error_sources]

    def _on_required_error(self, event: MqttIn) -> bool:
        """An error raised or cleared by a connected evse_manager: True when it was one."""
        try:
            got = E.decode(self.settings.prefix, event.topic, event.payload, self.protocol.generation)
        except E.BadError as exc:
            log.warning("bad error message: %s", exc)
            return True
        if got is None:
            return False
        evse = self._error_sources.get((got.module_id, got.impl))
        if evse is None:
            return True
        if got.error["type"] not in self._evse_error_types:
            log.info("EVSE %d: ignoring error %s (not declared by evse_manager)", evse, got.error["type"])
            return True
        self.evse_errors.apply(evse, got.error, got.raised)
        return True

    def _log_evse_error(self, evse: int, error: dict, raised: bool) -> None:
        log.info("EVSE %d: error %s %s (%s); %d active", evse, error["type"], "raised" if raised else "cleared",
                 error.get("message", ""), len(self.evse_errors[evse]))

    # ================================================================ frame log
    def _log_frame(self, frame: FrameLogged) -> None:
        """Log one frame, secrets masked; the MessageLogPath file is stamped with our clock (UTC)."""
        arrow = "<-" if frame.direction == "in" else "->"
        shown = self.secrets.frame(frame.text)
        frames_log.info("%s %s", arrow, shown)
        path = self.settings["MessageLogPath"]
        if path:
            if self._message_log is None:
                import os
                os.makedirs(path, exist_ok=True)
                self._message_log = open(os.path.join(path, f"{self.settings['ChargePointId']}.log"), "a",
                                         encoding="utf-8")
            self._message_log.write(f"{iso(self.clock())} {arrow} {shown}\n")
            self._message_log.flush()
