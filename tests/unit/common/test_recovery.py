"""Crash and power-loss recovery of transactions (``ocpp/common/recovery.py``), shared by
both versions: which sessions wait for their EVSE after a restart, which are resumed, and
which open transaction is closed as PowerLoss (and when the EVSE is told). Worked examples on
the pure tracker; the versions' own closing (StopTransaction, TransactionEvent Ended) is in
``test_v16_transactions.py`` / ``test_v201_transactions.py``."""

import logging

import pytest

from ocpp_bridge.ocpp import evse_events as E
from ocpp_bridge.ocpp.common.recovery import Recovery, energy_changed
from support.core_fakes import RecordingEvse

TS = "2026-01-01T00:00:00Z"
METER = E.MeterSample(timestamp=TS, energy_import_wh=0.0)


class Block:
    """The version's side: records what recovery asks it to close."""

    def __init__(self, transactions: set[str]):
        self.transactions = transactions  # sessions that are OCPP transactions (not just sessions)
        self.closed: list[tuple[str, bool]] = []

    def close(self, session_id: str, unresumed: bool) -> bool:
        self.closed.append((session_id, unresumed))
        return session_id in self.transactions


def tracker(*loaded: str, transactions=("a", "b")) -> tuple[Recovery, Block, RecordingEvse]:
    block, evse = Block(set(transactions)), RecordingEvse()
    recovery = Recovery(evse, block.close)
    for session_id in loaded:
        recovery.loaded(session_id)
    return recovery, block, evse


def test_a_session_the_evse_resumes_goes_on(caplog):
    recovery, block, evse = tracker("a")
    with caplog.at_level(logging.INFO, logger="ocpp_bridge.ocpp.common.recovery"):
        recovery.on_event(E.SessionResumed(1, 1, "a", TS), ["a"])
    assert "EVSE 1: session a resumed; its transaction goes on" in caplog.text
    recovery.on_event(E.EvseReady(1), ["a"])
    assert block.closed == [] and evse.calls == [] and recovery.waiting() == frozenset()


@pytest.mark.parametrize("event", [E.ChargingStateChanged(1, 1, "a", "Charging", TS),
                                   E.TransactionFinished(1, 1, "a", TS, "Local", METER)])
def test_any_event_naming_the_session_resumes_it(event):
    recovery, block, _ = tracker("a")
    recovery.on_event(event, ["a"])
    recovery.on_event(E.EvseReady(1), ["a"])
    assert block.closed == []


def test_the_evse_ready_without_it_closes_it_as_power_loss_and_tells_the_evse():
    recovery, block, evse = tracker("a", "b")
    recovery.on_event(E.EvseReady(2), ["b"])
    assert block.closed == [("b", True)] and evse.calls == [("stop_transaction", 2, "PowerLoss")]
    assert recovery.waiting() == frozenset({"a"})      # EVSE 1 is not ready yet


def test_a_session_that_was_no_transaction_is_closed_without_telling_the_evse():
    recovery, block, evse = tracker("c")                # e.g. 2.0.1: plugged in, never started
    recovery.on_event(E.EvseReady(1), ["c"])
    assert block.closed == [("c", True)] and evse.calls == []


def test_evse_ready_leaves_the_sessions_of_this_run_alone():
    recovery, block, evse = tracker()
    recovery.on_event(E.EvseReady(1), ["a"])            # a second get_evse answer, say
    assert block.closed == [] and evse.calls == []


@pytest.mark.parametrize("event", [E.SessionStarted(1, 1, "new", TS),
                                   E.TransactionStarted(1, 1, "new", TS, E.IdToken("T"), METER)])
def test_a_new_session_closes_the_one_left_open_on_its_evse(event):
    recovery, block, evse = tracker("a")
    recovery.on_event(event, ["a"])
    assert block.closed == [("a", False)] and evse.calls == []   # the EVSE has moved on
    assert recovery.waiting() == frozenset()
    recovery.on_event(E.SessionStarted(1, 1, "new", TS), ["new"])  # its own session: nothing
    assert block.closed == [("a", False)]


def test_a_new_session_closes_a_leftover_of_this_run_too():
    recovery, block, _ = tracker()                      # its end was lost, not a restart
    recovery.on_event(E.SessionStarted(1, 1, "new", TS), ["a"])
    assert block.closed == [("a", False)]


def test_a_session_forgotten_at_its_end_no_longer_waits():
    recovery, block, _ = tracker("a")
    recovery.forget("a")                                # e.g. stopped by the CSMS meanwhile
    recovery.on_event(E.EvseReady(1), ["a"])
    assert block.closed == [] and recovery.waiting() == frozenset()


def test_a_record_keeps_every_change_of_the_energy_reading_to_the_wh():
    assert energy_changed(None, 100.0) and energy_changed(100.0, 101.0)
    assert not energy_changed(100.0, 100.4) and not energy_changed(100.0, None) and not energy_changed(None, None)
