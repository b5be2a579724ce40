"""OCPP 2.0.1 reservations (block H) on the pure core: ReserveNow, CancelReservation,
expiry with ReservationStatusUpdate, use by a session, persistence. Fake EVSE port and clock.
"""

import pytest
from v201_harness import T0, Sim, full_session_start, plug, tx_started

from ocpp_bridge.ocpp import evse_events as E
from ocpp_bridge.ocpp.timefmt import iso


def reserve(sim, rid=1, evse=1, expires_in=600, token="TAG1", **extra):
    payload = {"id": rid, "expiryDateTime": iso(T0 + expires_in), "idToken": {"idToken": token, "type": "ISO14443"},
               **extra}
    if evse is not None:
        payload["evseId"] = evse
    return sim.request("ReserveNow", payload)["status"]


def connector_status(sim, evse=1):
    return [p["connectorStatus"] for p in sim.payloads("StatusNotification") if p["evseId"] == evse]


def test_tc_h_01_reserve_a_specific_evse(tmp_path):
    sim = Sim(tmp_path)
    assert reserve(sim) == "Accepted"
    assert sim.port.of("reserve") == [(1, 1)]
    assert connector_status(sim)[-1] == "Reserved"


def test_tc_h_03_evse_already_reserved(tmp_path):
    sim = Sim(tmp_path)
    reserve(sim, rid=1)
    assert reserve(sim, rid=2, token="OTHER") == "Occupied"


def test_tc_h_04_evse_occupied(tmp_path):
    sim = Sim(tmp_path)
    sim.ev(plug(1, "s1"))
    assert reserve(sim) == "Occupied"
    full_session_start(sim, 2, "s2")
    assert reserve(sim, rid=2, evse=2) == "Occupied"
    assert sim.port.of("reserve") == []


def test_tc_h_06_evse_unavailable_or_faulted(tmp_path):
    sim = Sim(tmp_path)
    sim.cp.change_availability(1, None, False)
    assert reserve(sim) == "Unavailable"
    sim.ev(E.EvseFault(2, "evse_manager/Inoperative", True))
    assert reserve(sim, evse=2) == "Faulted"


def test_tc_h_07_reservation_expires(tmp_path):
    sim = Sim(tmp_path)
    reserve(sim, expires_in=60)
    sim.tick(59)
    assert sim.payloads("ReservationStatusUpdate") == []
    sim.tick(1)
    assert sim.payloads("ReservationStatusUpdate") == [{"reservationId": 1, "reservationUpdateStatus": "Expired"}]
    assert sim.port.of("cancel_reservation") == [(1,)]
    assert connector_status(sim)[-1] == "Available"


def test_reservation_is_used_by_a_session(tmp_path):
    sim = Sim(tmp_path)
    reserve(sim, rid=5)
    sim.ev(plug(1, "s1"), tx_started(1, "s1", reservation_id=5))
    assert sim.cp.reservation.for_evse(1) is None
    assert sim.payloads("TransactionEvent")[0]["reservationId"] == 5
    sim.tick(700)
    assert sim.payloads("ReservationStatusUpdate") == []


def test_tc_h_17_and_h_18_cancel_reservation(tmp_path):
    sim = Sim(tmp_path)
    reserve(sim, rid=3)
    assert sim.request("CancelReservation", {"reservationId": 3}) == {"status": "Accepted"}
    assert sim.port.of("cancel_reservation") == [(1,)]
    assert connector_status(sim)[-1] == "Available"
    assert sim.request("CancelReservation", {"reservationId": 3}) == {"status": "Rejected"}


def test_tc_h_22_configured_to_reject(tmp_path):
    sim = Sim(tmp_path, overrides={"ReservationCtrlr": {"Enabled": False}})
    assert reserve(sim) == "Rejected"


def test_tc_h_23_replace_a_reservation(tmp_path):
    sim = Sim(tmp_path)
    reserve(sim, rid=1, evse=1, expires_in=60)
    assert reserve(sim, rid=1, evse=2, expires_in=600) == "Accepted"
    assert sim.cp.reservation.for_evse(1) is None and sim.cp.reservation.for_evse(2).id == 1
    assert sim.port.of("cancel_reservation") == [(1,)]
    sim.tick(100)
    assert sim.payloads("ReservationStatusUpdate") == []       # the old expiry is gone


@pytest.mark.parametrize("extra, evse", [({"connectorType": "cCCS2"}, None), ({"connectorType": "cCCS2"}, 1),
                                         ({}, 9)])
def test_unsupported_requests_are_rejected(tmp_path, extra, evse):
    sim = Sim(tmp_path)
    assert reserve(sim, evse=evse, **extra) == "Rejected"


def test_matching_connector_type_is_accepted(tmp_path):
    sim = Sim(tmp_path)
    assert reserve(sim, connectorType="sType2") == "Accepted"


def test_evse_refusal_rejects(tmp_path):
    sim = Sim(tmp_path)
    sim.port.ok["reserve"] = False
    assert reserve(sim) == "Rejected"
    assert sim.cp.reservation.for_evse(1) is None


def test_past_expiry_is_rejected(tmp_path):
    sim = Sim(tmp_path)
    assert reserve(sim, expires_in=-1) == "Rejected"


def test_reservation_survives_a_restart(tmp_path):
    sim = Sim(tmp_path)
    reserve(sim, rid=9, expires_in=60)
    sim.restart()
    sim.connect()
    assert sim.cp.reservation.for_evse(1).id == 9
    assert connector_status(sim) == ["Reserved"]                # TC_B_24: reserved persists
    sim.tick(60)
    assert sim.payloads("ReservationStatusUpdate") == [{"reservationId": 9, "reservationUpdateStatus": "Expired"}]


@pytest.mark.parametrize("how", ["inoperative", "fault"])
def test_tc_h_21_reservation_removed_when_the_evse_becomes_unusable(tmp_path, how):
    sim = Sim(tmp_path)
    reserve(sim, rid=4)
    if how == "inoperative":
        assert sim.cp.change_availability(1, None, False) == "Accepted"
        sim.settle()
    else:
        sim.ev(E.EvseFault(1, "evse_manager/Inoperative", True))
    assert sim.payloads("ReservationStatusUpdate") == [{"reservationId": 4, "reservationUpdateStatus": "Removed"}]
    assert sim.cp.reservation.for_evse(1) is None
    sim.tick(700)
    assert len(sim.payloads("ReservationStatusUpdate")) == 1


# ------------------------------------------------------------------------ without evseId (H01)
def reserved_evses(sim):
    return [e for e in (1, 2) if connector_status(sim, e) and connector_status(sim, e)[-1] == "Reserved"]


def test_tc_h_08_station_wide_reservations_until_every_free_evse_is_needed(tmp_path):
    sim = Sim(tmp_path)
    assert reserve(sim, rid=1, evse=None) == "Accepted"
    assert sim.port.of("reserve") == [(None, 1)]
    assert reserved_evses(sim) == []                      # one reservation, two free EVSEs
    assert reserve(sim, rid=2, evse=None, token="TAG2") == "Accepted"
    assert reserved_evses(sim) == [1, 2]                  # as many reservations as free EVSEs
    assert reserve(sim, rid=3, evse=None, token="TAG3") == "Occupied"
    assert reserve(sim, rid=4, evse=1, token="TAG4") == "Occupied"   # EVSE 1 is needed
    assert sim.port.of("reserve") == [(None, 1), (None, 2)]


def test_an_ev_at_one_evse_leaves_the_other_to_the_reservation(tmp_path):
    sim = Sim(tmp_path)
    sim.ev(plug(1, "s1"))
    assert reserve(sim, rid=1, evse=None) == "Accepted"
    assert reserved_evses(sim) == [2]
    assert reserve(sim, rid=2, evse=None) == "Occupied"


def test_a_station_wide_reservation_counts_the_evse_specific_ones(tmp_path):
    sim = Sim(tmp_path)
    assert reserve(sim, rid=1, evse=2) == "Accepted"
    assert reserve(sim, rid=2, evse=None, token="TAG2") == "Accepted"
    assert reserved_evses(sim) == [1, 2]
    assert reserve(sim, rid=3, evse=None, token="TAG3") == "Occupied"


def test_without_non_evse_specific_a_reservation_needs_an_evse(tmp_path):  # H01.FR.19
    sim = Sim(tmp_path, overrides={"ReservationCtrlr": {"NonEvseSpecific": False}})
    assert reserve(sim, evse=None) == "Rejected"
    assert sim.port.of("reserve") == []


def test_station_wide_reservation_with_a_connector_type(tmp_path):
    sim = Sim(tmp_path)
    assert reserve(sim, rid=1, evse=None, connectorType="sType2") == "Accepted"
    assert sim.cp.reservation.station_wide()[0].connector_type == "sType2"


def test_a_station_wide_reservation_is_used_by_its_token(tmp_path):
    sim = Sim(tmp_path)
    reserve(sim, rid=1, evse=None, token="MINE")
    reserve(sim, rid=2, evse=None, token="OTHER")
    assert reserved_evses(sim) == [1, 2]
    sim.ev(plug(1, "s1"), tx_started(1, "s1", "MINE"))
    assert [r.id for r in sim.cp.reservation.station_wide()] == [2]
    assert reserved_evses(sim) == [2]                     # the other one still needs an EVSE
    assert sim.payloads("ReservationStatusUpdate") == []


def test_station_wide_reservation_expires_and_is_cancelled(tmp_path):
    sim = Sim(tmp_path)
    reserve(sim, rid=1, evse=None, expires_in=60)
    reserve(sim, rid=2, evse=None, token="TAG2", expires_in=600)
    sim.tick(60)
    assert sim.payloads("ReservationStatusUpdate") == [{"reservationId": 1, "reservationUpdateStatus": "Expired"}]
    assert reserved_evses(sim) == []
    assert sim.request("CancelReservation", {"reservationId": 2}) == {"status": "Accepted"}
    assert sim.port.of("cancel_reservation") == [(None,), (None,)]
    assert sim.cp.reservation.station_wide() == []


def test_station_wide_reservation_removed_when_evses_become_unusable(tmp_path):
    sim = Sim(tmp_path)
    reserve(sim, rid=1, evse=None)
    reserve(sim, rid=2, evse=None, token="TAG2")
    sim.ev(E.EvseFault(1, "evse_manager/Inoperative", True))
    assert sim.payloads("ReservationStatusUpdate") == [{"reservationId": 2, "reservationUpdateStatus": "Removed"}]
    assert [r.id for r in sim.cp.reservation.station_wide()] == [1]
    assert connector_status(sim, 2)[-1] == "Reserved"


def test_station_wide_reservations_survive_a_restart(tmp_path):
    sim = Sim(tmp_path)
    reserve(sim, rid=1, evse=None, connectorType="sType2")
    reserve(sim, rid=2, evse=None, token="TAG2")
    sim.restart()
    sim.connect()
    assert [(r.id, r.evse, r.connector_type) for r in sim.cp.reservation.station_wide()] == [
        (1, None, "sType2"), (2, None, None)]
    assert reserved_evses(sim) == [1, 2]


def test_fits_is_safe_whatever_order_the_drivers_come_in():
    from ocpp_bridge.ocpp.v201.reservation import fits
    assert fits([{1, 2}, {1, 2}]) and not fits([{1, 2}, {1, 2}, {1, 2}])
    assert not fits([{1, 2}, {1}])      # the first driver may take EVSE 1
    assert fits([{1}, {2}]) and not fits([set()])


# ------------------------------------------------------------------------ one core with 1.6
def test_cancel_reservation_waits_for_the_evse(tmp_path):  # as 1.6 and libocpp in both versions
    sim = Sim(tmp_path)
    reserve(sim, rid=3)
    sim.port.ok["cancel_reservation"] = False
    assert sim.request("CancelReservation", {"reservationId": 3}) == {"status": "Rejected"}
    assert sim.cp.reservation.for_evse(1).id == 3
    sim.port.ok["cancel_reservation"] = True
    assert sim.request("CancelReservation", {"reservationId": 3}) == {"status": "Accepted"}
    assert sim.cp.reservation.for_evse(1) is None


def test_a_transaction_by_the_reserved_token_uses_the_reservation_without_its_id(tmp_path):
    # the reservation module does not tell the EVSE which reservation it used (as 1.6's TC_053)
    sim = Sim(tmp_path)
    reserve(sim, rid=5, token="MINE")
    sim.ev(plug(1, "s1"), tx_started(1, "s1", "mine"))
    assert sim.cp.reservation.for_evse(1) is None
    sim.tick(700)
    assert sim.payloads("ReservationStatusUpdate") == []


def test_a_transaction_by_the_reservations_group_uses_it(tmp_path):
    sim = Sim(tmp_path)
    sim.answers["Authorize"] = {"idTokenInfo": {"status": "Accepted", "groupIdToken": {"idToken": "FAMILY",
                                                                                         "type": "Central"}}}
    sim.cp.validate_token(E.IdToken("CHILD"))
    sim.settle()
    reserve(sim, rid=5, token="OWNER", groupIdToken={"idToken": "FAMILY", "type": "Central"})
    sim.ev(plug(1, "s1"), tx_started(1, "s1", "CHILD"))
    assert sim.cp.reservation.for_evse(1) is None


def test_the_evse_ending_its_reservation_ends_ours(tmp_path):
    sim = Sim(tmp_path)
    reserve(sim, rid=5)
    sim.ev(E.ReservationChanged(1, 1, False))
    assert sim.cp.reservation.for_evse(1) is None
    sim.tick(700)
    assert sim.payloads("ReservationStatusUpdate") == []


def test_another_case_of_the_reserved_token_may_start_remotely(tmp_path):  # IdToken is case insensitive
    sim = Sim(tmp_path)
    reserve(sim, rid=1, token="OWNER")
    assert not sim.cp.reservation.reserved_for_other(1, {"idToken": "owner", "type": "ISO14443"})
    assert sim.cp.reservation.reserved_for_other(1, {"idToken": "other", "type": "ISO14443"})
