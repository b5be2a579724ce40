"""Commands the bridge calls on optional modules it requires: the auth module's connection
timeout follows OCPP's (as in EVerest's OCPP module)."""

import pytest

from support.station import CP_ID


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
def test_auth_connection_timeout_follows_ocpp(station, peer, version):
    auth = peer(module_id="auth_module")
    seen = []
    auth.implement("main", "set_connection_timeout", lambda args: seen.append(args["connection_timeout"]))
    st = station(version=version, bridge_kwargs={"connections": {"auth": [("auth_module", "main")]}})
    auth.wait_call("main", "set_connection_timeout", timeout=10)
    assert seen[0] == 60  # the default
    if version == "1.6":
        st.csms.call(CP_ID, "ChangeConfiguration", {"key": "ConnectionTimeOut", "value": "45"})
    else:
        st.csms.call(CP_ID, "SetVariables", {"setVariableData": [{"component": {"name": "TxCtrlr"},
                     "variable": {"name": "EVConnectionTimeOut"}, "attributeValue": "45"}]})
    auth.wait_call("main", "set_connection_timeout", lambda args: args["connection_timeout"] == 45, timeout=10)


def test_boot_reason_from_the_system_module_2_0_1(station, peer):
    system = peer(module_id="system_module")
    system.implement("main", "get_boot_reason", lambda args: "Watchdog")
    st = station(version="2.0.1", bridge_kwargs={"connections": {"system": [("system_module", "main")]}})
    assert st.csms.entries("BootNotification")[0]["payload"]["reason"] == "Watchdog"


def test_reset_without_a_transaction_goes_to_the_system_module(station, peer):
    system = peer(module_id="system_module")
    system.implement("main", "reset", lambda args: None)
    st = station(version="1.6", bridge_kwargs={"connections": {"system": [("system_module", "main")]}})
    assert st.csms.call(CP_ID, "Reset", {"type": "Soft"}) == {"status": "Accepted"}
    call = system.wait_call("main", "reset", timeout=15)
    assert call["args"]["type"] == "Soft"


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
def test_reservations_go_through_the_reservation_module_when_connected(charging_station, peer, version):
    reservation = peer(module_id="reservation_module")
    reservation.implement("main", "reserve_now", lambda args: "Accepted")
    reservation.implement("main", "cancel_reservation", lambda args: True)
    st = charging_station(version=version,
                          bridge_kwargs={"connections": {"reservation": [("reservation_module", "main")]}})
    if version == "1.6":
        reply = st.csms.call(CP_ID, "ReserveNow", {"connectorId": 1, "expiryDate": "2030-01-01T00:00:00Z",
                                                   "idTag": "RES-1", "reservationId": 7})
    else:
        reply = st.csms.call(CP_ID, "ReserveNow", {"id": 7, "evseId": 1, "expiryDateTime": "2030-01-01T00:00:00Z",
                                                   "idToken": {"idToken": "RES-1", "type": "ISO14443"}})
    assert reply["status"] == "Accepted"
    request = reservation.wait_call("main", "reserve_now", timeout=10)["args"]["request"]
    assert (request["reservation_id"], request["evse_id"], request["id_token"]) == (7, 1, "RES-1")
    assert request["expiry_time"].startswith("2030-01-01T00:00:00")
    assert st.csms.call(CP_ID, "CancelReservation", {"reservationId": 7})["status"] == "Accepted"
    assert reservation.wait_call("main", "cancel_reservation", timeout=10)["args"] == {"reservation_id": 7}
    # sentinel: a command the bridge sends the EVSE manager after those (one MQTT client, in order)
    unlock = {"connectorId": 1} if version == "1.6" else {"evseId": 1, "connectorId": 1}
    assert st.csms.call(CP_ID, "UnlockConnector", unlock)["status"] == "Unlocked"
    st.evse(1).wait_command("force_unlock", timeout=20)
    assert "reserve" not in [cmd for cmd, _ in st.evse(1).commands]
