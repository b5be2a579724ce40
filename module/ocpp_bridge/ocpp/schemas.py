"""Validation of OCPP payloads against the official OCA JSON schemas.

Owns: finding the schema files the ``ocpp`` PyPI package ships (1.6:
``v16/schemas/<Action>.json`` and ``<Action>Response.json``; 2.0.1:
``v201/schemas/<Action>Request.json`` and ``<Action>Response.json``), building one
validator per (version, action, direction) on first use and caching it, and
turning the first schema error into a CALLERROR kind (see ``rpc.error_code``).

Must never: import the ``ocpp`` package's Python code (only its JSON files are
read), change a payload, do network I/O, or decide what to answer.

Error kinds, from the definitions of the codes in OCPP-J 1.6 §4.2.3 and
OCPP 2.0.1 part 4 §4.3 ("type": a field violates data type constraints, e.g.
``"somestring": 12``; "occurrence": a field violates occurrence constraints;
"property": a field contains an invalid value; "format": the payload is
syntactically incorrect / not conform the PDU structure):

=====================================  ============
jsonschema keyword                     kind
=====================================  ============
type                                   type
required, minItems, maxItems           occurrence   (cardinality of a field)
additionalProperties, additionalItems  format       (not the PDU's structure)
enum, maxLength, minimum, maximum,     property     (a value outside its domain)
multipleOf, pattern, format
anything else                          format
=====================================  ============

Stricter than the ``ocpp`` package: ``format: date-time`` is checked against
RFC 3339 section 5.6 (an offset or ``Z`` is required, lower-case ``t``/``z``
allowed, fields range-checked), and ``format: uri`` must at least carry a scheme
and no white space. Numbers: ``multipleOf`` is evaluated with decimals built
from the float's shortest repr, so ``21.4`` is a multiple of ``0.1``; the payload
itself keeps its floats.

Speed: local ``$ref``s are inlined before a validator is built (same meaning,
about half the time for 2.0.1). When ``fastjsonschema`` (PyPI; it compiles a schema to Python
code, 1-5 us a check instead of jsonschema's 20-90 us, and costs no memory until a schema is
used) is installed, it gives the verdict first, on the same inlined schema, with our own
``date-time`` and ``uri`` checks as its formats and no defaults filled in: a payload it
accepts is valid; anything it refuses (or fails on) goes through jsonschema, which stays the
judge of every rejection and writes the violation, so kinds, paths and messages are
jsonschema's. Schemas with ``multipleOf`` (our decimal rule) always use jsonschema.
tests/fuzz/test_fast_schemas.py proves the verdicts identical over every schema and the fuzz
corpus; without ``fastjsonschema`` everything runs on jsonschema alone. ``bench/bench_schemas.py`` prints the figures.
"""

from __future__ import annotations

import importlib.util
import json
import re
import threading
from collections.abc import Iterator
from decimal import Context, Decimal, InvalidOperation, localcontext
from pathlib import Path
from typing import Any

from jsonschema import Draft4Validator, FormatChecker
from jsonschema.exceptions import ValidationError, best_match
from jsonschema.validators import extend, validator_for

from ocpp_bridge.rfc3339 import is_date_time

VERSIONS = ("1.6", "2.0.1")

_PACKAGE_DIRS = {"1.6": "v16", "2.0.1": "v201"}

_KIND_OF_KEYWORD = {
    "type": "type",
    "required": "occurrence",
    "minItems": "occurrence",
    "maxItems": "occurrence",
    "additionalProperties": "format",
    "additionalItems": "format",
    "enum": "property",
    "const": "property",
    "maxLength": "property",
    "minLength": "property",
    "minimum": "property",
    "maximum": "property",
    "exclusiveMinimum": "property",
    "exclusiveMaximum": "property",
    "multipleOf": "property",
    "pattern": "property",
    "format": "property",
}

_MAX_MESSAGE = 300


class SchemaViolation(Exception):
    """A payload that breaks its schema. ``kind`` is one of "format", "type",
    "property", "occurrence"; ``path`` the JSON pointer of the offending field."""

    def __init__(self, kind: str, message: str, path: str = "") -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.path = path


class UnknownAction(LookupError):
    """The version defines no such action (check ``OcppSchemas.knows`` first)."""


# ---------------------------------------------------------------- formats

def is_rfc3339_date_time(value: str) -> bool:
    """True when ``value`` is an RFC 3339 ``date-time`` (``rfc3339.is_date_time``)."""
    return is_date_time(value)


_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:[^\s]*\Z")

_FORMAT_CHECKER = FormatChecker(formats=())


@_FORMAT_CHECKER.checks("date-time")
def _check_date_time(instance: object) -> bool:
    return not isinstance(instance, str) or is_rfc3339_date_time(instance)


@_FORMAT_CHECKER.checks("uri")
def _check_uri(instance: object) -> bool:
    return not isinstance(instance, str) or _URI.match(instance) is not None


# ---------------------------------------------------------------- decimals

def _as_decimal(number: int | float) -> Decimal:
    return Decimal(number) if isinstance(number, int) else Decimal(repr(number))


# Enough digits for the quotient of any float by any float divisor to be exact.
_EXACT = Context(prec=1000)


def _decimal_multiple_of(validator: Any, divisor: Any, instance: Any, schema: dict[str, Any]) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "number"):
        return
    try:
        with localcontext(_EXACT):  # the default 28 digits refused e.g. 1e27 as a multiple of 0.1
            remainder = _as_decimal(instance) % _as_decimal(divisor)
    except (InvalidOperation, ValueError):  # inf, nan
        remainder = Decimal(1)
    if remainder != 0:
        yield ValidationError(f"{instance!r} is not a multiple of {divisor!r}")


_EXTENDED: dict[type, type] = {}


def _validator_class(schema: dict[str, Any]) -> type:
    base = validator_for(schema, default=Draft4Validator)
    cls = _EXTENDED.get(base)
    if cls is None:
        cls = extend(base, {"multipleOf": _decimal_multiple_of})
        _EXTENDED[base] = cls
    return cls


# ---------------------------------------------------------------- refs

class _Recursive(Exception):
    pass


def _inline_refs(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema with every local ``#/definitions/X`` reference replaced by its
    target. Same meaning (in drafts 4 and 6 a ``$ref`` replaces its whole node),
    about half the validation time of the 2.0.1 schemas, which reference a lot.
    A recursive definition is left as it was (the OCA schemas have none)."""
    definitions = schema.get("definitions", {})

    def walk(node: Any, trail: tuple[str, ...]) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/definitions/"):
                name = ref[len("#/definitions/"):]
                if name in trail:
                    raise _Recursive(name)
                return walk(definitions[name], trail + (name,))
            return {key: value if key == "enum" else walk(value, trail)
                    for key, value in node.items() if key != "definitions"}
        if isinstance(node, list):
            return [walk(item, trail) for item in node]
        return node

    try:
        inlined: dict[str, Any] = walk(schema, ())
        return inlined
    except (_Recursive, KeyError):
        return schema


# ---------------------------------------------------------------- files

def schema_dir(version: str) -> Path:
    """Folder of the ``ocpp`` package's schema files for ``version``.

    Located with ``find_spec``, which does not execute the package's code.
    """
    if version not in _PACKAGE_DIRS:
        raise ValueError(f"unknown OCPP version {version!r}; expected one of {VERSIONS}")
    spec = importlib.util.find_spec("ocpp")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the 'ocpp' package (which ships the OCA JSON schemas) is not installed")
    return Path(list(spec.submodule_search_locations)[0]) / _PACKAGE_DIRS[version] / "schemas"


def _file_name(version: str, action: str, direction: str) -> str:
    if direction == "response":
        return f"{action}Response.json"
    return f"{action}.json" if version == "1.6" else f"{action}Request.json"


def _list_actions(version: str) -> frozenset[str]:
    names = [p.name for p in schema_dir(version).iterdir() if p.name.endswith(".json")]
    if version == "1.6":
        return frozenset(n[:-5] for n in names if not n.endswith("Response.json"))
    return frozenset(n[: -len("Request.json")] for n in names if n.endswith("Request.json"))


_CACHE: dict[tuple[str, str, str], Any] = {}
_FAST_CACHE: dict[tuple[str, str, str], Any] = {}  # _NO_FAST: none for this schema
_USES: dict[tuple[str, str, str], int] = {}        # checks of a schema that has no fast one yet
_NO_FAST = False
# A schema's fast check is compiled at its third check: the generated code costs ~100 KiB a
# schema, so what is checked once or twice (BootNotification, the boot's StatusNotifications)
# stays on jsonschema and out of the idle memory; what repeats gets the fast path.
FAST_AFTER_USES = 3
_ACTIONS: dict[str, frozenset[str]] = {}
_BUILD_LOCK = threading.Lock()


def _validator(version: str, action: str, direction: str) -> Any:
    key = (version, action, direction)
    validator = _CACHE.get(key)
    if validator is None:
        with _BUILD_LOCK:
            validator = _CACHE.get(key)
            if validator is None:
                path = schema_dir(version) / _file_name(version, action, direction)
                with open(path, encoding="utf-8") as f:
                    schema = json.load(f)
                schema = _inline_refs(schema)
                cls: Any = _validator_class(schema)
                cls.check_schema(schema)
                validator = cls(schema, format_checker=_FORMAT_CHECKER)
                _CACHE[key] = validator
    return validator


def _fast(key: tuple[str, str, str]) -> Any:
    """The fast check of ``key``'s schema, compiled now if need be, or ``_NO_FAST``."""
    fast = _FAST_CACHE.get(key)
    if fast is None:
        with _BUILD_LOCK:
            fast = _FAST_CACHE.get(key)
            if fast is None:
                version, action, direction = key
                with open(schema_dir(version) / _file_name(version, action, direction), encoding="utf-8") as f:
                    fast = _fast_validator(json.load(f))
                _FAST_CACHE[key] = fast
    return fast


def _fast_validator(schema: dict[str, Any]) -> Any:
    """A ``fastjsonschema`` check of the schema file's content (its ``$ref``s kept: each
    definition becomes one function, less code than the inlined schema), or ``_NO_FAST``: not
    installed, a schema with ``multipleOf`` (decimal rule, jsonschema only), or one it cannot build."""
    if _fastjsonschema is None or '"multipleOf"' in json.dumps(schema):
        return _NO_FAST
    try:
        compiled = _fastjsonschema.compile(schema, formats=_FAST_FORMATS, use_default=False)
    except Exception:
        return _NO_FAST
    _give_back_memory()
    return compiled


def _give_back_memory() -> None:
    """Hand the C heap that a compile freed back to the system (glibc's ``malloc_trim``).

    Generating and compiling a 2.0.1 schema's code peaks at a few MiB that glibc otherwise
    keeps: about 3 of the 4-5 MiB the first 2.0.1 compiles added to idle RSS. No-op where
    there is no glibc; ~0.05 ms, at most once a schema."""
    global _trim
    if _trim is None:
        _trim = _load_trim()
    if _trim is not False:
        try:
            _trim(0)
        except Exception:
            _trim = False


def _load_trim() -> Any:
    try:
        import ctypes

        return ctypes.CDLL(None).malloc_trim
    except (ImportError, OSError, AttributeError):
        return False


_trim: Any = None  # None: not looked up yet; False: not available


def _fast_accepts(key: tuple[str, str, str], payload: Any) -> bool:
    """True when the fast check exists and accepts ``payload`` (never raises)."""
    return _run_fast(_fast(key), payload)


def _run_fast(fast: Any, payload: Any) -> bool:
    if fast is _NO_FAST:
        return False
    try:
        fast(payload)
    except Exception:  # JsonSchemaValueException, or anything it fails on: jsonschema decides
        return False
    return True


def _fast_uri(value: str) -> bool:
    return _URI.match(value) is not None


_FAST_FORMATS = {"date-time": is_rfc3339_date_time, "uri": _fast_uri}


def _load_fast() -> Any:
    try:
        import fastjsonschema
    except ImportError:
        return None
    return fastjsonschema


_fastjsonschema = _load_fast()


def _pointer(error: ValidationError) -> str:
    return "/" + "/".join(str(p) for p in error.absolute_path) if error.absolute_path else ""


def _violation(error: ValidationError) -> SchemaViolation:
    kind = _KIND_OF_KEYWORD.get(str(error.validator), "format")
    path = _pointer(error)
    message = error.message
    if len(message) > _MAX_MESSAGE:
        message = message[: _MAX_MESSAGE - 3] + "..."
    return SchemaViolation(kind, f"{path or '(payload)'}: {message}", path)


class OcppSchemas:
    """The official schemas of one OCPP version. Validators are shared by all
    instances of a version and built lazily, once, on first use."""

    def __init__(self, version: str) -> None:
        if version not in _PACKAGE_DIRS:
            raise ValueError(f"unknown OCPP version {version!r}; expected one of {VERSIONS}")
        self.version = version
        actions = _ACTIONS.get(version)
        if actions is None:
            actions = _ACTIONS[version] = _list_actions(version)
        self._actions = actions

    @property
    def actions(self) -> frozenset[str]:
        return self._actions

    def knows(self, action: str) -> bool:
        """True when this version defines ``action``."""
        return action in self._actions

    def check_request(self, action: str, payload: dict[str, Any]) -> None:
        """Raise ``SchemaViolation`` unless ``payload`` is a valid ``action`` request."""
        self._check(action, "request", payload)

    def check_response(self, action: str, payload: dict[str, Any]) -> None:
        """Raise ``SchemaViolation`` unless ``payload`` is a valid ``action`` response."""
        self._check(action, "response", payload)

    def _check(self, action: str, direction: str, payload: Any) -> None:
        if action not in self._actions:
            raise UnknownAction(f"OCPP {self.version} defines no action {action!r}")
        key = (self.version, action, direction)
        fast = _FAST_CACHE.get(key)
        if fast is None:
            uses = _USES[key] = _USES.get(key, 0) + 1
            if uses >= FAST_AFTER_USES:
                fast = _fast(key)
        if fast is not None and _run_fast(fast, payload):
            return
        validator = _CACHE.get(key) or _validator(*key)
        errors = validator.iter_errors(payload)
        first = next(errors, None)
        if first is None:
            return
        chosen = best_match([first, *errors])
        raise _violation(chosen if chosen is not None else first)


def warm_up(version: str) -> int:
    """Build every validator of ``version`` now (e.g. at start-up); returns how many."""
    schemas = OcppSchemas(version)
    for action in schemas.actions:
        for direction in ("request", "response"):
            _validator(version, action, direction)
    return 2 * len(schemas.actions)


__all__ = ["OcppSchemas", "SchemaViolation", "UnknownAction", "is_rfc3339_date_time",
           "schema_dir", "warm_up"]
