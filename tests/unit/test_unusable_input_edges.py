"""Values we cannot carry, at each edge of the pure parts (issue 8 §4): OCPP framing
(``rpc``), the station core's incoming side, the EVerest bus protocol, the stores and the
security-event path. ``json_edge`` itself is tested in ``test_json_edge.py``; the same
inputs through the real process are in ``tests/integration/test_unusable_input.py``."""

import json
import logging

import pytest

from ocpp_bridge.everest import errors as E
from ocpp_bridge.everest import protocol as P
from ocpp_bridge.everest.mqtt import MqttLink
from ocpp_bridge.json_edge import Unusable
from ocpp_bridge.ocpp.auth_store import AuthStore
from ocpp_bridge.ocpp.events import SecurityEventRaised
from ocpp_bridge.ocpp.rpc import CALLRESULT, CallError, CallResult, FrameError, encode, parse_frame
from ocpp_bridge.ocpp.security_events import send_security_event
from ocpp_bridge.ocpp.station import InvalidOutgoing, StationCore

SURROGATE = "\ud800"
TOO_BIG = 2 ** 63
DEEP = "[" * 1000 + "]" * 1000
VERSIONS = pytest.mark.parametrize("version", ["1.6", "2.0.1"])


def frame_error(text, version) -> FrameError:
    with pytest.raises(FrameError) as info:
        parse_frame(text, version)
    return info.value


# ---------------------------------------------------------------- rpc: the OCPP edge

@VERSIONS
@pytest.mark.parametrize("payload, where", [
    ({"key": [SURROGATE]}, "payload/key/0"),
    ({"listVersion": TOO_BIG, "updateType": "Full"}, "payload/listVersion"),
    ({"n": -TOO_BIG - 1}, "payload/n"),
    ({SURROGATE: 1}, "payload"),
])
def test_a_call_holding_an_unusable_value_gets_type_constraint_violation(version, payload, where):
    err = frame_error(json.dumps([2, "c1", "AnyAction", payload]), version)
    assert err.answer() == CallError("c1", "TypeConstraintViolation", err.description)
    assert err.description.startswith(where + ":")


@VERSIONS
def test_64_bit_bounds_and_astral_characters_are_carried(version):
    call = parse_frame(json.dumps([2, "c1", "X", {"a": TOO_BIG - 1, "b": -TOO_BIG, "c": "😀"}]), version)
    assert call.payload == {"a": TOO_BIG - 1, "b": -TOO_BIG, "c": "😀"}


@VERSIONS
def test_non_finite_number_and_too_deep_payload(version):
    assert frame_error('[2,"c1","X",{"v":1e400}]', version).code == "TypeConstraintViolation"
    deep = frame_error('[2,"c1","X",{"v":' + "[" * 80 + "]" * 80 + "}]", version)
    assert deep.code == ("FormationViolation" if version == "1.6" else "FormatViolation")
    assert deep.answer().unique_id == "c1"


def test_a_call_whose_id_holds_a_surrogate_counts_as_unreadable():
    assert frame_error('[2,"\\ud800","Heartbeat",{}]', "2.0.1").answer() == \
        CallError("-1", "RpcFrameworkError", "message id is holding a lone UTF-16 surrogate")
    assert frame_error('[2,"\\ud800","Heartbeat",{}]', "1.6").answer() is None


@VERSIONS
def test_a_callresult_holding_an_unusable_value_is_not_answered_but_names_its_call(version):
    err = frame_error('[3,"r1",{"idTagInfo":{"status":"Accepted","parentIdTag":"\\ud800"}}]', version)
    assert err.answer() is None
    assert (err.message_type, err.unique_id, err.code) == (CALLRESULT, "r1", "TypeConstraintViolation")


def test_a_callerror_is_read_leniently_and_made_printable():
    got = parse_frame('[4,"e1","\\ud800","bad \\udc00 one",{"x":"\\ud800"}]', "2.0.1")
    assert got == CallError("e1", "\\ud800", "bad \\udc00 one", {})


def test_encode_refuses_text_that_is_not_utf8_and_escapes_our_descriptions():
    with pytest.raises(ValueError):
        encode(CallResult("r1", {"unknownKey": [SURROGATE]}))
    text = encode(CallError("r1", "InternalError", f"about {SURROGATE}"))
    assert text.encode("utf-8") and json.loads(text)[3] == "about \\ud800"


# ---------------------------------------------------------------- the station core

class Wire:
    def __init__(self):
        self.sent = []

    def __call__(self, text: str) -> bool:
        text.encode("utf-8")  # what the websocket does: a text frame must be UTF-8
        self.sent.append(json.loads(text))
        return True


def accepted_core(version: str) -> tuple[StationCore, Wire]:
    wire = Wire()
    core = StationCore(version, wire)
    core.registration = "Accepted"
    core.on_connected(100.0)
    return core, wire


@VERSIONS
def test_a_call_with_a_lone_surrogate_never_reaches_its_handler(version):
    core, wire = accepted_core(version)
    seen = []
    core.handle("DataTransfer", lambda payload: seen.append(payload) or {"status": "Accepted"})
    core.on_text('[2,"c1","DataTransfer",{"vendorId":"\\ud800"}]', 101.0)
    assert seen == []
    assert wire.sent[-1][:3] == [4, "c1", "TypeConstraintViolation"]


@VERSIONS
def test_an_answer_that_cannot_be_encoded_becomes_internal_error_not_a_dropped_line(version):
    core, wire = accepted_core(version)
    core.handle("DataTransfer", lambda payload: {"status": "Accepted", "data": SURROGATE})
    core.on_text('[2,"c1","DataTransfer",{"vendorId":"acme"}]', 101.0)
    assert wire.sent[-1][:3] == [4, "c1", "InternalError"]


@VERSIONS
def test_an_unusable_callresult_fails_its_call_at_once_and_frees_the_line(version):
    core, wire = accepted_core(version)
    done = []
    core.call("Heartbeat", {}, lambda result, error: done.append((result, error)))
    core.call("Heartbeat", {}, lambda result, error: done.append((result, error)))
    first = wire.sent[-1]
    core.on_text(json.dumps([3, first[1], {"currentTime": SURROGATE}]), 101.0)
    assert len(done) == 1 and done[0][0] is None and done[0][1].code == "TypeConstraintViolation"
    assert wire.sent[-1][0] == 2 and wire.sent[-1][1] != first[1], "the next call went at once"


@VERSIONS
def test_an_outgoing_message_that_cannot_be_sent_is_refused_before_the_queue_and_the_outbox(version):
    core, wire = accepted_core(version)
    with pytest.raises(InvalidOutgoing):
        core.call("DataTransfer", {"vendorId": SURROGATE})
    event = {"type": "X", "timestamp": "2026-01-01T00:00:00Z", "techInfo": SURROGATE}
    with pytest.raises(InvalidOutgoing):
        core.send_transactional("SecurityEventNotification", event, None)
    assert len(core.outbox) == 0 and wire.sent == []


def test_an_outgoing_integer_beyond_64_bits_is_still_sent_it_is_valid_json():
    """Found by fuzzing the evse_manager variables: a meter value the station computed beyond
    2^63 was refused (a traceback from the timer). Only text that cannot be encoded is refused."""
    core, wire = accepted_core("2.0.1")
    core.call("DataTransfer", {"vendorId": "acme", "data": TOO_BIG * 4})
    assert wire.sent[-1][2:] == ["DataTransfer", {"vendorId": "acme", "data": TOO_BIG * 4}]


@VERSIONS
def test_a_security_event_that_cannot_be_carried_is_refused_and_the_next_one_queued(version, caplog):
    core, wire = accepted_core(version)
    heard = []
    core.events.subscribe(SecurityEventRaised, heard.append)
    with caplog.at_level(logging.ERROR):
        assert send_security_event(core, SURROGATE, None) is False
        assert send_security_event(core, "ResetOrReboot", SURROGATE) is False
    assert heard == [] and len(core.outbox) == 0 and "security event refused" in caplog.text
    assert send_security_event(core, "ResetOrReboot", "fine") is True
    assert wire.sent[-1][2:] == ["SecurityEventNotification", {"type": "ResetOrReboot",
                                                               "timestamp": wire.sent[-1][3]["timestamp"],
                                                               "techInfo": "fine"}]


# ---------------------------------------------------------------- the bus edge

def g(generation):
    return P.Protocol("everest", "ocpp", generation)


def command(generation, args, call_id="u1", origin="probe", name="get_configuration_key"):
    if generation == P.G3:
        topic = f"everest/modules/ocpp/impl/main/cmd/{name}"
        body = {"msg_type": "Cmd", "data": {"id": call_id, "args": args, "origin": origin}}
    else:
        topic = "everest/modules/ocpp/impl/main/cmd"
        body = {"name": name, "type": "call", "data": {"id": call_id, "args": args, "origin": origin}}
    return topic, json.dumps(body).encode()


def refused(protocol, topic, payload) -> P.BadMessage:
    with pytest.raises(P.BadMessage) as exc:
        protocol.decode(topic, payload)
    return exc.value


def reply_error(bad: P.BadMessage) -> dict:
    body = json.loads(bad.reply.payload)
    return (body["data"]["data"] if "msg_type" in body else body["data"])


GENERATIONS = pytest.mark.parametrize("generation", [P.G3, P.G2])


@GENERATIONS
@pytest.mark.parametrize("args, path", [
    ({"keys": [SURROGATE]}, "args/keys/0"),
    ({"keys": [], SURROGATE: 1}, "args"),
    ({"keys": [TOO_BIG]}, "args/keys/0"),
])
def test_command_args_holding_unusable_values_get_schema_validation_error(generation, args, path):
    bad = refused(g(generation), *command(generation, args))
    data = reply_error(bad)
    assert data["id"] == "u1"
    assert data["error"]["__everest__error_type"] == P.SCHEMA_VALIDATION_ERROR
    assert path in data["error"]["__everest__error_msg"]
    assert bad.reply.payload.encode("utf-8")


@GENERATIONS
def test_a_1000_deep_command_gets_message_parsing_error_with_its_call_id(generation):
    topic, _ = command(generation, {})
    inner = '{"id":"deep-1","origin":"probe","args":{"keys":' + DEEP + "}}"
    payload = ('{"msg_type":"Cmd","data":' + inner + "}" if generation == P.G3 else
               '{"name":"get_configuration_key","type":"call","data":' + inner + "}")
    data = reply_error(refused(g(generation), topic, payload.encode()))
    assert data["id"] == "deep-1" and data["error"]["__everest__error_type"] == P.MESSAGE_PARSING_ERROR


@pytest.mark.parametrize("call_id, origin", [(SURROGATE, "probe"), ("u1", SURROGATE), ("u1", "pro+be"),
                                             ("u1", "a#")])
def test_a_command_that_cannot_be_answered_is_refused_without_a_reply(call_id, origin):
    bad = refused(g(P.G3), *command(P.G3, {"keys": []}, call_id, origin))
    assert bad.reply is None and "without a reply" in bad.reason


@GENERATIONS
def test_variables_holding_unusable_values_or_nesting_are_dropped_with_a_reason(generation):
    peer = P.Protocol("everest", "evse1", generation)
    for value in ({"event": SURROGATE}, {"n": TOO_BIG}):
        text = json.dumps({"msg_type": "Var", "data": {"data": value}} if generation == P.G3 else
                          {"name": "session_event", "data": value})
        bad = refused(g(generation), peer.var("evse", "session_event", 0).topic, text.encode())
        assert bad.reply is None and "dropped" in bad.reason
    deep = ('{"msg_type":"Var","data":{"data":' + DEEP + "}}" if generation == P.G3 else
            '{"name":"session_event","data":' + DEEP + "}")
    bad = refused(g(generation), peer.var("evse", "session_event", 0).topic, deep.encode())
    assert "nested deeper" in bad.reason


@GENERATIONS
def test_results_holding_unusable_values_complete_their_call_as_an_error(generation):
    us, peer = g(generation), P.Protocol("everest", "evse1", generation)
    call = peer.decode(*_enc(us.call("evse1", "evse", "get_evse", {}, "c1")))
    text = peer.result(call, {"id": 1}).payload.replace('"id":1', '"id":"\\ud800"', 1)
    got = us.decode(peer.result(call, 0).topic, text.encode())
    assert got.call_id == "c1" and got.error[0] == P.SCHEMA_VALIDATION_ERROR
    deep = peer.result(call, 0).payload.replace('"retval":0', '"retval":' + DEEP, 1)
    got = us.decode(peer.result(call, 0).topic, deep.encode())
    assert got == P.IncomingResult("c1", None, got.error) and got.error[0] == P.MESSAGE_PARSING_ERROR


def _enc(out):
    return out.topic, out.payload.encode()


def test_bus_encoders_refuse_text_that_is_not_utf8_and_escape_our_messages():
    call = P.IncomingCommand("main", "get_configuration_key", "u1", {}, "probe")
    with pytest.raises(Unusable):
        g(P.G3).result(call, {"unknown_keys": [SURROGATE]})
    with pytest.raises(Unusable):
        g(P.G3).var("main", "security_event", {"type": SURROGATE})
    text = g(P.G3).error(call, P.HANDLER_EXCEPTION, f"bad {SURROGATE}").payload
    assert text.encode("utf-8") and "bad \\\\ud800" in text


@pytest.mark.parametrize("generation", [P.G3, P.G2])
def test_required_module_errors_that_are_too_deep_or_unusable_are_bad_errors(generation):
    topic = E.error_topic("everest/", "evse1", "evse", generation) + ("/evse_manager/MREC" if generation == P.G3 else "")
    error = {"type": "evse_manager/MREC", "message": SURROGATE, "state": "Active"}
    unusable = json.dumps({"msg_type": "RaiseError", "data": error} if generation == P.G3 else error)
    for payload in (DEEP, unusable):
        with pytest.raises(E.BadError):
            E.decode("everest/", topic, payload.encode(), generation)


def test_mqtt_publish_never_raises_on_what_paho_cannot_encode(caplog):
    link = MqttLink(on_message=lambda topic, payload: None)
    with caplog.at_level(logging.ERROR):
        link.publish("everest/x", json.dumps("x", ensure_ascii=False) + SURROGATE)
        link.publish("everest/+/x", "{}")
    assert caplog.text.count("not publishing") == 2


# ---------------------------------------------------------------- the stores

def test_auth_store_refuses_what_sqlite_cannot_store_before_writing():
    store = AuthStore.in_memory()
    store.list_replace(3, [("A", {"status": "Accepted"})])
    with pytest.raises(ValueError):
        store.list_replace(TOO_BIG, [("B", {"status": "Accepted"})])
    with pytest.raises(ValueError):
        store.list_update(4, [(SURROGATE, {"status": "Accepted"})])
    with pytest.raises(ValueError):
        store.cache_put(SURROGATE, {"status": "Accepted"}, 1.0)
    with pytest.raises(ValueError):
        store.cache_put("C", {"status": SURROGATE}, 1.0)
    assert (store.list_version(), store.list_size(), store.cache_size()) == (3, 1, 0)
    assert store.cache_get(SURROGATE, 2.0) is None and store.list_get(SURROGATE) is None
    store.cache_remove(SURROGATE)
