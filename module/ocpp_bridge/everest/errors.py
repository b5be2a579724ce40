"""EVerest framework errors: the error object, its topics and payloads, and who has what active. PURE.

Owns the wire form of raising and clearing an error in both framework generations
(everest.md §1.2, §1.3, §1.6), reading the errors that required modules raise, and three
small bookkeeping objects the engine drives with the current time: ``RaisedErrors`` (ours),
``EvseErrors`` (the active errors of each connected evse_manager) and ``UnreachableWatch``
(when to raise "CSMS unreachable"). Never touches a socket, a file or a clock.

Wire forms
----------
``PI = <prefix>modules/<module_id>/impl/<impl_id>``; the error object is §1.6's
``{type, sub_type, message, description, vendor_id, origin{module_id, implementation_id},
severity, timestamp, uuid, state}``.

- ``"2025.12"`` (G3): topic ``PI/error/<ns>/<Name>`` (the type's two parts), payload
  ``{"msg_type": "RaiseError" | "ClearError", "data": <error object>}``.
- ``"2024.11"`` (G2, framework 0.20-0.24): topic ``PI/error`` for both, payload the error
  object itself with no envelope. Raise and clear differ only by ``state``: ``"Active"``
  when raised, ``"ClearedByModule"`` (or ``"ClearedByReboot"``) when cleared. This is what
  the framework's ``publish_raised_error`` / ``publish_cleared_error`` send in those
  versions (both publish ``json(error)`` on ``PI/error``) and how its subscribers tell the
  two apart (a switch on ``error.state``).

Error types are ``<file>/<Name>`` of an ``errors/<file>.yaml``; an implementation may raise
only the types its interface lists under ``errors:`` and subscribers ignore the others.
"""

from __future__ import annotations

import json
import uuid as uuidlib
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Iterable

from ocpp_bridge import json_edge
from ocpp_bridge.everest.protocol import G2, G3, Outgoing, normalise_prefix

ACTIVE = "Active"
CLEARED_BY_MODULE = "ClearedByModule"
CLEARED_BY_REBOOT = "ClearedByReboot"
SEVERITIES = ("Low", "Medium", "High")

CSMS_UNREACHABLE = "ocpp_bridge/CsmsUnreachable"


class BadError(Exception):
    """An error message from another module that cannot be read."""


@dataclass(frozen=True)
class ErrorEvent:
    """An error raised or cleared by another module's implementation."""

    module_id: str
    impl: str
    raised: bool
    error: dict


def rfc3339(now: float) -> str:
    dt = datetime.fromtimestamp(now, tz=timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


# --------------------------------------------------------------------------- declarations
def declared_types(interface_doc: dict, error_names: Callable[[str], Iterable[str]]) -> set[str]:
    """Error types an interface lists under ``errors:``. ``error_names(file)`` returns the
    names declared in ``errors/<file>.yaml``; ``/errors/<file>`` means all of them and
    ``/errors/<file>#/<Name>`` just that one."""
    types: set[str] = set()
    for entry in interface_doc.get("errors") or []:
        ref = str((entry or {}).get("reference", ""))
        if not ref.startswith("/errors/"):
            continue
        file, _, name = ref[len("/errors/"):].partition("#/")
        names = [name] if name else list(error_names(file))
        types.update(f"{file}/{n}" for n in names)
    return types


# --------------------------------------------------------------------------- encode
def error_object(error_type: str, message: str, *, module_id: str, impl: str, now: float,
                 description: str = "", severity: str = "Medium", sub_type: str = "",
                 vendor_id: str = "", uuid: str | None = None) -> dict:
    """A freshly raised (``Active``) error object of §1.6."""
    if severity not in SEVERITIES:
        raise ValueError(f"severity must be one of {SEVERITIES}, got {severity!r}")
    if error_type.count("/") != 1:
        raise ValueError(f"error type must be '<namespace>/<Name>', got {error_type!r}")
    return {
        "type": error_type, "sub_type": sub_type, "message": message,
        "description": description or message, "vendor_id": vendor_id,
        "origin": {"module_id": module_id, "implementation_id": impl},
        "severity": severity, "timestamp": rfc3339(now),
        "uuid": uuid or str(uuidlib.uuid4()), "state": ACTIVE,
    }


def error_topic(prefix: str, module_id: str, impl: str, generation: str, error_type: str | None = None) -> str:
    root = f"{normalise_prefix(prefix)}modules/{module_id}/impl/{impl}/error"
    return f"{root}/{error_type}" if generation == G3 and error_type else root


def raise_message(prefix: str, error: dict, generation: str) -> Outgoing:
    return _message(prefix, dict(error, state=ACTIVE), generation, "RaiseError")


def clear_message(prefix: str, error: dict, generation: str) -> Outgoing:
    """The clear of a raised error: the same object (same uuid) in state ``ClearedByModule``."""
    return _message(prefix, dict(error, state=CLEARED_BY_MODULE), generation, "ClearError")


def _message(prefix: str, error: dict, generation: str, msg_type: str) -> Outgoing:
    origin = error["origin"]
    topic = error_topic(prefix, origin["module_id"], origin["implementation_id"], generation, error["type"])
    payload = {"msg_type": msg_type, "data": error} if generation == G3 else error
    return Outgoing(topic, _dumps(payload))


# --------------------------------------------------------------------------- decode
def subscription(prefix: str, module_id: str, impl: str, generation: str) -> str:
    """The topic filter for every error of one implementation."""
    root = error_topic(prefix, module_id, impl, generation)
    return f"{root}/#" if generation == G3 else root


def decode(prefix: str, topic: str, payload: bytes, generation: str) -> ErrorEvent | None:
    """Read an error raised or cleared on ``topic``; None when the topic is not an error topic."""
    base = f"{normalise_prefix(prefix)}modules/"
    if not topic.startswith(base):
        return None
    parts = topic[len(base):].split("/")
    if len(parts) < 4 or parts[1] != "impl" or parts[3] != "error":
        return None
    module_id, impl, rest = parts[0], parts[2], parts[4:]
    if (generation == G3) != bool(rest):
        return None  # the other generation's topic shape
    try:
        msg = json_edge.load(payload)  # the bus edge: nothing we cannot carry gets in
    except json_edge.Unusable as exc:
        raise BadError(f"error on {topic} is not usable JSON: {exc}") from None
    if generation == G3:
        if not isinstance(msg, dict) or msg.get("msg_type") not in ("RaiseError", "ClearError"):
            raise BadError(f"error on {topic} is not a RaiseError/ClearError envelope")
        error, raised = msg.get("data"), msg["msg_type"] == "RaiseError"
    else:
        error = msg
        state = error.get("state") if isinstance(error, dict) else None
        if state not in (ACTIVE, CLEARED_BY_MODULE, CLEARED_BY_REBOOT):
            raise BadError(f"error on {topic} has no valid state: {state!r}")
        raised = state == ACTIVE
    if not isinstance(error, dict) or not isinstance(error.get("type"), str):
        raise BadError(f"error on {topic} has no type")
    return ErrorEvent(module_id, impl, raised, error)


def _key(error: dict) -> tuple[str, str]:
    return str(error.get("type")), str(error.get("sub_type") or "")


# --------------------------------------------------------------------------- bookkeeping
class RaisedErrors:
    """The errors our implementations have raised and not yet cleared.

    As in the framework, a (type, sub_type) that is already active is not raised again and
    one that is not active is not cleared."""

    def __init__(self) -> None:
        self._active: dict[tuple[str, str, str], dict] = {}

    def add(self, impl: str, error: dict) -> bool:
        key = (impl, *_key(error))
        if key in self._active:
            return False
        self._active[key] = error
        return True

    def remove(self, impl: str, error_type: str, sub_type: str = "") -> dict | None:
        return self._active.pop((impl, error_type, sub_type), None)

    def is_active(self, impl: str, error_type: str, sub_type: str = "") -> bool:
        return (impl, error_type, sub_type) in self._active

    def active(self) -> list[dict]:
        return list(self._active.values())


ErrorListener = Callable[[int, dict, bool], None]


class EvseErrors(dict):
    """EVSE id (1-based, the position of the evse_manager connection) -> its active errors.

    ``apply`` records a raise or a clear; listeners registered with ``on_change`` are
    called ``fn(evse_id, error, raised)`` for every change (not for repeats)."""

    def __init__(self, evse_ids: Iterable[int] = ()) -> None:
        super().__init__({i: [] for i in evse_ids})
        self._listeners: list[ErrorListener] = []

    def on_change(self, fn: ErrorListener) -> None:
        self._listeners.append(fn)

    def apply(self, evse_id: int, error: dict, raised: bool) -> bool:
        active = self.setdefault(evse_id, [])
        same = [e for e in active if _key(e) == _key(error)]
        if raised == bool(same):
            return False  # raised while active, or cleared while not active
        if raised:
            active.append(error)
        else:
            for e in same:
                active.remove(e)
        for fn in list(self._listeners):
            fn(evse_id, error, raised)
        return True


class UnreachableWatch:
    """When the CSMS has been out of reach for ``after_s`` seconds, it is time to raise.

    ``arm(now)`` when the connection is down (or OCPP starts unconnected), ``disarm()`` when
    it is up or OCPP is stopped on purpose, ``due(now)`` from the timer tick. ``after_s``
    0 never raises."""

    def __init__(self, after_s: float) -> None:
        self.after_s = float(after_s)
        self.deadline: float | None = None
        self.raised = False

    def arm(self, now: float) -> None:
        if self.after_s > 0 and self.deadline is None and not self.raised:
            self.deadline = now + self.after_s

    def disarm(self) -> bool:
        """Stop waiting; True when the error was raised and must now be cleared."""
        was = self.raised
        self.deadline, self.raised = None, False
        return was

    def due(self, now: float) -> bool:
        """True once, when the deadline has passed: raise the error now."""
        if self.deadline is not None and now >= self.deadline:
            self.deadline, self.raised = None, True
            return True
        return False
