"""EVerest framework MQTT protocol: topics and payloads of both generations. PURE.

Owns the byte-level shape of every message this module exchanges with the framework:
which topics to subscribe to, how a command call / result / error / variable / ready looks,
and how to read what arrives. It never touches a socket and never validates against
interface definitions (``definitions.py`` does that).

Generations (spec/everest.md §1):
- ``"2025.12"`` (G3, framework >= 0.25): per-name topics and a ``msg_type`` envelope.
  cmd ``PI/cmd/<cmd>``, result on ``PI/cmd/<cmd>/response/<caller>``, var ``PI/var/<var>``.
- ``"2024.11"`` (G2c, framework 0.19-0.24): ``PI/cmd`` and ``PI/var`` for every name, no
  envelope; call and result share the ``PI/cmd`` topic and differ by ``type``.
``PI`` = ``<prefix>modules/<module_id>/impl/<impl_id>``.

What the bus may carry (decided here, once, with ``json_edge``): a command whose
arguments hold a value we cannot carry (a lone UTF-16 surrogate, an integer beyond 64
bits, a non-finite number) is answered ``SchemaValidationError``; one nested deeper than
``json_edge.MAX_DEPTH`` (even too deep for the json module) ``MessageParsingError``, its
call id read from a cut-down copy. A command whose call id, origin or name is unusable
(or whose origin holds an MQTT wildcard) cannot be answered: it is refused with a log
line only. A variable or global ready holding such a value is dropped with a log line;
a result holding one completes its call as that error. Nothing unusable gets past
``decode``, and every encoder here refuses (``json_edge.Unusable``) to produce text that
is not UTF-8 JSON; error messages of our own are made printable.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ocpp_bridge import json_edge
from ocpp_bridge.json_edge import Unusable as Unusable  # re-exported: every encoder here raises it

G3 = "2025.12"
G2 = "2024.11"
GENERATIONS = (G3, G2)

# Error type names carried in ``__everest__error_type`` (framework >= 0.23).
MESSAGE_PARSING_ERROR = "MessageParsingError"
SCHEMA_VALIDATION_ERROR = "SchemaValidationError"
HANDLER_EXCEPTION = "HandlerException"
CMD_TIMEOUT = "CmdTimeout"
SHUTDOWN = "Shutdown"
NOT_READY = "NotReady"


@dataclass(frozen=True)
class IncomingCommand:
    """A command call addressed to one of our implementations."""

    impl: str
    cmd: str
    call_id: Any
    args: Any
    origin: str | None


@dataclass(frozen=True)
class IncomingResult:
    """The answer to a command we called on another module."""

    call_id: str
    retval: Any = None
    error: tuple[str, str] | None = None  # (error type, message)


@dataclass(frozen=True)
class IncomingVar:
    """A variable published by a module we require."""

    module_id: str
    impl: str
    var: str
    value: Any


@dataclass(frozen=True)
class GlobalReady:
    """The manager's ``<prefix>ready``: every module is up."""


@dataclass(frozen=True)
class Outgoing:
    """One MQTT publish."""

    topic: str
    payload: str


class BadMessage(Exception):
    """An incoming message we cannot use. ``reply`` is the error answer to publish, if any."""

    def __init__(self, reason: str, reply: Outgoing | None = None):
        super().__init__(reason)
        self.reason = reason
        self.reply = reply


def normalise_prefix(prefix: str) -> str:
    """EVerest appends ``/`` to the prefix when it is missing."""
    return prefix if prefix.endswith("/") else prefix + "/"


def _dumps(value: Any) -> str:
    return json_edge.dumps(value)  # raises Unusable rather than produce text that is not UTF-8


def _error_object(error_type: str, message: str) -> dict:
    return {"__everest__error_type": error_type, "__everest__error_msg": json_edge.printable(message)}


def _unanswerable(call_id: Any, origin: Any, cmd: Any) -> str | None:
    """Why a reply to this call could not be written (None: it can)."""
    if json_edge.problem(call_id) is not None:
        return "its call id is unusable"
    if isinstance(origin, str) and (json_edge.has_surrogate(origin) or any(c in origin for c in "+#\0")):
        return "its origin is not a usable topic level"
    if isinstance(cmd, str) and json_edge.has_surrogate(cmd):
        return "its name is unusable"
    return None


class Protocol:
    """Encoder/decoder for one module id under one prefix in one generation."""

    def __init__(self, prefix: str, module_id: str, generation: str = G3):
        if generation not in GENERATIONS:
            raise ValueError(f"unknown EverestProtocol {generation!r}; use one of {GENERATIONS}")
        self.prefix = normalise_prefix(prefix)
        self.module_id = module_id
        self.generation = generation
        self._modules_root = f"{self.prefix}modules/"
        self._own_root = f"{self._modules_root}{module_id}/impl/"

    # ------------------------------------------------------------------ topics
    def impl_root(self, module_id: str, impl: str) -> str:
        return f"{self._modules_root}{module_id}/impl/{impl}"

    def global_ready_topic(self) -> str:
        return f"{self.prefix}ready"

    def subscriptions(
        self,
        provided_impls: list[str],
        required_impls: list[tuple[str, str]],
        required_vars: list[tuple[str, str, str]],
    ) -> list[str]:
        """Everything to subscribe to before announcing module ready (everest.md §7)."""
        topics = [self.global_ready_topic()]
        for impl in provided_impls:
            root = self.impl_root(self.module_id, impl)
            topics.append(f"{root}/cmd/+" if self.generation == G3 else f"{root}/cmd")
        if self.generation == G3:
            if required_impls:
                topics.append(f"{self._modules_root}+/impl/+/cmd/+/response/{self.module_id}")
            topics.extend(
                f"{self.impl_root(m, i)}/var/{v}" for (m, i, v) in required_vars
            )
        else:
            topics.extend(f"{self.impl_root(m, i)}/cmd" for (m, i) in required_impls)
            topics.extend(sorted({f"{self.impl_root(m, i)}/var" for (m, i, _v) in required_vars}))
        return list(dict.fromkeys(topics))

    # ------------------------------------------------------------------ encode
    def module_ready(self) -> Outgoing:
        topic = f"{self._modules_root}{self.module_id}/ready"
        payload = {"msg_type": "ModuleReady", "data": True} if self.generation == G3 else True
        return Outgoing(topic, _dumps(payload))

    def metadata(self, module_name: str, provides: dict[str, str]) -> Outgoing:
        data = {"module": module_name, "provides": {k: {"interface": v} for k, v in provides.items()}}
        payload = {"msg_type": "GetConfigResponse", "data": data} if self.generation == G3 else data
        return Outgoing(f"{self._modules_root}{self.module_id}/metadata", _dumps(payload))

    def var(self, impl: str, var: str, value: Any) -> Outgoing:
        root = self.impl_root(self.module_id, impl)
        if self.generation == G3:
            return Outgoing(f"{root}/var/{var}", _dumps({"msg_type": "Var", "data": {"data": value}}))
        return Outgoing(f"{root}/var", _dumps({"name": var, "data": value}))

    def result(self, call: IncomingCommand, retval: Any) -> Outgoing:
        return self._reply(call.impl, call.cmd, call.call_id, call.origin, {"retval": retval})

    def error(self, call: IncomingCommand, error_type: str, message: str) -> Outgoing:
        return self._reply(
            call.impl, call.cmd, call.call_id, call.origin, {"error": _error_object(error_type, message)}
        )

    def _reply(self, impl: str, cmd: str, call_id: Any, origin: str | None, body: dict) -> Outgoing:
        root = self.impl_root(self.module_id, impl)
        data = {"id": call_id, **body, "origin": self.module_id}
        if self.generation == G3:
            topic = f"{root}/cmd/{cmd}/response/{origin}"
            return Outgoing(topic, _dumps({"msg_type": "CmdResult", "data": {"type": "result", "data": data}}))
        return Outgoing(f"{root}/cmd", _dumps({"name": cmd, "type": "result", "data": data}))

    def call(self, module_id: str, impl: str, cmd: str, args: dict, call_id: str) -> Outgoing:
        root = self.impl_root(module_id, impl)
        data = {"id": call_id, "args": args, "origin": self.module_id}
        if self.generation == G3:
            return Outgoing(f"{root}/cmd/{cmd}", _dumps({"msg_type": "Cmd", "data": data}))
        return Outgoing(f"{root}/cmd", _dumps({"name": cmd, "type": "call", "data": data}))

    # ------------------------------------------------------------------ decode
    def decode(self, topic: str, payload: bytes) -> IncomingCommand | IncomingResult | IncomingVar | GlobalReady | None:
        """Read one message. ``None`` = not for us (e.g. our own G2 results). Raises BadMessage."""
        if topic == self.global_ready_topic():
            value = self._read(payload, topic, "global ready")
            if isinstance(value, dict) and "msg_type" in value:
                value = value.get("data")
            return GlobalReady() if value is True else None
        if not topic.startswith(self._modules_root):
            return None
        parts = topic[len(self._modules_root):].split("/")
        # <module>/impl/<impl>/cmd[/<cmd>[/response/<caller>]] | <module>/impl/<impl>/var[/<var>]
        if len(parts) < 4 or parts[1] != "impl":
            return None
        module_id, impl, kind, rest = parts[0], parts[2], parts[3], parts[4:]
        if kind == "var":
            return self._decode_var(topic, module_id, impl, rest, payload)
        if kind != "cmd":
            return None
        if module_id == self.module_id and not rest[1:]:
            return self._decode_call(topic, impl, rest, payload)
        return self._decode_result(topic, rest, payload)

    def _read(self, payload: bytes, topic: str, what: str) -> Any:
        """JSON that is safe to carry, or BadMessage (no reply: nobody to answer)."""
        try:
            return json_edge.load(payload)
        except Unusable as exc:
            if exc.kind == json_edge.SYNTAX:
                raise BadMessage(f"payload on {topic} is not JSON: {exc.reason}") from None
            raise BadMessage(f"{what} on {topic} dropped: {exc}") from None

    @staticmethod
    def _parse_enveloped(payload: bytes) -> tuple[Any, bool]:
        """(message, too_deep): a message too deep to parse comes back cut down to
        ``MAX_DEPTH`` so its envelope can be read. Raises Unusable (SYNTAX)."""
        try:
            return json_edge.parse(payload), False
        except Unusable as exc:
            if exc.kind != json_edge.DEPTH:
                raise
        return json_edge.shallow(payload), True

    def _decode_call(self, topic: str, impl: str, rest: list[str], payload: bytes) -> IncomingCommand | None:
        g3 = self.generation == G3
        cmd_from_topic = rest[0] if rest else None
        try:
            msg, too_deep = self._parse_enveloped(payload)
        except Unusable as exc:
            reply = None
            if not g3:  # G2 answers on the command topic itself, so a reply is always possible
                reply = self._reply(impl, "", None, None, {"error": _error_object(
                    MESSAGE_PARSING_ERROR, f"payload is not JSON: {exc.reason}")})
            raise BadMessage(f"command on {topic} is not JSON: {exc.reason}", reply) from None
        if g3:
            if not isinstance(msg, dict) or msg.get("msg_type") != "Cmd" or not isinstance(msg.get("data"), dict):
                raise BadMessage(f"command on {topic} is not a Cmd envelope: {payload[:200]!r}")
            data, cmd = msg["data"], cmd_from_topic
        else:
            if not isinstance(msg, dict):
                raise BadMessage(f"command on {topic} is not an object")
            if msg.get("type") == "result":
                return None  # our own answer on the shared topic
            data, cmd = msg.get("data"), msg.get("name")
            if not isinstance(data, dict):
                data = {}
        origin = data.get("origin") if isinstance(data.get("origin"), str) else None
        call = IncomingCommand(impl, cmd if isinstance(cmd, str) else "", data.get("id"), data.get("args"), origin)
        unanswerable = _unanswerable(data.get("id"), origin if g3 else None, cmd)  # G3 answers on .../<origin>
        if unanswerable:
            raise BadMessage(f"command on {topic} refused without a reply: {unanswerable}")
        problem, error_type = None, MESSAGE_PARSING_ERROR
        unusable = None if too_deep else json_edge.problem(data.get("args"))
        if not isinstance(cmd, str) or not cmd:
            problem = "command has no name"
        elif "id" not in data or data.get("id") is None:
            problem = f"command '{cmd}' has no call id"
        elif not g3 and msg.get("type") != "call":
            problem = f"command '{cmd}' has type {msg.get('type')!r}, expected 'call'"
        elif too_deep or (unusable is not None and unusable.kind == json_edge.DEPTH):
            problem = f"command '{cmd}': arguments nested deeper than {json_edge.MAX_DEPTH} levels"
        elif unusable is not None:
            problem = f"command '{cmd}': args{unusable.path}: {unusable.reason}"
            error_type = SCHEMA_VALIDATION_ERROR
        if problem:
            reply = None
            if not g3 or origin:
                reply = self.error(call, error_type, problem)
            raise BadMessage(f"{problem} (topic {topic})", reply)
        return call

    def _decode_result(self, topic: str, rest: list[str], payload: bytes) -> IncomingResult | None:
        try:
            msg, too_deep = self._parse_enveloped(payload)
        except Unusable as exc:
            raise BadMessage(f"payload on {topic} is not JSON: {exc.reason}") from None
        if self.generation == G3:
            if not (len(rest) == 3 and rest[1] == "response" and rest[2] == self.module_id):
                return None
            if not isinstance(msg, dict) or msg.get("msg_type") != "CmdResult":
                raise BadMessage(f"result on {topic} is not a CmdResult envelope")
            outer = msg.get("data")
            data = outer.get("data") if isinstance(outer, dict) else None
        else:
            if not isinstance(msg, dict) or msg.get("type") != "result":
                return None  # a call on a peer's topic (ours or someone else's)
            data = msg.get("data")
        if not isinstance(data, dict) or not isinstance(data.get("id"), str) or json_edge.has_surrogate(data["id"]):
            raise BadMessage(f"result on {topic} has no call id")
        unusable = None if too_deep else json_edge.problem({k: data.get(k) for k in ("retval", "error")})
        if too_deep or (unusable is not None and unusable.kind == json_edge.DEPTH):
            return IncomingResult(data["id"], None, (MESSAGE_PARSING_ERROR,
                                                     f"result nested deeper than {json_edge.MAX_DEPTH} levels"))
        if unusable is not None:
            return IncomingResult(data["id"], None, (SCHEMA_VALIDATION_ERROR, f"result {unusable}"))
        err = data.get("error")
        if err is not None:
            if isinstance(err, dict):
                etype = err.get("__everest__error_type") or err.get("event") or "HandlerException"
                emsg = err.get("__everest__error_msg") or err.get("msg") or ""
            else:
                etype, emsg = "HandlerException", str(err)
            return IncomingResult(data["id"], None, (str(etype), str(emsg)))
        return IncomingResult(data["id"], data.get("retval"))

    def _decode_var(self, topic: str, module_id: str, impl: str, rest: list[str], payload: bytes) -> IncomingVar | None:
        if module_id == self.module_id:
            return None
        msg = self._read(payload, topic, "variable")
        if self.generation == G3:
            if len(rest) != 1:
                return None
            if not isinstance(msg, dict) or msg.get("msg_type") != "Var" or not isinstance(msg.get("data"), dict):
                raise BadMessage(f"variable on {topic} is not a Var envelope")
            return IncomingVar(module_id, impl, rest[0], msg["data"].get("data"))
        if rest or not isinstance(msg, dict) or not isinstance(msg.get("name"), str):
            raise BadMessage(f"variable on {topic} has no name")
        return IncomingVar(module_id, impl, msg["name"], msg.get("data"))
