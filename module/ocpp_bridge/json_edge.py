"""Which JSON values from outside this module can carry, decided once for both edges. PURE.

Owns the one definition of a JSON value that is safe to hand to a handler, a database, an
encoder and a socket, used where input enters: OCPP frames from the CSMS (``ocpp/rpc.py``)
and MQTT messages from the bus (``everest/protocol.py``, ``everest/errors.py``); and the
last-line check of our own outgoing JSON text (``dumps``), so that nothing we write is
anything but UTF-8 JSON.

A value is *unusable* when it holds
- a string with a lone UTF-16 surrogate: ``"\\ud800"`` is legal JSON text (RFC 8259 §7 lets
  an escape name any code unit; §8.2 warns the result is unpredictable) but names no
  Unicode character, so it has no UTF-8 encoding: our encoders, SQLite and paho all fail
  on it, and a websocket text frame must be UTF-8 (RFC 6455 §5.6). Object keys count too;
- an integer outside signed 64 bits (SQLite's INTEGER, and the widest integer of OCPP's
  and EVerest's peers);
- a number that is not finite (``1e400`` parses to infinity; ``NaN`` and ``Infinity`` are
  not JSON, RFC 8259 §6, and ``parse`` refuses them outright);
- arrays/objects nested deeper than ``MAX_DEPTH``. No OCPP or EVerest type nests more than
  about ten levels; the bound keeps every recursive walk (ours, jsonschema's, the json
  module's encoder) far from Python's recursion limit.

``parse`` reads JSON text (syntax and depth only), ``problem`` finds the first unusable
spot of a parsed value and names it by JSON pointer, ``check`` raises it, ``shallow`` reads
a too-deep message with its deep parts cut off (so that its envelope, e.g. a call id, can
still be answered), ``dumps`` is the compact encoder that refuses unusable text, and
``printable`` escapes surrogates in our own diagnostic text.

Must never: repair a value silently (the edge refuses what is unusable; only our own
diagnostics are escaped), do I/O, or know about OCPP or EVerest.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

MAX_DEPTH = 64
INT64_MIN = -(2 ** 63)
INT64_MAX = 2 ** 63 - 1

_SURROGATE = re.compile("[\ud800-\udfff]")
# A JSON string (escapes included) or one bracket: enough to track nesting in ``shallow``.
_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]', re.DOTALL)

SYNTAX = "syntax"  # not JSON text at all
DEPTH = "depth"    # nested deeper than the limit
VALUE = "value"    # a lone surrogate or a number we cannot carry


class Unusable(ValueError):
    """JSON we cannot carry. ``kind`` is SYNTAX, DEPTH or VALUE; ``path`` the JSON pointer
    of the offending spot ("" for the whole value); ``reason`` a short text without the
    offending value itself (it may not be printable)."""

    def __init__(self, kind: str, reason: str, path: str = "") -> None:
        super().__init__(f"{path or '(whole value)'}: {reason}")
        self.kind = kind
        self.reason = reason
        self.path = path


def has_surrogate(text: str) -> bool:
    """True when ``text`` holds a lone surrogate (so it has no UTF-8 encoding)."""
    return not text.isascii() and _SURROGATE.search(text) is not None


def printable(text: str) -> str:
    """Our own diagnostic ``text`` with every lone surrogate written as ``\\udXXX``."""
    if not has_surrogate(text):
        return text
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def parse(data: bytes | str) -> Any:
    """JSON text (bytes must be UTF-8) -> value. Raises ``Unusable`` (SYNTAX, or DEPTH when
    the json module's own recursion limit is hit); the value itself is not checked."""
    try:
        text = data.decode("utf-8") if isinstance(data, (bytes, bytearray)) else data
        return json.loads(text, parse_constant=_reject_constant)
    except RecursionError:
        raise Unusable(DEPTH, f"nested deeper than {MAX_DEPTH} levels") from None
    except UnicodeDecodeError:
        raise Unusable(SYNTAX, "not UTF-8") from None
    except (ValueError, TypeError) as exc:
        raise Unusable(SYNTAX, f"not JSON ({exc})") from None


def _pointer(keys: list[Any]) -> str:
    return "".join("/" + str(k).replace("~", "~0").replace("/", "~1") for k in keys)


def problem(value: Any, max_depth: int = MAX_DEPTH) -> Unusable | None:
    """The first unusable spot of ``value`` (see the module docstring), or None."""
    # (node, container depth of node's parent, parent entry, key in parent): iterative, so a
    # deep value cannot exhaust the stack of this check itself.
    stack: list[tuple[Any, int, Any, Any]] = [(value, 0, None, None)]
    while stack:
        entry = stack.pop()
        node, depth = entry[0], entry[1]
        kind, reason = None, ""
        if isinstance(node, str):
            if has_surrogate(node):
                kind, reason = VALUE, "string holds a lone UTF-16 surrogate (no UTF-8 encoding)"
        elif isinstance(node, bool) or node is None:
            pass
        elif isinstance(node, int):
            if not INT64_MIN <= node <= INT64_MAX:
                kind, reason = VALUE, "integer outside signed 64 bits"
        elif isinstance(node, float):
            if not math.isfinite(node):
                kind, reason = VALUE, "number is not finite"
        elif isinstance(node, (dict, list)):
            if depth + 1 > max_depth:
                kind, reason = DEPTH, f"nested deeper than {max_depth} levels"
            elif isinstance(node, dict):
                for key, item in node.items():
                    if isinstance(key, str) and has_surrogate(key):
                        kind, reason = VALUE, "object key holds a lone UTF-16 surrogate"
                        break
                    stack.append((item, depth + 1, entry, key))
            else:
                stack.extend((item, depth + 1, entry, index) for index, item in enumerate(node))
        if kind is not None:
            keys = []
            while entry is not None and entry[2] is not None:
                keys.append(entry[3])
                entry = entry[2]
            return Unusable(kind, reason, _pointer(keys[::-1]))
    return None


def check(value: Any, max_depth: int = MAX_DEPTH) -> None:
    """Raise ``Unusable`` when ``value`` is not safe to carry."""
    found = problem(value, max_depth)
    if found is not None:
        raise found


def load(data: bytes | str, max_depth: int = MAX_DEPTH) -> Any:
    """``parse`` then ``check``: a value that is safe to carry, or ``Unusable``."""
    value = parse(data)
    check(value, max_depth)
    return value


def shallow(data: bytes | str, max_depth: int = MAX_DEPTH) -> Any:
    """The value of JSON text that nests too deep, with every array/object below
    ``max_depth`` replaced by null (so its envelope can still be read). Raises ``Unusable``
    (SYNTAX) when the text is not JSON even so."""
    try:
        text = data.decode("utf-8") if isinstance(data, (bytes, bytearray)) else data
    except UnicodeDecodeError:
        raise Unusable(SYNTAX, "not UTF-8") from None
    pieces, last, depth, cut_from = [], 0, 0, -1
    for match in _TOKEN.finditer(text):
        token = match.group()
        if token[0] == '"':
            continue
        if token in "[{":
            depth += 1
            if depth == max_depth + 1:
                cut_from = match.start()
        else:
            if depth == max_depth + 1 and cut_from >= 0:
                pieces += [text[last:cut_from], "null"]
                last, cut_from = match.end(), -1
            depth -= 1
    pieces.append(text[last:])
    value = parse("".join(pieces))
    return value


def dumps(value: Any) -> str:
    """Compact JSON text of our own ``value``; raises ``Unusable`` rather than return text
    that is not UTF-8 JSON (a lone surrogate, a non-finite number, or too deep to encode)."""
    try:
        text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except RecursionError:
        raise Unusable(DEPTH, "nested too deep to encode") from None
    except ValueError as exc:
        raise Unusable(VALUE, str(exc)) from None
    if has_surrogate(text):
        found = problem(value, max_depth=10 ** 6)
        raise found if found is not None else Unusable(VALUE, "text holds a lone UTF-16 surrogate")
    return text
