"""DataTransfer both ways, one behaviour for both versions (ocpp/common/data_transfer.py): the
pure answer rules, and each version's charge point (scripted CSMS, fake EVSE port)."""

import json

import pytest
from unit.v201_harness import Sim  # tests/unit is not on the path of tests/unit/common

from ocpp_bridge.ocpp.common.data_transfer import csms_answer, module_answer, request
from ocpp_bridge.ocpp.outcome import LocalFailure
from ocpp_bridge.ocpp.rpc import CallError
from ocpp_bridge.ocpp.station import InvalidOutgoing
from support.cp16 import Rig


def station(version, tmp_path):
    """(charge point, answer the CSMS gives its DataTransfer: fn(payload), settle)."""
    if version == "1.6":
        rig = Rig(tmp_path).boot()

        def set_answer(payload):
            rig.answers["DataTransfer"] = payload
        return rig, rig.cp, rig.port, set_answer, rig.pump_answers, rig.request
    sim = Sim(tmp_path)

    def set_answer(payload):
        sim.answers["DataTransfer"] = payload
    return sim, sim.cp, sim.port, set_answer, sim.settle, sim.request


# ---------------------------------------------------------------------------- the rules
def test_the_module_answer():
    assert module_answer(None) == {"status": "UnknownVendorId"}
    assert module_answer({"status": "Accepted", "data": "x"}) == {"status": "Accepted", "data": "x"}
    assert module_answer({"status": "UnknownMessageId", "data": None}) == {"status": "UnknownMessageId"}
    assert module_answer({"status": "Offline", "data": "x"}) == {"status": "UnknownVendorId", "data": "x"}
    assert module_answer({}) == {"status": "UnknownVendorId"}


def test_the_answer_the_module_hears():
    assert csms_answer({"status": "Accepted", "data": 1}, None, True) == {"status": "Accepted", "data": 1}
    assert csms_answer({"status": "Bogus"}, None, False) == {"status": "Rejected"}
    assert csms_answer(None, LocalFailure("timeout"), False) == {"status": "Offline"}
    assert csms_answer(None, LocalFailure("dropped"), False) == {"status": "Offline"}
    assert csms_answer(None, CallError("1", "NotImplemented", "no"), False) == {"status": "Rejected"}


def test_the_request():
    assert request("acme", None, None) == {"vendorId": "acme"}
    assert request("acme", "m", {"a": 1}) == {"vendorId": "acme", "messageId": "m", "data": {"a": 1}}


# ---------------------------------------------------------------------------- both versions
@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
def test_a_status_the_version_does_not_know_becomes_unknown_vendor_id(tmp_path, version):
    """Drifted before: 1.6 passed the module's answer through (a schema-breaking answer)."""
    _bench, _cp, port, _set, _settle, ask = station(version, tmp_path)
    port.data_transfer_answer = {"status": "Offline", "data": "later"}
    assert ask("DataTransfer", {"vendorId": "acme"}) == {"status": "UnknownVendorId", "data": "later"}


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
def test_a_request_that_makes_no_valid_message_is_refused_by_raising(tmp_path, version):
    """Drifted before: 1.6 failed the Deferred (the bus heard HandlerException); now both raise
    InvalidOutgoing, which the bus command answers with SchemaValidationError."""
    _bench, cp, _port, _set, _settle, _ask = station(version, tmp_path)
    with pytest.raises(InvalidOutgoing):
        cp.data_transfer_to_csms("v" * 300, None, None)


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
def test_an_answer_that_breaks_the_schema_is_rejected(tmp_path, version):
    """Drifted before: 1.6 handed the module whatever status came."""
    _bench, cp, _port, set_answer, settle, _ask = station(version, tmp_path)
    set_answer({"status": "Maybe"})
    answer = cp.data_transfer_to_csms("acme", None, "x")
    settle()
    assert answer.value == {"status": "Rejected"}


@pytest.mark.parametrize("version, sent", [("1.6", '{"a": [1, 2]}'), ("2.0.1", {"a": [1, 2]})])
def test_data_is_a_string_in_1_6_and_any_type_in_2_0_1(tmp_path, version, sent):
    bench, cp, _port, _set, settle, _ask = station(version, tmp_path)
    answer = cp.data_transfer_to_csms("acme", "m", {"a": [1, 2]})
    settle()
    frames = [f for f in bench.sent if f[0] == 2 and f[2] == "DataTransfer"]
    assert frames[-1][3] == {"vendorId": "acme", "messageId": "m", "data": sent}
    assert answer.value == {"status": "Accepted"}


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
def test_a_callerror_is_rejected_and_no_connection_is_offline(tmp_path, version):
    bench, cp, _port, set_answer, _settle, _ask = station(version, tmp_path)
    if version == "1.6":
        set_answer(None)                    # held: the rig answers it below
    else:
        bench.hold.add("DataTransfer")
    answer = cp.data_transfer_to_csms("acme", None, None)
    frame = [f for f in bench.sent if f[0] == 2 and f[2] == "DataTransfer"][-1]
    cp.core.on_text(json.dumps([4, frame[1], "NotImplemented", "no", {}]), bench.now)
    assert answer.value == {"status": "Rejected"}
    bench.disconnect()
    assert cp.data_transfer_to_csms("acme", None, None).value == {"status": "Offline"}
