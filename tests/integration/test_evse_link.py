"""The bridge's side of the evse_manager connections: the start-up handshake EVerest's OCPP
module does (get_evse for the layout, then external_ready_to_start_charging), on every EVSE,
in both framework generations."""

import pytest


@pytest.mark.parametrize("generation", ["2025.12", "2024.11"])
def test_startup_handshake_with_every_evse(charging_station, generation):
    st = charging_station(evses=2, generation=generation)
    for n in (1, 2):
        sim = st.evse(n)
        sim.wait_command("get_evse", timeout=10)
        sim.wait_command("external_ready_to_start_charging", timeout=10)
        names = [cmd for cmd, _args in sim.commands]
        assert names.index("get_evse") < names.index("external_ready_to_start_charging")


def test_invalid_or_malformed_evse_manager_variables_are_dropped_with_a_log_line(station, peer):
    st = station(version="1.6")
    evse = peer(module_id="evse_manager_1")  # plays the EVSE manager the bridge is connected to
    size = st.bridge.log_size()
    evse.publish_var("evse", "session_event", {"event": "SessionStarted"})         # no uuid/timestamp
    st.bridge.wait_log(r"dropping evse_manager_1/evse/session_event", after=size)
    evse.publish_raw(f"{evse.prefix}modules/evse_manager_1/impl/evse/var/powermeter", b"{not json")
    st.bridge.wait_log(r"not JSON", after=size)
    mark = st.csms.mark()
    evse.publish_var("evse", "session_event", {
        "uuid": "s-1", "event": "SessionStarted", "timestamp": "2026-01-01T00:00:00Z", "connector_id": 1,
        "session_started": {"reason": "EVConnected", "meter_value": {
            "timestamp": "2026-01-01T00:00:00Z", "energy_Wh_import": {"total": 0}}}})
    preparing = st.csms.wait_for(lambda e: e["action"] == "StatusNotification"
                                 and e["payload"]["status"] == "Preparing", after_index=mark)
    assert preparing["payload"]["connectorId"] == 1 and st.bridge.alive
