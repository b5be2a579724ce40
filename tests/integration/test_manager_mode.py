"""The module inside an EVerest stack, both framework generations: launched by a manager
through ``module.py`` or started by hand as a standalone module, its configuration only from
the environment and MQTT (everest.md §1.5, §5); framework errors raised, cleared and
received (§1.6). A fake manager from the spec, a real mosquitto, real processes, a real CSMS.
"""

from pathlib import Path

import pytest

from support.fake_manager import G3, bridge_run_config, free_port, manager_factory

GENERATIONS = pytest.mark.parametrize("generation", ["2025.12", "2024.11"])
ROOT = Path(__file__).resolve().parents[2]
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
def test_launched_by_manager_runs_from_mqtt_config(manager, peer, csms, tmp_path, generation, version):
    server = csms(version)
    mgr = manager(generation, bridge_run_config(config_module(tmp_path, server.url, version)))
    probe = peer(EVSE, generation)
    probe.watch_var(MODULE, "ocpp_generic", "is_connected")
    proc = mgr.launch(MODULE, ROOT, tmp_path / "run")
    assert proc.command()[-1] == str(ROOT / "module.py") and "--config" not in proc.command()
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
def test_standalone_module_started_by_hand(manager, peer, csms, tmp_path, generation):
    server = csms("1.6")
    mgr = manager(generation, bridge_run_config(config_module(tmp_path, server.url)), standalone=(MODULE,))
    with pytest.raises(ValueError):
        mgr.launch(MODULE, ROOT, tmp_path / "x")  # a manager never launches a standalone module
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
def test_no_answer_exits_non_zero_with_a_clear_message(manager, tmp_path, generation):
    mgr = manager(generation, bridge_run_config(config_module(tmp_path, "ws://127.0.0.1:9/ocpp")), answer=False)
    proc = mgr.launch(MODULE, ROOT, tmp_path / "run", extra_env=FAST)
    assert proc.wait_exit(timeout=30) == 1
    assert "no configuration from the EVerest manager: 2 request(s)" in proc.log_text()
    assert len(mgr.requests) == 2 and mgr.requests[0] == expected_request(generation)


def test_unknown_module_id_gets_no_answer(manager, tmp_path):
    """The manager answers only modules in its config; ours then gives up with status 1."""
    mgr = manager(G3, bridge_run_config(config_module(tmp_path, "ws://127.0.0.1:9/ocpp")))
    mgr.modules["ghost"] = {"module": "OcppBridge"}   # launchable, but the manager will not know it
    proc = mgr.launch("ghost", ROOT, tmp_path / "run", extra_env=FAST)
    del mgr.modules["ghost"]
    assert proc.wait_exit(timeout=30) == 1
    assert mgr.answered == []


# --------------------------------------------------------------------------- errors
@GENERATIONS
def test_csms_unreachable_error_is_raised_then_cleared(manager, peer, csms, tmp_path, generation):
    port = free_port()
    url = f"ws://127.0.0.1:{port}/ocpp"
    mgr = manager(generation, bridge_run_config(config_module(tmp_path, url, CsmsUnreachableErrorS=1)))
    mgr.watch_errors(MODULE, "ocpp_generic")
    probe = peer(EVSE, generation)
    mgr.launch(MODULE, ROOT, tmp_path / "run")
    bring_up(mgr, probe)
    raised = mgr.wait_error(lambda e: e["raised"])
    assert raised["error"]["type"] == "ocpp_bridge/CsmsUnreachable"
    assert raised["error"]["origin"] == {"module_id": MODULE, "implementation_id": "ocpp_generic"}
    assert url in raised["error"]["message"] and raised["error"]["severity"] in ("Low", "Medium", "High")
    csms("1.6", port=port)
    cleared = mgr.wait_error(lambda e: not e["raised"], timeout=30)
    assert cleared["error"]["uuid"] == raised["error"]["uuid"]
    assert cleared["error"]["state"] == "ClearedByModule"
    assert [e["raised"] for e in mgr.errors] == [True, False]
    assert mgr.protocol_errors == []


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
    st.bridge.wait_log(r"bad error message: error on .*evse_manager/Internal is not JSON")
    assert st.call("ocpp_generic", "get_variables", {"requests": []}) == []  # still serving
