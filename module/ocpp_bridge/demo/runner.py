"""``ocpp-bridge demo``: the whole picture on one machine, no set-up.

Starts an MQTT broker (mosquitto when installed, else the pure-Python amqtt), a CSMS built
on the ``ocpp`` package, a simulated EVSE manager, a simulated System module
(``system_simulator.py`` on ``system_bus.py``), and the bridge as a real
``ocpp-bridge run`` process; then plays the manager and the Auth module: sends global ready,
watches our variables, calls a few commands, and drives one whole charging session (plug in,
authorize, charge with meter values, stop, unplug) and one firmware update (the CSMS's
UpdateFirmware, the System module's download and installation). Every OCPP frame, bus event and variable
is printed as it happens. Ctrl-C (or ``--seconds``) stops everything.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import yaml

from ocpp_bridge.demo.broker import start_broker
from ocpp_bridge.demo.csms import Csms
from ocpp_bridge.demo.evse_simulator import EvseSimulator
from ocpp_bridge.demo.peer import DemoPeer
from ocpp_bridge.demo.system_bus import SystemBus
from ocpp_bridge.demo.system_simulator import SystemSimulator

MODULE_ID = "ocpp"
CP_ID = "DEMO-CP-1"

_print_lock = threading.Lock()


def say(tag: str, text: str) -> None:
    with _print_lock:
        print(f"{time.strftime('%H:%M:%S')} [{tag:<5}] {text}", flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_run_config(folder: Path, broker_port: int, csms_url: str, version: str) -> Path:
    # meter values every second during the demo's session (the defaults are a minute)
    overrides = {"MeterValueSampleInterval": "1"} if version == "1.6" else {"SampledDataCtrlr": {"TxUpdatedInterval": "1"}}
    (folder / "overrides.json").write_text(json.dumps(overrides))
    config = {
        "settings": {"mqtt_broker_host": "127.0.0.1", "mqtt_broker_port": broker_port,
                     "mqtt_everest_prefix": "everest"},
        "active_modules": {
            MODULE_ID: {
                "module": "OcppBridge",
                "config_module": {"ChargePointId": CP_ID, "CentralSystemURI": csms_url, "OcppVersion": version,
                                  "DatabasePath": str(folder / "db"), "ChargePointVendor": "ocpp-bridge",
                                  "ChargePointModel": "demo", "ConfigOverridesPath": str(folder / "overrides.json")},
                "connections": {"evse_manager": [{"module_id": "evse_manager_1", "implementation_id": "evse"}],
                                "system": [{"module_id": "system_1", "implementation_id": "main"}]},
            },
            "evse_manager_1": {"module": "EvseManager"},
            "system_1": {"module": "System"},
        },
    }
    path = folder / "run-config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def run_demo(version: str = "1.6", seconds: float = 0) -> int:
    import logging

    logging.getLogger().setLevel(logging.WARNING)  # the demo prints its own lines
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *a: stop.set())
    signal.signal(signal.SIGTERM, lambda *a: stop.set())
    folder = Path(tempfile.mkdtemp(prefix="ocpp-bridge-demo-"))
    broker = csms = bridge = peer = evse = system = None
    try:
        broker = start_broker(free_port(), folder)
        say("mqtt", f"broker: {broker.describe()}")
        csms = Csms(version, heartbeat_interval=10,
                    on_frame=lambda cp, d, text: say("ocpp", f"{'CS->CSMS' if d == 'in' else 'CSMS->CS'} {text}"))
        csms.start()
        say("csms", f"CSMS (ocpp package, OCPP {version}) listening on {csms.url}")
        config = write_run_config(folder, broker.port, csms.url, version)
        peer = DemoPeer(broker.port, MODULE_ID, on_var=lambda impl, var, v: say("var", f"{impl}/{var} = {json.dumps(v)}"))
        peer.start()
        evse = EvseSimulator(broker.port, module_id="evse_manager_1",
                             on_event=lambda kind, name, v: say("evse", f"{kind} {name} {json.dumps(v)[:160]}"))
        evse.start()
        system = SystemBus(broker.port, on_event=lambda kind, name, v: say("sys", f"{kind} {name} {json.dumps(v)}"))
        SystemSimulator(system, step_s=0.3)
        system.start()
        bridge = subprocess.Popen(
            [sys.executable, "-m", "ocpp_bridge", "--log-level", "WARNING", "run", "--config", str(config)],
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        say("demo", f"bridge started (pid {bridge.pid}); sending global ready as the manager would")
        if not peer.wait_module_ready(timeout=20):
            say("demo", "the bridge did not announce ready; see its log above")
            return 1
        peer.send_global_ready()
        csms.wait_for("BootNotification", timeout=20)
        time.sleep(0.5)
        _show_commands(peer, csms, version)
        _play_session(peer, evse)
        _update_firmware(csms, version)
        deadline = time.time() + seconds if seconds > 0 else None
        say("demo", "running; heartbeats every 10 s. Ctrl-C to stop.")
        while not stop.is_set() and bridge.poll() is None:
            if deadline and time.time() >= deadline:
                break
            stop.wait(0.2)
        return 0
    finally:
        if bridge is not None and bridge.poll() is None:
            bridge.send_signal(signal.SIGTERM)
            try:
                bridge.wait(timeout=5)
            except subprocess.TimeoutExpired:
                bridge.kill()
        for part in (evse, system, peer, csms, broker):
            if part is not None:
                getattr(part, "cleanup", part.stop)()
        shutil.rmtree(folder, ignore_errors=True)
        say("demo", "stopped")


def _show_commands(peer: DemoPeer, csms: Csms, version: str) -> None:
    def call(impl: str, cmd: str, args: dict) -> object:
        result = peer.call(impl, cmd, args)
        say("cmd", f"{impl}.{cmd}({json.dumps(args)}) -> {json.dumps(result)}")
        return result

    hb = {"component_variable": {"component": {"name": "OCPPCommCtrlr" if version != "1.6" else ""},
                                 "variable": {"name": "HeartbeatInterval"}}}
    call("ocpp_generic", "get_variables", {"requests": [hb]})
    call("ocpp_generic", "monitor_variables", {"component_variables": [hb["component_variable"]]})
    call("ocpp_generic", "set_variables", {"requests": [{**hb, "value": "10"}], "source": "demo"})
    if version == "1.6":
        call("main", "get_configuration_key", {"keys": ["HeartbeatInterval", "NumberOfConnectors"]})
        say("csms", "CSMS changes HeartbeatInterval to 12 (the monitor publishes event_data)")
        csms.call(CP_ID, "ChangeConfiguration", {"key": "HeartbeatInterval", "value": "12"})
    else:
        say("csms", "CSMS sets OCPPCommCtrlr.HeartbeatInterval to 12 (the monitor publishes event_data)")
        csms.call(CP_ID, "SetVariables", {"setVariableData": [{"component": {"name": "OCPPCommCtrlr"},
                                                               "variable": {"name": "HeartbeatInterval"},
                                                               "attributeValue": "12"}]})
    call("ocpp_generic", "security_event", {"event": {"type": "TamperDetectionActivated", "info": "demo"}})


def _play_session(peer: DemoPeer, evse: EvseSimulator, token: str = "DEMO-TAG-1") -> None:
    say("demo", "charging session: plug in, present a token, charge, stop, unplug")
    evse.plug_in()
    provided = {"id_token": {"value": token, "type": "ISO14443"}, "authorization_type": "RFID"}
    result = peer.call("auth_validator", "validate_token", {"provided_token": provided}, timeout=15)
    say("auth", f"validate_token({token}) -> {json.dumps(result)}")
    if not isinstance(result, dict) or result.get("authorization_status") != "Accepted":
        evse.unplug()
        return
    evse.start_transaction(token, meter_wh=1000)
    evse.start_charging()
    for step in range(1, 7):
        time.sleep(0.5)
        evse.meter(1000 + step * 250, power_w=11000)
    evse.stop_transaction("EVDisconnected")
    evse.unplug()
    time.sleep(1.0)


def _update_firmware(csms: Csms, version: str) -> None:
    """The CSMS updates the firmware; the simulated System module downloads and installs it."""
    say("demo", "firmware update: the System module downloads and installs it")
    location = "https://firmware.example/demo-2.0.bin"
    if version == "1.6":
        csms.call(CP_ID, "UpdateFirmware", {"location": location, "retrieveDate": "2020-01-01T00:00:00Z"})
        done = {"Installed", "InstallationFailed", "DownloadFailed"}
    else:
        csms.call(CP_ID, "UpdateFirmware", {"requestId": 1, "firmware": {"location": location,
                                                                         "retrieveDateTime": "2020-01-01T00:00:00Z"}})
        done = {"Installed", "InstallationFailed", "DownloadFailed", "InstallRebooting"}
    csms.wait_for(lambda e: e["action"] == "FirmwareStatusNotification" and e["payload"]["status"] in done,
                  timeout=20)
