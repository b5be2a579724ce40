"""OCPP-J framing: parsing, encoding, error codes and when a bad frame is answered."""

import json

import pytest

from ocpp_bridge.ocpp.rpc import (
    Call,
    CallError,
    CallResult,
    FrameError,
    encode,
    error_code,
    error_kind,
    parse_frame,
)

V16, V201 = "1.6", "2.0.1"


def frame_error(text, version):
    with pytest.raises(FrameError) as info:
        parse_frame(text, version)
    return info.value


# ------------------------------------------------------------------ good frames

@pytest.mark.parametrize("version", [V16, V201])
def test_parses_call_result_and_error(version):
    assert parse_frame('[2,"a1","Heartbeat",{}]', version) == Call("a1", "Heartbeat", {})
    assert parse_frame('[3,"a1",{"currentTime":"2024-01-01T00:00:00Z"}]', version) == \
        CallResult("a1", {"currentTime": "2024-01-01T00:00:00Z"})
    assert parse_frame('[4,"a1","NotImplemented","nope",{"x":1}]', version) == \
        CallError("a1", "NotImplemented", "nope", {"x": 1})


def test_numbers_stay_plain_floats_and_ints():
    call = parse_frame('[2,"m","MeterValues",{"connectorId":1,"v":21.4}]', V16)
    assert type(call.payload["connectorId"]) is int
    assert type(call.payload["v"]) is float and call.payload["v"] == 21.4


def test_id_of_36_characters_is_accepted_37_is_not():
    assert parse_frame(json.dumps([2, "x" * 36, "Heartbeat", {}]), V201).unique_id == "x" * 36
    err = frame_error(json.dumps([2, "x" * 37, "Heartbeat", {}]), V201)
    assert err.code == "RpcFrameworkError" and err.unique_id is None
    assert err.answer() == CallError("-1", "RpcFrameworkError", err.description)


@pytest.mark.parametrize("version", [V16, V201])
@pytest.mark.parametrize("spelling", [
    "FormationViolation", "FormatViolation", "OccurenceConstraintViolation",
    "OccurrenceConstraintViolation", "RpcFrameworkError", "MessageTypeNotSupported", "VendorThing",
])
def test_received_callerror_accepts_every_spelling(version, spelling):
    assert parse_frame(json.dumps([4, "id", spelling, "", {}]), version).code == spelling


def test_received_callerror_is_read_leniently():
    assert parse_frame('[4,"id","GenericError","d"]', V16) == CallError("id", "GenericError", "d", {})
    assert parse_frame('[4,"id","GenericError",null,"oops"]', V201) == \
        CallError("id", "GenericError", "", {"details": "oops"})
    assert parse_frame('[4,"id","GenericError",12,null]', V201).description == "12"
    assert frame_error('[4,"id",7,"d",{}]', V201).answer() is None


# ------------------------------------------------------------------ bad frames

@pytest.mark.parametrize("text", ["not json", "{\"a\":1}", "[]", "\"[2]\"", "[2,\"a\",\"Heartbeat\",NaN]"])
def test_unreadable_message_2_0_1_rpc_framework_error_answered_with_minus_one(text):
    err = frame_error(text, V201)
    assert err.code == "RpcFrameworkError"
    assert err.answer() == CallError("-1", "RpcFrameworkError", err.description)


@pytest.mark.parametrize("text", ["not json", "{\"a\":1}", "[]", "[2,\"a\",\"Heartbeat\",Infinity]"])
def test_unreadable_message_1_6_formation_violation_not_answered(text):
    err = frame_error(text, V16)
    assert err.code == "FormationViolation"
    assert err.answer() is None


@pytest.mark.parametrize("type_id", ['"2"', "true", "2.0", "null"])
def test_message_type_id_must_be_an_integer(type_id):
    err = frame_error(f'[{type_id},"a","Heartbeat",{{}}]', V201)
    assert err.code == "RpcFrameworkError" and err.answer() is not None


@pytest.mark.parametrize("type_id", [0, 1, 5, 6, 99])
def test_unknown_message_type_2_0_1_answered_message_type_not_supported(type_id):
    err = frame_error(f'[{type_id},"t{type_id}","Heartbeat",{{}}]', V201)
    assert err.code == "MessageTypeNotSupported"
    assert err.answer() == CallError(f"t{type_id}", "MessageTypeNotSupported", err.description)


@pytest.mark.parametrize("type_id", [5, 6, 99])
def test_unknown_message_type_1_6_is_ignored(type_id):
    assert frame_error(f'[{type_id},"t","Heartbeat",{{}}]', V16).answer() is None


@pytest.mark.parametrize("raw_id", ["7", '""', "null", "[1]"])
def test_call_with_unreadable_id(raw_id):
    text = f'[2,{raw_id},"Heartbeat",{{}}]'
    assert frame_error(text, V201).answer().unique_id == "-1"
    assert frame_error(text, V16).answer() is None
    assert frame_error(text, V16).unique_id is None


def test_call_with_wrong_length_or_action_answered_with_its_id():
    for text in ('[2,"c1","Heartbeat"]', '[2,"c1","Heartbeat",{},{}]', '[2,"c1",5,{}]', '[2,"c1","",{}]'):
        assert frame_error(text, V201).answer() == \
            CallError("c1", "RpcFrameworkError", frame_error(text, V201).description)
        answer = frame_error(text, V16).answer()
        assert answer.unique_id == "c1" and answer.code == "FormationViolation"


@pytest.mark.parametrize("payload", ["[]", "null", '"x"', "1"])
def test_call_payload_must_be_an_object(payload):
    text = f'[2,"c2","Heartbeat",{payload}]'
    assert frame_error(text, V201).answer().code == "FormatViolation"
    assert frame_error(text, V16).answer().code == "FormationViolation"


@pytest.mark.parametrize("text", ['[3,"r",[]]', '[3,"r",null]', '[3,"r"]', '[3,"r",{},{}]', '[4,"e"]',
                                  '[4,"e","GenericError","",{},1]', '[3,5,{}]'])
@pytest.mark.parametrize("version", [V16, V201])
def test_broken_results_and_errors_are_never_answered(text, version):
    err = frame_error(text, version)
    assert err.answer() is None


def test_frame_error_keeps_readable_id():
    assert frame_error('[3,"r9",[]]', V16).unique_id == "r9"


def test_unknown_version_is_refused():
    with pytest.raises(ValueError):
        parse_frame('[2,"a","Heartbeat",{}]', "2.1")


# ------------------------------------------------------------------ encoding

def test_encode_is_compact_and_keeps_non_ascii():
    assert encode(Call("a", "DataTransfer", {"data": "Größe €"})) == '[2,"a","DataTransfer",{"data":"Größe €"}]'
    assert encode(CallResult("a", {})) == '[3,"a",{}]'
    assert encode(CallError("a", "NotImplemented")) == '[4,"a","NotImplemented","",{}]'


@pytest.mark.parametrize("frame", [
    Call("id-1", "BootNotification", {"reason": "PowerUp", "n": [1, 2.5, None, True]}),
    CallResult("id-2", {"status": "Accepted"}),
    CallError("id-3", "GenericError", "text", {"k": "v"}),
])
@pytest.mark.parametrize("version", [V16, V201])
def test_round_trip(frame, version):
    assert parse_frame(encode(frame), version) == frame


def test_encode_truncates_long_descriptions():
    text = encode(CallError("a", "InternalError", "x" * 1000))
    assert json.loads(text)[3] == "x" * 255


@pytest.mark.parametrize("frame", [
    Call("", "Heartbeat", {}), Call("x" * 37, "Heartbeat", {}), Call("a", "", {}),
    Call("a", "Heartbeat", []), CallResult("a", None), CallError("a", "", ""),
    CallError("a", "GenericError", "", []), Call("a", "Heartbeat", {"v": float("nan")}),
])
def test_encode_refuses_frames_we_must_not_send(frame):
    with pytest.raises(ValueError):
        encode(frame)


def test_encode_refuses_non_frames():
    with pytest.raises(TypeError):
        encode(["2", "a"])


# ------------------------------------------------------------------ codes

def test_error_codes_1_6_use_the_spellings_of_its_specification():
    expected = {
        "format": "FormationViolation", "type": "TypeConstraintViolation",
        "property": "PropertyConstraintViolation", "occurrence": "OccurenceConstraintViolation",
        "not_implemented": "NotImplemented", "not_supported": "NotSupported",
        "internal": "InternalError", "protocol": "ProtocolError", "security": "SecurityError",
        "generic": "GenericError", "rpc_framework": "FormationViolation",
        "message_type_not_supported": "FormationViolation",
    }
    assert {kind: error_code(kind, V16) for kind in expected} == expected


def test_error_codes_2_0_1():
    expected = {
        "format": "FormatViolation", "type": "TypeConstraintViolation",
        "property": "PropertyConstraintViolation", "occurrence": "OccurrenceConstraintViolation",
        "not_implemented": "NotImplemented", "not_supported": "NotSupported",
        "internal": "InternalError", "protocol": "ProtocolError", "security": "SecurityError",
        "generic": "GenericError", "rpc_framework": "RpcFrameworkError",
        "message_type_not_supported": "MessageTypeNotSupported",
    }
    assert {kind: error_code(kind, V201) for kind in expected} == expected


def test_error_code_refuses_unknown_kind_and_version():
    with pytest.raises(ValueError):
        error_code("format", "1.5")
    with pytest.raises(ValueError):
        error_code("formation", V16)


def test_error_kind_reads_every_spelling_back():
    for version in (V16, V201):
        for kind in ("format", "type", "property", "occurrence", "not_implemented", "not_supported",
                     "internal", "protocol", "security", "generic"):
            assert error_kind(error_code(kind, version)) == kind
    assert error_kind("FormatViolation") == error_kind("FormationViolation") == "format"
    assert error_kind("OccurrenceConstraintViolation") == "occurrence"
    assert error_kind("RpcFrameworkError") == "rpc_framework"
    assert error_kind("Whatever") is None
