"""OCPP 2.0.1 StatusNotification delivery (block G) and the reconnect rule of B04, on the pure
core with a scripted CSMS and a fake clock (``v201_harness``).

A status counts as reported only when the CSMS acknowledged it; after a reconnect every
connector is sent when the outage lasted longer than OCPPCommCtrlr.OfflineThreshold, else only
those the CSMS does not have.
"""

import json

import pytest
from v201_harness import Sim, plug

from ocpp_bridge.ocpp import evse_events as E


def statuses(sim, since=0):
    return [(p["evseId"], p["connectorStatus"]) for p in sim.payloads("StatusNotification")[since:]]


def set_offline_threshold(sim, seconds):
    reply = sim.request("SetVariables", {"setVariableData": [
        {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "OfflineThreshold"},
         "attributeValue": str(seconds)}]})
    assert reply["setVariableResult"][0]["attributeStatus"] == "Accepted"


def refuse_held_status(sim):
    """The CSMS answers the unanswered StatusNotification with a CALLERROR."""
    frame = next(f for f in reversed(sim.calls("StatusNotification")))
    sim.cp.core.on_text(json.dumps([4, frame[1], "InternalError", "not now", {}]), sim.now)


def test_offline_threshold_is_in_the_device_model_and_writable(tmp_path):
    sim = Sim(tmp_path)
    assert sim.request("GetVariables", {"getVariableData": [
        {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "OfflineThreshold"}}]}
    )["getVariableResult"][0]["attributeValue"] == "60"
    set_offline_threshold(sim, 600)
    assert sim.cp.model.int_value("OCPPCommCtrlr", "OfflineThreshold") == 600


def test_a_status_cut_by_a_disconnect_is_sent_again_after_the_reconnect(tmp_path):
    sim = Sim(tmp_path)
    n = len(statuses(sim))
    sim.hold.add("StatusNotification")
    sim.ev(plug(1, "s1"))                                # Occupied on the wire, never answered
    sim.disconnect()
    sim.hold.clear()
    sim.tick(5)                                          # a short outage
    sim.connect()
    assert statuses(sim, n) == [(1, "Occupied"), (1, "Occupied")]   # EVSE 2 the CSMS has already


def test_a_status_dropped_from_the_queue_is_sent_again_after_the_reconnect(tmp_path):
    sim = Sim(tmp_path)
    n = len(statuses(sim))
    sim.hold.add("StatusNotification")
    sim.ev(plug(1, "s1"), plug(2, "s2"))                 # EVSE 1 in flight, EVSE 2 queued behind it
    sim.disconnect()                                     # the queue is dropped (QueueAllMessages false)
    sim.hold.clear()
    sim.connect()
    assert statuses(sim, n) == [(1, "Occupied"), (1, "Occupied"), (2, "Occupied")]


def test_a_refused_status_is_sent_again_and_then_counts_as_reported(tmp_path, caplog):
    sim = Sim(tmp_path)
    n = len(statuses(sim))
    sim.hold.add("StatusNotification")
    sim.ev(plug(1, "s1"))
    refuse_held_status(sim)
    assert "StatusNotification EVSE 1 connector 1 Occupied refused (InternalError)" in caplog.text
    sim.hold.clear()
    sim.disconnect()
    sim.connect()                                        # short outage: only what the CSMS lacks
    assert statuses(sim, n) == [(1, "Occupied"), (1, "Occupied")]
    sim.disconnect()
    sim.connect()
    assert statuses(sim, n) == [(1, "Occupied"), (1, "Occupied")]   # acknowledged now: not again


def test_a_queued_status_is_not_queued_twice(tmp_path):
    sim = Sim(tmp_path)
    n = len(statuses(sim))
    sim.hold.add("StatusNotification")
    sim.ev(plug(1, "s1"), E.EvseEnabled(1, 1, True))     # the second event recomputes EVSE 1
    assert statuses(sim, n) == [(1, "Occupied")]


@pytest.mark.parametrize("threshold, outage, every_connector", [
    (30, 31, True), (30, 30, False),     # longer than the threshold, or not
    (3600, 600, False), (300, 600, True),  # the value SetVariables wrote is the one used
])
def test_tc_b_04_statuses_after_a_reconnect(tmp_path, threshold, outage, every_connector):
    sim = Sim(tmp_path)
    set_offline_threshold(sim, threshold)
    n = len(statuses(sim))
    sim.disconnect()
    sim.ev(plug(2, "s2"))                                 # changed while offline
    sim.tick(outage)
    sim.connect()
    assert sorted(statuses(sim, n)) == ([(1, "Available")] if every_connector else []) + [(2, "Occupied")]


def test_a_status_that_timed_out_is_unknown_to_the_csms_and_sent_again_when_it_changes_back(tmp_path):
    """The CSMS may have the notification it did not answer: whatever comes next is sent, even
    the status it had acknowledged before (common/status_reports.py)."""
    sim = Sim(tmp_path)
    n = len(statuses(sim))
    sim.hold.add("StatusNotification")
    sim.ev(plug(1, "s1"))                                # Occupied, never answered
    sim.tick(31)                                         # past the message timeout (30 s)
    sim.hold.clear()
    sim.ev(E.SessionFinished(1, 1, "s1", "2026-01-01T00:02:11Z"))
    assert statuses(sim, n) == [(1, "Occupied"), (1, "Available")]
