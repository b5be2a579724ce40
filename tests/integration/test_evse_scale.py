"""128 EVSE managers on one bridge (issue 8 §4, "at scale"): the start-up burst of commands
must reach every EVSE. Before the fix, paho's in-flight window of 100 QoS 2 publishes was
larger than mosquitto's quota of 20 per client, and mosquitto silently dropped what was
beyond it: 88 of 128 ``get_evse`` calls never arrived. Real mosquitto, real bridge process,
a real CSMS; the 128 evse_manager modules are one light peer (``support/evse_fleet.py``)."""

from __future__ import annotations

import pytest

from support.evse_fleet import EvseFleet
from support.station import CP_ID, MODULE

EVSES = 128


@pytest.fixture
def fleet(broker, prefix):
    made = EvseFleet(broker.port, prefix=prefix, count=EVSES).start()
    yield made
    made.stop()


def test_128_evse_managers_all_get_the_start_up_commands(csms201, peer, bridge, fleet):
    csms = csms201()
    probe = peer()
    config = {"ChargePointId": CP_ID, "CentralSystemURI": csms.url, "OcppVersion": "2.0.1",
              "GlobalReadyTimeoutS": 0}
    proc = bridge(config, module_id=MODULE, evse_managers=[(m, "evse") for m in fleet.module_ids])
    probe.wait_module_ready(MODULE, timeout=30)
    probe.send_global_ready()
    every = set(range(1, EVSES + 1))
    fleet.wait_all("get_evse", every, timeout=60)
    fleet.wait_all("external_ready_to_start_charging", every, timeout=60)
    fleet.wait_all("enable_disable", every, timeout=60)
    csms.wait_for("BootNotification", timeout=30)
    assert "get_evse failed" not in proc.log_text()
    assert "Traceback" not in proc.log_text()
