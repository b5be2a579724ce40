"""Property-based fuzzing through the real bridge process (issue 8 §5): a real mosquitto, the
``ocpp`` package's CSMS on a real websocket, one EVSE simulator, an EVerest peer.

A bounded number of examples per version (the in-process fuzz tests carry the volume):
schema-valid and schema-invalid CSMS CALLs of every CSMS-initiated action and broken
frames over the websocket, generated arguments for the bus commands. Properties: every CALL
gets a CALLRESULT valid against the official schema or a CALLERROR of the version's
vocabulary (or the bridge reconnects, when the CALL asked for that); every bus command gets
a result or an error of the framework's vocabulary; the process never dies, always
reconnects, and its log holds no traceback.
"""

from __future__ import annotations

import itertools
import json
import time

import pytest
from bus_strategies import EVEREST_ERRORS, args_of, commands
from fuzzing import fuzz_settings
from hypothesis import given
from hypothesis import strategies as st
from ocpp_strategies import VOCABULARY, broken_frames, calls, frame_text, invalid_payloads, valid_payloads
from websockets.exceptions import ConnectionClosed

from ocpp_bridge.ocpp.schemas import OcppSchemas
from support.everest_peer import CommandError
from support.station import CP_ID

CSMS_EXAMPLES = 150
BUS_EXAMPLES = 100
LIVE_COMMANDS = [c for c in commands() if c[1] != "stop"]  # a stopped bridge would end the CSMS half


def answers(csms, unique_id: str, after: int) -> list[list]:
    found = []
    for frame in csms.frames(CP_ID)[after:]:
        if frame["direction"] != "in":
            continue
        try:
            message = json.loads(frame["text"])
        except ValueError:
            continue
        if isinstance(message, list) and message[:1] in ([3], [4]) and len(message) > 1 and message[1] == unique_id:
            found.append(message)
    return found


def wait_answer(csms, unique_id: str, after: int, connections: int, timeout: float = 20) -> list | None:
    """The station's answer to ``unique_id``; None when the station reconnected instead (and
    no answer came on the old connection within a second of that)."""
    deadline = time.monotonic() + timeout
    reconnected_at = None
    while time.monotonic() < deadline:
        got = answers(csms, unique_id, after)
        if got:
            return got[0]
        if reconnected_at is None and csms.connection_count(CP_ID) > connections:
            reconnected_at = time.monotonic()
        if reconnected_at is not None and time.monotonic() - reconnected_at > 1.0:
            return None
        time.sleep(0.005)
    raise AssertionError(f"no answer to {unique_id} within {timeout} s")


def send(csms, text: str) -> tuple[int, int]:
    """Send ``text`` once the station is connected; (frames before it, connection number)."""
    csms.wait_for_station(CP_ID, timeout=30)
    connections, mark = csms.connection_count(CP_ID), len(csms.frames(CP_ID))
    try:
        csms.send_raw(CP_ID, text, expect_reply=False)
    except (ConnectionError, ConnectionClosed):  # it went away just now: the answer check sees the reconnect
        pass
    return mark, connections


def csms_examples(version: str):
    """Two valid CALLs, two invalid ones and one broken frame in five, on average."""
    kinds = {"valid": calls(version, valid_payloads).map(lambda call: ("call", call)),
             "invalid": calls(version, invalid_payloads).map(lambda call: ("call", call)),
             "broken": broken_frames.map(lambda text: ("broken", text))}
    return st.sampled_from(["valid", "valid", "invalid", "invalid", "broken"]).flatmap(kinds.__getitem__)


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
def test_the_live_bridge_survives_fuzzed_csms_frames_and_bus_commands(version, charging_station, tally):
    st_ = charging_station(evses=1, version=version, config={"CommandTimeoutS": 5})
    csms, schemas, ids = st_.csms, OcppSchemas(version), itertools.count()

    @fuzz_settings(CSMS_EXAMPLES)
    @given(csms_examples(version))
    def csms_side(example):
        kind, body = example
        uid = f"fz{next(ids)}"
        if kind == "broken":
            send(csms, body)
            sentinel = f"{uid}-after"
            mark, connections = send(csms, frame_text(sentinel, "GetLocalListVersion", {}))
            wait_answer(csms, sentinel, mark, connections)
            tally.add("broken frames")
        else:
            action, payload = body
            mark, connections = send(csms, frame_text(uid, action, payload))
            reply = wait_answer(csms, uid, mark, connections)
            if reply is None:
                tally.add("reconnected")
            elif reply[0] == 3:
                schemas.check_response(action, reply[2])
                tally.add("result")
            else:
                assert reply[2] in VOCABULARY[version], reply
                tally.add(reply[2])
        tally.add("examples")
        assert st_.bridge.alive

    @fuzz_settings(BUS_EXAMPLES)
    @given(st.sampled_from(LIVE_COMMANDS).flatmap(
        lambda c: st.tuples(st.just(c[:2]), st.booleans().flatmap(lambda valid: args_of(c[2], valid)))))
    def bus_side(example):
        (impl, cmd), args = example
        try:
            st_.call(impl, cmd, args, timeout=15)
            tally.add("bus result")
        except CommandError as exc:
            assert exc.error_type in EVEREST_ERRORS, exc
            tally.add(f"bus {exc.error_type}")
        tally.add("examples")
        assert st_.bridge.alive

    csms_side()
    bus_side()
    csms.wait_for_station(CP_ID, timeout=30)
    mark, connections = send(csms, frame_text("final", "GetLocalListVersion", {}))
    assert wait_answer(csms, "final", mark, connections)[0] == 3
    assert st_.call("main", "get_configuration_key", {"keys": []}) is not None
    assert st_.bridge.alive and "Traceback" not in st_.bridge.log_text()
