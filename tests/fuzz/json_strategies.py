"""Hypothesis strategies for JSON values and for breaking a valid payload, used on both sides.

``json_values`` is any JSON value, with the nasty scalars fuzzing found (a lone UTF-16
surrogate, integers at and beyond signed 64 bits, long strings, floats at the edges) mixed
in. ``mutated`` takes a valid payload and breaks it in one way a peer might: a required
field gone, a value of the wrong type, an unknown field, a nasty scalar in place of a value,
a string far too long, nesting far too deep. ``deep_json`` is text nested ``levels`` deep.
"""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import strategies as st

NASTY_STRINGS = ["\ud800", "a\udc00b", "", " ", "x" * 2000, "\x00", "é€😀", "null", "0", "-1", "true",
                 "1970-01-01T00:00:00Z", "2026-13-45T25:61:61Z", "{}", "[]", "\\", '"']
NASTY_NUMBERS = [0, -1, 1, 2 ** 31 - 1, 2 ** 31, -(2 ** 31) - 1, 2 ** 63 - 1, 2 ** 63, -(2 ** 63) - 1,
                 2 ** 64, 10 ** 30, 0.5, -0.0, 1e300, 1e-300, 123456789.123456789]

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30), st.sampled_from(NASTY_STRINGS), st.sampled_from(NASTY_NUMBERS),
)

json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.text(max_size=12) | st.sampled_from(NASTY_STRINGS), inner,
                                            max_size=4)),
    max_leaves=12,
)

json_objects = st.dictionaries(st.text(max_size=20), json_values, max_size=6)


def deep_json(levels: int, leaf: str = "1") -> str:
    return "[" * levels + leaf + "]" * levels


def _paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path to a value inside ``value`` (the root excluded)."""
    out = []
    if isinstance(value, dict):
        for key, item in value.items():
            out.append(prefix + (key,))
            out.extend(_paths(item, prefix + (key,)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            out.append(prefix + (index,))
            out.extend(_paths(item, prefix + (index,)))
    return out


def _parent(root: Any, path: tuple) -> Any:
    node = root
    for step in path[:-1]:
        node = node[step]
    return node


def _wrong_type(value: Any) -> st.SearchStrategy:
    if isinstance(value, bool):
        return st.sampled_from([1, "true", None, []])
    if isinstance(value, (int, float)):
        return st.sampled_from([str(value), None, True, [value], {"v": value}])
    if isinstance(value, str):
        return st.sampled_from([12, None, False, [value], {"s": value}])
    if isinstance(value, list):
        return st.sampled_from([{}, "list", 0, None])
    if isinstance(value, dict):
        return st.sampled_from([[], "object", 0, None])
    return st.sampled_from([{}, [], "x", 1])


@st.composite
def mutated(draw, payload: Any) -> Any:
    """``payload`` (any JSON value) broken in one drawn way; it may happen to stay valid."""
    out = copy.deepcopy(payload)
    paths = _paths(out)
    how = draw(st.sampled_from(["drop", "wrong_type", "unknown_field", "nasty", "long", "deep", "replace_all"]))
    containers = [p for p in paths if isinstance(_parent(out, p + (None,)), dict)]
    containers += [()] if isinstance(out, dict) else []
    if how == "replace_all" or (not paths and how != "unknown_field") or (how == "unknown_field" and not containers):
        return draw(st.one_of(json_objects, json_values))
    if how == "unknown_field":
        where = draw(st.sampled_from(containers))
        target = _parent(out, where + (None,)) if where else out
        target[draw(st.text(min_size=1, max_size=10) | st.sampled_from(NASTY_STRINGS))] = draw(json_values)
        return out
    path = draw(st.sampled_from(paths))
    parent, key = _parent(out, path), path[-1]
    if how == "drop":
        del parent[key]
    elif how == "wrong_type":
        parent[key] = draw(_wrong_type(parent[key]))
    elif how == "nasty":
        parent[key] = draw(st.sampled_from(NASTY_STRINGS + NASTY_NUMBERS))
    elif how == "long":
        parent[key] = "y" * draw(st.sampled_from([51, 256, 1001, 5001]))
    else:
        deep: Any = draw(scalars)
        for _ in range(draw(st.sampled_from([70, 200]))):
            deep = [deep]
        parent[key] = deep
    return out
