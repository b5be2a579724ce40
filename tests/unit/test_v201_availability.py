"""OCPP 2.0.1 connector status and ChangeAvailability (blocks G) on the pure core.

Scripted CSMS, fake EVSE port, fake clock (``v201_harness``). Test ids cite OCA 2.0.1 test
cases only where the test covers what the case checks.
"""

import pytest
from v201_harness import Sim, full_session_start, plug, tx_finished, unplug

from ocpp_bridge.ocpp import evse_events as E
from ocpp_bridge.ocpp.v201.device_model import VariableKey


def statuses(sim, since=0):
    return [(p["evseId"], p["connectorId"], p["connectorStatus"]) for p in sim.payloads("StatusNotification")[since:]]


def state(sim, component, evse=None, connector=None, variable="AvailabilityState"):
    return sim.cp.model.value(component, variable, evse=evse, connector=connector)


def change(sim, status, evse=None, connector=None):
    payload = {"operationalStatus": status}
    if evse is not None:
        payload["evse"] = {"id": evse} if connector is None else {"id": evse, "connectorId": connector}
    return sim.request("ChangeAvailability", payload)["status"]


# ------------------------------------------------------------------------ StatusNotification
def test_every_connector_is_reported_after_boot(tmp_path):
    sim = Sim(tmp_path)
    assert sim.actions() == ["BootNotification", "StatusNotification", "StatusNotification"]
    assert statuses(sim) == [(1, 1, "Available"), (2, 1, "Available")]


def test_tc_g_01_and_g_02_available_to_occupied_and_back(tmp_path):
    sim = Sim(tmp_path)
    n = len(statuses(sim))
    sim.ev(plug(1, "s1"))
    sim.ev(unplug(1, "s1"))
    assert statuses(sim, n) == [(1, 1, "Occupied"), (1, 1, "Available")]
    assert state(sim, "Connector", 1, 1) == "Available"


def test_status_follows_reservation_fault_and_evse_disable(tmp_path):
    sim = Sim(tmp_path)
    n = len(statuses(sim))
    sim.ev(E.ReservationChanged(2, 1, True))
    sim.ev(E.EvseFault(2, "evse_board_support/MREC2GroundFailure", True))
    assert state(sim, "EVSE", 2) == "Faulted"
    sim.ev(E.EvseFault(2, "evse_board_support/MREC2GroundFailure", False))
    sim.ev(E.ReservationChanged(2, 1, False))
    sim.ev(E.EvseEnabled(2, 1, False))
    sim.ev(E.EvseEnabled(2, 1, True))
    assert statuses(sim, n) == [(2, 1, "Reserved"), (2, 1, "Faulted"), (2, 1, "Reserved"), (2, 1, "Available"),
                                (2, 1, "Unavailable"), (2, 1, "Available")]


def test_a_station_wide_fault_marks_every_evse(tmp_path):
    sim = Sim(tmp_path)
    n = len(statuses(sim))
    sim.ev(E.EvseFault(0, "evse_manager/Inoperative", True))
    assert statuses(sim, n) == [(1, 1, "Faulted"), (2, 1, "Faulted")]
    assert state(sim, "ChargingStation") == "Faulted"


def test_changes_while_offline_are_sent_after_reconnecting(tmp_path):
    sim = Sim(tmp_path)
    n = len(statuses(sim))
    sim.disconnect()
    sim.ev(plug(2, "s2"))
    assert statuses(sim, n) == []
    assert state(sim, "Connector", 2, 1) == "Occupied"      # the device model follows at once
    sim.tick(5)
    sim.connect()                                            # same registration: no new boot
    assert "BootNotification" not in sim.actions()[n + 1:]
    assert statuses(sim, n) == [(2, 1, "Occupied")]          # only what changed


def test_more_connectors_from_evse_ready(tmp_path):
    sim = Sim(tmp_path, evse_count=1)
    n = len(statuses(sim))
    sim.ev(E.EvseReady(1, (1, 2)))
    assert statuses(sim, n) == [(1, 2, "Available")]
    assert sim.cp.status.connector_ids(1) == (1, 2)
    assert state(sim, "Connector", 1, 2) == "Available"


# ------------------------------------------------------------------------ ChangeAvailability
def test_tc_g_03_and_g_04_evse_inoperative_and_back(tmp_path):
    sim = Sim(tmp_path)
    n = len(statuses(sim))
    assert change(sim, "Inoperative", evse=1) == "Accepted"
    assert statuses(sim, n) == [(1, 1, "Unavailable")]
    assert sim.port.of("enable_disable")[-1] == (1, 1, False)
    assert state(sim, "EVSE", 1, variable="Available") == "false"
    assert change(sim, "Operative", evse=1) == "Accepted"
    assert statuses(sim, n) == [(1, 1, "Unavailable"), (1, 1, "Available")]
    assert sim.port.of("enable_disable")[-1] == (1, 1, True)


def test_tc_g_05_and_g_06_station_inoperative_and_back(tmp_path):
    sim = Sim(tmp_path)
    n = len(statuses(sim))
    assert change(sim, "Inoperative") == "Accepted"
    assert statuses(sim, n) == [(1, 1, "Unavailable"), (2, 1, "Unavailable")]
    assert state(sim, "ChargingStation", variable="Available") == "false"
    assert state(sim, "ChargingStation") == "Unavailable"
    assert change(sim, "Operative") == "Accepted"
    assert statuses(sim, n)[2:] == [(1, 1, "Available"), (2, 1, "Available")]


def test_tc_g_07_and_g_08_connector_inoperative_and_back(tmp_path):
    sim = Sim(tmp_path)
    n = len(statuses(sim))
    assert change(sim, "Inoperative", evse=2, connector=1) == "Accepted"
    assert change(sim, "Operative", evse=2, connector=1) == "Accepted"
    assert statuses(sim, n) == [(2, 1, "Unavailable"), (2, 1, "Available")]
    assert state(sim, "Connector", 2, 1, variable="Available") == "true"


@pytest.mark.parametrize("evse, connector", [(1, None), (None, None), (1, 1)])  # TC_G_09/12/15, TC_G_10/13/16
def test_already_in_the_requested_state_is_accepted_without_messages(tmp_path, evse, connector):
    sim = Sim(tmp_path)
    n = len(sim.sent)
    assert change(sim, "Operative", evse, connector) == "Accepted"
    assert [f for f in sim.sent[n:] if f[0] == 2] == []
    assert change(sim, "Inoperative", evse, connector) == "Accepted"
    n = len(sim.calls())
    assert change(sim, "Inoperative", evse, connector) == "Accepted"
    assert sim.calls()[n:] == []


@pytest.mark.parametrize("evse, connector", [(3, None), (1, 2), (None, 1)])
def test_unknown_evse_or_connector_is_rejected(tmp_path, evse, connector):
    sim = Sim(tmp_path)
    assert sim.cp.change_availability(evse, connector, False) == "Rejected"
    if evse is not None:
        assert change(sim, "Inoperative", evse, connector) == "Rejected"


def test_tc_g_11_evse_with_ongoing_transaction_is_scheduled(tmp_path):
    sim = Sim(tmp_path)
    full_session_start(sim, 1, "s1")
    n = len(statuses(sim))
    assert change(sim, "Inoperative", evse=1) == "Scheduled"
    assert statuses(sim, n) == []                              # stays Occupied while charging
    assert sim.cp.availability.scheduled() == {"evse:1": False}
    sim.ev(tx_finished(1, "s1", "EVDisconnected"))
    ended = sim.calls()[-2]
    assert ended[2] == "TransactionEvent" and ended[3]["eventType"] == "Ended"
    assert statuses(sim, n) == [(1, 1, "Unavailable")]         # after the Ended event
    sim.ev(unplug(1, "s1"))
    assert statuses(sim, n) == [(1, 1, "Unavailable")]
    assert sim.cp.availability.scheduled() == {}


def test_tc_g_14_station_with_ongoing_transaction(tmp_path):
    sim = Sim(tmp_path)
    full_session_start(sim, 1, "s1")
    n = len(statuses(sim))
    assert change(sim, "Inoperative") == "Scheduled"
    assert statuses(sim, n) == [(2, 1, "Unavailable")]         # the idle EVSE at once
    assert (2, 1, False) in sim.port.of("enable_disable") and (1, 1, False) not in sim.port.of("enable_disable")
    sim.ev(tx_finished(1, "s1", "EVDisconnected"), unplug(1, "s1"))
    assert statuses(sim, n)[-1] == (1, 1, "Unavailable")
    assert state(sim, "ChargingStation", variable="Available") == "false"


def test_tc_g_17_connector_with_ongoing_transaction(tmp_path):
    sim = Sim(tmp_path)
    full_session_start(sim, 2, "s2")
    assert change(sim, "Inoperative", evse=2, connector=1) == "Scheduled"
    assert sim.cp.status.status(2, 1) == "Occupied"
    sim.ev(tx_finished(2, "s2", "EVDisconnected"), unplug(2, "s2"))
    assert sim.cp.status.status(2, 1) == "Unavailable"


def test_operative_overrides_a_scheduled_inoperative(tmp_path):
    sim = Sim(tmp_path)
    full_session_start(sim, 1, "s1")
    assert change(sim, "Inoperative") == "Scheduled"
    assert change(sim, "Operative") == "Accepted"
    assert sim.cp.availability.scheduled() == {}
    assert sim.cp.status.status(2, 1) == "Available"
    sim.ev(tx_finished(1, "s1", "EVDisconnected"), unplug(1, "s1"))
    assert sim.cp.status.status(1, 1) == "Available"


@pytest.mark.parametrize("evse, connector", [(1, None), (1, 1), (None, None)])  # TC_G_18 / TC_G_19 / TC_G_21
def test_inoperative_persists_across_a_restart(tmp_path, evse, connector):
    sim = Sim(tmp_path)
    assert change(sim, "Inoperative", evse, connector) == "Accepted"
    sim.restart()
    sim.connect()
    assert (1, 1, "Unavailable") in statuses(sim)
    sim.ev(E.EvseReady(1, (1,)))
    assert sim.port.of("enable_disable")[-1] == (1, 1, False)   # the EVSE is told again


def test_a_scheduled_change_survives_a_restart(tmp_path):
    sim = Sim(tmp_path)
    full_session_start(sim, 1, "s1")
    assert change(sim, "Inoperative", evse=1) == "Scheduled"
    sim.restart()
    sim.connect()
    assert sim.cp.availability.scheduled() == {"evse:1": False}
    sim.ev(tx_finished(1, "s1", "EVDisconnected"), unplug(1, "s1"))
    assert sim.cp.status.status(1, 1) == "Unavailable"


def test_change_availability_entry_point_for_the_bus(tmp_path):
    sim = Sim(tmp_path)
    assert sim.cp.change_availability(2, None, False) == "Accepted"
    assert sim.cp.status.status(2, 1) == "Unavailable"
    full_session_start(sim, 1, "s1")
    assert sim.cp.change_availability(1, 1, False) == "Scheduled"
    assert sim.cp.model.value("Connector", "Available", evse=2, connector=1) == "false"
    assert sim.cp.model.get(VariableKey("EVSE", "AvailabilityState", evse=1)) == ("Accepted", "Occupied")
