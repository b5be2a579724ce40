"""OCPP-J RPC framing (CALL / CALLRESULT / CALLERROR) for OCPP 1.6 and 2.0.1.

Owns: turning one websocket text message into a typed frame and back, the
per-version CALLERROR code tables, and the decision whether a frame we cannot
accept deserves a CALLERROR answer.

Must never: do I/O, keep state, look at the clock, know about actions or their
payload schemas (that is ``schemas.py``), or decide what to do with a frame.

Theory of operation
-------------------
``parse_frame(text, version)`` returns a ``Call``, ``CallResult`` or ``CallError``
or raises ``FrameError``. A ``FrameError`` carries the CALLERROR code the version
defines for the problem and ``answer()``: the ``CallError`` to send back, or None
when the specification wants silence. The rules we follow:

* A CALLERROR only ever answers a CALL (a broken CALLRESULT or CALLERROR is
  logged by the caller, never answered), except in 2.0.1 where a message that
  is not a readable RPC frame at all is answered with ``RpcFrameworkError`` and
  an unknown message type id with ``MessageTypeNotSupported``. When no message
  id can be read we answer with the id ``"-1"`` (the convention OCPP 2.1 part 4
  writes down; 2.0.1 names the error but not the id).
* OCPP 1.6 says a message with an unknown message type number is ignored, so
  there is no answer; 1.6 has no ``RpcFrameworkError`` either, and a frame that
  is not a valid RPC frame gets ``FormationViolation`` ("syntactically incorrect
  or not conform the PDU structure"), the nearest 1.6 code, when it is a CALL
  whose id could be read, and silence otherwise. ``ProtocolError`` is not used
  for this: 1.6 defines it as "payload for Action is incomplete".
* 1.6 spellings are the ones its specification prints and its errata keeps:
  ``FormationViolation`` and ``OccurenceConstraintViolation`` (one r). 2.0.1
  uses ``FormatViolation`` and ``OccurrenceConstraintViolation``. On receipt
  every spelling of every version is accepted (``error_kind`` maps them back).
* A received CALLERROR is read leniently (4 or 5 elements, a non-string
  description or non-object details are kept, not refused): it answers one of
  our calls, and refusing it would only turn a fast failure into a timeout.
* Payloads of CALL and CALLRESULT must be JSON objects. Message ids are strings
  of 1..36 characters. ``NaN``/``Infinity`` are not JSON and are refused.

Numbers are parsed as ordinary floats; ``schemas.py`` validates ``multipleOf``
with decimal semantics, so 21.4 is a multiple of 0.1 there.

Values we cannot carry (``json_edge``): this is the one place the OCPP side decides
what a frame gets whose JSON is well-formed but holds a string with a lone UTF-16
surrogate, an integer outside signed 64 bits, a non-finite number, or nesting deeper
than ``json_edge.MAX_DEPTH``. Such a value never reaches a handler, a database, an
encoder or the socket:

* A CALL gets ``TypeConstraintViolation`` (same spelling in 1.6 and 2.0.1). Both
  versions define it as "payload for Action is syntactically correct but at least one
  of the fields violates data type constraints". The text *is* syntactically correct
  JSON, so the format code ("syntactically incorrect") would be wrong; and the fault is
  the field's data type, not a value outside a domain the schema states
  (``PropertyConstraintViolation``): a lone surrogate is no character of the string
  type (OCPP-J frames are UTF-8), and 2^63 is no integer of a type we or 2.0.1's
  32-bit ``integer`` can hold. Too-deep nesting gets the format code instead (the PDU
  has no such structure). A message id that holds a surrogate cannot be echoed: it
  counts as unreadable.
* A CALLRESULT is never answered; its call fails at once with that code (``FrameError``
  carries the message type and id so the station can do so) instead of timing out.
* A CALLERROR is read leniently as always: its code and description are made
  printable and unusable details are dropped.

``encode`` is the last line on the way out: it refuses (``json_edge.Unusable``, a
``ValueError``) to return text that is not UTF-8 JSON, and makes our own CALLERROR
descriptions printable.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable, Union

from ocpp_bridge import json_edge

VERSIONS = ("1.6", "2.0.1")

CALL = 2
CALLRESULT = 3
CALLERROR = 4

MAX_ID_LENGTH = 36
# 2.0.1 limits errorDescription to 255 characters; 1.6 sets no limit, and a
# shorter description never hurts, so one limit serves both.
MAX_DESCRIPTION_LENGTH = 255
UNREADABLE_ID = "-1"


@dataclass(frozen=True)
class Call:
    unique_id: str
    action: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class CallResult:
    unique_id: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class CallError:
    unique_id: str
    code: str
    description: str = ""
    details: dict[str, Any] = field(default_factory=dict)


Frame = Union[Call, CallResult, CallError]


_CODES_16 = {
    "format": "FormationViolation",
    "type": "TypeConstraintViolation",
    "property": "PropertyConstraintViolation",
    "occurrence": "OccurenceConstraintViolation",
    "not_implemented": "NotImplemented",
    "not_supported": "NotSupported",
    "internal": "InternalError",
    "protocol": "ProtocolError",
    "security": "SecurityError",
    "generic": "GenericError",
    # 1.6 has neither of the next two; see the module docstring.
    "rpc_framework": "FormationViolation",
    "message_type_not_supported": "FormationViolation",
}

_CODES_201 = {
    "format": "FormatViolation",
    "type": "TypeConstraintViolation",
    "property": "PropertyConstraintViolation",
    "occurrence": "OccurrenceConstraintViolation",
    "not_implemented": "NotImplemented",
    "not_supported": "NotSupported",
    "internal": "InternalError",
    "protocol": "ProtocolError",
    "security": "SecurityError",
    "generic": "GenericError",
    "rpc_framework": "RpcFrameworkError",
    "message_type_not_supported": "MessageTypeNotSupported",
}

_TABLES = {"1.6": _CODES_16, "2.0.1": _CODES_201}

# Every spelling any version (or a sloppy peer) uses, back to its kind.
_KIND_OF_CODE = {
    "FormationViolation": "format",
    "FormatViolation": "format",
    "OccurenceConstraintViolation": "occurrence",
    "OccurrenceConstraintViolation": "occurrence",
    "TypeConstraintViolation": "type",
    "PropertyConstraintViolation": "property",
    "NotImplemented": "not_implemented",
    "NotSupported": "not_supported",
    "InternalError": "internal",
    "ProtocolError": "protocol",
    "SecurityError": "security",
    "GenericError": "generic",
    "RpcFrameworkError": "rpc_framework",
    "MessageTypeNotSupported": "message_type_not_supported",
}

KINDS = tuple(_CODES_201)


def _check_version(version: str) -> None:
    if version not in _TABLES:
        raise ValueError(f"unknown OCPP version {version!r}; expected one of {VERSIONS}")


def error_code(kind: str, version: str) -> str:
    """The CALLERROR code ``version`` defines for an error of ``kind``."""
    _check_version(version)
    try:
        return _TABLES[version][kind]
    except KeyError:
        raise ValueError(f"unknown error kind {kind!r}; expected one of {KINDS}") from None


def error_kind(code: str) -> str | None:
    """The kind of a received error code, whatever its spelling; None if unknown."""
    return _KIND_OF_CODE.get(code)


class FrameError(Exception):
    """A received message we cannot accept as an OCPP-J frame.

    ``code`` is the version's CALLERROR code, ``unique_id`` the message id if one
    could be read, ``description`` a short human text, and ``reply`` whether the
    specification calls for a CALLERROR answer (see ``answer``).
    """

    def __init__(self, code: str, description: str, unique_id: str | None = None,
                 reply: bool = False, message_type: int | None = None) -> None:
        super().__init__(f"{code}: {description}")
        self.code = code
        self.description = description
        self.unique_id = unique_id
        self.reply = reply
        self.message_type = message_type  # CALL / CALLRESULT / CALLERROR when it could be read

    def answer(self) -> CallError | None:
        """The CALLERROR to send back, or None when the peer gets no answer."""
        if not self.reply:
            return None
        return CallError(self.unique_id or UNREADABLE_ID, self.code, self.description[:MAX_DESCRIPTION_LENGTH])


def _valid_id(value: object) -> bool:
    return isinstance(value, str) and 0 < len(value) <= MAX_ID_LENGTH and not json_edge.has_surrogate(value)


def parse_frame(text: str, version: str) -> Frame:
    """Parse one websocket text message. Raises ``FrameError``."""
    _check_version(version)
    v201 = version == "2.0.1"

    message_type = None

    def fail(kind: str, description: str, unique_id: str | None = None, reply: bool = False) -> FrameError:
        return FrameError(error_code(kind, version), description, unique_id, reply, message_type)

    try:
        message = json_edge.parse(text)
    except json_edge.Unusable as exc:
        what = "nested too deep" if exc.kind == json_edge.DEPTH else "not valid JSON"
        raise fail("rpc_framework", what, reply=v201) from None
    if not isinstance(message, list) or not message:
        raise fail("rpc_framework", "an OCPP-J message is a non-empty JSON array", reply=v201)

    type_id = message[0]
    readable_id = message[1] if len(message) > 1 and _valid_id(message[1]) else None
    if type(type_id) is not int:
        raise fail("rpc_framework", "message type id is not an integer", readable_id, reply=v201)
    if type_id not in (CALL, CALLRESULT, CALLERROR):
        # 2.0.1 answers with MessageTypeNotSupported; 1.6 ignores the message.
        raise fail("message_type_not_supported", f"message type id {type_id} is not supported",
                   readable_id, reply=v201)

    message_type = type_id
    is_call = type_id == CALL
    if readable_id is None:
        raw = message[1] if len(message) > 1 else None
        what = "missing" if raw is None else (
            "not a string" if not isinstance(raw, str) else
            "holding a lone UTF-16 surrogate" if json_edge.has_surrogate(raw) else
            f"{len(raw)} characters (1..{MAX_ID_LENGTH})")
        raise fail("rpc_framework", f"message id is {what}", None, reply=is_call and v201)
    unique_id = readable_id

    if type_id == CALL:
        if len(message) != 4:
            raise fail("rpc_framework", f"a CALL has 4 elements, got {len(message)}", unique_id, reply=True)
        action, payload = message[2], message[3]
        if not isinstance(action, str) or not action:
            raise fail("rpc_framework", "action is not a non-empty string", unique_id, reply=True)
        if not isinstance(payload, dict):
            raise fail("format", "payload is not a JSON object", unique_id, reply=True)
        _refuse_unusable(message, unique_id, fail, reply=True)
        return Call(unique_id, action, payload)

    if type_id == CALLRESULT:
        if len(message) != 3:
            raise fail("rpc_framework", f"a CALLRESULT has 3 elements, got {len(message)}", unique_id)
        payload = message[2]
        if not isinstance(payload, dict):
            raise fail("format", "payload is not a JSON object", unique_id)
        _refuse_unusable(message, unique_id, fail, reply=False)
        return CallResult(unique_id, payload)

    # CALLERROR: lenient, see the module docstring.
    if len(message) not in (4, 5):
        raise fail("rpc_framework", f"a CALLERROR has 5 elements, got {len(message)}", unique_id)
    code = message[2]
    if not isinstance(code, str) or not code:
        raise fail("rpc_framework", "error code is not a non-empty string", unique_id)
    description = message[3]
    if not isinstance(description, str):
        description = "" if description is None else json.dumps(description)  # ASCII: printable
    details = message[4] if len(message) == 5 else {}
    if not isinstance(details, dict):
        details = {} if details is None else {"details": details}
    if json_edge.problem(details) is not None:
        details = {}
    return CallError(unique_id, json_edge.printable(code), json_edge.printable(description), details)


def _refuse_unusable(message: list[Any], unique_id: str, fail: Callable[..., FrameError], reply: bool) -> None:
    """Raise the FrameError of the first value of ``message`` we cannot carry (module docstring)."""
    found = json_edge.problem(message)
    if found is None:
        return
    payload_at = f"/{len(message) - 1}"  # the payload is the last element of a CALL / CALLRESULT
    if found.path == payload_at or found.path.startswith(payload_at + "/"):
        where = "payload" + found.path[len(payload_at):]
    else:
        where = "action" if found.path == "/2" else (found.path or "message")
    kind = "format" if found.kind == json_edge.DEPTH else "type"
    raise fail(kind, f"{where}: {found.reason}", unique_id, reply=reply)


def encode(frame: Frame) -> str:
    """Compact JSON text of ``frame``. Raises ``ValueError`` for a frame we must not send."""
    if not isinstance(frame, (Call, CallResult, CallError)):
        raise TypeError(f"not an OCPP-J frame: {type(frame).__name__}")
    if not _valid_id(getattr(frame, "unique_id", None)):
        raise ValueError(f"message id must be a string of 1..{MAX_ID_LENGTH} characters")
    if isinstance(frame, Call):
        if not isinstance(frame.action, str) or not frame.action:
            raise ValueError("action must be a non-empty string")
        if not isinstance(frame.payload, dict):
            raise ValueError("payload must be a dict")
        message: list[Any] = [CALL, frame.unique_id, frame.action, frame.payload]
    elif isinstance(frame, CallResult):
        if not isinstance(frame.payload, dict):
            raise ValueError("payload must be a dict")
        message = [CALLRESULT, frame.unique_id, frame.payload]
    else:
        if not isinstance(frame.code, str) or not frame.code:
            raise ValueError("error code must be a non-empty string")
        if not isinstance(frame.details, dict):
            raise ValueError("details must be a dict")
        message = [CALLERROR, frame.unique_id, json_edge.printable(frame.code),
                   json_edge.printable(frame.description or "")[:MAX_DESCRIPTION_LENGTH], frame.details]
    return json_edge.dumps(message)
