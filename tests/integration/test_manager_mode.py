"""The module inside an EVerest stack, both framework generations: launched by a manager
through the ``module.py`` of an installed module folder or started by hand as a standalone
module, its configuration only from the environment and MQTT (everest.md §1.5, §5), on one
MQTT connection; CSMS reachability on ``is_connected``; errors of the evse_managers received
(§1.6). A fake manager from the spec, a real mosquitto, real processes, a real CSMS.
"""

import re
import time

import pytest

from support.fake_manager import G3, FakeManager, bridge_run_config, free_port, manager_factory

GENERATIONS = pytest.mark.parametrize("generation", ["2025.12", "2024.11"])
MODULE, EVSE, CP = "ocpp", "evse_manager_1", "CP1"
FAST = {"OCPP_BRIDGE_CONFIG_TIMEOUT_S": "1", "OCPP_BRIDGE_CONFIG_ATTEMPTS": "2"}

manager = pytest.fixture(name="manager")(manager_factory)


def config_module(tmp_path, url, version="1.6", **extra):
    cfg = {"ChargePointId": CP, "CentralSystemURI": url, "OcppVersion": version,
           "ChargePointVendor": "FromManager", "DatabasePath": str(tmp_path / "db"),
           "RetryBackOffWaitMinimumS": 1, "RetryBackOffRandomRangeS": 1}
    cfg.update(extra)
    return cfg


def bring_up(mgr, peer) -> None:
    """What the manager waits for before the global ready: every module's ready."""
    peer.wait_module_ready(MODULE, timeout=20)
    peer.send_module_ready()
    mgr.wait_global_ready()


def hb(version):
    component = {"name": "OCPPCommCtrlr"} if version == "2.0.1" else {"name": ""}
    return {"requests": [{"component_variable": {"component": component, "variable": {"name": "HeartbeatInterval"}}}]}


def expected_request(generation):
    body = {"type": "Get", "origin": MODULE, "request": {"type": "Module"}}
    return {"msg_type": "GetConfig", "data": body} if generation == G3 else body


# --------------------------------------------------------------------------- launched by the manager
@GENERATIONS
@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
def test_launched_by_manager_runs_from_mqtt_config(manager, peer, csms, everest_module, tmp_path, generation,
                                                   version):
    server = csms(version)
    mgr = manager(generation, bridge_run_config(config_module(tmp_path, server.url, version)))
    probe = peer(EVSE, generation)
    probe.watch_var(MODULE, "ocpp_generic", "is_connected")
    proc = mgr.launch(MODULE, everest_module, tmp_path / "run")
    assert proc.command()[-1] == str(everest_module / "module.py") and "--config" not in proc.command()
    bring_up(mgr, probe)
    boot = server.wait_for("BootNotification", timeout=20)["payload"]
    vendor = boot["chargePointVendor"] if version == "1.6" else boot["chargingStation"]["vendorName"]
    assert vendor == "FromManager"
    assert probe.wait_var(MODULE, "ocpp_generic", "is_connected", lambda v: v is True, timeout=20) is True
    got = probe.call(MODULE, "ocpp_generic", "get_variables", hb(version))
    assert got[0]["status"] == "Accepted"
    assert mgr.requests[0] == expected_request(generation) and mgr.answered == [MODULE]
    assert not list((tmp_path / "run").glob("*.yaml")), "no run-config file may be involved"
    assert mgr.protocol_errors == [] and probe.protocol_errors == []
    assert mgr.stop() == [0]  # the manager's SIGTERM ends it cleanly


@GENERATIONS
def test_standalone_module_started_by_hand(manager, peer, csms, everest_module, tmp_path, generation):
    server = csms("1.6")
    mgr = manager(generation, bridge_run_config(config_module(tmp_path, server.url)), standalone=(MODULE,))
    with pytest.raises(ValueError):
        mgr.launch(MODULE, everest_module, tmp_path / "x")  # a manager never launches a standalone module
    probe = peer(EVSE, generation)
    proc = mgr.start_by_hand(MODULE, tmp_path / "run")
    bring_up(mgr, probe)
    server.wait_for("BootNotification", timeout=20)
    assert probe.call(MODULE, "main", "get_configuration_key", {"keys": ["HeartbeatInterval"]})["configuration_keys"]
    assert mgr.module_config(MODULE)["standalone"] is True
    assert mgr.requests[0] == expected_request(generation)
    proc.wait_log(r"EverestProtocol " + generation.replace(".", r"\."))
    assert mgr.protocol_errors == [] and probe.protocol_errors == []


def test_unanswered_request_is_retried(manager, peer, csms, tmp_path):
    server = csms("1.6")
    mgr = manager(G3, bridge_run_config(config_module(tmp_path, server.url)), standalone=(MODULE,), answer=False)
    probe = peer(EVSE, G3)
    mgr.start_by_hand(MODULE, tmp_path / "run", env={**FAST, "OCPP_BRIDGE_CONFIG_ATTEMPTS": "10"})
    mgr.wait_requests(2)
    assert mgr.answered == []
    mgr.answer = True  # the manager is late, not absent
    bring_up(mgr, probe)
    server.wait_for("BootNotification", timeout=20)
    assert len(mgr.requests) >= 2 and all(r == expected_request(G3) for r in mgr.requests)


@GENERATIONS
def test_no_answer_exits_non_zero_with_a_clear_message(manager, everest_module, tmp_path, generation):
    mgr = manager(generation, bridge_run_config(config_module(tmp_path, "ws://127.0.0.1:9/ocpp")), answer=False)
    proc = mgr.launch(MODULE, everest_module, tmp_path / "run", extra_env=FAST)
    assert proc.wait_exit(timeout=30) == 1
    assert "no configuration from the EVerest manager: 2 request(s)" in proc.log_text()
    assert len(mgr.requests) == 2 and mgr.requests[0] == expected_request(generation)


def test_unknown_module_id_gets_no_answer(manager, everest_module, tmp_path):
    """The manager answers only modules in its config; ours then gives up with status 1."""
    mgr = manager(G3, bridge_run_config(config_module(tmp_path, "ws://127.0.0.1:9/ocpp")))
    mgr.modules["ghost"] = {"module": "OcppBridge"}   # launchable, but the manager will not know it
    proc = mgr.launch("ghost", everest_module, tmp_path / "run", extra_env=FAST)
    del mgr.modules["ghost"]
    assert proc.wait_exit(timeout=30) == 1
    assert mgr.answered == []


# --------------------------------------------------------------------------- one MQTT connection
def new_clients(broker, at_least: int = 0, timeout: float = 10) -> list[str]:
    """Client ids of every MQTT connection the broker accepted so far, in order (once its log
    shows ``at_least`` of them)."""
    deadline = time.monotonic() + timeout
    while True:
        found = re.findall(r"New client connected from \S+ as (\S+) ", broker.log_text())
        if len(found) >= at_least or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


@GENERATIONS
def test_start_up_makes_one_mqtt_connection(fresh_broker, peer, csms, everest_module, tmp_path, prefix, generation):
    """The configuration request's connection is the one the engine keeps: the manager's
    broker sees the module connect once, and never leave, from launch to serving commands."""
    server = csms("1.6")
    mgr = FakeManager(fresh_broker.port, prefix=prefix, generation=generation,
                      run_config=bridge_run_config(config_module(tmp_path, server.url))).start()
    try:
        probe = peer(EVSE, generation, broker=fresh_broker)
        before = new_clients(fresh_broker, at_least=2)
        assert len(before) == 2  # the manager and the probe
        mgr.launch(MODULE, everest_module, tmp_path / "run")
        bring_up(mgr, probe)
        server.wait_for("BootNotification", timeout=20)
        assert probe.call(MODULE, "main", "get_configuration_key", {"keys": ["HeartbeatInterval"]})["configuration_keys"]
        ours = new_clients(fresh_broker)[len(before):]
        assert len(ours) == 1, f"the module connected {len(ours)} times: {ours}"
        assert f"Client {ours[0]} disconnected" not in fresh_broker.log_text()
        assert len(mgr.requests) == 1 and mgr.protocol_errors == []
    finally:
        mgr.stop()


# --------------------------------------------------------------------------- reachability and errors
@GENERATIONS
def test_csms_reachability_is_is_connected_and_no_error_of_ours(manager, peer, csms, everest_module, tmp_path,
                                                                 generation):
    """No framework error of our own (EVerest's ocpp interface declares none): a stack learns
    whether the CSMS is reachable from ``is_connected`` on ocpp_generic (and main)."""
    port = free_port()
    mgr = manager(generation, bridge_run_config(config_module(tmp_path, f"ws://127.0.0.1:{port}/ocpp")))
    for impl in ("ocpp_generic", "main"):
        mgr.watch_errors(MODULE, impl)
    probe = peer(EVSE, generation)
    for impl in ("ocpp_generic", "main"):
        probe.watch_var(MODULE, impl, "is_connected")
    mgr.launch(MODULE, everest_module, tmp_path / "run")
    bring_up(mgr, probe)
    for impl in ("ocpp_generic", "main"):
        assert probe.wait_var(MODULE, impl, "is_connected", lambda v: v is False, timeout=20) is False
    csms("1.6", port=port)
    for impl in ("ocpp_generic", "main"):
        assert probe.wait_var(MODULE, impl, "is_connected", lambda v: v is True, timeout=30) is True
    assert mgr.errors == [] and mgr.protocol_errors == []


@GENERATIONS
def test_evse_manager_errors_are_kept_per_evse(station, peer, generation):
    st = station(generation=generation)
    evse = peer(EVSE, generation)
    at = st.bridge.log_size()
    first = evse.raise_error("evse", "evse_manager/MREC4OverCurrentFailure", "too much current")
    st.bridge.wait_log(r"EVSE 1: error evse_manager/MREC4OverCurrentFailure raised \(too much current\); 1 active",
                       after=at)
    evse.raise_error("evse", "evse_manager/Bogus", "not declared")
    st.bridge.wait_log(r"EVSE 1: ignoring error evse_manager/Bogus", after=at)
    evse.clear_error("evse", "evse_manager/MREC4OverCurrentFailure", first)
    st.bridge.wait_log(r"EVSE 1: error evse_manager/MREC4OverCurrentFailure cleared .*; 0 active", after=at)
    # errors of a module that is not our evse_manager are not ours to keep
    stranger = peer("evse_manager_9", generation)
    stranger.raise_error("evse", "evse_manager/Internal")
    st.call("ocpp_generic", "get_variables", {"requests": []})  # a round trip after the stranger's error
    assert "evse_manager/Internal" not in st.bridge.log_text()


def test_a_broken_error_message_is_only_logged(station):
    st = station()
    st.peer.publish_raw(f"{st.peer.prefix}modules/evse_manager_1/impl/evse/error/evse_manager/Internal", b"{oops")
    st.bridge.wait_log(r"bad error message: error on .*evse_manager/Internal is not usable JSON")
    assert st.call("ocpp_generic", "get_variables", {"requests": []}) == []  # still serving
