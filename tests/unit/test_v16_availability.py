"""OCPP 1.6 ChangeAvailability (Scheduled during a transaction, persisted, connector 0 = all)
and the Reservation profile (ReserveNow / CancelReservation / expiry). Pure charge point."""

from ocpp_bridge.ocpp import evse_events as E
from support.cp16 import Rig


def enables(rig):
    return [c[1:] for c in rig.port.calls if c[0] == "enable_disable"]


def test_change_availability_outside_a_transaction(tmp_path):
    rig = Rig(tmp_path).boot()
    assert rig.request("ChangeAvailability", {"connectorId": 2, "type": "Inoperative"}) == {"status": "Accepted"}
    assert enables(rig) == [(2, 1, False)]
    assert rig.statuses(2) == ["Available", "Unavailable"]
    assert rig.request("ChangeAvailability", {"connectorId": 2, "type": "Inoperative"}) == {"status": "Accepted"}
    assert rig.statuses(2) == ["Available", "Unavailable"]  # no change, no notification
    rig.event(E.EvseEnabled(2, 1, False))  # the EVSE confirms: still Unavailable
    assert rig.request("ChangeAvailability", {"connectorId": 2, "type": "Operative"}) == {"status": "Accepted"}
    rig.event(E.EvseEnabled(2, 1, True))
    assert rig.statuses(2) == ["Available", "Unavailable", "Available"]
    assert rig.request("ChangeAvailability", {"connectorId": 3, "type": "Operative"}) == {"status": "Rejected"}


def test_change_availability_during_a_transaction_is_scheduled(tmp_path):
    rig = Rig(tmp_path).boot()
    s = rig.plug_in(1)
    rig.start_tx(1, s)
    assert rig.request("ChangeAvailability", {"connectorId": 1, "type": "Inoperative"}) == {"status": "Scheduled"}
    assert enables(rig) == [] and rig.statuses(1)[-1] == "Charging"
    rig.stop_tx(1, s)
    assert enables(rig) == [(1, 1, False)]
    assert rig.statuses(1)[-2:] == ["Finishing", "Unavailable"]
    acts = [a for a in rig.actions() if a in ("StopTransaction", "StatusNotification")]
    assert acts[-2:] == ["StopTransaction", "StatusNotification"]
    rig.unplug(1, s)
    assert rig.statuses(1)[-1] == "Unavailable"


def test_operative_cancels_a_scheduled_change(tmp_path):
    rig = Rig(tmp_path).boot()
    s = rig.plug_in(1)
    rig.start_tx(1, s)
    rig.request("ChangeAvailability", {"connectorId": 1, "type": "Inoperative"})
    assert rig.request("ChangeAvailability", {"connectorId": 1, "type": "Operative"}) == {"status": "Accepted"}
    rig.stop_tx(1, s)
    assert (1, 1, False) not in enables(rig)


def test_connector_zero_changes_everything(tmp_path):
    rig = Rig(tmp_path, evse_count=3).boot()
    s = rig.plug_in(3)
    rig.start_tx(3, s)
    assert rig.request("ChangeAvailability", {"connectorId": 0, "type": "Inoperative"}) == {"status": "Scheduled"}
    assert enables(rig) == [(1, 1, False), (2, 1, False)]
    assert rig.statuses(0)[-1] == "Unavailable"
    rig.stop_tx(3, s)
    assert enables(rig)[-1] == (3, 1, False)
    assert rig.request("ChangeAvailability", {"connectorId": 0, "type": "Operative"}) == {"status": "Accepted"}
    assert [rig.cp.blocks.status.status(c) for c in range(4)] == ["Available", "Available", "Available", "Finishing"]


def test_availability_persists_across_restart(tmp_path):
    rig = Rig(tmp_path).boot()
    rig.request("ChangeAvailability", {"connectorId": 1, "type": "Inoperative"})
    rig.restart()
    rig.boot()
    assert rig.statuses(1)[-1] == "Unavailable"
    rig.event(E.EvseReady(1))  # the EVSE (re)appears: it is disabled again
    assert enables(rig)[-1] == (1, 1, False)


def test_scheduled_change_survives_restart(tmp_path):
    rig = Rig(tmp_path).boot()
    s = rig.plug_in(1)
    rig.start_tx(1, s)
    rig.request("ChangeAvailability", {"connectorId": 1, "type": "Inoperative"})
    rig.restart()
    rig.boot()
    assert rig.cp.blocks.status.status(1) != "Unavailable"
    rig.stop_tx(1, s)
    assert enables(rig)[-1] == (1, 1, False)


def test_change_availability_entry_point(tmp_path):
    rig = Rig(tmp_path).boot()
    assert rig.cp.change_availability(2, 1, False) == "Accepted"
    assert rig.cp.change_availability(None, None, False) == "Accepted"
    rig.pump_answers()
    assert rig.statuses(0)[-1] == "Unavailable" and enables(rig)[-1] == (2, 1, False)
    assert rig.cp.change_availability(5, 1, True) == "Rejected"


# ---------------------------------------------------------------------------- reservations
def reserve(rig, connector=1, rid=1, tag="RES", expiry="2026-01-01T01:00:00Z"):
    return rig.request("ReserveNow", {"connectorId": connector, "expiryDate": expiry, "idTag": tag,
                                      "reservationId": rid})


def test_tc_046_reservation_used_by_a_local_start(tmp_path):
    rig = Rig(tmp_path).boot()
    assert reserve(rig, 1, 7) == {"status": "Accepted"}
    assert ("reserve", 1, 7) in rig.port.calls and rig.statuses(1)[-1] == "Reserved"
    s = rig.plug_in(1)
    rig.start_tx(1, s, id_tag="res")
    assert rig.calls("StartTransaction")[0]["reservationId"] == 7
    rig.stop_tx(1, s)
    rig.unplug(1, s)
    assert rig.statuses(1)[-1] == "Available"


def test_tc_047_reservation_expires(tmp_path):
    rig = Rig(tmp_path).boot()
    reserve(rig, 2, 3, expiry="2026-01-01T00:10:00Z")
    rig.advance(599)
    assert "cancel_reservation" not in rig.port.names()
    rig.advance(2)
    assert ("cancel_reservation", 2) in rig.port.calls
    assert rig.statuses(2)[-2:] == ["Reserved", "Available"]


def test_tc_048_reservation_refusals(tmp_path):
    rig = Rig(tmp_path, evse_count=3).boot()
    rig.event(E.EvseFault(1, "evse_manager/Inoperative", True))
    assert reserve(rig, 1) == {"status": "Faulted"}
    rig.plug_in(2)
    assert reserve(rig, 2) == {"status": "Occupied"}
    rig.request("ChangeAvailability", {"connectorId": 3, "type": "Inoperative"})
    assert reserve(rig, 3) == {"status": "Unavailable"}
    assert reserve(rig, 0) == {"status": "Rejected"}  # ReserveConnectorZeroSupported is false
    assert reserve(rig, 4) == {"status": "Rejected"}
    rig.request("ChangeAvailability", {"connectorId": 3, "type": "Operative"})
    assert reserve(rig, 3, expiry="2025-01-01T00:00:00Z") == {"status": "Rejected"}
    rig.port.ok["reserve"] = False
    assert reserve(rig, 3) == {"status": "Rejected"}
    assert "reserve" in rig.port.names()


def test_reserved_connector_is_occupied_for_another_reservation_and_replaced_by_same_id(tmp_path):
    rig = Rig(tmp_path).boot()
    assert reserve(rig, 1, 1) == {"status": "Accepted"}
    assert reserve(rig, 1, 2) == {"status": "Occupied"}
    assert reserve(rig, 1, 1, tag="NEW", expiry="2026-01-01T02:00:00Z") == {"status": "Accepted"}
    assert rig.cp.blocks.reservation.on_evse(1).token == "NEW"


def test_tc_051_052_cancel_reservation(tmp_path):
    rig = Rig(tmp_path).boot()
    reserve(rig, 1, 5)
    assert rig.request("CancelReservation", {"reservationId": 6}) == {"status": "Rejected"}
    assert rig.request("CancelReservation", {"reservationId": 5}) == {"status": "Accepted"}
    assert ("cancel_reservation", 1) in rig.port.calls and rig.statuses(1)[-1] == "Available"
    assert rig.request("CancelReservation", {"reservationId": 5}) == {"status": "Rejected"}


def test_reservation_persists_and_connector_zero(tmp_path):
    rig = Rig(tmp_path, overrides={"ReserveConnectorZeroSupported": True}).boot()
    rig.plug_in(1)
    assert reserve(rig, 0, 9) == {"status": "Accepted"}
    assert ("reserve", 2, 9) in rig.port.calls  # the first idle connector
    rig.restart()
    rig.boot()
    assert rig.statuses(2)[-1] == "Reserved"
    rig.event(E.ReservationChanged(2, 1, False))  # ended on the EVSE's side
    assert rig.statuses(2)[-1] == "Available" and rig.cp.blocks.reservation.on_evse(2) is None
