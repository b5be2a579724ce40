"""A simulated EVSE manager: a separate EVerest module on the MQTT bus.

Owns one module (default id ``evse_manager_1``, implementation ``evse``) that speaks the real
``evse_manager`` interface (interfaces/evse_manager.yaml) in either framework generation, through
``everest.protocol``. A test or the demo drives a charging session step by step (plug in,
start a transaction, meter, pause, stop, unplug) and the module publishes the matching
variables; the OCPP module's commands are answered the way EvseManager answers them, and
every call is recorded so a test can wait for it. Everything published or answered is first
checked against our definitions: an invalid value is a simulator or script bug and raises.

The module also implements ``external_energy_limits`` (default id ``external_limits``), the
part of EVerest's EnergyNode in front of this EVSE that the OCPP module's ``evse_energy_sink``
connects to: the last ``set_external_limits`` it received caps the power that ``meter``
publishes (``external_limits.py``'s rule), so the simulated power follows the charging
profiles the CSMS sets.

Used by ``ocpp-bridge demo`` and as the tests' charging-session fixture (tests drive this
module; they never reach into the bridge). Payload shapes live in ``evse_payloads.py``.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from typing import Any, Callable

import yaml

from ocpp_bridge.demo import evse_payloads as shapes
from ocpp_bridge.demo.external_limits import power_cap_w
from ocpp_bridge.everest import protocol as P
from ocpp_bridge.everest.definitions import Definitions, ValidationFailure
from ocpp_bridge.everest.mqtt import MqttLink
from ocpp_bridge.paths import module_root

log = logging.getLogger("ocpp_bridge.demo.evse")

INTERFACE = "evse_manager"
LIMITS_INTERFACE = "external_energy_limits"
ERROR_NAMESPACE = "evse_manager"

OnEvent = Callable[[str, str, Any], None]


class SimulatorError(Exception):
    """A step that cannot happen now (e.g. charging without a transaction), a value that
    does not match our definitions, or a broken answer found while serving a command."""


_shared: dict[str, Any] = {}
_shared_lock = threading.Lock()


def _definitions() -> Definitions:
    """Our definitions and the error names of errors/evse_manager.yaml, loaded once."""
    with _shared_lock:
        if "defs" not in _shared:
            _shared["defs"] = Definitions.load()
            doc = yaml.safe_load((module_root() / "errors" / f"{ERROR_NAMESPACE}.yaml").read_text())
            _shared["errors"] = frozenset(e["name"] for e in doc.get("errors") or [])
        return _shared["defs"]


def _error_names() -> frozenset[str]:
    _definitions()
    return _shared["errors"]


class EvseSimulator:
    """One simulated EvseManager. Thread-safe: the paho thread serves commands while the
    caller's thread drives the session; one re-entrant lock orders everything published."""

    def __init__(self, broker_port: int, *, module_id: str = "evse_manager_1", impl_id: str = "evse",
                 evse_id: int = 1, prefix: str = "everest/", generation: str = P.G3,
                 connectors: int = 1, connector_type: str = "cType2", host: str = "127.0.0.1",
                 on_event: OnEvent | None = None, limits_impl_id: str = "external_limits"):
        self.module_id, self.impl_id, self.evse_id = module_id, impl_id, evse_id
        self.limits_impl_id = limits_impl_id
        self.external_limits: dict | None = None         # the last set_external_limits value
        self.generation = generation
        self._proto = P.Protocol(prefix, module_id, generation)
        self._defs = _definitions()
        self._connectors = [{"id": n, "type": connector_type} for n in range(1, connectors + 1)]
        self._on_event = on_event
        self._cv = threading.Condition(threading.RLock())
        self.published: list[tuple[str, Any]] = []       # (var, value), in publish order
        self.commands: list[tuple[str, dict]] = []       # (cmd, args) answered
        self.rejected: list[tuple[str, Any, str]] = []   # (cmd, args, why) not served
        self.failures: list[str] = []                    # simulator bugs met while answering
        self.presented: list[dict] = []                  # tokens given to authorize()
        self.global_ready = threading.Event()
        self._answers: dict[str, Any] = {}
        # session state
        self._session: str | None = None
        self._plugged = False
        self._connector = 1
        self._authorized: dict | None = None              # ProvidedIdToken of the session
        self._transaction: dict | None = None             # its id_tag while one runs
        self._charging: str | None = None                 # "charging" | "paused_ev" | "paused_evse"
        self._reservation: int | None = None
        self._waiting_external = False
        self._resume_pending = False     # publish SessionResumed before answering the next get_evse
        self._enable = shapes.EnableTable()
        self._errors: dict[str, dict] = {}
        self._reading = shapes.powermeter(0.0)
        self._handlers: dict[str, Callable[[dict], tuple[Any, list]]] = {}
        for cmd in self._defs.commands(INTERFACE):      # EVerest's init_done needs every handler
            handler = getattr(self, f"_cmd_{cmd}", None)
            if handler is None:
                raise SimulatorError(f"no handler for {INTERFACE}.{cmd}")
            self._handlers[cmd] = handler
        self._limits_handlers: dict[str, Callable[[dict], tuple[Any, list]]] = {
            "set_external_limits": self._cmd_set_external_limits}
        self._link = MqttLink(host=host, port=broker_port, on_message=self._on_message)

    # ================================================================== lifecycle
    def start(self, *, announce: bool = True, timeout: float = 10) -> EvseSimulator:
        """Connect, subscribe to our commands and global ready, then (``announce``) send
        metadata and the module ready, as the framework does after ``init_done``."""
        self._link.subscribe(self._proto.subscriptions([self.impl_id, self.limits_impl_id], [], []))
        if not self._link.start(wait_s=timeout):
            self._link.stop()
            raise SimulatorError(f"cannot connect to the MQTT broker within {timeout} s")
        if announce:
            self._send(self._proto.metadata("EvseManager", {self.impl_id: INTERFACE,
                                                            self.limits_impl_id: LIMITS_INTERFACE}))
            self._send(self._proto.module_ready())
        return self

    def stop(self) -> None:
        self._link.stop()

    @property
    def connected(self) -> bool:
        """Connected to the broker now (the link reconnects by itself after a broker restart)."""
        return self._link.connected

    def wait_global_ready(self, timeout: float = 10) -> bool:
        return self.global_ready.wait(timeout)

    # ================================================================== what the module publishes
    def publish_var(self, var: str, value: Any) -> None:
        """Publish any variable of the interface; refuses (raises) an invalid value."""
        try:
            self._defs.check_variable(INTERFACE, var, value)
        except ValidationFailure as exc:
            raise SimulatorError(f"refusing to publish an invalid {var}: {exc}") from exc
        with self._cv:
            self._send(self._proto.var(self.impl_id, var, value))
            self.published.append((var, value))
            self._emit("var", var, value)
            self._cv.notify_all()

    def publish_ready(self, wait_external: bool = False) -> None:
        """EvseManager's start-up: ``waiting_for_external_ready`` = ``wait_external``; then
        ``ready`` = true and an Enabled/Disabled event, at once or (``wait_external``) when
        ``external_ready_to_start_charging`` arrives."""
        with self._cv:
            self.publish_var("waiting_for_external_ready", wait_external)
            self._waiting_external = wait_external
            if not wait_external:
                self._ready_to_charge()

    def plug_in(self, connector_id: int = 1) -> str:
        """The EV is plugged in: SessionStarted (EVConnected) and AuthRequired. When an
        authorization came first the session already runs and nothing is published.
        Returns the session uuid."""
        with self._cv:
            if self._plugged:
                raise SimulatorError("an EV is already plugged in")
            self._check_connector(connector_id)
            self._plugged = True
            if self._session is not None:
                return self._session
            self._connector = connector_id
            session = self._start_session("EVConnected")
            self._event("AuthRequired")
            return session

    def authorize(self, id_token: str | dict, type: str = "RFID") -> dict:
        """The user presents a token. The EVSE manager does not decide: the token is recorded
        (``presented``) and returned as a ProvidedIdToken; with OCPP the Auth module asks the
        CSMS. Follow with ``accept_authorization`` / ``start_transaction`` if it is accepted."""
        token = shapes.provided_token(id_token, type)
        with self._cv:
            self.presented.append(token)
        return token

    def accept_authorization(self, id_token: str | dict, type: str = "RFID") -> None:
        """Authorization accepted (EvseManager's ``authorize_response`` Accepted): Authorized.
        Without a session (authorization before plug-in) SessionStarted (Authorized) comes first."""
        token = shapes.provided_token(id_token, type)
        with self._cv:
            if self._transaction is not None:
                raise SimulatorError("a transaction is already running")
            if self._session is None:
                self._start_session("Authorized", id_tag=token)
            self._authorized = token
            self._event("Authorized", {"meter_value": self._meter_value()})

    def start_transaction(self, id_token: str | dict | None = None, *, type: str = "RFID",
                          meter_wh: float | None = None, reservation_id: int | None = None,
                          **details: Any) -> dict:
        """Plugged in and authorized: TransactionStarted with ``id_tag`` and ``meter_value``
        (``meter_wh`` sets the reading first). Publishes Authorized first unless
        ``accept_authorization`` did. A pending reservation is used unless ``reservation_id``
        is given. ``details`` go into ``transaction_started`` as they are."""
        with self._cv:
            if not self._plugged:
                raise SimulatorError("start_transaction: no EV plugged in")
            if self._transaction is not None:
                raise SimulatorError("start_transaction: a transaction is already running")
            if id_token is not None:
                token = shapes.provided_token(id_token, type)
            elif self._authorized is not None:
                token = self._authorized
            else:
                raise SimulatorError("start_transaction: no token given and none authorized")
            if meter_wh is not None:
                self._reading = shapes.powermeter(meter_wh)
            if self._authorized != token:
                self.accept_authorization(token)
            if reservation_id is None:
                reservation_id, self._reservation = self._reservation, None
            started = {"id_tag": token, "meter_value": self._meter_value(), **details}
            if reservation_id is not None:
                started["reservation_id"] = reservation_id
            self._event("TransactionStarted", started)
            self._transaction = token
            return token

    def start_charging(self) -> None:
        """The EV draws power: ChargingStarted."""
        self._charging_event("ChargingStarted", "charging")

    def pause_ev(self) -> None:
        self._charging_event("ChargingPausedEV", "paused_ev")

    def pause_evse(self, reasons: tuple[str, ...] = ("UserPause",)) -> None:
        self._charging_event("ChargingPausedEVSE", "paused_evse",
                             charging_paused_evse={"reasons": list(reasons)})

    def resume(self) -> None:
        """Charging resumes. Our SessionEventEnum has no ChargingResumed: EvseManager (and the
        OCPP module, everest.md §4) use ChargingStarted for it."""
        self._charging_event("ChargingStarted", "charging")

    def power_cap_w(self) -> float | None:
        """The power the last ``set_external_limits`` allows now, in W (None: no limits yet)."""
        with self._cv:
            return power_cap_w(self.external_limits, time.time())

    def meter(self, energy_wh: float, power_w: float = 0, **extra: Any) -> dict:
        """Publish ``powermeter``: timestamp, energy_Wh_import.total, power_W.total and any other
        Powermeter member as given (``current_A={"L1": 16}``, ``voltage_V=...``, ``meter_id=...``).
        ``power_w`` is what the EV would draw: the external limits in force cap it.
        Session events carry the latest reading."""
        cap = self.power_cap_w()
        if cap is not None and power_w > cap:
            power_w = cap
        reading = shapes.powermeter(energy_wh, power_w, **extra)
        with self._cv:
            self.publish_var("powermeter", reading)
            self._reading = reading
        return reading

    def stop_transaction(self, reason: str = "EVDisconnected", id_token: str | dict | None = None,
                         **details: Any) -> None:
        """The transaction ends: TransactionFinished with ``reason``, ``meter_value`` and, when
        stopped by a token, ``id_tag``. The EV stays plugged in."""
        with self._cv:
            if self._transaction is None:
                raise SimulatorError("stop_transaction: no transaction running")
            id_tag = shapes.provided_token(id_token) if id_token is not None else None
            self._finish_transaction(reason, id_tag, details)

    def unplug(self) -> None:
        """The EV leaves: a running transaction finishes (EVDisconnected), then SessionFinished."""
        with self._cv:
            if self._session is None:
                raise SimulatorError("unplug: no session")
            if self._transaction is not None:
                self._finish_transaction("EVDisconnected", None, {})
            self._event("SessionFinished", {"meter_value": self._meter_value()})
            self._session, self._plugged, self._authorized = None, False, None

    def resume_session(self) -> str:
        """EvseManager restarted with the rest of the stack and restored its session: the next
        ``get_evse`` (the OCPP module starting) is preceded by SessionResumed with the same uuid,
        as EVerest's EvseManager reports it at start-up. Returns the uuid."""
        with self._cv:
            if self._session is None:
                raise SimulatorError("resume_session: no session to resume")
            self._resume_pending = True
            return self._session

    def lose_session(self) -> None:
        """EvseManager restarted after a power loss without restoring its session: it starts
        with no session, no transaction and no EV (nothing is published)."""
        with self._cv:
            self._session, self._transaction, self._authorized, self._charging = None, None, None, None
            self._plugged, self._resume_pending = False, False

    def set_enabled(self, enabled: bool, *, source: str = "LocalAPI", priority: int = 0) -> bool:
        """A local enable/disable, through EvseManager's priority rule; publishes Enabled or
        Disabled. Returns whether the EVSE is enabled afterwards."""
        request = {"enable_source": source, "enable_state": "Enable" if enabled else "Disable",
                   "enable_priority": priority}
        with self._cv:
            self._enable.update(request)
            self._publish_enable_state()
            return self._enable.enabled()

    def set_ev_info(self, soc: float | None = None, **fields: Any) -> dict:
        """Publish ``ev_info`` (EVInfo) with ``soc`` and any other EVInfo member given."""
        value = {k: v for k, v in {"soc": soc, **fields}.items() if v is not None}
        self.publish_var("ev_info", value)
        return value

    def raise_error(self, error_type: str, message: str = "", *, severity: str = "High",
                    sub_type: str = "") -> dict:
        """Raise an error of errors/evse_manager.yaml (``"Name"`` or ``"evse_manager/Name"``).
        G3: ``PI/error/evse_manager/<Name>`` with a RaiseError envelope; G2: the bare error
        object on ``PI/error`` (framework 0.20-0.24)."""
        full = self._error_type(error_type)
        obj = shapes.error_object(full, module_id=self.module_id, impl_id=self.impl_id,
                                  evse_id=self.evse_id, message=message, severity=severity,
                                  sub_type=sub_type)
        with self._cv:
            self._errors[full] = obj
            self._send_error(obj, "RaiseError")
        return obj

    def clear_error(self, error_type: str) -> dict:
        """Clear a raised error: same uuid, state ClearedByModule, ClearError envelope (G3)."""
        full = self._error_type(error_type)
        with self._cv:
            raised = self._errors.pop(full, None)
            if raised is None:
                raise SimulatorError(f"clear_error: {full} is not raised")
            obj = {**raised, "state": "ClearedByModule", "timestamp": shapes.now_rfc3339()}
            self._send_error(obj, "ClearError")
        return obj

    # ================================================================== what a test reads
    @property
    def session_uuid(self) -> str | None:
        return self._session

    def events(self) -> list[dict]:
        """Every session_event published so far."""
        with self._cv:
            return [v for (n, v) in self.published if n == "session_event"]

    def answer(self, cmd: str, value: Any) -> None:
        """Make ``cmd`` answer ``value`` (or ``value(args)`` when callable) instead of acting
        like EvseManager: no state change, no events (e.g. an EVSE that refuses to stop).
        The answer is still checked against the interface."""
        if cmd not in self._handlers:
            raise SimulatorError(f"{INTERFACE} has no command {cmd!r}")
        with self._cv:
            self._answers[cmd] = value

    def wait_command(self, cmd: str, predicate: Callable[[dict], bool] = lambda a: True,
                     timeout: float = 10, after: int = 0) -> dict:
        """The arguments of the first call of ``cmd`` (index >= ``after`` among the calls of
        ``cmd``) that satisfies ``predicate``. Raises SimulatorError when the simulator has
        failed to answer a command, TimeoutError (naming rejected calls) after ``timeout``."""
        deadline = time.monotonic() + timeout
        with self._cv:
            while True:
                if self.failures:
                    raise SimulatorError("; ".join(self.failures))
                for args in [a for (c, a) in self.commands if c == cmd][after:]:
                    if predicate(args):
                        return args
                left = deadline - time.monotonic()
                if left <= 0:
                    bad = [r for r in self.rejected if r[0] == cmd]
                    raise TimeoutError(f"{self.module_id}: no matching call of {cmd} within {timeout} s"
                                       + (f"; rejected calls: {bad}" if bad else ""))
                self._cv.wait(left)

    # ================================================================== commands (paho thread)
    def _on_message(self, topic: str, payload: bytes) -> None:
        try:
            decoded = self._proto.decode(topic, payload)
        except P.BadMessage as exc:
            with self._cv:
                self.rejected.append(("", None, exc.reason))
                self._cv.notify_all()
            if exc.reply is not None:
                self._send(exc.reply)
            return
        if isinstance(decoded, P.GlobalReady):
            self.global_ready.set()
        elif isinstance(decoded, P.IncomingCommand) and decoded.impl in (self.impl_id, self.limits_impl_id):
            try:
                self._serve(decoded)
            except Exception as exc:  # noqa: BLE001 - never kill paho's thread
                log.exception("serving %s failed", decoded.cmd)
                with self._cv:
                    self.failures.append(f"{decoded.cmd}: {type(exc).__name__}: {exc}")
                    self._cv.notify_all()

    def _serve(self, call: P.IncomingCommand) -> None:
        args = call.args if call.args is not None else {}
        interface, handlers = ((INTERFACE, self._handlers) if call.impl == self.impl_id
                               else (LIMITS_INTERFACE, self._limits_handlers))
        with self._cv:
            try:
                handler = handlers.get(call.cmd)
                if handler is None:  # the framework has no subscriber for it: no answer at all
                    self.rejected.append((call.cmd, args, f"not a command of {interface}"))
                    return
                try:
                    self._defs.check_arguments(interface, call.cmd, args)
                except ValidationFailure as exc:
                    self.rejected.append((call.cmd, args, str(exc)))
                    self._send(self._proto.error(call, P.SCHEMA_VALIDATION_ERROR, str(exc)))
                    return
                self.commands.append((call.cmd, args))
                self._emit("cmd", call.cmd, args)
                then: list[Callable[[], None]] = []
                if call.cmd in self._answers:
                    given = self._answers[call.cmd]
                    result = given(args) if callable(given) else given
                else:
                    result, then = handler(args)
                try:
                    self._defs.check_result(interface, call.cmd, result)
                except ValidationFailure as exc:
                    self.failures.append(f"invalid answer to {call.cmd}: {exc}")
                    self._send(self._proto.error(call, P.HANDLER_EXCEPTION, str(exc)))
                    return
                self._send(self._proto.result(call, result))
                for step in then:  # what EvseManager does after answering
                    step()
            finally:
                self._cv.notify_all()

    def _cmd_set_external_limits(self, args: dict) -> tuple[Any, list]:
        self.external_limits = args["value"]
        return None, []

    def _cmd_get_evse(self, args: dict) -> tuple[Any, list]:
        if self._resume_pending:  # published before the answer: the OCPP side hears it first
            self._resume_pending = False
            self._event("SessionResumed")
        return {"id": self.evse_id, "connectors": [dict(c) for c in self._connectors]}, []

    def _cmd_enable_disable(self, args: dict) -> tuple[Any, list]:
        self._enable.update(args["cmd_source"])
        connector = args["connector_id"] or self._connector
        return self._enable.enabled(), [lambda: self._publish_enable_state(connector)]

    def _cmd_authorize_response(self, args: dict) -> tuple[Any, list]:
        return None, []          # recorded; the test decides what follows

    def _cmd_withdraw_authorization(self, args: dict) -> tuple[Any, list]:
        return None, []

    def _cmd_reserve(self, args: dict) -> tuple[Any, list]:
        if self._session is not None:
            return False, []
        self._reservation = args["reservation_id"]
        return True, [lambda: self._event("ReservationStart")]

    def _cmd_cancel_reservation(self, args: dict) -> tuple[Any, list]:
        if self._reservation is None:
            return None, []
        self._reservation = None
        return None, [lambda: self._event("ReservationEnd")]

    def _cmd_pause_charging(self, args: dict) -> tuple[Any, list]:
        if self._transaction is None:
            return False, []
        return True, [] if self._charging == "paused_evse" else [self.pause_evse]

    def _cmd_resume_charging(self, args: dict) -> tuple[Any, list]:
        if self._charging != "paused_evse":
            return False, []
        return True, [self.resume]

    def _cmd_stop_transaction(self, args: dict) -> tuple[Any, list]:
        if self._transaction is None:
            return False, []
        request = args["request"]
        return True, [lambda: self._finish_transaction(request["reason"], request.get("id_tag"), {})]

    def _cmd_force_unlock(self, args: dict) -> tuple[Any, list]:
        return True, []

    def _cmd_external_ready_to_start_charging(self, args: dict) -> tuple[Any, list]:
        # EvseManager: true when it was configured to wait for this signal
        if not self._waiting_external:
            return False, []
        return True, [self._ready_to_charge]

    def _cmd_set_plug_and_charge_configuration(self, args: dict) -> tuple[Any, list]:
        return None, []

    def _cmd_update_allowed_energy_transfer_modes(self, args: dict) -> tuple[Any, list]:
        return "NoHlc", []       # basic charging: no ISO 15118 session to renegotiate

    # ================================================================== internals
    def _send(self, out: P.Outgoing) -> None:
        self._link.publish(out.topic, out.payload)

    def _emit(self, kind: str, name: str, payload: Any) -> None:
        if self._on_event is None:
            return
        try:
            self._on_event(kind, name, payload)
        except Exception:  # noqa: BLE001 - a display problem must not stop the simulation
            log.exception("on_event callback failed")

    def _meter_value(self) -> dict:
        return json.loads(json.dumps(self._reading))

    def _event(self, name: str, detail: dict | None = None, *, connector_id: int | None = None,
               **members: Any) -> dict:
        if detail is not None:
            members[shapes.DETAIL_OF_EVENT[name]] = detail
        value = shapes.session_event(self._session or "", name, connector_id or self._connector, **members)
        self.publish_var("session_event", value)
        return value

    def _start_session(self, reason: str, id_tag: dict | None = None) -> str:
        """A new session (its uuid, returned) and its SessionStarted."""
        session = self._session = str(uuid.uuid4())
        started: dict[str, Any] = {"reason": reason, "meter_value": self._meter_value()}
        if id_tag is not None:
            started["id_tag"] = id_tag
        if self._reservation is not None:
            started["reservation_id"] = self._reservation
        self._event("SessionStarted", started)
        return session

    def _charging_event(self, name: str, state: str, **members: Any) -> None:
        with self._cv:
            if self._transaction is None:
                raise SimulatorError(f"{name}: no transaction running")
            self._event(name, {"meter_value": self._meter_value()}, **members)
            self._charging = state

    def _finish_transaction(self, reason: str, id_tag: dict | None, details: dict) -> None:
        finished = {"meter_value": self._meter_value(), "reason": reason, **details}
        if id_tag is not None:
            finished["id_tag"] = id_tag
        self._event("TransactionFinished", finished)
        self._transaction, self._charging, self._authorized = None, None, None

    def _ready_to_charge(self) -> None:
        self._waiting_external = False
        self.publish_var("ready", True)
        self._publish_enable_state()

    def _publish_enable_state(self, connector_id: int | None = None) -> None:
        name = "Enabled" if self._enable.enabled() else "Disabled"
        self._event(name, connector_id=connector_id, source=self._enable.winner())

    def _check_connector(self, connector_id: int) -> None:
        if not any(c["id"] == connector_id for c in self._connectors):
            raise SimulatorError(f"no connector {connector_id} (have {len(self._connectors)})")

    def _error_type(self, error_type: str) -> str:
        name = error_type.split("/", 1)[1] if error_type.startswith(ERROR_NAMESPACE + "/") else error_type
        if name not in _error_names():
            raise SimulatorError(f"{error_type!r} is not an error of errors/{ERROR_NAMESPACE}.yaml "
                                 f"({', '.join(sorted(_error_names()))})")
        return f"{ERROR_NAMESPACE}/{name}"

    def _send_error(self, obj: dict, msg_type: str) -> None:
        root = self._proto.impl_root(self.module_id, self.impl_id)
        if self.generation == P.G3:
            topic, payload = f"{root}/error/{obj['type']}", {"msg_type": msg_type, "data": obj}
        else:
            topic, payload = f"{root}/error", obj
        self._link.publish(topic, json.dumps(payload, separators=(",", ":")))
        self._emit("error", obj["type"], obj)
