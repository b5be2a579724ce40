"""The simulated EVSE manager (ocpp_bridge.demo.evse_simulator) on a real mosquitto, seen by
the harness's own EverestPeer playing the OCPP module: a scripted session arrives in order with
valid shapes, every command of interfaces/evse_manager.yaml is answered validly and acts like
EvseManager, and the simulator refuses to publish or answer anything invalid.

Owns no simulator code: it only drives the simulator and checks the wire.
"""

from __future__ import annotations

import json
import threading
from datetime import datetime

import paho.mqtt.client as mqtt
import pytest

from ocpp_bridge.demo.evse_simulator import EvseSimulator, SimulatorError
from ocpp_bridge.everest.definitions import Definitions
from support.everest_peer import CommandError

GENERATIONS = ["2025.12", "2024.11"]
SIM = "evse_manager_1"
VARS = ["session_event", "powermeter", "ev_info", "ready", "waiting_for_external_ready"]
DEFS = Definitions.load()


@pytest.fixture
def simulator(broker, prefix, peer):
    """``simulator(generation, **kwargs)`` → a started EvseSimulator whose command
    subscriptions are in force: ``start`` returns on CONNACK, before the broker has its
    SUBSCRIBE, so a command sent at once could be lost. Its module ready goes out after the
    SUBSCRIBE on the same connection; a watcher seeing it is the sentinel."""
    made: list[EvseSimulator] = []

    def make(generation: str = "2025.12", **kwargs) -> EvseSimulator:
        watcher = peer(f"watcher-{len(made)}", generation)
        sim = EvseSimulator(broker.port, prefix=prefix, generation=generation, **kwargs).start()
        made.append(sim)
        watcher.wait_module_ready(sim.module_id, timeout=20)
        return sim
    yield make
    for sim in made:
        sim.stop()


def _ocpp_side(peer, generation):
    ocpp = peer("ocpp", generation)
    for var in VARS:
        ocpp.watch_var(SIM, "evse", var)
    return ocpp


def _events(ocpp, count: int) -> list[dict]:
    ocpp.wait_var(SIM, "evse", "session_event", after=count - 1)
    return ocpp.values(SIM, "evse", "session_event")


def _call(ocpp, cmd, args=None):
    return ocpp.call(SIM, "evse", cmd, args)


def _utc(stamp: str) -> datetime:
    assert stamp.endswith("Z"), stamp
    return datetime.fromisoformat(stamp[:-1] + "+00:00")


def _token(value: str) -> dict:
    return {"id_token": {"value": value, "type": "ISO14443"}, "authorization_type": "RFID"}


# -- a whole session -----------------------------------------------------------------------
@pytest.mark.parametrize("generation", GENERATIONS)
def test_scripted_session_arrives_in_order_with_valid_shapes(peer, simulator, generation):
    ocpp = _ocpp_side(peer, generation)
    sim = simulator(generation)
    ocpp.wait_module_ready(SIM)

    sim.publish_ready()
    session = sim.plug_in()
    assert sim.authorize("TAG1") == _token("TAG1")          # recorded only, nothing published
    sim.start_transaction("TAG1", meter_wh=1000)
    sim.start_charging()
    reading = sim.meter(1500, 7200, current_A={"L1": 32.0}, voltage_V={"L1": 230.0})
    sim.pause_ev()
    sim.resume()
    sim.set_ev_info(soc=55.5)
    sim.stop_transaction("Local", id_token="TAG1")
    sim.unplug()

    expected = ["Enabled", "SessionStarted", "AuthRequired", "Authorized", "TransactionStarted",
                "ChargingStarted", "ChargingPausedEV", "ChargingStarted", "TransactionFinished",
                "SessionFinished"]
    events = _events(ocpp, len(expected))
    assert [e["event"] for e in events] == expected
    assert events == sim.events()                     # unchanged on the wire
    for event in events:
        DEFS.check_variable("evse_manager", "session_event", event)
        assert event["connector_id"] == 1
    assert events[0]["uuid"] == "" and events[0]["source"]["enable_state"] == "Unassigned"
    assert all(e["uuid"] == session for e in events[1:]) and len(session) == 36
    stamps = [_utc(e["timestamp"]) for e in events]
    assert stamps == sorted(stamps)

    by_name = {e["event"]: e for e in events}
    assert by_name["SessionStarted"]["session_started"]["reason"] == "EVConnected"
    started = by_name["TransactionStarted"]["transaction_started"]
    assert started["id_tag"] == _token("TAG1")
    assert started["meter_value"]["energy_Wh_import"] == {"total": 1000}
    finished = by_name["TransactionFinished"]["transaction_finished"]
    assert (finished["reason"], finished["id_tag"]) == ("Local", _token("TAG1"))
    assert finished["meter_value"] == reading
    assert by_name["SessionFinished"]["session_finished"]["meter_value"] == reading
    assert events[6]["charging_state_changed_event"]["meter_value"] == reading

    assert ocpp.values(SIM, "evse", "powermeter") == [reading]
    assert reading["energy_Wh_import"] == {"total": 1500} and reading["power_W"] == {"total": 7200}
    assert reading["current_A"] == {"L1": 32.0}
    assert ocpp.values(SIM, "evse", "ev_info") == [{"soc": 55.5}]
    assert ocpp.values(SIM, "evse", "waiting_for_external_ready") == [False]
    assert ocpp.values(SIM, "evse", "ready") == [True]
    assert sim.presented == [_token("TAG1")]
    assert ocpp.protocol_errors == []


@pytest.mark.parametrize("generation", GENERATIONS)
def test_ready_announcements(peer, simulator, generation):
    ocpp = _ocpp_side(peer, generation)
    sim = simulator(generation)
    ocpp.wait_module_ready(SIM)
    assert ocpp.ready_count(SIM) == 1
    ocpp.send_global_ready()
    assert sim.wait_global_ready(10)

    sim.publish_ready(wait_external=True)
    assert ocpp.wait_var(SIM, "evse", "waiting_for_external_ready") is True
    assert _call(ocpp, "external_ready_to_start_charging") is True
    assert ocpp.wait_var(SIM, "evse", "ready") is True
    assert _events(ocpp, 1)[0]["event"] == "Enabled"
    assert ocpp.values(SIM, "evse", "waiting_for_external_ready") == [True]
    assert _call(ocpp, "external_ready_to_start_charging") is False   # no longer waiting
    assert ocpp.protocol_errors == []


# -- commands ------------------------------------------------------------------------------
def _command_table() -> list[tuple[str, dict | None, object]]:
    """(cmd, args, expected result) for every command, in an order without a session."""
    validation = {"authorization_status": "Accepted", "tariff_messages": []}
    return [
        ("get_evse", None, {"id": 2, "connectors": [{"id": 1, "type": "cType2"},
                                                    {"id": 2, "type": "cType2"}]}),
        ("enable_disable", {"connector_id": 0, "cmd_source": {
            "enable_source": "CSMS", "enable_state": "Disable", "enable_priority": 5000}}, False),
        ("authorize_response", {"provided_token": _token("A1"), "validation_result": validation}, None),
        ("withdraw_authorization", None, None),
        ("reserve", {"reservation_id": 7}, True),
        ("cancel_reservation", {}, None),
        ("pause_charging", {}, False),                 # no transaction to pause
        ("resume_charging", {}, False),
        ("stop_transaction", {"request": {"reason": "Remote"}}, False),
        ("force_unlock", {"connector_id": 1}, True),
        ("external_ready_to_start_charging", {}, False),
        ("set_plug_and_charge_configuration", {"plug_and_charge_configuration": {"pnc_enabled": False}}, None),
        ("update_allowed_energy_transfer_modes",
         {"allowed_energy_transfer_modes": ["AC_three_phase_core"]}, "NoHlc"),
    ]


@pytest.mark.parametrize("generation", GENERATIONS)
def test_every_command_is_answered_with_a_valid_result(peer, simulator, generation):
    table = _command_table()
    assert sorted(c for c, _a, _r in table) == sorted(DEFS.commands("evse_manager"))
    seen: list[tuple] = []
    ocpp = _ocpp_side(peer, generation)
    sim = simulator(generation, evse_id=2, connectors=2, on_event=lambda *e: seen.append(e))

    for cmd, args, expected in table:
        result = _call(ocpp, cmd, args)
        DEFS.check_result("evse_manager", cmd, result)
        assert result == expected, cmd
    assert sim.commands == [(c, a if a is not None else {}) for c, a, _r in table]
    assert [e[1] for e in seen if e[0] == "cmd"] == [c for c, _a, _r in table]
    assert sim.wait_command("reserve", lambda a: a["reservation_id"] == 7) == {"reservation_id": 7}
    assert sim.wait_command("enable_disable")["cmd_source"]["enable_source"] == "CSMS"
    assert [e["event"] for e in _events(ocpp, 3)] == ["Disabled", "ReservationStart", "ReservationEnd"]
    assert sim.rejected == [] and sim.failures == [] and ocpp.protocol_errors == []


@pytest.mark.parametrize("generation", GENERATIONS)
def test_stop_transaction_command_finishes_the_transaction(peer, simulator, generation):
    ocpp = _ocpp_side(peer, generation)
    sim = simulator(generation)
    session = sim.plug_in()
    sim.start_transaction("TAG9", meter_wh=20)
    sim.start_charging()
    sim.meter(250, 3600)

    assert _call(ocpp, "stop_transaction", {"request": {"reason": "Remote"}}) is True
    assert sim.wait_command("stop_transaction") == {"request": {"reason": "Remote"}}
    finished = ocpp.wait_var(SIM, "evse", "session_event", lambda e: e["event"] == "TransactionFinished")
    assert finished["uuid"] == session
    assert finished["transaction_finished"]["reason"] == "Remote"
    assert "id_tag" not in finished["transaction_finished"]
    assert finished["transaction_finished"]["meter_value"]["energy_Wh_import"] == {"total": 250}
    assert _call(ocpp, "stop_transaction", {"request": {"reason": "Remote"}}) is False  # nothing left

    sim.unplug()                                       # the car stayed plugged until now
    events = _events(ocpp, 7)
    assert [e["event"] for e in events] == [
        "SessionStarted", "AuthRequired", "Authorized", "TransactionStarted", "ChargingStarted",
        "TransactionFinished", "SessionFinished"]
    assert events[-1]["uuid"] == session
    assert [e["event"] for e in sim.events()].count("TransactionFinished") == 1


@pytest.mark.parametrize("generation", GENERATIONS)
def test_commands_act_like_evse_manager(peer, simulator, generation):
    ocpp = _ocpp_side(peer, generation)
    sim = simulator(generation)

    disable = {"enable_source": "CSMS", "enable_state": "Disable", "enable_priority": 10}
    assert _call(ocpp, "enable_disable", {"connector_id": 1, "cmd_source": disable}) is False
    local = {"enable_source": "LocalAPI", "enable_state": "Enable", "enable_priority": 0}
    assert _call(ocpp, "enable_disable", {"connector_id": 1, "cmd_source": local}) is True  # higher priority
    assert _call(ocpp, "enable_disable", {"connector_id": 1, "cmd_source": {
        **local, "enable_state": "Unassigned"}}) is False                                   # CSMS wins again
    assert sim.set_enabled(True, source="ServiceTechnician", priority=1) is True

    assert _call(ocpp, "reserve", {"reservation_id": 42}) is True
    sim.plug_in()
    assert _call(ocpp, "reserve", {"reservation_id": 43}) is False   # busy
    sim.start_transaction("TAG2")
    sim.start_charging()
    assert _call(ocpp, "pause_charging") is True
    assert _call(ocpp, "resume_charging") is True
    sim.pause_ev()
    assert _call(ocpp, "resume_charging") is False                   # an EV pause cannot be resumed

    events = _events(ocpp, 13)
    assert [(e["event"], e.get("source", {}).get("enable_source")) for e in events[:4]] == [
        ("Disabled", "CSMS"), ("Enabled", "LocalAPI"), ("Disabled", "CSMS"), ("Enabled", "ServiceTechnician")]
    assert [e["event"] for e in events[4:]] == [
        "ReservationStart", "SessionStarted", "AuthRequired", "Authorized", "TransactionStarted",
        "ChargingStarted", "ChargingPausedEVSE", "ChargingStarted", "ChargingPausedEV"]
    assert events[5]["session_started"]["reservation_id"] == 42
    assert events[8]["transaction_started"]["reservation_id"] == 42
    assert events[10]["charging_paused_evse"] == {"reasons": ["UserPause"]}


# -- refusing what is invalid ----------------------------------------------------------------
@pytest.mark.parametrize("generation", GENERATIONS)
def test_simulator_refuses_invalid_values(peer, simulator, generation):
    ocpp = _ocpp_side(peer, generation)
    sim = simulator(generation)

    with pytest.raises(SimulatorError, match="current_A"):
        sim.meter(10, current_A={"L1": "sixteen"})
    with pytest.raises(SimulatorError, match="soc"):
        sim.set_ev_info(soc=150)
    with pytest.raises(SimulatorError):
        sim.publish_var("ready", "yes")
    with pytest.raises(SimulatorError, match="no transaction"):
        sim.start_charging()
    with pytest.raises(SimulatorError):
        sim.stop_transaction("NotAReason")
    with pytest.raises(SimulatorError, match="not an error"):
        sim.raise_error("NoSuchError")
    sim.plug_in()
    sim.start_transaction("TAG3")
    with pytest.raises(SimulatorError, match="reason"):
        sim.stop_transaction("Whenever")
    marker = sim.meter(11)
    assert ocpp.wait_var(SIM, "evse", "powermeter") == marker
    assert ocpp.values(SIM, "evse", "powermeter") == [marker]       # nothing invalid went out
    assert [e["event"] for e in sim.events()] == [
        "SessionStarted", "AuthRequired", "Authorized", "TransactionStarted"]

    sim.answer("get_evse", {"id": 0, "connectors": []})            # a broken answer is not sent
    with pytest.raises(CommandError) as err:
        _call(ocpp, "get_evse")
    assert err.value.error_type == "HandlerException"
    with pytest.raises(SimulatorError, match="invalid answer to get_evse"):
        sim.wait_command("get_evse")


@pytest.mark.parametrize("generation", GENERATIONS)
def test_invalid_arguments_get_a_schema_error(peer, simulator, generation):
    ocpp = _ocpp_side(peer, generation)
    sim = simulator(generation)
    with pytest.raises(CommandError) as err:
        _call(ocpp, "enable_disable", {"connector_id": 1})
    assert err.value.error_type == "SchemaValidationError" and "cmd_source" in err.value.message
    with pytest.raises(CommandError):
        _call(ocpp, "stop_transaction", {"request": {"reason": "Bored"}})
    assert [r[0] for r in sim.rejected] == ["enable_disable", "stop_transaction"]
    assert sim.commands == []
    with pytest.raises(TimeoutError, match="rejected"):
        sim.wait_command("enable_disable", timeout=0.2)


# -- errors ----------------------------------------------------------------------------------
class _RawListener:
    """Plain paho subscriber collecting (topic, JSON payload) of one topic filter."""

    def __init__(self, port: int, topic: str):
        self.got: list[tuple[str, object]] = []
        self._cv = threading.Condition()
        self._client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
        self._client.on_message = self._on_message
        subscribed = threading.Event()
        self._client.on_subscribe = lambda *a: subscribed.set()
        self._client.connect("127.0.0.1", port)
        self._client.loop_start()
        self._client.subscribe(topic, qos=2)
        assert subscribed.wait(10)

    def _on_message(self, client, userdata, msg):
        with self._cv:
            self.got.append((msg.topic, json.loads(msg.payload)))
            self._cv.notify_all()

    def wait(self, count: int) -> list:
        with self._cv:
            assert self._cv.wait_for(lambda: len(self.got) >= count, 10), self.got
            return list(self.got)

    def stop(self):
        self._client.disconnect()
        self._client.loop_stop()


@pytest.mark.parametrize("generation", GENERATIONS)
def test_errors_are_raised_and_cleared(broker, prefix, simulator, generation):
    root = f"{prefix}modules/{SIM}/impl/evse/error"
    listener = _RawListener(broker.port, root + "/#" if generation == "2025.12" else root)
    try:
        sim = simulator(generation)
        raised = sim.raise_error("MREC4OverCurrentFailure", "too much current")
        cleared = sim.clear_error("evse_manager/MREC4OverCurrentFailure")
        got = listener.wait(2)
    finally:
        listener.stop()
    if generation == "2025.12":
        assert [t for t, _p in got] == [root + "/evse_manager/MREC4OverCurrentFailure"] * 2
        assert [p["msg_type"] for _t, p in got] == ["RaiseError", "ClearError"]
        objects = [p["data"] for _t, p in got]
    else:
        assert [t for t, _p in got] == [root, root]
        objects = [p for _t, p in got]
    assert objects == [raised, cleared]
    assert raised["type"] == "evse_manager/MREC4OverCurrentFailure" and raised["state"] == "Active"
    assert cleared["state"] == "ClearedByModule" and cleared["uuid"] == raised["uuid"]
    assert raised["origin"] == {"module_id": SIM, "implementation_id": "evse",
                                "mapping": {"evse": 1, "connector": 1}}
    assert raised["severity"] == "High" and raised["message"] == "too much current"
    _utc(raised["timestamp"])
    with pytest.raises(SimulatorError):
        sim.clear_error("MREC4OverCurrentFailure")           # no longer raised
