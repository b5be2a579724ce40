"""Calls to required modules: answered once, or timed out once."""

from ocpp_bridge.everest.calls import OutstandingCalls
from ocpp_bridge.everest.protocol import IncomingResult


def test_answer_then_late_duplicate_ignored():
    ids = iter(["a", "b"])
    calls = OutstandingCalls(new_id=lambda: next(ids))
    got = []
    cid = calls.start("evse.get_evse", now=0, timeout_s=5, on_done=lambda r, e: got.append((r, e)))
    assert cid == "a" and calls.deadline() == 5
    assert calls.answer(IncomingResult("a", {"id": 1}))
    assert not calls.answer(IncomingResult("a", {"id": 2}))
    assert got == [({"id": 1}, None)] and len(calls) == 0


def test_timeout_reports_cmd_timeout():
    calls = OutstandingCalls()
    got = []
    calls.start("x.y", now=10, timeout_s=2, on_done=lambda r, e: got.append(e))
    assert calls.expire(11.9) == []
    assert len(calls.expire(12.0)) == 1
    assert got[0][0] == "CmdTimeout"
    assert calls.deadline() is None
