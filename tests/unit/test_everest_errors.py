"""Framework errors of the modules we require, both generations: reading what they raise and
clear, which types an interface declares, and the per-EVSE bookkeeping the engine drives
(everest.md §1.2, §1.3, §1.6). Pure: no broker. We raise no error of our own (no encoder)."""

import json

import pytest

from ocpp_bridge.everest import errors as E

P = "everest/"
PI = "everest/modules/evse_manager_1/impl/evse"


def error(state="Active", **kw):
    """An error object as an evse_manager publishes it (§1.6)."""
    obj = {"type": "evse_manager/MREC4OverCurrentFailure", "sub_type": "", "message": "too much current",
           "description": "Over current event", "vendor_id": "EvseManager",
           "origin": {"module_id": "evse_manager_1", "implementation_id": "evse"},
           "severity": "High", "timestamp": "2023-11-14T22:13:20.250Z", "uuid": "u-1", "state": state}
    obj.update(kw)
    return obj


def wire(err: dict, generation: str, raised: bool) -> tuple[str, bytes]:
    """(topic, payload) of a raise or clear, as the framework of ``generation`` sends it."""
    if generation == "2025.12":
        body = {"msg_type": "RaiseError" if raised else "ClearError", "data": err}
        return f"{PI}/error/{err['type']}", json.dumps(body).encode()
    return f"{PI}/error", json.dumps(err).encode()


@pytest.mark.parametrize("generation", ["2025.12", "2024.11"])
def test_decode_reads_raises_and_clears(generation):
    for err, raised in ((error(), True), (error(state="ClearedByModule"), False)):
        topic, payload = wire(err, generation, raised)
        assert E.decode(P, topic, payload, generation) == E.ErrorEvent("evse_manager_1", "evse", raised, err)
    topic, payload = wire(error(state="ClearedByReboot"), "2024.11", False)
    assert E.decode(P, topic, payload, "2024.11").raised is False


def test_decode_ignores_other_topics_and_the_other_generations_shape():
    g3 = wire(error(), "2025.12", True)
    g2 = wire(error(), "2024.11", True)
    assert E.decode(P, *g3, "2024.11") is None
    assert E.decode(P, *g2, "2025.12") is None
    assert E.decode(P, f"{PI}/var/session_event", b"{}", "2025.12") is None
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
