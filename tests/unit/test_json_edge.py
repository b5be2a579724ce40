"""json_edge: which JSON values from outside we can carry, and our own encoder's last line."""

import json

import pytest

from ocpp_bridge import json_edge as J

SURROGATE = "\ud800"


def nested(levels: int, leaf="x") -> object:
    value: object = leaf
    for _ in range(levels):
        value = [value]
    return value


@pytest.mark.parametrize("value", [
    {}, [], "text", "é€😀", 0, J.INT64_MAX, J.INT64_MIN, 1.5, -0.0, True, None,
    {"a": [{"b": "c"}]}, nested(J.MAX_DEPTH),
])
def test_usable_values(value):
    assert J.problem(value) is None
    J.check(value)


@pytest.mark.parametrize("value, kind, path", [
    (SURROGATE, J.VALUE, ""),
    ({"key": ["ok", "a\udc00b"]}, J.VALUE, "/key/1"),
    ({"a": {SURROGATE: 1}}, J.VALUE, "/a"),
    ({"n": J.INT64_MAX + 1}, J.VALUE, "/n"),
    ([J.INT64_MIN - 1], J.VALUE, "/0"),
    ({"x": float("inf")}, J.VALUE, "/x"),
    ({"x": float("nan")}, J.VALUE, "/x"),
    ({"a/b~c": [SURROGATE]}, J.VALUE, "/a~1b~0c/0"),
    (nested(J.MAX_DEPTH + 1), J.DEPTH, "/0" * J.MAX_DEPTH),
])
def test_unusable_values_are_named_by_json_pointer(value, kind, path):
    found = J.problem(value)
    assert (found.kind, found.path) == (kind, path)
    with pytest.raises(J.Unusable):
        J.check(value)


def test_parse_reads_text_and_refuses_what_is_not_json():
    assert J.parse(b'{"a":[1,2.5,"\\ud83d\\ude00"]}') == {"a": [1, 2.5, "😀"]}
    assert J.parse('"\\ud800"') == SURROGATE  # legal JSON text: check() refuses it, not parse()
    for text in (b"NaN", b"[Infinity]", b"{", b"\xff\xfe", b""):
        with pytest.raises(J.Unusable) as exc:
            J.parse(text)
        assert exc.value.kind == J.SYNTAX
    with pytest.raises(J.Unusable) as exc:
        J.parse("[" * 100_000 + "]" * 100_000)
    assert exc.value.kind == J.DEPTH


def test_load_parses_and_checks():
    assert J.load(b'{"a":1}') == {"a": 1}
    with pytest.raises(J.Unusable) as exc:
        J.load(b'{"a":["\\ud800"]}')
    assert (exc.value.kind, exc.value.path) == (J.VALUE, "/a/0")
    with pytest.raises(J.Unusable) as exc:
        J.load(b"[1e400]")
    assert exc.value.kind == J.VALUE


def test_shallow_cuts_what_is_too_deep_and_keeps_the_envelope():
    deep = "[" * 1000 + "]" * 1000
    text = '{"data":{"id":"c-1","args":{"keys":' + deep + '},"note":"[{\\"]"}}'
    value = J.shallow(text, max_depth=4)
    assert value == {"data": {"id": "c-1", "args": {"keys": [None]}, "note": '[{"]'}}
    assert J.shallow(b'{"a":[[1]]}', max_depth=2) == {"a": [None]}
    assert J.shallow(b'{"a":[[1]]}', max_depth=3) == {"a": [[1]]}
    with pytest.raises(J.Unusable):
        J.shallow(b"{nope", max_depth=2)


def test_dumps_refuses_text_that_is_not_utf8_json():
    assert J.dumps({"a": ["é", 1]}) == '{"a":["é",1]}'
    with pytest.raises(J.Unusable) as exc:
        J.dumps({"k": [SURROGATE]})
    assert exc.value.path == "/k/0"
    with pytest.raises(J.Unusable):
        J.dumps({SURROGATE: 1})
    with pytest.raises(J.Unusable):
        J.dumps([float("nan")])
    assert isinstance(J.Unusable(J.VALUE, "x"), ValueError)


def test_printable_escapes_only_lone_surrogates():
    assert J.printable("plain é") == "plain é"
    assert J.printable("a\ud800b") == "a\\ud800b"
    assert json.dumps(J.printable(SURROGATE), ensure_ascii=False).encode("utf-8")
    assert J.has_surrogate("x\udfff") and not J.has_surrogate("😀")
