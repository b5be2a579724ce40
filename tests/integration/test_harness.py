"""Proof that the test harness itself works, on real parts: mosquitto, paho peers, the
``ocpp``-package CSMS and a hand-driven websocket-client station. Every check here can fail;
if these fail, no bridge test result means anything.

Owns no harness code: it only exercises tests/support and ocpp_bridge.demo.csms.
"""

from __future__ import annotations

import base64
import json
import signal
import sys
import textwrap
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import jsonschema
import paho.mqtt.client as mqtt
import pytest
import websocket
import yaml
from ocpp.messages import get_validator

from ocpp_bridge.demo import csms as csms_mod
from ocpp_bridge.demo.csms import CallErrorReceived, CallErrorReply, InvalidResponse
from support.bridge_process import BridgeProcess
from support.everest_peer import NO_REPLY, CommandError

GENERATIONS = ["2025.12", "2024.11"]
REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "everest-reference"


# -- EVerest peers -------------------------------------------------------------------
def _evse_manager(peer, generation):
    a = peer("evse_manager_1", generation)
    a.implement("evse", "get_evse", lambda args: {"id": 1, "connectors": [{"id": 1}]})
    a.implement("evse", "echo", lambda args: args)
    a.implement("evse", "refuse", _refuse)
    a.implement("evse", "crash", lambda args: 1 / 0)
    a.implement("evse", "silent", lambda args: NO_REPLY)
    return a


def _refuse(args):
    raise CommandError("SchemaValidationError", "no such argument")


@pytest.mark.parametrize("generation", GENERATIONS)
def test_peers_call_each_other(peer, generation):
    a = _evse_manager(peer, generation)
    b = peer("probe", generation)

    assert b.call("evse_manager_1", "evse", "get_evse", None) == {"id": 1, "connectors": [{"id": 1}]}
    got = a.calls_received("evse", "get_evse")
    assert len(got) == 1 and got[0]["args"] is None and got[0]["origin"] == "probe"

    assert b.call("evse_manager_1", "evse", "echo", {"x": [1, 2.5, "z"]}) == {"x": [1, 2.5, "z"]}
    assert a.wait_call("evse", "echo")["args"] == {"x": [1, 2.5, "z"]}

    with pytest.raises(CommandError) as err:
        b.call("evse_manager_1", "evse", "refuse", {})
    assert (err.value.error_type, err.value.message) == ("SchemaValidationError", "no such argument")
    with pytest.raises(CommandError) as err:
        b.call("evse_manager_1", "evse", "crash", {})
    assert err.value.error_type == "HandlerException" and "ZeroDivisionError" in err.value.message
    with pytest.raises(TimeoutError):
        b.call("evse_manager_1", "evse", "silent", {}, timeout=0.5)

    b.watch_var("evse_manager_1", "evse", "session_event")
    event = {"uuid": "s1", "event": "SessionStarted", "timestamp": "2025-01-01T00:00:00Z"}
    a.publish_var("evse", "session_event", event)
    a.publish_var("evse", "session_event", {**event, "event": "TransactionStarted"})
    assert b.wait_var("evse_manager_1", "evse", "session_event",
                      lambda v: v["event"] == "TransactionStarted") == {**event, "event": "TransactionStarted"}
    assert b.values("evse_manager_1", "evse", "session_event") == [
        event, {**event, "event": "TransactionStarted"}]
    assert b.wait_var("evse_manager_1", "evse", "session_event", after=1)["event"] == "TransactionStarted"

    a.send_module_ready()
    b.wait_module_ready("evse_manager_1")
    assert a.protocol_errors == [] and b.protocol_errors == []


class _Sniffer:
    """A bare paho client recording every message under the prefix (topic, payload, qos, retain)."""

    def __init__(self, port: int, prefix: str) -> None:
        self.messages: list[tuple[str, object, int, bool]] = []
        self.cv = threading.Condition()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
        self.client.on_message = self._on_message
        subscribed = threading.Event()
        self.client.on_subscribe = lambda *a: subscribed.set()
        self.client.on_connect = lambda c, *a: c.subscribe(prefix + "#", qos=2)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        assert subscribed.wait(10)

    def _on_message(self, client, userdata, msg) -> None:
        with self.cv:
            self.messages.append((msg.topic, json.loads(msg.payload), msg.qos, msg.retain))
            self.cv.notify_all()

    def wait(self, n: int) -> list:
        with self.cv:
            assert self.cv.wait_for(lambda: len(self.messages) >= n, 10), self.messages
            return list(self.messages)

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.mark.parametrize("generation", GENERATIONS)
def test_wire_format_matches_everest_md(broker, prefix, peer, generation):
    """The peer's bytes on the broker, read by a bare paho client, against everest.md §1."""
    a = _evse_manager(peer, generation)
    b = peer("probe", generation)
    sniff = _Sniffer(broker.port, prefix)
    try:
        b.call("evse_manager_1", "evse", "echo", {"k": 1})
        a.publish_var("evse", "limits", {"a": 16})
        a.send_module_ready()
        msgs = sniff.wait(4)
    finally:
        sniff.stop()
    pi = f"{prefix}modules/evse_manager_1/impl/evse"
    (t1, call, *qr1), (t2, result, *qr2), (t3, var, *qr3), (t4, ready, *qr4) = msgs[:4]
    assert all(qr == [2, False] for qr in (qr1, qr2, qr3, qr4))    # QoS 2, not retained
    call_id = a.calls_received("evse", "echo")[0]["id"]
    if generation == "2025.12":
        assert t1 == f"{pi}/cmd/echo"
        assert call == {"msg_type": "Cmd", "data": {"id": call_id, "args": {"k": 1}, "origin": "probe"}}
        assert t2 == f"{pi}/cmd/echo/response/probe"
        assert result == {"msg_type": "CmdResult", "data": {"type": "result", "data": {
            "id": call_id, "retval": {"k": 1}, "origin": "evse_manager_1"}}}
        assert (t3, var) == (f"{pi}/var/limits", {"msg_type": "Var", "data": {"data": {"a": 16}}})
        assert ready == {"msg_type": "ModuleReady", "data": True}
    else:
        assert t1 == t2 == f"{pi}/cmd"
        assert call == {"name": "echo", "type": "call",
                        "data": {"id": call_id, "args": {"k": 1}, "origin": "probe"}}
        assert result == {"name": "echo", "type": "result",
                          "data": {"id": call_id, "retval": {"k": 1}, "origin": "evse_manager_1"}}
        assert (t3, var) == (f"{pi}/var", {"name": "limits", "data": {"a": 16}})
        assert ready is True
    assert t4 == f"{prefix}modules/evse_manager_1/ready"


def test_generations_ignore_each_other(peer):
    _evse_manager(peer, "2024.11")
    g3 = peer("probe", "2025.12")
    with pytest.raises(TimeoutError):
        g3.call("evse_manager_1", "evse", "get_evse", None, timeout=0.5)


@pytest.mark.parametrize("generation", GENERATIONS)
def test_call_raw_and_protocol_errors(peer, generation):
    a = _evse_manager(peer, generation)
    b = peer("probe", generation)
    inner = {"id": "raw-1", "args": {"v": True}, "origin": "probe"}
    if generation == "2025.12":
        topic, reply_topic = b.cmd_topic("evse_manager_1", "evse", "echo"), \
            b.response_topic("evse_manager_1", "evse", "echo", "probe")
        reply = b.call_raw(topic, json.dumps({"msg_type": "Cmd", "data": inner}), reply_topic)
        assert reply["data"]["data"] == {"id": "raw-1", "retval": {"v": True}, "origin": "evse_manager_1"}
    else:
        topic = reply_topic = b.cmd_topic("evse_manager_1", "evse", "echo")
        reply = b.call_raw(topic, json.dumps({"name": "echo", "type": "call", "data": inner}),
                           reply_topic)
        assert reply["type"] == "result" and reply["data"]["retval"] == {"v": True}
    # Garbage gets no reply from the emulator and is not mistaken for one.
    assert b.call_raw(topic, b"\x00not json", reply_topic, timeout=0.5) is None

    # A variable in the other generation's format is flagged, not collected (one client:
    # the two publishes arrive in order).
    b.watch_var("evse_manager_1", "evse", "powermeter")
    wrong = {"name": "powermeter", "data": 1} if generation == "2025.12" else {"x": 1}
    a.publish_raw(a.var_topic("evse_manager_1", "evse", "powermeter"), json.dumps(wrong))
    a.publish_var("evse", "powermeter", 2)
    assert b.wait_var("evse_manager_1", "evse", "powermeter") == 2
    assert b.values("evse_manager_1", "evse", "powermeter") == [2]
    assert len(b.protocol_errors) == 1 and "/var" in b.protocol_errors[0]


def test_broker_restart_on_same_port(fresh_broker, peer):
    a = peer("evse_manager_1", broker=fresh_broker)
    a.implement("evse", "get_evse", lambda args: {"id": 1})
    b = peer("probe", broker=fresh_broker)
    assert b.call("evse_manager_1", "evse", "get_evse", {}) == {"id": 1}
    port = fresh_broker.port
    fresh_broker.restart()
    assert fresh_broker.port == port and fresh_broker.alive
    a.wait_connected()
    b.wait_connected()
    assert a.connect_count == 2 and b.connect_count == 2
    assert b.call("evse_manager_1", "evse", "get_evse", {}) == {"id": 1}


# -- CSMS ----------------------------------------------------------------------------
CASES = {
    "1.6": {
        "boot": {"chargePointVendor": "Vendor", "chargePointModel": "Model"},
        "bad_boot": {"chargePointVendor": "Vendor"},
        "get": ("GetConfiguration", {"key": ["HeartbeatInterval"]},
                {"configurationKey": [{"key": "HeartbeatInterval", "readonly": False, "value": "42"}],
                 "unknownKey": []}),
        "reset": ("Reset", {"type": "Soft"}),
        "authorize": ({"idTag": "TAG1"}, {"idTagInfo": {"status": "Invalid"}}),
        "cs_only": "RemoteStartTransaction",
    },
    "2.0.1": {
        "boot": {"chargingStation": {"model": "Model", "vendorName": "Vendor"}, "reason": "PowerUp"},
        "bad_boot": {"chargingStation": {"model": "Model"}, "reason": "PowerUp"},
        "get": ("GetVariables", {"getVariableData": [
                    {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}}]},
                {"getVariableResult": [{"attributeStatus": "Accepted", "attributeValue": "42",
                                        "component": {"name": "OCPPCommCtrlr"},
                                        "variable": {"name": "HeartbeatInterval"}}]}),
        "reset": ("Reset", {"type": "Immediate"}),
        "authorize": ({"idToken": {"idToken": "TAG1", "type": "ISO14443"}},
                      {"idTokenInfo": {"status": "Invalid"}}),
        "cs_only": "RequestStartTransaction",
    },
}


class Station:
    """The test's hand-driven charging station: a websocket-client connection."""

    def __init__(self, url: str, subprotocol: str, **kw) -> None:
        self.ws = websocket.create_connection(url, subprotocols=[subprotocol], timeout=10, **kw)

    def send(self, *frame) -> None:
        self.ws.send(json.dumps(list(frame)))

    def recv(self) -> list:
        return json.loads(self.ws.recv())

    def request(self, uid: str, action: str, payload: dict) -> list:
        self.send(2, uid, action, payload)
        return self.recv()


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
def test_csms_with_a_hand_driven_station(csms, version):
    case = CASES[version]
    frames: list[tuple[str, str, str]] = []
    server = csms(version, boot_status="Pending", heartbeat_interval=42,
                  on_frame=lambda *f: frames.append(f))
    proto = "ocpp1.6" if version == "1.6" else "ocpp2.0.1"
    st = Station(server.url + "/CP-1", proto)
    assert st.ws.getsubprotocol() == proto
    server.wait_for_station("CP-1")
    assert server.connected("CP-1") and server.handshake("CP-1")["subprotocol"] == proto

    # Station -> CSMS: configured boot answer, ledger in wire camelCase.
    kind, uid, boot = st.request("b1", "BootNotification", case["boot"])
    assert (kind, uid, boot["status"], boot["interval"]) == (3, "b1", "Pending", 42)
    entry = server.wait_for("BootNotification", cp_id="CP-1")
    assert (entry["payload"], entry["unique_id"], entry["response"]) == (case["boot"], "b1", boot)
    server.set_boot_response("Accepted", 7)
    assert st.request("b2", "BootNotification", case["boot"])[2]["interval"] == 7

    # A schema-invalid CALL gets a CALLERROR; the ledger says so.
    reply = st.request("b3", "BootNotification", case["bad_boot"])
    assert reply[0] == 4 and reply[1] == "b3"
    assert server.wait_for(lambda e: e["unique_id"] == "b3")["error"] == reply[2]
    # A CSMS -> station action sent by the station: NotImplemented; a made-up one: NotSupported.
    assert st.request("x1", case["cs_only"], {})[2] == "NotImplemented"
    assert st.request("x2", "NoSuchAction", {})[2] == "NotSupported"

    # Overrides: a payload, then a CALLERROR.
    auth_req, invalid = case["authorize"]
    server.set_response("Authorize", invalid)
    assert st.request("a1", "Authorize", auth_req) == [3, "a1", invalid]
    server.set_response("Authorize", CallErrorReply("SecurityError", "go away"))
    assert st.request("a2", "Authorize", auth_req) == [4, "a2", "SecurityError", "go away", {}]
    server.set_response("Authorize", None)
    assert st.request("a3", "Authorize", auth_req)[2] != invalid

    # CSMS -> station: call() returns the station's answer; errors and bad answers raise.
    action, request, answer = case["get"]
    with ThreadPoolExecutor(1) as pool:
        fut = pool.submit(server.call, "CP-1", action, request)
        kind, cuid, got_action, got_payload = st.recv()
        assert (kind, got_action, got_payload) == (2, action, request)
        st.send(3, cuid, answer)
        assert fut.result(10) == answer

        fut = pool.submit(server.call, "CP-1", *case["reset"])
        cuid = st.recv()[1]
        st.send(4, cuid, "NotSupported", "not here", {})
        with pytest.raises(CallErrorReceived) as err:
            fut.result(10)
        assert (err.value.code, err.value.description) == ("NotSupported", "not here")

        fut = pool.submit(server.call, "CP-1", *case["reset"])
        st.send(3, st.recv()[1], {"status": "Maybe"})
        with pytest.raises(InvalidResponse):
            fut.result(10)

        # send_raw: a station CALL arriving first is answered normally, not taken.
        fut = pool.submit(server.send_raw, "CP-1", '[2,"r1","NoSuchAction",{}]')
        assert st.ws.recv() == '[2,"r1","NoSuchAction",{}]'
        mark = server.mark()
        st.send(2, "h1", "Heartbeat", {})
        st.send(4, "r1", "NotSupported", "", {})
        assert fut.result(10) == '[4, "r1", "NotSupported", "", {}]'
        kind, uid, hb = st.recv()
        assert (kind, uid) == (3, "h1") and "currentTime" in hb
        assert server.wait_for("Heartbeat", after_index=mark)["unique_id"] == "h1"

    # Every frame was seen raw, both ways, by the recorder and the callback.
    texts = [(f["direction"], f["text"]) for f in server.frames("CP-1")]
    assert texts == [(d, t) for (_cp, d, t) in frames]
    assert ("in", '[2, "b1", "BootNotification", ' + json.dumps(case["boot"]) + "]") in texts
    assert [e["action"] for e in server.entries(cp_id="CP-1")][:3] == ["BootNotification"] * 3

    with ThreadPoolExecutor(1) as pool:
        fut = pool.submit(server.disconnect, "CP-1")
        assert st.ws.recv() == ""             # the close frame; websocket-client answers it
        st.ws.shutdown()                      # and the station drops the TCP connection
        fut.result(10)
    assert not server.connected("CP-1")

    st2 = Station(server.url + "/CP-1", proto)
    server.wait_for_station("CP-1", count=2)
    assert server.connection_count("CP-1") == 2
    server.disconnect("CP-1", abort=True)
    with pytest.raises(websocket.WebSocketConnectionClosedException):
        st2.ws.recv()
    st3 = Station(server.url + "/CP-1", proto)
    server.wait_for_station("CP-1", count=3)
    st3.ws.close()
    server.wait_disconnected("CP-1")


def test_csms16_transaction_ids_and_wait_for_timeout(csms16):
    server = csms16()
    st = Station(server.url + "/CP-T", "ocpp1.6")
    server.wait_for_station("CP-T")
    start = {"connectorId": 1, "idTag": "T", "meterStart": 0, "timestamp": "2025-01-01T00:00:00Z"}
    ids = [st.request(f"s{i}", "StartTransaction", start)[2]["transactionId"] for i in range(3)]
    assert ids == [1, 2, 3]
    stop = {"transactionId": 1, "meterStop": 10, "timestamp": "2025-01-01T00:01:00Z"}
    assert st.request("e1", "StopTransaction", stop) == [3, "e1", {}]
    with pytest.raises(TimeoutError, match="StartTransaction"):
        server.wait_for("Authorize", timeout=0.3)
    st.ws.close()


def test_csms_requires_the_subprotocol_and_a_known_path(csms201):
    server = csms201()
    with pytest.raises(websocket.WebSocketBadStatusException) as err:
        websocket.create_connection(server.url + "/CP-X", timeout=10)   # no subprotocol
    assert err.value.status_code == 400
    with pytest.raises(websocket.WebSocketBadStatusException) as err:
        websocket.create_connection(server.url.replace("/ocpp", "/other") + "/CP-X",
                                    subprotocols=["ocpp2.0.1"], timeout=10)
    assert err.value.status_code == 404


def test_csms_basic_auth(csms16):
    server = csms16(basic_auth_password="s3cret-pass")

    def auth(user: str, password: str) -> list[str]:
        return ["Authorization: Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()]
    for header in ([], auth("CP-A", "wrong"), auth("CP-B", "s3cret-pass")):
        with pytest.raises(websocket.WebSocketBadStatusException) as err:
            Station(server.url + "/CP-A", "ocpp1.6", header=header)
        assert err.value.status_code == 401
    assert [r["status"] for r in server.rejected] == [401, 401, 401]
    st = Station(server.url + "/CP-A", "ocpp1.6", header=auth("CP-A", "s3cret-pass"))
    server.wait_for_station("CP-A")
    assert server.handshake("CP-A")["headers"]["Authorization"].startswith("Basic ")
    st.ws.close()


EXPECTED_ACTIONS = {
    "1.6": {"BootNotification", "Heartbeat", "StatusNotification", "Authorize", "StartTransaction",
            "StopTransaction", "MeterValues", "DataTransfer", "DiagnosticsStatusNotification",
            "FirmwareStatusNotification", "SecurityEventNotification", "SignCertificate",
            "LogStatusNotification", "SignedFirmwareStatusNotification"},
    "2.0.1": {"BootNotification", "Heartbeat", "StatusNotification", "Authorize", "TransactionEvent",
              "MeterValues", "NotifyEvent", "NotifyReport", "SecurityEventNotification",
              "DataTransfer", "FirmwareStatusNotification", "LogStatusNotification",
              "NotifyChargingLimit", "ReportChargingProfiles", "ClearedChargingLimit",
              "NotifyEVChargingNeeds", "NotifyEVChargingSchedule", "NotifyMonitoringReport",
              "ReservationStatusUpdate", "Get15118EVCertificate", "GetCertificateStatus",
              "SignCertificate", "NotifyCustomerInformation", "NotifyDisplayMessages",
              "PublishFirmwareStatusNotification"},
}


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
def test_csms_default_responses_are_schema_valid(version):
    defaults = csms_mod.DEFAULTS_16 if version == "1.6" else csms_mod.DEFAULTS_201
    assert set(defaults) == EXPECTED_ACTIONS[version]
    server = csms_mod.Csms(version)            # not started: responses need no socket
    for action in defaults:
        for request in ({}, {"idTag": "T"}, {"idToken": {"idToken": "T", "type": "Central"}}):
            get_validator(3, action, version).validate(server.default_response(action, request))


# -- the bridge launcher -------------------------------------------------------------
def test_run_config_is_valid_everest_config(tmp_path):
    b = BridgeProcess({"ChargePointId": "CP1", "OcppVersion": "1.6"}, broker_port=1883,
                      evse_managers=[("evse_manager_1", "evse"), ("evse_manager_2", "evse")],
                      connections={"system": [("probe", "system")]}, workdir=tmp_path)
    written = yaml.safe_load(b.write_config().read_text())
    schema = yaml.safe_load((REFERENCE / "schemas" / "config.yaml").read_text())
    jsonschema.Draft7Validator(schema).validate(written)
    modules = written["active_modules"]
    assert modules["ocpp"]["module"] == "OcppBridge"
    assert modules["ocpp"]["connections"]["evse_manager"][1] == {
        "module_id": "evse_manager_2", "implementation_id": "evse"}
    assert set(modules) == {"ocpp", "evse_manager_1", "evse_manager_2", "probe"}
    assert b.command()[-4:] == ["--config", str(b.config_path), "--module", "ocpp"]


class _FakeBridge(BridgeProcess):
    """Runs a stand-in script instead of the module, to test the launcher alone."""

    script = textwrap.dedent("""
        import signal, sys, time
        print("started with", sys.argv[1:], flush=True)
        signal.signal(signal.SIGTERM, lambda *a: (print("bye", flush=True), sys.exit(3)))
        while True:
            time.sleep(0.05)
    """)

    def command(self) -> list[str]:
        path = self.dir / "fake.py"
        path.write_text(self.script)
        return [sys.executable, str(path), "--config", str(self.config_path)]


def test_bridge_process_lifecycle(tmp_path):
    b = _FakeBridge({}, broker_port=1, workdir=tmp_path).start()
    b.wait_log(r"^started with \['--config', '.*run-config-ocpp.yaml'\]")
    assert b.alive
    assert b.stop(signal.SIGTERM, timeout=30) == 3 and not b.alive
    assert "bye" in b.log_text()
    b.start()
    size_marker = b.log_text().rindex("start #2")
    b.wait_log("started with", after=size_marker)
    assert b.kill() == -signal.SIGKILL
    with pytest.raises(AssertionError, match="exited"):
        b.wait_log("never printed", timeout=5)
