"""The session conformance flows again, against a second, strict and independent CSMS: npm's
ocpp-rpc with ``strictMode: true`` (tests/support/strict_csms), for OCPP 1.6 and 2.0.1.

Every test of test_v16_sessions, test_v201_sessions, test_provisioning, test_connection and
the two smart-charging files (test_v16/v201_smart_charging_e2e), the two firmware files
(test_v16/v201_firmware_e2e) and 2.0.1 device management (test_v201_device_management_e2e) runs
here once more, as
``test_<module>__<name>``, with the ``csms`` fixture replaced by that peer; each then also
asserts that ocpp-rpc refused no frame in either direction (the bridge's
CALLs and CALLRESULTs, and the CSMS's own; frames a test sends raw on purpose are not judged,
nor are their replies). On top of that, every CSMS-initiated action of each version is sent
once with a minimal schema-valid request built from ocpp-rpc's own schemas, so each kind of
answer the bridge can give is judged by a validator this project did not write.
"""

from __future__ import annotations

import functools
import inspect
import json
import sys
from pathlib import Path

import pytest
import websocket

from ocpp_bridge.demo.csms import CallErrorReceived
from support.station import CP_ID
from support.strict_csms.peer import VALIDATION_CODES, InvalidRequest, StrictCsms, node_modules

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))     # the flows below are imported from their own modules

import test_connection  # noqa: E402
import test_provisioning  # noqa: E402
import test_v16_firmware_e2e  # noqa: E402
import test_v16_sessions  # noqa: E402
import test_v16_smart_charging_e2e  # noqa: E402
import test_v201_device_management_e2e  # noqa: E402
import test_v201_firmware_e2e  # noqa: E402
import test_v201_sessions  # noqa: E402
import test_v201_smart_charging_e2e  # noqa: E402

FLOW_MODULES = (test_v16_sessions, test_v201_sessions, test_provisioning, test_connection,
                test_v16_smart_charging_e2e, test_v201_smart_charging_e2e, test_v16_firmware_e2e,
                test_v201_firmware_e2e, test_v201_device_management_e2e)


# -- the strict peer in place of the `ocpp` package's CSMS -----------------------------------
@pytest.fixture
def strict_peers():
    """Every StrictCsms this test started; stopped at teardown."""
    made: list[StrictCsms] = []
    yield made
    for peer in made:
        peer.stop()


@pytest.fixture
def csms(strict_peers, tmp_path):
    """Overrides tests/conftest.py's ``csms``: ``csms(version, **kwargs)`` → a StrictCsms.
    ``station`` and ``charging_station`` take it from here for the tests of this module."""
    def make(version: str, **kwargs) -> StrictCsms:
        peer = StrictCsms(version, log_dir=tmp_path / "strict-csms", **kwargs).start()
        strict_peers.append(peer)
        return peer
    return make


def _judged_by_the_strict_peer(flow):
    """``flow`` as it is, then: the strict peer was used and refused nothing."""
    signature = inspect.signature(flow)

    @functools.wraps(flow)
    def run(*args, strict_peers, **kwargs):
        flow(*args, **kwargs)
        assert strict_peers, "the flow never started a CSMS"
        for peer in strict_peers:
            peer.assert_clean()

    extra = inspect.Parameter("strict_peers", inspect.Parameter.KEYWORD_ONLY)
    run.__signature__ = signature.replace(parameters=[*signature.parameters.values(), extra])
    run.__module__ = __name__
    return run


for _module in FLOW_MODULES:                    # test_v16_sessions.test_x -> test_v16_sessions__x
    for _name, _flow in vars(_module).items():
        if _name.startswith("test_") and inspect.isfunction(_flow):
            globals()[f"{_module.__name__}__{_name[len('test_'):]}"] = _judged_by_the_strict_peer(_flow)
del _module, _name, _flow


# -- the judge itself ------------------------------------------------------------------------
@pytest.mark.parametrize("version, frame, code", [
    ("1.6", [2, "s1", "StatusNotification", {"connectorId": 1, "errorCode": "NoError", "status": "Available",
                                             "timestamp": "2026-01-01T00:00:00"}], "FormationViolation"),
    ("1.6", [2, "s2", "Heartbeat", {"extra": 1}], "PropertyConstraintViolation"),
    ("2.0.1", [2, "s3", "Heartbeat", {"extra": 1}], "PropertyConstraintViolation"),
    ("2.0.1", [2, "s4", "StatusNotification", {"timestamp": "2026-01-01T00:00:00Z", "connectorStatus": "Free",
                                               "evseId": 1, "connectorId": 1}], "FormatViolation"),
])
def test_the_strict_peer_refuses_what_the_schemas_forbid(csms, version, frame, code):
    """Without this, "the strict peer refused nothing" would prove nothing."""
    peer = csms(version)
    subprotocol = "ocpp1.6" if version == "1.6" else "ocpp2.0.1"
    ws = websocket.create_connection(peer.url + "/CP-judge", subprotocols=[subprotocol], timeout=10)
    try:
        ws.send(json.dumps(frame))
        reply = json.loads(ws.recv())
        with pytest.raises(InvalidRequest):          # nor does it send an invalid CALL itself
            peer.call("CP-judge", "Reset", {"type": "Sideways"})
    finally:
        ws.close()
    assert reply[:3] == [4, frame[1], code], reply
    assert [(p["event"], p["sender"], p["action"]) for p in peer.problems()] == [
        ("strict_failure", "station", frame[2]), ("strict_failure", "csms", "Reset")]
    with pytest.raises(AssertionError):
        peer.assert_clean()


# -- every CSMS-initiated action, once ------------------------------------------------------
def _schemas(version: str) -> dict[str, dict]:
    name = "ocpp1_6.json" if version == "1.6" else "ocpp2_0_1.json"
    schemas = json.loads((node_modules() / "ocpp-rpc" / "lib" / "schemas" / name).read_text())
    return {s["$id"]: s for s in schemas}


def minimal_instance(schema: dict, root: dict) -> object:
    """The smallest instance of ``schema`` with every required part: first enum value,
    shortest allowed string, lowest allowed number, one item per array."""
    if "$ref" in schema:
        return minimal_instance(root["definitions"][schema["$ref"].rsplit("/", 1)[-1]], root)
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object":
        props = schema.get("properties", {})
        return {key: minimal_instance(props[key], root) for key in schema.get("required", [])}
    if kind == "array":
        return [minimal_instance(schema["items"], root)] * max(1, schema.get("minItems", 0))
    if kind in ("integer", "number"):
        return schema.get("minimum", 1)
    if kind == "boolean":
        return False
    if schema.get("format") == "date-time":
        return "2030-01-01T00:00:00Z"
    if schema.get("format") == "uri":
        return "http://127.0.0.1:9/file"
    return "A" * max(1, schema.get("minLength", 1))


def csms_initiated_actions(version: str, schemas: dict[str, dict]) -> list[str]:
    """Actions with a schema that the CSMS side sends (Reset last: it restarts the OCPP side)."""
    station_sends = set(StrictCsms(version)._defaults) - {"DataTransfer"}
    actions = sorted({sid[len("urn:"):-len(".req")] for sid in schemas if sid.endswith(".req")} - station_sends)
    return sorted(actions, key=lambda a: a == "Reset")


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
def test_every_csms_action_gets_an_answer_the_strict_peer_accepts(charging_station, strict_peers, version):
    st = charging_station(version=version)
    schemas = _schemas(version)
    answers: dict[str, object] = {}
    mark = st.csms.mark()
    for action in csms_initiated_actions(version, schemas):
        request = minimal_instance(schemas[f"urn:{action}.req"], schemas[f"urn:{action}.req"])
        try:
            answers[action] = st.csms.call(CP_ID, action, request, timeout=15)
        except CallErrorReceived as e:
            answers[action] = e.code
    refused = {a: code for a, code in answers.items() if isinstance(code, str) and code in VALIDATION_CODES}
    assert refused == {}, "the bridge called a schema-valid CALL invalid"
    assert len(answers) >= (25 if version == "1.6" else 35)
    assert answers["Reset"] == {"status": "Accepted"}
    st.csms.wait_for("BootNotification", after_index=mark, timeout=20)   # booted again after the reset
    assert st.bridge.alive
    st.csms.assert_clean()
