"""``ocpp-bridge demo``: the whole picture on one machine, no set-up.

Starts an MQTT broker (mosquitto when installed, else the pure-Python amqtt), a CSMS built
on the ``ocpp`` package, a simulated EVSE manager, a simulated System module
(``system_simulator.py`` on ``system_bus.py``), and the bridge as a real
``ocpp-bridge run`` process; then plays the manager and the Auth module: sends global ready,
watches our variables, calls a few commands, and drives one whole charging session (plug in,
authorize, charge with meter values, stop, unplug) and one firmware update (the CSMS's
UpdateFirmware, the System module's download and installation). During the session the CSMS
sets a charging profile: the bridge hands the new limit to the simulated EVSE's energy node
(``evse_energy_sink`` -> ``set_external_limits``) and the power in the meter values follows it.
Every OCPP frame, bus event and variable is printed as it happens. Ctrl-C (or ``--seconds``)
stops everything.

``--security-profile 2`` or ``3`` runs it all over TLS (``wss://``) with certificates made for the
run (``demo/pki.py``): 2 with the CSMS certificate verified and HTTP Basic auth, 3 with the
station's certificate (mutual TLS); the CSMS prints what the TLS handshake showed it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import ssl
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


DEMO_PASSWORD = "demo-basic-auth-passw0rd"


def write_run_config(folder: Path, broker_port: int, csms_url: str, version: str,
                     security: dict | None = None) -> Path:
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
                                  "ChargePointModel": "demo", "ConfigOverridesPath": str(folder / "overrides.json"),
                                  **(security or {})},
                "connections": {
                    "evse_manager": [{"module_id": "evse_manager_1", "implementation_id": "evse"}],
                    "evse_energy_sink": [{"module_id": "evse_manager_1", "implementation_id": "external_limits"}],
                    "system": [{"module_id": "system_1", "implementation_id": "main"}]},
            },
            "evse_manager_1": {"module": "EvseManager", "mapping": {"module": {"evse": 1}}},
            "system_1": {"module": "System"},
        },
    }
    path = folder / "run-config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def run_demo(version: str = "1.6", seconds: float = 0, security_profile: int = 0) -> int:
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
        tls, security = _tls_setup(folder, security_profile)
        csms = Csms(version, heartbeat_interval=10, ssl_context=tls,
                    basic_auth_password=DEMO_PASSWORD if security_profile in (1, 2) else None,
                    on_frame=lambda cp, d, text: say("ocpp", f"{'CS->CSMS' if d == 'in' else 'CSMS->CS'} {text}"))
        csms.start()
        say("csms", f"CSMS (ocpp package, OCPP {version}) listening on {csms.url}")
        config = write_run_config(folder, broker.port, csms.url, version, security)
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
        if tls is not None:
            shown = csms.handshake(CP_ID)
            say("csms", f"security profile {security_profile}: {shown['tls']['version']}, station certificate "
                        f"{shown['tls']['client_subject']}, Basic auth "
                        f"{'sent' if any(k.lower() == 'authorization' for k in shown['headers']) else 'not sent'}")
        time.sleep(0.5)
        _show_commands(peer, csms, version)
        _play_session(peer, evse, csms, version)
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


def _tls_setup(folder: Path, profile: int) -> tuple[ssl.SSLContext | None, dict]:
    """The CSMS's server context and the bridge's options for ``profile``."""
    if profile < 2:
        return None, ({"SecurityProfile": 1, "BasicAuthPassword": DEMO_PASSWORD} if profile == 1 else {})
    from ocpp_bridge.demo.pki import make_demo_pki

    pki = make_demo_pki(folder / "pki", CP_ID)
    say("demo", f"security profile {profile}: certificates made for this run in {folder / 'pki'}")
    options: dict = {"SecurityProfile": profile, "CsmsCaBundle": pki.ca}
    if profile == 2:
        options["BasicAuthPassword"] = DEMO_PASSWORD
    else:
        options.update(CsmsLeafCertificate=pki.station_cert, CsmsLeafKey=pki.station_key)
    return pki.server_context(require_client_cert=profile == 3), options


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


PROFILE_LIMIT_A = 10.0


def demo_profile(version: str) -> tuple[str, dict]:
    """The CSMS's SetChargingProfile for EVSE 1 during the session: a TxDefaultProfile of
    ``PROFILE_LIMIT_A`` from the transaction's start on."""
    period = [{"startPeriod": 0, "limit": PROFILE_LIMIT_A}]
    common = {"stackLevel": 0, "chargingProfilePurpose": "TxDefaultProfile", "chargingProfileKind": "Relative"}
    if version == "1.6":
        return "SetChargingProfile", {"connectorId": 1, "csChargingProfiles": {
            "chargingProfileId": 1, **common, "chargingSchedule": {"chargingRateUnit": "A",
                                                                   "chargingSchedulePeriod": period}}}
    return "SetChargingProfile", {"evseId": 1, "chargingProfile": {
        "id": 1, **common, "chargingSchedule": [{"id": 1, "chargingRateUnit": "A", "chargingSchedulePeriod": period}]}}


def _play_session(peer: DemoPeer, evse: EvseSimulator, csms: Csms, version: str, token: str = "DEMO-TAG-1") -> None:
    say("demo", "charging session: plug in, present a token, charge (the CSMS limits it to "
                f"{PROFILE_LIMIT_A:g} A halfway), stop, unplug")
    evse.plug_in()
    provided = {"id_token": {"value": token, "type": "ISO14443"}, "authorization_type": "RFID"}
    result = peer.call("auth_validator", "validate_token", {"provided_token": provided}, timeout=15)
    say("auth", f"validate_token({token}) -> {json.dumps(result)}")
    if not isinstance(result, dict) or result.get("authorization_status") != "Accepted":
        evse.unplug()
        return
    evse.start_transaction(token, meter_wh=1000)
    evse.start_charging()
    energy_wh, wanted_w = 1000.0, 11000.0
    for step in range(1, 9):
        if step == 4:
            action, payload = demo_profile(version)
            told = len([c for c, _ in evse.commands if c == "set_external_limits"])
            say("csms", f"CSMS sets a {PROFILE_LIMIT_A:g} A charging profile on EVSE 1")
            say("csms", f"{action} -> {json.dumps(csms.call(CP_ID, action, payload))}")
            try:  # the bridge tells the EVSE's energy node the new limit
                evse.wait_command("set_external_limits", after=told, timeout=10)
            except TimeoutError:
                say("demo", "the new limit did not reach the EVSE within 10 s")
        time.sleep(0.5)
        power_w = evse.meter(energy_wh, power_w=wanted_w)["power_W"]["total"]
        cap = evse.power_cap_w()
        say("evse", f"drawing {power_w:.0f} W (the EV wants {wanted_w:.0f} W; external limit "
                    f"{'none' if cap is None else f'{cap:.0f} W'})")
        energy_wh += power_w * 60 / 3600  # a simulated minute per step
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
