"""Framework errors, both generations: the error object, raise/clear topics and payloads,
reading other modules' errors, and the bookkeeping the engine drives (everest.md §1.2,
§1.3, §1.6). Pure: no broker, a fake clock."""

import json

import pytest

from ocpp_bridge.everest import errors as E

P = "everest/"
PI = "everest/modules/ocpp/impl/ocpp_generic"
NOW = 1_700_000_000.25


def make(**kw):
    args = dict(module_id="ocpp", impl="ocpp_generic", now=NOW, uuid="u-1")
    args.update(kw)
    return E.error_object(E.CSMS_UNREACHABLE, "no CSMS for 60 s", **args)


def test_error_object_has_every_field_of_1_6():
    err = make(description="long text", severity="High", sub_type="x", vendor_id="OcppBridge")
    assert err == {
        "type": "ocpp_bridge/CsmsUnreachable", "sub_type": "x", "message": "no CSMS for 60 s",
        "description": "long text", "vendor_id": "OcppBridge",
        "origin": {"module_id": "ocpp", "implementation_id": "ocpp_generic"},
        "severity": "High", "timestamp": "2023-11-14T22:13:20.250Z", "uuid": "u-1", "state": "Active"}
    assert make()["description"] == "no CSMS for 60 s"  # never empty
    assert make(uuid=None)["uuid"] != make(uuid=None)["uuid"]


@pytest.mark.parametrize("kw", [{"severity": "Fatal"}])
def test_error_object_refuses_bad_values(kw):
    with pytest.raises(ValueError):
        make(**kw)
    with pytest.raises(ValueError):
        E.error_object("NoNamespace", "m", module_id="m", impl="i", now=NOW)


def test_g3_raise_and_clear_use_per_type_topics_and_the_envelope():
    err = make()
    raised = E.raise_message(P, err, "2025.12")
    assert raised.topic == f"{PI}/error/ocpp_bridge/CsmsUnreachable"
    assert json.loads(raised.payload) == {"msg_type": "RaiseError", "data": err}
    cleared = E.clear_message(P, err, "2025.12")
    assert cleared.topic == raised.topic
    body = json.loads(cleared.payload)
    assert body["msg_type"] == "ClearError"
    assert body["data"] == dict(err, state="ClearedByModule")


def test_g2_raise_and_clear_share_one_topic_and_differ_by_state():
    err = make()
    raised, cleared = E.raise_message(P, err, "2024.11"), E.clear_message(P, err, "2024.11")
    assert raised.topic == cleared.topic == f"{PI}/error"
    assert json.loads(raised.payload) == err
    assert json.loads(cleared.payload) == dict(err, state="ClearedByModule")
    assert err["state"] == "Active"  # the caller's object is not changed


@pytest.mark.parametrize("generation", ["2025.12", "2024.11"])
def test_decode_reads_what_encode_writes(generation):
    err = make()
    for out, raised in ((E.raise_message(P, err, generation), True), (E.clear_message(P, err, generation), False)):
        got = E.decode(P, out.topic, out.payload.encode(), generation)
        assert got == E.ErrorEvent("ocpp", "ocpp_generic", raised, json.loads(out.payload).get("data", json.loads(out.payload)))


def test_decode_ignores_other_topics_and_the_other_generations_shape():
    err = make()
    g3 = E.raise_message(P, err, "2025.12")
    g2 = E.raise_message(P, err, "2024.11")
    assert E.decode(P, g3.topic, g3.payload.encode(), "2024.11") is None
    assert E.decode(P, g2.topic, g2.payload.encode(), "2025.12") is None
    assert E.decode(P, f"{PI}/var/is_connected", b"{}", "2025.12") is None
    assert E.decode(P, "other/modules/ocpp/impl/x/error", b"{}", "2024.11") is None
    assert E.subscription(P, "evse_manager_1", "evse", "2025.12") == "everest/modules/evse_manager_1/impl/evse/error/#"
    assert E.subscription(P, "evse_manager_1", "evse", "2024.11") == "everest/modules/evse_manager_1/impl/evse/error"


@pytest.mark.parametrize("generation,topic,payload", [
    ("2025.12", f"{PI}/error/a/B", b"not json"),
    ("2025.12", f"{PI}/error/a/B", b'{"type":"a/B","state":"Active"}'),             # no envelope
    ("2025.12", f"{PI}/error/a/B", b'{"msg_type":"RaiseError","data":{"state":"Active"}}'),  # no type
    ("2024.11", f"{PI}/error", b'{"type":"a/B"}'),                                   # no state
    ("2024.11", f"{PI}/error", b'{"type":"a/B","state":"Gone"}'),
    ("2024.11", f"{PI}/error", b'[1]'),
])
def test_decode_rejects_broken_messages(generation, topic, payload):
    with pytest.raises(E.BadError):
        E.decode(P, topic, payload, generation)


def test_declared_types_follow_whole_file_and_single_name_references():
    files = {"evse_manager": ["Internal", "MREC4OverCurrentFailure"], "generic": ["VendorError", "VendorWarning"]}
    doc = {"errors": [{"reference": "/errors/evse_manager"}, {"reference": "/errors/generic#/VendorError"}]}
    assert E.declared_types(doc, lambda f: files[f]) == {
        "evse_manager/Internal", "evse_manager/MREC4OverCurrentFailure", "generic/VendorError"}
    assert E.declared_types({}, lambda f: files[f]) == set()


def test_raised_errors_are_not_raised_twice_nor_cleared_when_not_active():
    reg = E.RaisedErrors()
    err = make()
    assert reg.add("ocpp_generic", err) and not reg.add("ocpp_generic", make(uuid="u-2"))
    assert reg.add("main", err)  # per implementation
    assert reg.add("ocpp_generic", make(sub_type="other"))  # per sub_type
    assert reg.is_active("ocpp_generic", E.CSMS_UNREACHABLE)
    assert reg.remove("ocpp_generic", E.CSMS_UNREACHABLE) is err
    assert reg.remove("ocpp_generic", E.CSMS_UNREACHABLE) is None
    assert len(reg.active()) == 2


def test_evse_errors_keep_active_errors_per_evse_and_tell_listeners():
    store = E.EvseErrors([1, 2])
    seen = []
    store.on_change(lambda evse, err, raised: seen.append((evse, err["type"], raised)))
    a = {"type": "evse_manager/MREC4OverCurrentFailure", "sub_type": "", "uuid": "1"}
    b = {"type": "evse_manager/Inoperative", "sub_type": "", "uuid": "2"}
    assert store == {1: [], 2: []}
    assert store.apply(2, a, True) and store.apply(2, b, True)
    assert not store.apply(2, dict(a, uuid="3"), True)  # already active: no change
    assert store[2] == [a, b] and store[1] == []
    assert store.apply(2, dict(a, state="ClearedByModule"), False)
    assert not store.apply(2, a, False)
    assert not store.apply(1, a, False)
    assert store[2] == [b]
    assert seen == [(2, a["type"], True), (2, b["type"], True), (2, a["type"], False)]


def test_unreachable_watch_raises_once_after_the_delay_and_clears_on_disarm():
    w = E.UnreachableWatch(60)
    w.arm(100.0)
    w.arm(130.0)  # still the first outage
    assert w.deadline == 160.0
    assert not w.due(159.9)
    assert w.due(160.0) and w.raised and w.deadline is None
    assert not w.due(500.0)
    w.arm(600.0)  # still raised: nothing to wait for
    assert w.deadline is None
    assert w.disarm() is True and not w.raised
    assert w.disarm() is False
    w.arm(700.0)
    assert w.disarm() is False and w.deadline is None  # back before the delay: never raised


def test_unreachable_watch_with_zero_never_raises():
    w = E.UnreachableWatch(0)
    w.arm(1.0)
    assert w.deadline is None and not w.due(1e12)
