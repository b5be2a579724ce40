"""A CSMS CALL whose answer waits on another module is answered within ``answer_timeout_s``
(CsmsAnswerTimeoutS) with the spec's failure answer when that module stays silent (review
H5). Pure charge points, fake EVSE port, fake clock."""

import logging

import pytest
from v201_harness import Sim

from support.cp16 import Rig

BOUND = 5.0


def held_rig(tmp_path, *hold):
    rig = Rig(tmp_path).boot()
    rig.cp.core.answer_timeout_s = BOUND
    rig.port.hold.update(hold)
    return rig


@pytest.mark.parametrize("action, payload, hold, fallback", [
    ("UnlockConnector", {"connectorId": 1}, "force_unlock", {"status": "UnlockFailed"}),
    ("ReserveNow", {"connectorId": 1, "expiryDate": "2026-01-01T01:00:00Z", "idTag": "T1", "reservationId": 7},
     "reserve", {"status": "Rejected"}),
])
def test_v16_a_silent_evse_gets_the_failure_answer_within_the_bound(tmp_path, caplog, action, payload, hold,
                                                                      fallback):
    rig = held_rig(tmp_path, hold)
    assert rig.request(action, payload) is None, "waiting on the EVSE"
    rig.advance(BOUND - 0.5)
    assert rig.reply() is None
    with caplog.at_level(logging.WARNING, logger="ocpp_bridge.ocpp"):
        rig.advance(1.0)
    assert rig.reply() == fallback
    assert any(f"no answer from the module within {BOUND:.0f}s" in r.getMessage() for r in caplog.records)
    # the EVSE's late answer changes nothing on the wire: one answer per CALL
    _name, done = rig.port.held.pop()
    done(True)
    rig.advance(0)
    assert sum(1 for f in rig.sent if f[0] in (3, 4) and f[1] == rig.last_request_id) == 1


def test_v16_a_late_yes_to_a_reservation_answered_rejected_is_undone(tmp_path):
    rig = held_rig(tmp_path, "reserve")
    rig.request("ReserveNow", {"connectorId": 1, "expiryDate": "2026-01-01T01:00:00Z", "idTag": "T1",
                               "reservationId": 7})
    rig.advance(BOUND)
    assert rig.reply() == {"status": "Rejected"}
    _name, done = rig.port.held.pop()
    done(True)
    assert rig.port.calls[-1] == ("cancel_reservation", 1)
    assert rig.request("CancelReservation", {"reservationId": 7}) == {"status": "Rejected"}, "no reservation kept"


def test_v16_unlock_waiting_on_stop_then_unlock_is_bounded_once(tmp_path):
    rig = held_rig(tmp_path, "stop_transaction")
    session = rig.plug_in(1)
    rig.start_tx(1, session)
    assert rig.request("UnlockConnector", {"connectorId": 1}) is None
    rig.advance(BOUND)
    assert rig.reply() == {"status": "UnlockFailed"}


def test_v16_data_transfer_to_a_silent_module_is_rejected_in_time(tmp_path):
    rig = held_rig(tmp_path)
    held = []
    rig.port.data_transfer = lambda request, done: held.append(done)
    assert rig.request("DataTransfer", {"vendorId": "acme"}) is None
    rig.advance(BOUND)
    assert rig.reply() == {"status": "Rejected"}


def test_an_answer_in_time_cancels_the_deadline(tmp_path):
    rig = held_rig(tmp_path, "force_unlock")
    rig.request("UnlockConnector", {"connectorId": 2})
    rig.advance(1.0)
    _name, done = rig.port.held.pop()
    done(True)
    rig.advance(0)
    assert rig.reply() == {"status": "Unlocked"}
    assert not [n for n in rig.cp.core.timers._due if n.startswith("csms-answer")]


@pytest.mark.parametrize("action, payload, hold, fallback", [
    ("UnlockConnector", {"evseId": 1, "connectorId": 1}, "force_unlock", {"status": "UnlockFailed"}),
    ("ReserveNow", {"id": 3, "expiryDateTime": "2026-01-01T01:00:00Z", "evseId": 1,
                    "idToken": {"idToken": "T1", "type": "ISO14443"}}, "reserve", {"status": "Rejected"}),
])
def test_v201_a_silent_evse_gets_the_failure_answer_within_the_bound(tmp_path, action, payload, hold, fallback):
    sim = Sim(tmp_path)
    sim.cp.core.answer_timeout_s = BOUND
    sim.port.hold.add(hold)
    assert sim.request(action, payload) is None
    sim.tick(BOUND - 0.5)
    assert answers_to(sim, "csms-1") == []
    sim.tick(0.5)
    assert answers_to(sim, "csms-1") == [[3, "csms-1", fallback]]


def answers_to(sim, uid):
    return [f for f in sim.sent if f[0] in (3, 4) and f[1] == uid]


def test_v201_data_transfer_to_a_silent_module_is_rejected_in_time(tmp_path):
    sim = Sim(tmp_path)
    sim.cp.core.answer_timeout_s = BOUND
    sim.port.data_transfer = lambda request, done: None
    assert sim.request("DataTransfer", {"vendorId": "acme"}) is None
    sim.tick(BOUND)
    assert sim.reply_to()[2] == {"status": "Rejected"}
