"""The fast validator (``fastjsonschema``) gives jsonschema's verdict on every official schema.

``schemas.OcppSchemas`` trusts the fast validator only when it accepts; a payload it refuses
goes through jsonschema, which writes the violation. So what must hold, for every schema of
both versions, both directions: the fast validator accepts exactly what jsonschema (with our
date-time, uri and multipleOf rules) accepts. Checked on hand-made edge cases of the formats
and the number types, and on the fuzz corpus: schema-valid payloads (hypothesis-jsonschema on
the ``ocpp`` package's files) and the same payloads broken by ``json_strategies.mutated``.
A payload the fast validator fails on is refused by it and so judged by jsonschema alone.
"""

from __future__ import annotations

import copy
import functools
import json
from typing import Any

import pytest
from fuzzing import fuzz_settings
from hypothesis import given
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema
from json_strategies import NASTY_NUMBERS, NASTY_STRINGS, mutated
from ocpp_strategies import _for_generation, _snap_to_multiples

from ocpp_bridge.ocpp import schemas as S

assert S._fastjsonschema is not None, "fastjsonschema is a dependency of the package: it must be installed"


def every_key() -> list[tuple[str, str, str]]:
    return [(version, action, direction) for version in S.VERSIONS
            for action in sorted(S.OcppSchemas(version).actions) for direction in ("request", "response")]


KEYS = every_key()


def schema_of(key: tuple[str, str, str]) -> dict:
    version, action, direction = key
    with open(S.schema_dir(version) / S._file_name(version, action, direction), encoding="utf-8") as f:
        schema: dict = json.load(f)
    return schema


def jsonschema_accepts(key: tuple[str, str, str], payload: Any) -> bool:
    return next(S._validator(*key).iter_errors(payload), None) is None


def same_verdict(key: tuple[str, str, str], payload: Any) -> None:
    if S._fast(key) is S._NO_FAST:
        return  # jsonschema alone (multipleOf)
    before = copy.deepcopy(payload)
    slow, fast = jsonschema_accepts(key, payload), S._fast_accepts(key, payload)
    assert payload == before, f"{key}: the fast validator changed the payload (defaults?)"
    if fast:
        assert slow, f"{key}: the fast validator accepted what jsonschema refuses: {payload!r}"
    else:
        assert not slow, f"{key}: the fast validator refused what jsonschema accepts: {payload!r}"


def test_every_schema_without_multiple_of_has_a_fast_validator():
    missing = []
    for key in KEYS:
        uses_multiple_of = '"multipleOf"' in json.dumps(schema_of(key))
        if (S._fast(key) is S._NO_FAST) != uses_multiple_of:
            missing.append(key)
    assert not missing
    assert sum(S._fast(k) is not S._NO_FAST for k in KEYS) > 190


# ------------------------------------------------------------------ edge cases

DATE_TIMES = ["2024-05-01T12:00:00Z", "2024-05-01t12:00:00z", "2024-05-01T12:00:00.123+02:00",
              "2024-05-01T12:00:00", "2024-05-01 12:00:00Z", "2024-13-01T12:00:00Z", "2024-02-30T12:00:00Z",
              "2024-05-01T24:00:00Z", "2024-05-01T12:00:60Z", "2024-05-01T12:00:00+24:00", "2024-05-01",
              "", "x", "2024-05-01T12:00:00.Z", "0000-01-01T00:00:00Z", "2024-05-01T12:00:00-00:00",
              "２024-05-01T12:00:00Z", "2024-05-01T12:00:00Z\n"]
URIS = ["https://csms.example/fw.bin", "ftp://x", "urn:x", "x", "", "http://a b", "1http://x", "a:",
        "http://x\n", "mailto:a@b", "http://[::1", "a:%zz", "http://é.example/", "a:<>", "a:{x}"]


def _fields_with_format(schema: Any, fmt: str, path: tuple = ()) -> list[tuple]:
    found = []
    if isinstance(schema, dict):
        if schema.get("format") == fmt:
            found.append(path)
        for key, value in schema.items():
            found += _fields_with_format(value, fmt, path + (key,))
    elif isinstance(schema, list):
        for i, value in enumerate(schema):
            found += _fields_with_format(value, fmt, path + (i,))
    return found


@pytest.mark.parametrize("key", [k for k in KEYS if _fields_with_format(schema_of(k), "date-time")
                                 or _fields_with_format(schema_of(k), "uri")], ids=str)
def test_formats_alone(key):
    """Each date-time / uri field's sub-schema (inlined), given every edge value and a non-string."""
    inlined = S._inline_refs(schema_of(key))
    for fmt, values in (("date-time", DATE_TIMES), ("uri", URIS)):
        for path in _fields_with_format(inlined, fmt):
            node: Any = inlined
            for part in path:
                node = node[part]
            sub = {k: v for k, v in node.items() if k not in ("$id", "id")}
            slow = S._validator_class(inlined)(sub, format_checker=S._FORMAT_CHECKER)
            fast = S._fastjsonschema.compile({**sub, "$schema": inlined.get("$schema", "")},
                                             formats=S._FAST_FORMATS, use_default=False)
            for value in [*values, 12, None]:
                try:
                    fast(value)
                    accepted = True
                except S._fastjsonschema.JsonSchemaException:
                    accepted = False
                assert accepted == (next(slow.iter_errors(value), None) is None), (key, path, value)


NUMBERS = [*NASTY_NUMBERS, 1.0, 0.5, -0.0, True, False, 2 ** 64, -(2 ** 64), 10 ** 30, 1e308, 5e-324]


@pytest.mark.parametrize("version", S.VERSIONS)
def test_numbers_and_strings_in_every_top_level_field(version):
    """Every top-level property of every schema set to each nasty number and string."""
    for key in [k for k in KEYS if k[0] == version]:
        properties = S._inline_refs(schema_of(key)).get("properties", {})
        for name in properties:
            for value in [*NUMBERS, *NASTY_STRINGS, [], {}, [1], {"a": 1}]:
                same_verdict(key, {name: value})


# ------------------------------------------------------------------ the fuzz corpus

@functools.cache
def payloads(key: tuple[str, str, str]) -> st.SearchStrategy[Any]:
    schema = _for_generation(schema_of(key))
    for name in ("$id", "id"):
        schema.pop(name, None)
    return from_schema(schema).map(lambda payload: _snap_to_multiples(payload, schema, schema))


corpus = st.sampled_from(KEYS).flatmap(
    lambda key: st.tuples(st.just(key), st.one_of(payloads(key), payloads(key).flatmap(mutated))))


@fuzz_settings(800)
@given(corpus)
def test_same_verdict_on_the_fuzz_corpus(case):
    key, payload = case
    same_verdict(key, payload)


def test_the_third_check_of_a_schema_compiles_its_fast_check_and_rejections_read_the_same():
    key = ("1.6", "GetConfiguration", "request")
    S._FAST_CACHE.pop(key, None)
    S._USES.pop(key, None)
    schemas = S.OcppSchemas("1.6")
    bad = {"key": "HeartbeatInterval"}
    with pytest.raises(S.SchemaViolation) as before:
        schemas.check_request("GetConfiguration", bad)
    for _ in range(S.FAST_AFTER_USES):
        schemas.check_request("GetConfiguration", {"key": ["HeartbeatInterval"]})
    assert S._FAST_CACHE.get(key) not in (None, S._NO_FAST)
    with pytest.raises(S.SchemaViolation) as after:
        schemas.check_request("GetConfiguration", bad)
    assert (after.value.kind, after.value.path, after.value.message) == \
        (before.value.kind, before.value.path, before.value.message) == ("type", "/key", before.value.message)
