"""What an EVerest module may send on our command topics, as hypothesis strategies.

Owns: the list of (implementation, command, arguments schema) of every provided
implementation, read from the module's own definition files (``manifest.yaml``,
``interfaces/``, ``types/``), with the types' ``$ref``s inlined so that
hypothesis-jsonschema can generate schema-valid arguments from them; schema-invalid
arguments (``json_strategies.mutated``); broken command messages (not JSON, wrong
envelopes, missing ids, nasty ids and origins, too deep); and the variables of the
evse_manager interface we require, with their schemas, for values published to us.
"""

from __future__ import annotations

import copy
import functools
import json
from pathlib import Path
from typing import Any

import ocpp_strategies  # noqa: F401 - makes hypothesis-jsonschema reuse sub-strategies
import yaml
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema
from json_strategies import NASTY_STRINGS, deep_json, json_objects, json_values, mutated

ROOT = Path(__file__).resolve().parents[2]
EVEREST_ERRORS = {"MessageParsingError", "SchemaValidationError", "HandlerException", "CmdTimeout", "Shutdown",
                  "NotReady"}


def _yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@functools.cache
def _types() -> dict[str, dict]:
    return {p.stem: (_yaml(p) or {}).get("types") or {} for p in sorted((ROOT / "types").glob("*.yaml"))}


def _inline(node: Any, trail: tuple = ()) -> Any:
    """``node`` with every ``$ref: /<file>#/<Type>`` replaced by that type (recursively)."""
    if isinstance(node, list):
        return [_inline(item, trail) for item in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("/") and "#/" in ref:
        file, pointer = ref[1:].split("#/", 1)
        if ref in trail:
            return {}  # a recursive type: anything
        target: Any = _types()[file]
        for step in pointer.split("/"):
            target = target[step]
        return _inline(target, trail + (ref,))
    return {key: _inline(value, trail) for key, value in node.items() if key != "description"}


@functools.cache
def commands() -> list[tuple[str, str, dict]]:
    """(impl id, command, JSON schema of its whole ``args`` object) of every provided impl."""
    manifest = _yaml(ROOT / "manifest.yaml")
    out = []
    for impl, spec in sorted((manifest.get("provides") or {}).items()):
        interface = _yaml(ROOT / "interfaces" / f"{spec['interface']}.yaml") or {}
        for cmd, cdef in sorted((interface.get("cmds") or {}).items()):
            arguments = {name: _inline(schema) for name, schema in ((cdef or {}).get("arguments") or {}).items()}
            out.append((impl, cmd, {"type": "object", "properties": arguments, "required": sorted(arguments),
                                    "additionalProperties": False}))
    return out


@functools.cache
def required_vars(requirement: str = "evse_manager") -> list[tuple[str, dict]]:
    """(variable, JSON schema) of every variable of a required interface we subscribe to."""
    manifest = _yaml(ROOT / "manifest.yaml")
    interface = _yaml(ROOT / "interfaces" / f"{manifest['requires'][requirement]['interface']}.yaml") or {}
    return [(name, _inline(schema)) for name, schema in sorted((interface.get("vars") or {}).items())]


def _for_generation(node: Any) -> Any:
    node = copy.deepcopy(node)
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if item.get("type") == "array":
                item["maxItems"] = max(item.get("minItems", 0), min(item.get("maxItems", 3), 3))
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return node


@functools.cache
def valid_args(schema_text: str) -> st.SearchStrategy[dict]:
    return from_schema(_for_generation(json.loads(schema_text)))


def args_of(schema: dict, valid: bool) -> st.SearchStrategy:
    """Values of ``schema`` (command arguments or a variable): valid ones, or broken ones."""
    base = valid_args(json.dumps(schema, sort_keys=True))
    return base if valid else st.one_of(base.flatmap(mutated), json_values)


_call_ids = st.one_of(st.uuids().map(str), st.integers(), st.sampled_from(NASTY_STRINGS), json_values)
_origins = st.one_of(st.just("fuzzer"), st.sampled_from(["", "a+b", "a#", "a/b", "\ud800", "\x00"]), json_values)


def broken_messages(generation: str, cmd: str, args: st.SearchStrategy) -> st.SearchStrategy[bytes]:
    """Messages on a command topic that are not a proper call."""
    g3 = generation == "2025.12"

    def envelope(data):
        return {"msg_type": "Cmd", "data": data} if g3 else {"name": cmd, "type": "call", "data": data}

    return st.one_of(
        st.binary(max_size=40),
        json_values.map(lambda v: json.dumps(v).encode()),
        st.fixed_dictionaries({}, optional={"id": _call_ids, "args": args, "origin": _origins}).map(
            lambda data: json.dumps(envelope(data)).encode()),
        json_objects.map(lambda obj: json.dumps(envelope(obj)).encode()),
        st.sampled_from([
            b'{"msg_type":"Cmd","data":' + deep_json(3000).encode() + b"}",
            json.dumps(envelope({"id": "d", "origin": "fuzzer", "args": None})).replace(
                "null", deep_json(990), 1).encode(),
            b'{"msg_type":"Cmd","data":{"id":"n","origin":"fuzzer","args":{"x":NaN}}}',
            b'{"msg_type":"Cmd","data":{"id":"\\ud800","origin":"fuzzer","args":{}}}',
            b'{"msg_type":"Cmd","data":{"id":"o","origin":"\\udc00","args":{}}}',
            b"\xff\xfe{}", b"", b"null", b"[]",
        ]),
    )
