"""Property-based fuzzing of the bus side, in-process (issue 8 §5): the real Engine serving
every command of every provided implementation (``engine_rig.py``), both OCPP versions and
both framework generations.

Generated per command: schema-valid arguments (hypothesis-jsonschema on the interface's own
argument schemas), schema-invalid ones, and broken messages on its topic. Properties:
- every call whose id (and, in 2025.12, origin) can be answered gets exactly one reply with
  that id, holding a ``retval`` (valid against the command's result schema) or an error of
  the framework's vocabulary; schema-valid arguments we can carry are never refused as
  invalid, and no handler raises;
- the variables of the evse_manager we require, valid, invalid or broken, never break the
  engine: the station goes on answering the CSMS and the bus;
- nothing published is anything but UTF-8, and no log record carries a traceback.
"""

from __future__ import annotations

import itertools
import json

import pytest
from bus_strategies import EVEREST_ERRORS, args_of, broken_messages, commands, required_vars
from engine_rig import EVSE, PREFIX, EngineRig, definitions
from fuzzing import fuzz_settings
from hypothesis import given
from hypothesis import strategies as st

from ocpp_bridge import json_edge

CASES = pytest.mark.parametrize("version, generation", [
    ("1.6", "2025.12"), ("2.0.1", "2025.12"), ("1.6", "2024.11"), ("2.0.1", "2024.11")])
EXAMPLES = {"2025.12": 40, "2024.11": 8}  # per command and kind
BROKEN = {"2025.12": 30, "2024.11": 8}


@pytest.fixture
def rig(request, tmp_path):
    params = request.node.callspec.params
    made = EngineRig(params["version"], params["generation"], str(tmp_path))
    yield made
    made.close()


def interface_of(impl: str) -> str:
    return definitions().provides()[impl]


def one_reply(rig: EngineRig, impl: str, cmd: str, call_id, replies: list[dict]) -> dict:
    assert len(replies) == 1, f"{impl}.{cmd} {call_id!r}: {len(replies)} replies {replies}"
    reply = replies[0]
    assert reply.get("id") == call_id and reply.get("origin") == "ocpp", reply
    if "error" in reply:
        assert reply["error"]["__everest__error_type"] in EVEREST_ERRORS, reply
    else:
        assert "retval" in reply, reply
        definitions().check_result(interface_of(impl), cmd, reply["retval"])
    return reply


def no_harm_done(rig: EngineRig, tracebacks) -> None:
    assert rig.bus.unencodable == [] and rig.unencodable_frames == [], (rig.bus.unencodable[:2],
                                                                         rig.unencodable_frames[:2])
    assert tracebacks.records == [], tracebacks.describe()


def outcome(reply: dict) -> str:
    return reply["error"]["__everest__error_type"] if "error" in reply else "result"


@CASES
@pytest.mark.parametrize("valid", [True, False], ids=["valid", "invalid"])
def test_every_command_with_generated_arguments_gets_one_fitting_reply(version, generation, valid, rig, tally,
                                                                       tracebacks):
    ids = itertools.count()
    for impl, cmd, schema in commands():
        @fuzz_settings(EXAMPLES[generation])
        @given(args_of(schema, valid))
        def run(args):
            call_id = f"c{next(ids)}"
            payload = json.dumps(rig.envelope(cmd, call_id, args)).encode()
            reply = one_reply(rig, impl, cmd, call_id, rig.deliver(rig.topic(impl, cmd), payload))
            got = outcome(reply)
            if valid and json_edge.problem(args) is None:
                assert got not in ("SchemaValidationError", "MessageParsingError", "HandlerException"), reply
            tally.add("examples")
            tally.add(got)
            no_harm_done(rig, tracebacks)

        run()


@CASES
def test_broken_messages_on_every_command_topic_get_an_error_reply_or_a_log_line(version, generation, rig, tally,
                                                                                 tracebacks):
    for impl, cmd, schema in commands():
        @fuzz_settings(BROKEN[generation])
        @given(broken_messages(generation, cmd, args_of(schema, valid=False)))
        def run(payload):
            replies = rig.deliver(rig.topic(impl, cmd), payload)
            assert len(replies) <= 1, replies
            for reply in replies:
                assert set(reply) >= {"id", "origin"} and ("error" in reply or "retval" in reply), reply
                if "error" in reply:
                    assert reply["error"]["__everest__error_type"] in EVEREST_ERRORS, reply
            tally.add("examples")
            tally.add(outcome(replies[0]) if replies else "no reply")
            no_harm_done(rig, tracebacks)

        run()
    # still serving
    reply = rig.deliver(rig.topic("main", "get_configuration_key"),
                        json.dumps(rig.envelope("get_configuration_key", "after", {"keys": []})).encode())
    assert one_reply(rig, "main", "get_configuration_key", "after", reply)["retval"] is not None


VAR_EXAMPLES = 25  # per variable and kind


@pytest.mark.parametrize("version, generation", [("1.6", "2025.12"), ("2.0.1", "2025.12")])
def test_evse_manager_variables_of_any_shape_never_break_the_engine(version, generation, rig, tally, tracebacks):
    """What the evse_manager publishes drives sessions, meter values and statuses."""
    for var, schema in required_vars():
        topic = f"{PREFIX}modules/{EVSE[0]}/impl/{EVSE[1]}/var/{var}"

        @fuzz_settings(VAR_EXAMPLES)
        @given(st.booleans().flatmap(lambda valid: args_of(schema, valid).map(lambda v: (valid, v))))
        def run(example):
            valid, value = example
            rig.deliver(topic, json.dumps({"msg_type": "Var", "data": {"data": value}}).encode())
            tally.add("examples")
            tally.add("valid" if valid else "invalid")
            no_harm_done(rig, tracebacks)

        run()
        rig.deliver(topic, b'{"msg_type":"Var","data":{"data":' + b"[" * 1000 + b"]" * 1000 + b"}}")
    reply = rig.deliver(rig.topic("main", "get_configuration_key"),
                        json.dumps(rig.envelope("get_configuration_key", "after", {"keys": []})).encode())
    assert one_reply(rig, "main", "get_configuration_key", "after", reply)["retval"] is not None
    assert rig.engine.station.core.connected and rig.engine.station.core.registration == "Accepted"
    no_harm_done(rig, tracebacks)
