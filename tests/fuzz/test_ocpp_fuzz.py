"""Property-based fuzzing of the OCPP side, in-process (issue 8 §5): the real 1.6 and 2.0.1
charge points, a scripted CSMS, a fake clock.

For every CSMS-initiated action of both versions: schema-valid CALLs generated from the
official schemas, schema-invalid ones, and broken frames. Properties:
- every CALL gets an answer: a CALLRESULT valid against the official response schema, or a
  CALLERROR whose code is in the version's vocabulary (and, for a schema-valid CALL whose
  values we can carry, not a validation code, and never InternalError);
- a frame that is not a CALL gets nothing but such a CALLERROR, if anything;
- every frame written is UTF-8, and no log record carries a traceback.
Counts and run time are printed in the terminal summary.
"""

from __future__ import annotations

import itertools
import json

import pytest
from fuzzing import fuzz_settings
from hypothesis import given
from hypothesis import strategies as st
from ocpp_strategies import (
    CSMS_ACTIONS,
    VALIDATION_CODES,
    VOCABULARY,
    broken_frames,
    calls,
    frame_text,
    invalid_payloads,
    valid_payloads,
)
from station_rig import StationRig

from ocpp_bridge import json_edge

VERSIONS = pytest.mark.parametrize("version", ["1.6", "2.0.1"])
# Examples per action: an action the station answers NotSupported (found by asking it) gets
# a few, to prove that; the ones it implements get the volume.
SUPPORTED_EXAMPLES = {"1.6": 60, "2.0.1": 50}
UNSUPPORTED_EXAMPLES = 3
BROKEN_EXAMPLES = 600


@pytest.fixture
def rig(request, tmp_path):
    made = StationRig(request.node.callspec.params["version"], str(tmp_path))
    yield made
    made.close()


def check_answer(rig: StationRig, action: str, reply: list | None) -> str:
    """Assert the answer obeys the properties; returns a short name of what it was."""
    assert reply is not None, f"no answer to {action}"
    if reply[0] == 3:
        rig.schemas.check_response(action, reply[2])
        return "result"
    assert reply[0] == 4 and len(reply) == 5, reply
    assert reply[2] in VOCABULARY[rig.version], f"{reply[2]} is not an OCPP {rig.version} error code"
    assert isinstance(reply[3], str) and isinstance(reply[4], dict)
    return reply[2]


def no_harm_done(rig: StationRig, tracebacks) -> None:
    assert rig.unencodable == [], rig.unencodable[:3]
    assert tracebacks.records == [], tracebacks.describe()


def implemented(rig: StationRig, action: str) -> bool:
    """Black box: does the station answer ``action`` with anything but NotSupported?"""
    return rig.send(frame_text("probe", action, {}), "probe")[2] != "NotSupported"


def fuzz_every_action(rig: StationRig, payloads, check, tally) -> None:
    """Run ``check(action, payload, unique_id)`` on generated payloads of every CSMS action."""
    ids = itertools.count()
    for action in CSMS_ACTIONS[rig.version]:
        supported = implemented(rig, action)
        tally.add("implemented" if supported else "not implemented")

        @fuzz_settings(SUPPORTED_EXAMPLES[rig.version] if supported else UNSUPPORTED_EXAMPLES)
        @given(payloads(rig.version, action))
        def run(payload):
            check(action, payload, f"f{next(ids)}")
            tally.add("examples")

        run()


@VERSIONS
def test_schema_valid_calls_get_a_valid_result_or_a_fitting_callerror(version, rig, tally, tracebacks):
    def check(action, payload, uid):
        got = check_answer(rig, action, rig.send(frame_text(uid, action, payload), uid))
        if got != "result":
            carried = json_edge.problem(payload) is None
            assert got != "InternalError", f"{action} {payload} -> InternalError"
            assert not (carried and got in VALIDATION_CODES), f"valid {action} {payload} answered {got}"
        tally.add(got)
        no_harm_done(rig, tracebacks)

    fuzz_every_action(rig, valid_payloads, check, tally)


@VERSIONS
def test_schema_invalid_calls_get_a_valid_result_or_a_callerror(version, rig, tally, tracebacks):
    def check(action, payload, uid):
        got = check_answer(rig, action, rig.send(frame_text(uid, action, payload), uid))
        if json_edge.problem(payload) is not None and got != "NotSupported":
            assert got in ("TypeConstraintViolation", "FormationViolation", "FormatViolation"), (action, got)
        tally.add(got)
        no_harm_done(rig, tracebacks)

    fuzz_every_action(rig, invalid_payloads, check, tally)


@VERSIONS
def test_broken_frames_get_a_callerror_or_nothing_and_the_station_goes_on(version, rig, tally, tracebacks):
    @fuzz_settings(BROKEN_EXAMPLES)
    @given(broken_frames)
    def run(text):
        start = len(rig.written)
        rig.send(text)
        answers = [f for f in rig.written[start:] if f[0] != 2]
        for frame in answers:
            assert frame[0] == 4 and frame[2] in VOCABULARY[version], frame
        tally.add("examples")
        tally.add("answered" if answers else "silent")
        no_harm_done(rig, tracebacks)

    run()
    action, payload = ("GetConfiguration", {}) if version == "1.6" else ("GetLocalListVersion", {})
    assert rig.send(frame_text("after", action, payload), "after")[0] == 3, "the station stopped answering"


def test_the_generated_valid_payloads_are_valid(tally):
    """The generator's shortcuts (short arrays, customData left out) keep payloads valid."""
    from ocpp_bridge.ocpp.schemas import OcppSchemas
    schemas = {v: OcppSchemas(v) for v in CSMS_ACTIONS}

    @fuzz_settings(150)
    @given(st.sampled_from(list(CSMS_ACTIONS)).flatmap(
        lambda version: calls(version, valid_payloads).map(lambda call: (version, *call))))
    def run(generated):
        version, action, payload = generated
        schemas[version].check_request(action, json.loads(json.dumps(payload)))
        tally.add("examples")

    run()
