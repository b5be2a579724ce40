"""The engine: the one thread that owns all state and makes every decision.

Theory of operation
-------------------
Two network threads only translate traffic into inbox events: paho (``MqttIn``,
``MqttUp``) and the websocket transport (``Connected``, ``Disconnected``, ``DialFailed``,
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
(logger ``ocpp_bridge.frames`` and the MessageLogPath file, stamped with our clock in UTC);
an outgoing frame's line is written just after the frame is handed to the transport.
The Basic-auth password is the one the CSMS stored (1.6 AuthorizationKey, 2.0.1
SecurityCtrlr.BasicAuthPassword) once there is one, else the module option
BasicAuthPassword; when the CSMS changes it the engine reconnects with the new one.

Start-up (as an EVerest module): subscribe (commands, results, required vars, global ready)
-> announce module ready -> serve commands at once -> on the manager's global ready (or
after ``GlobalReadyTimeoutS`` without a manager) start OCPP.

The station (``station``: a 1.6 or 2.0.1 charge point) is built at start-up, for the fixed
OcppVersion or, with "auto", for the version spoken last. With "auto", a connection on which
the CSMS picked the other version replaces it: the old one is closed (its files, queue and
configuration stay for when that version is spoken again), the other version's is built from
its own files, the bus side is attached to it (``attach``) and its EVSEs' layout is replayed,
before the connection is handed to it. Nothing of one version is translated into the other.

What the engine leaves to its parts: the CSMS connection and its credentials (``csms_link``),
the frame log (``frame_log``), the errors of the required modules (``everest/required_errors``),
the system module (``impls/system_link``), the security module (``impls/security_link``).

TLS (security profiles 2 and 3): before the transport first dials, the engine finds the TLS
files (from the ``security`` module when one is connected, else from the module options) and
hands them to the CSMS link; when they are missing or unusable it logs why and looks again
after RetryBackOffWaitMinimumS, never dialling without them. A dial whose TLS handshake finds
the CSMS certificate invalid (wrong CA, expired, wrong host name) raises the security event
InvalidCentralSystemCertificate (1.6) / InvalidCsmsCertificate (2.0.1), queued durably like
every security event and sent once connected; one per run of such failures (a connection that
comes up ends the run), not one per re-dial.

Security-profile switch (1.6 ``SecurityProfile`` key raised by ChangeConfiguration, TC_083; a
lower one is Rejected by the key store, TC_084): after the answer has gone out the CSMS link is
pointed at the new profile (``wss`` for 2 and 3, its TLS files found as above) and the station
reconnects. The new profile gets NetworkProfileConnectionAttempts dials (``ocpp/common/profile_switch``);
when none connects, or its TLS files are unusable, the module falls back to the last profile that
connected, sets the key back, and raises the security event ReconfigurationOfSecurityParameters
saying so, once per failed switch. The state is stored (``profile_store``) and survives a restart.
"""

from __future__ import annotations

import functools
import logging
import queue
import time
from dataclasses import dataclass
from typing import Any, Callable

from ocpp_bridge import profile_store
from ocpp_bridge.config import MODULE_NAME, Settings
from ocpp_bridge.csms_link import CsmsLink
from ocpp_bridge.deferred import Deferred
from ocpp_bridge.everest import protocol as P
from ocpp_bridge.everest.calls import OnDone, OutstandingCalls
from ocpp_bridge.everest.definitions import Definitions, ValidationFailure
from ocpp_bridge.everest.mqtt import MqttLink
from ocpp_bridge.everest.required_errors import RequiredErrors
from ocpp_bridge.frame_log import FrameLog
from ocpp_bridge.log_redaction import install as install_redaction
from ocpp_bridge.ocpp.charge_point import ChargePoint
from ocpp_bridge.ocpp.common.profile_switch import ProfileSwitch, SwitchFailed
from ocpp_bridge.ocpp.events import ConfigurationChanged, FrameLogged, LeafCertificateChanged, PasswordChanged
from ocpp_bridge.ocpp.secrets import Redactor
from ocpp_bridge.ocpp.security_events import send_security_event
from ocpp_bridge.ocpp.station import InvalidOutgoing
from ocpp_bridge.ocpp.transport import Connected, DialFailed, Disconnected, TextReceived
from ocpp_bridge.ocpp.v16.charge_point import ChargePoint16
from ocpp_bridge.ocpp_versions import first_version, offered_versions, remember_version
from ocpp_bridge.station_factory import build_station, check_overrides
from ocpp_bridge.tls import INVALID_CSMS_CERTIFICATE, TlsFiles, uses_tls

log = logging.getLogger("ocpp_bridge.engine")

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
        self.secrets = Redactor()
        self._tls_retry_at: float | None = None       # when to look for the TLS files again
        self._tls_then: Callable[[], None] = lambda: None  # what to do once they are in hand
        self.profiles = ProfileSwitch(
            profile_store.load(str(settings["DatabasePath"]), int(settings["SecurityProfile"])),
            int(settings["NetworkProfileConnectionAttempts"]))
        self._certificate_reported = False            # this run of certificate failures has its event
        self._transport_started = False               # _connect ran: the transport dials (or will)
        self._held_frame: FrameLogged | None = None  # an outgoing frame's log line, until it is queued

        on_message = lambda t, p: self.inbox.put(MqttIn(t, p))  # noqa: E731
        on_connection = lambda up: self.inbox.put(MqttUp(up))  # noqa: E731
        if mqtt is None:
            mqtt = MqttLink(host=settings.broker_host, port=settings.broker_port,
                            socket_path=settings.broker_socket, on_message=on_message, on_connection=on_connection)
        else:
            mqtt.attach(on_message=on_message, on_connection=on_connection)
        self.mqtt = mqtt
        self.frame_log = FrameLog(str(settings["MessageLogPath"]), str(settings["ChargePointId"]), self.secrets, clock)
        self.required_errors = RequiredErrors(settings, definitions, self.protocol.generation)
        self.evse_errors = self.required_errors.evse_errors
        offered = offered_versions(settings.ocpp_version, str(settings["AutoOcppVersions"]))
        check_overrides(settings, offered)  # every version this run may speak, before anything starts
        self.station: ChargePoint = self._build_station(
            first_version(str(settings["DatabasePath"]), settings.ocpp_version, offered))
        self.csms = CsmsLink(settings, self.inbox.put, self.secrets, lambda: self.station.basic_auth_password(),
                             profile=self.profiles.active)
        self.transport = self.csms.transport
        bus_side = build_impls(self)
        self.impls = bus_side.impls
        self.auth_link = bus_side.auth_link
        self.system_link = bus_side.system_link
        self.evse_link = bus_side.evse_link
        from ocpp_bridge.impls.security_link import SecurityLink
        self.security_link = SecurityLink(self)
        self._attach(self.station)

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
        self.mqtt.subscribe(self.required_errors.subscriptions())
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
            self._release_frame_line()
            self.frame_log.close()

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
        finally:
            self._release_frame_line()

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
        if self._tls_retry_at is not None and now >= self._tls_retry_at:
            self._tls_retry_at = None
            self._prepare_tls(self._tls_then)
        due = [d for d in (self.station.core.poll(now), self.calls.deadline(),
                           self._ready_deadline if not self.ocpp_started else None, self._start_at,
                           self._tls_retry_at) if d is not None]
        return min(due, default=None)

    # ================================================================ dispatch
    def _dispatch(self, event: Any, now: float) -> None:
        if isinstance(event, MqttIn):
            self._on_mqtt(event, now)
        elif isinstance(event, TextReceived):
            self.station.core.on_text(event.text, now)
        elif isinstance(event, Connected):
            log.info("connected to CSMS %s (%s)", self.settings.central_system_url, event.subprotocol)
            version = self.csms.connected(event)
            self._certificate_reported = False
            if self.profiles.connected():
                log.info("security profile %d connected: it is the one to fall back to now", self.profiles.active)
                self._save_profiles()
            if version != self.station.version:
                self._switch_station(version, now)
            self.station.core.on_connected(now)
        elif isinstance(event, Disconnected):
            log.warning("CSMS connection lost: %s", event.reason)
            self.csms.disconnected()
            self.station.core.on_disconnected(now)
        elif isinstance(event, DialFailed):
            self._on_dial_failed(event)
        elif isinstance(event, MqttUp):
            if event.up:
                log.info("MQTT (re)connected")
        elif isinstance(event, Invoke):
            event.fn()

    def _on_mqtt(self, event: MqttIn, now: float) -> None:
        self.station.core.now = now  # bus events reach the OCPP blocks with the current time
        if self.required_errors.handle(event.topic, event.payload):
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
            self._var_handlers.setdefault(key, []).append(functools.partial(handler, index))

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
        if uses_tls(self.csms.profile):
            self._prepare_tls(self._connect)
        else:
            self._connect()

    def _connect(self) -> None:
        """Start the transport (after the system's boot reason where the station takes one)."""
        self._transport_started = True
        if self.system_link.present and self.station.takes_boot_reason():
            # then connect; a silent system module delays OCPP by BOOT_REASON_WAIT_S at most
            self.system_link.boot_reason(self._on_boot_reason)
        else:
            self.transport.start()

    # ================================================================ TLS
    def _prepare_tls(self, then: Callable[[], None]) -> None:
        """Find the TLS files, hand them to the CSMS link, then ``then()`` (see the module docstring)."""
        profile = self.csms.profile

        def found(files: TlsFiles | None, why: str | None) -> None:
            if profile != self.csms.profile:
                return  # a switch or a fall-back since we asked: its own request is under way
            if files is not None and self.csms.use_tls_files(files):
                then()
                return
            if why is not None:
                log.error("no TLS files for security profile %d: %s", profile, why)
            failed = self.profiles.give_up()
            if failed is not None:
                self._fall_back(failed)
                return
            delay = max(1.0, float(self.settings["RetryBackOffWaitMinimumS"]))
            log.warning("not connecting without TLS; looking for the TLS files again in %.0f s", delay)
            self._tls_retry_at = self.clock() + delay
            self._tls_then = then

        if self.security_link.present:
            self.security_link.tls_files(profile, found)
        else:
            found(self.csms.tls_files_from_options(), None)

    def _on_dial_failed(self, event: DialFailed) -> None:
        if event.certificate_rejected:
            log.error("the CSMS certificate failed verification: %s", event.reason)
            if not self._certificate_reported:
                self._certificate_reported = True
                send_security_event(self.station.core, INVALID_CSMS_CERTIFICATE[self.station.version], event.reason,
                                    critical=True)
        failed = self.profiles.dial_failed()
        if failed is not None:
            self._fall_back(failed)

    # ================================================================ security-profile switch
    def _on_configuration_changed(self, event: ConfigurationChanged) -> None:
        if not isinstance(self.station, ChargePoint16) or str(event.key).lower() != "securityprofile":
            return
        value = self.station.keys.value("SecurityProfile")
        new = int(value) if value is not None else self.profiles.active
        if new != self.profiles.active:  # after our answer has been queued
            self.inbox.put(Invoke(lambda: self._switch_profile(new)))

    def _switch_profile(self, new: int) -> None:
        log.warning("switching from security profile %d to %d (SecurityProfile changed by the CSMS)",
                    self.profiles.active, new)
        self.profiles.begin(new)
        self._save_profiles()
        self._dial_with(new)

    def _fall_back(self, failed: SwitchFailed) -> None:
        info = (f"SecurityProfile {failed.tried} did not connect after {failed.attempts} attempt(s); "
                f"back to {failed.back_to}")
        log.error("%s", info)
        self._save_profiles()
        if isinstance(self.station, ChargePoint16):
            self.station.keys.set_internal("SecurityProfile", str(failed.back_to))
        send_security_event(self.station.core, "ReconfigurationOfSecurityParameters", info, critical=True)
        # the new profile never got as far as a dial (its TLS files): the old connection is still up
        self._dial_with(failed.back_to, reconnect=not self.transport.connected)

    def _dial_with(self, profile: int, *, reconnect: bool = True) -> None:
        """Point the CSMS link at ``profile`` and (``reconnect``) reconnect with it, after its TLS files."""
        self._tls_retry_at = None
        self.csms.use_profile(profile)
        then = (lambda: None) if not reconnect else (self.transport.reconnect if self._transport_started
                                                     else self._connect)  # a restart in the middle of a switch
        if uses_tls(profile):
            self._prepare_tls(then)
        else:
            then()

    def _save_profiles(self) -> None:
        try:
            profile_store.save(str(self.settings["DatabasePath"]), self.profiles.state)
        except OSError as exc:
            log.error("security profile state not stored: %s", exc)

    def _on_boot_reason(self, reason: str | None) -> None:
        if reason is not None:
            self.station.set_boot_reason(reason)
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
        self.station.registration.reset()
        self.transport.reconnect()

    # ================================================================ the station
    def _build_station(self, version: str) -> ChargePoint:
        station = build_station(self.settings, version, self._send_frame, self.profiles.active)
        station.core.resume_delay_s = float(self.settings["MessageQueueResumeDelay"])
        station.core.answer_timeout_s = float(self.settings["CsmsAnswerTimeoutS"])
        station.core.events.subscribe(FrameLogged, self._log_frame)
        station.core.events.subscribe(PasswordChanged, lambda _: self._on_password_changed())
        station.core.events.subscribe(LeafCertificateChanged, lambda _: self._on_leaf_certificate_changed())
        station.core.events.subscribe(ConfigurationChanged, self._on_configuration_changed)
        if self.settings.ocpp_version == "auto":
            remember_version(str(self.settings["DatabasePath"]), version)
        return station

    def _log_frame(self, frame: FrameLogged) -> None:
        """An outgoing frame's line is held until the frame is queued (``_send_frame``): the
        frame leaves before its line is masked, formatted and written. The next frame (and the
        end of the step) writes a held line first, so lines keep their order."""
        self._release_frame_line()
        if frame.direction == "out":
            self._held_frame = frame
        else:
            self.frame_log.write(frame)

    def _release_frame_line(self) -> None:
        held, self._held_frame = self._held_frame, None
        if held is not None:
            self.frame_log.write(held)

    def _send_frame(self, text: str) -> bool:
        """The station's writer: queue the frame, then write its held frame-log line."""
        sent = self.csms.send(text)
        self._release_frame_line()
        return sent

    def _attach(self, station: ChargePoint) -> None:
        """The bus side follows ``station`` from now on."""
        for impl in self.impls.values():
            impl.attach(station)
        self.auth_link.attach(station)
        self.evse_link.attach(station)

    def _switch_station(self, version: str, now: float) -> None:
        """OcppVersion "auto": the CSMS picked ``version``; its station replaces the current one."""
        log.warning("the CSMS speaks OCPP %s: switching from %s (each version keeps its own files)", version,
                    self.station.version)
        old = self.station
        old.close()
        self.station = self._build_station(version)
        self.station.core.now = now
        if not old.core.running:
            self.station.stop()
        self._attach(self.station)
        if self.ocpp_started:
            self.auth_link.push()

    def _on_leaf_certificate_changed(self) -> None:
        """CertificateSigned installed a new station certificate: at security profile 3 the
        TLS files are fetched again and the connection made with it (our answer is queued first)."""
        if self.csms.profile != 3 or not self.ocpp_started or not self.station.core.running:
            return
        log.info("new station certificate: reconnecting with it")
        self._prepare_tls(self.transport.reconnect)

    # ================================================================ Basic-auth password
    def _on_password_changed(self) -> None:
        """The CSMS (or a module) set a new Basic-auth password; our answer is already queued."""
        if not self.csms.use_new_password():
            return
        if not self.ocpp_started or not self.station.core.running:
            return  # the next connection uses it
        if self.station.version == "1.6":
            log.info("Basic-auth password changed: reconnecting with the new one (TC_073)")
            self.transport.reconnect()
        else:
            log.info("Basic-auth password changed: reconnecting with the new one and booting (A01)")
            self.reconnect_ocpp()
