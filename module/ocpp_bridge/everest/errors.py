"""EVerest framework errors raised by the modules we require: their topics, payloads, and who has what active. PURE.

Owns reading the errors that required modules raise and clear, in both framework
generations (everest.md §1.2, §1.3, §1.6), which error types an interface declares, and
``EvseErrors`` (the active errors of each connected evse_manager). Never touches a socket,
a file or a clock, and never raises an error of its own: the interfaces this module
provides are EVerest's, which declare no error a stock stack would receive from us.

Wire forms
----------
``PI = <prefix>modules/<module_id>/impl/<impl_id>``; the error object is §1.6's
``{type, sub_type, message, description, vendor_id, origin{module_id, implementation_id},
severity, timestamp, uuid, state}``.

- ``"2025.12"`` (G3): topic ``PI/error/<ns>/<Name>`` (the type's two parts), payload
  ``{"msg_type": "RaiseError" | "ClearError", "data": <error object>}``.
- ``"2024.11"`` (G2, framework 0.20-0.24): topic ``PI/error`` for both, payload the error
  object itself with no envelope. Raise and clear differ only by ``state``: ``"Active"``
  when raised, ``"ClearedByModule"`` (or ``"ClearedByReboot"``) when cleared, which is how
  the framework's subscribers tell the two apart.

Error types are ``<file>/<Name>`` of an ``errors/<file>.yaml``; an implementation may raise
only the types its interface lists under ``errors:`` and subscribers ignore the others.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable

from ocpp_bridge import json_edge
from ocpp_bridge.everest.protocol import G3, normalise_prefix

ACTIVE = "Active"
CLEARED_BY_MODULE = "ClearedByModule"
CLEARED_BY_REBOOT = "ClearedByReboot"


class BadError(Exception):
    """An error message from another module that cannot be read."""


@dataclass(frozen=True)
class ErrorEvent:
    """An error raised or cleared by another module's implementation."""

    module_id: str
    impl: str
    raised: bool
    error: dict


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


# --------------------------------------------------------------------------- decode
def error_topic(prefix: str, module_id: str, impl: str, generation: str, error_type: str | None = None) -> str:
    root = f"{normalise_prefix(prefix)}modules/{module_id}/impl/{impl}/error"
    return f"{root}/{error_type}" if generation == G3 and error_type else root


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
