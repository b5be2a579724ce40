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
