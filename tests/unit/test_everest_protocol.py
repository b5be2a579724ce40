"""The EVerest MQTT protocol encoder/decoder, both generations, against everest.md §1."""

import json

import pytest

from ocpp_bridge.everest import protocol as P


def g3():
    return P.Protocol("everest", "ocpp", P.G3)


def g2():
    return P.Protocol("everest/", "ocpp", P.G2)


def test_prefix_gets_trailing_slash():
    assert g3().prefix == "everest/"
    assert g3().global_ready_topic() == "everest/ready"


def test_unknown_generation_refused():
    with pytest.raises(ValueError):
        P.Protocol("everest", "ocpp", "2023.1")


def test_g3_subscriptions():
    subs = g3().subscriptions(["ocpp_generic", "main"], [("evse1", "evse")], [("evse1", "evse", "session_event")])
    assert subs == [
        "everest/ready",
        "everest/modules/ocpp/impl/ocpp_generic/cmd/+",
        "everest/modules/ocpp/impl/main/cmd/+",
        "everest/modules/+/impl/+/cmd/+/response/ocpp",
        "everest/modules/evse1/impl/evse/var/session_event",
    ]


def test_g2_subscriptions():
    subs = g2().subscriptions(["main"], [("evse1", "evse")], [("evse1", "evse", "a"), ("evse1", "evse", "b")])
    assert subs == [
        "everest/ready",
        "everest/modules/ocpp/impl/main/cmd",
        "everest/modules/evse1/impl/evse/cmd",
        "everest/modules/evse1/impl/evse/var",
    ]


def test_g3_command_roundtrip():
    payload = json.dumps({"msg_type": "Cmd", "data": {"id": "u1", "args": {"keys": []}, "origin": "probe"}})
    call = g3().decode("everest/modules/ocpp/impl/main/cmd/get_configuration_key", payload.encode())
    assert call == P.IncomingCommand("main", "get_configuration_key", "u1", {"keys": []}, "probe")
    out = g3().result(call, {"x": 1})
    assert out.topic == "everest/modules/ocpp/impl/main/cmd/get_configuration_key/response/probe"
    assert json.loads(out.payload) == {"msg_type": "CmdResult", "data": {"type": "result", "data": {
        "id": "u1", "retval": {"x": 1}, "origin": "ocpp"}}}
    err = json.loads(g3().error(call, P.SCHEMA_VALIDATION_ERROR, "bad").payload)
    assert err["data"]["data"]["error"] == {"__everest__error_type": "SchemaValidationError",
                                            "__everest__error_msg": "bad"}
    assert "retval" not in err["data"]["data"]


def test_g2_command_roundtrip_and_own_result_ignored():
    payload = json.dumps({"name": "stop", "type": "call", "data": {"id": "u2", "args": {}, "origin": "probe"}})
    call = g2().decode("everest/modules/ocpp/impl/main/cmd", payload.encode())
    assert call == P.IncomingCommand("main", "stop", "u2", {}, "probe")
    out = g2().result(call, True)
    assert out.topic == "everest/modules/ocpp/impl/main/cmd"
    assert json.loads(out.payload) == {"name": "stop", "type": "result",
                                       "data": {"id": "u2", "retval": True, "origin": "ocpp"}}
    assert g2().decode(out.topic, out.payload.encode()) is None


def test_null_args_accepted():
    payload = json.dumps({"msg_type": "Cmd", "data": {"id": "u", "args": None, "origin": "p"}})
    assert g3().decode("everest/modules/ocpp/impl/main/cmd/stop", payload.encode()).args is None


@pytest.mark.parametrize("payload, replies", [
    (b"not json", False),                                         # G3: no origin -> log only
    (b'{"msg_type":"Cmd","data":{"args":{},"origin":"p"}}', True),  # no id -> error reply to p
    (b'{"msg_type":"Var","data":{}}', False),
    (b'[1,2]', False),
])
def test_g3_bad_commands(payload, replies):
    with pytest.raises(P.BadMessage) as exc:
        g3().decode("everest/modules/ocpp/impl/main/cmd/stop", payload)
    assert (exc.value.reply is not None) == replies
    if replies:
        assert exc.value.reply.topic.endswith("/cmd/stop/response/p")
        body = json.loads(exc.value.reply.payload)["data"]["data"]
        assert body["error"]["__everest__error_type"] == P.MESSAGE_PARSING_ERROR


def test_g2_bad_json_gets_reply_on_cmd_topic():
    with pytest.raises(P.BadMessage) as exc:
        g2().decode("everest/modules/ocpp/impl/main/cmd", b"{oops")
    assert exc.value.reply.topic == "everest/modules/ocpp/impl/main/cmd"
    assert json.loads(exc.value.reply.payload)["data"]["error"]["__everest__error_type"] == "MessageParsingError"


def test_vars_both_generations():
    out3 = g3().var("ocpp_generic", "is_connected", True)
    assert out3.topic == "everest/modules/ocpp/impl/ocpp_generic/var/is_connected"
    assert json.loads(out3.payload) == {"msg_type": "Var", "data": {"data": True}}
    out2 = g2().var("ocpp_generic", "is_connected", False)
    assert out2.topic == "everest/modules/ocpp/impl/ocpp_generic/var"
    assert json.loads(out2.payload) == {"name": "is_connected", "data": False}
    peer3 = P.Protocol("everest", "evse1", P.G3)
    assert g3().decode(*_enc(peer3.var("evse", "session_event", {"e": 1}))) == \
        P.IncomingVar("evse1", "evse", "session_event", {"e": 1})
    peer2 = P.Protocol("everest", "evse1", P.G2)
    assert g2().decode(*_enc(peer2.var("evse", "session_event", 5))) == P.IncomingVar("evse1", "evse", "session_event", 5)
    # our own variables are not for us
    assert g3().decode(*_enc(out3)) is None


def _enc(out):
    return out.topic, out.payload.encode()


@pytest.mark.parametrize("gen", [P.G3, P.G2])
def test_calls_to_required_modules_and_their_results(gen):
    us = P.Protocol("everest", "ocpp", gen)
    out = us.call("evse1", "evse", "get_evse", {}, "c1")
    peer = P.Protocol("everest", "evse1", gen)
    incoming = peer.decode(*_enc(out))
    assert incoming == P.IncomingCommand("evse", "get_evse", "c1", {}, "ocpp")
    answer = peer.result(incoming, {"id": 1})
    assert us.decode(*_enc(answer)) == P.IncomingResult("c1", {"id": 1})
    failure = peer.error(incoming, "HandlerException", "boom")
    assert us.decode(*_enc(failure)) == P.IncomingResult("c1", None, ("HandlerException", "boom"))
    # a peer module's call topic carries calls too (G2): never mistaken for a result
    if gen == P.G2:
        assert us.decode(*_enc(out)) is None


def test_ready_and_global_ready():
    r3 = g3().module_ready()
    assert r3.topic == "everest/modules/ocpp/ready" and json.loads(r3.payload) == {"msg_type": "ModuleReady", "data": True}
    assert json.loads(g2().module_ready().payload) is True
    assert g3().decode("everest/ready", b'{"msg_type":"GlobalReady","data":true}') == P.GlobalReady()
    assert g2().decode("everest/ready", b"true") == P.GlobalReady()
    assert g3().decode("everest/ready", b"false") is None
