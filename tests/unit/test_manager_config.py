"""Configuration from an EVerest manager: the request, the answer (everest.md §1.5), the
environment the manager sets (§5), and the Settings built from them. Pure."""

import json

import pytest

from ocpp_bridge.config import ConfigError, Connection, Settings
from ocpp_bridge.everest import manager_config as MC
from ocpp_bridge.everest.definitions import Definitions
from ocpp_bridge.launch import LaunchError, ManagerEnv, read_env, settings_from_manager


@pytest.fixture(scope="module")
def defs():
    return Definitions.load()


def param(name, value, datatype="string"):
    return {"name": name, "value": value, "characteristics": {"datatype": datatype, "mutability": "ReadOnly"}}


def module_config(**over):
    mc = {
        "standalone": False, "module_name": "OcppBridge", "module_id": "ocpp", "telemetry_enabled": False,
        "mapping": {}, "access": {},
        "configuration_parameters": {
            "!module": [param("ChargePointId", "CP7"), param("OcppVersion", "2.0.1"),
                        param("SecurityProfile", 0, "integer"), param("ValidateSchema", False, "bool"),
                        param("EverestProtocol", "2025.12")],
            "ocpp_generic": [], "main": []},
        "connections": {"evse_manager": [
            {"module_id": "evse_b", "implementation_id": "evse", "requirement": {"id": "evse_manager", "index": 1}},
            {"module_id": "evse_a", "implementation_id": "evse", "requirement": {"id": "evse_manager", "index": 0}}]},
    }
    mc.update(over)
    return mc


def answer(generation="2025.12", mc=None, status="Ok"):
    body = {"status": status, "status_info": "", "type": "Get",
            "response": {"type": "Module", "data": {"module_config": mc or module_config(), "mappings": {}}}}
    doc = {"msg_type": "GetConfigResponse", "data": body} if generation == "2025.12" else body
    return json.dumps(doc).encode()


# --------------------------------------------------------------------------- request / answer
def test_request_in_both_generations():
    g3 = MC.config_request("everest", "ocpp", "2025.12")
    assert g3.topic == "everest/config/request"
    assert json.loads(g3.payload) == {"msg_type": "GetConfig", "data": {
        "type": "Get", "origin": "ocpp", "request": {"type": "Module"}}}
    g2 = MC.config_request("everest/", "ocpp", "2024.11")
    assert g2.topic == "everest/config/request"
    assert json.loads(g2.payload) == {"type": "Get", "origin": "ocpp", "request": {"type": "Module"}}
    assert MC.response_topic("everest", "ocpp") == "everest/modules/ocpp/response"
    with pytest.raises(ValueError):
        MC.config_request("everest", "ocpp", "2023.1")


@pytest.mark.parametrize("generation", ["2025.12", "2024.11"])
def test_answer_gives_options_impl_options_and_ordered_connections(generation):
    got = MC.decode_response(answer(generation), "ocpp", "OcppBridge")
    assert got.generation == generation
    assert got.module_options == {"ChargePointId": "CP7", "OcppVersion": "2.0.1", "SecurityProfile": 0,
                                  "ValidateSchema": False, "EverestProtocol": "2025.12"}
    assert got.impl_options == {"ocpp_generic": {}, "main": {}}
    assert got.connections == {"evse_manager": [{"module_id": "evse_a", "implementation_id": "evse"},
                                                {"module_id": "evse_b", "implementation_id": "evse"}]}
    assert got.standalone is False


@pytest.mark.parametrize("payload,needle", [
    (b"{", "not JSON"),
    (answer(status="AccessDenied"), "AccessDenied"),
    (answer(mc=module_config(module_id="other")), "'other'"),
    (answer(mc=module_config(module_name="OCPP")), "'OCPP'"),
    (answer(mc=module_config(configuration_parameters={"!module": [{"value": 1}]})), "bad configuration parameter"),
    (answer(mc=module_config(connections={"evse_manager": [{"module_id": "x"}]})), "bad connection"),
    (json.dumps({"msg_type": "Var", "data": {}}).encode(), "msg_type"),
    (json.dumps({"status": "Ok", "response": {"type": "All", "data": {}}}).encode(), "not a Module response"),
])
def test_unusable_answers_say_why(payload, needle):
    with pytest.raises(MC.ManagerConfigError, match=needle):
        MC.decode_response(payload, "ocpp", "OcppBridge")


def test_generation_of_retained_definitions():
    assert MC.generation_of(b'{"msg_type":"GetConfigResponse","data":{"prefix":"/usr"}}') == "2025.12"
    assert MC.generation_of(b'{"prefix":"/usr"}') == "2024.11"
    assert MC.generation_of(b"") is None and MC.generation_of(b"garbage") is None
    assert MC.generation_of(b'{"msg_type":"Var"}') is None


# --------------------------------------------------------------------------- environment
def test_env_of_a_manager_launched_module():
    env = {"EV_MODULE": "ocpp", "EV_MQTT_EVEREST_PREFIX": "everest_x/", "EV_MQTT_BROKER_HOST": "10.0.0.2",
           "EV_MQTT_BROKER_PORT": "2727", "EV_VALIDATE_SCHEMA": "1", "EV_PREFIX": "/opt/everest"}
    got = read_env(env)
    assert got == ManagerEnv(Settings("ocpp", prefix="everest_x/", broker_host="10.0.0.2", broker_port=2727),
                             validate_schema=True, install_prefix="/opt/everest")


def test_env_socket_overrides_and_flags():
    base = {"EV_MODULE": "ocpp", "EV_MQTT_BROKER_SOCKET_PATH": "/tmp/mqtt_broker.sock",
            "EV_MQTT_BROKER_HOST": "ignored"}
    got = read_env(base)
    assert got.where.broker_socket == "/tmp/mqtt_broker.sock" and got.where.prefix == "everest/"
    assert got.broker == "/tmp/mqtt_broker.sock" and not got.validate_schema
    over = read_env(dict(base, MQTT_SERVER_ADDRESS="mqtt-server", MQTT_SERVER_PORT="1884")).where
    assert (over.broker_host, over.broker_port, over.broker_socket) == ("mqtt-server", 1884, None)
    flags = read_env({}, module_id="cp", prefix="p", host="h", port=7, generation="2024.11")
    assert (flags.module_id, flags.where.prefix, flags.broker, flags.generation) == ("cp", "p/", "h:7", "2024.11")
    tuned = read_env({"EV_MODULE": "m", "OCPP_BRIDGE_CONFIG_ATTEMPTS": "5", "OCPP_BRIDGE_CONFIG_TIMEOUT_S": "0.5"})
    assert (tuned.attempts, tuned.timeout_s) == (5, 0.5)


@pytest.mark.parametrize("env,kw", [
    ({}, {}),
    ({"EV_MODULE": "m", "EV_MQTT_BROKER_PORT": "x"}, {}),
    ({"EV_MODULE": "m"}, {"generation": "2026.1"}),
    ({"EV_MODULE": "m", "OCPP_BRIDGE_CONFIG_ATTEMPTS": "0"}, {}),
])
def test_bad_env_is_a_launch_error(env, kw):
    with pytest.raises(LaunchError):
        read_env(env, **kw)


# --------------------------------------------------------------------------- settings
def test_settings_from_the_answer(defs):
    menv = ManagerEnv(Settings("ocpp", prefix="everest_x/", broker_host="h", broker_port=1), validate_schema=True)
    got = MC.decode_response(answer("2024.11"), "ocpp", "OcppBridge")
    s = settings_from_manager(menv, got, defs)
    assert s.module_id == "ocpp" and s.prefix == "everest_x/" and (s.broker_host, s.broker_port) == ("h", 1)
    assert s["ChargePointId"] == "CP7" and s.ocpp_version == "2.0.1"
    assert s["EverestProtocol"] == "2024.11"       # the manager's generation wins over the option
    assert s["ValidateSchema"] is True             # EV_VALIDATE_SCHEMA
    assert s["MessageTimeoutS"] == 30              # a manifest default the answer left out
    assert s.connections["evse_manager"] == [Connection("evse_a", "evse"), Connection("evse_b", "evse")]
    assert s.connections["reservation"] == []
    assert s.impl_options["ocpp_generic"] == {}


@pytest.mark.parametrize("mc,needle", [
    (module_config(configuration_parameters={"!module": [param("Bogus", 1, "integer")]}), "Bogus"),
    (module_config(configuration_parameters={"!module": [], "no_such_impl": [param("X", 1)]}), "no_such_impl"),
    (module_config(configuration_parameters={"!module": [], "main": [param("X", 1)]}), "implementation main"),
    (module_config(connections={}), "evse_manager"),
])
def test_settings_refuse_what_the_manifest_does_not_allow(defs, mc, needle):
    got = MC.decode_response(answer(mc=mc), "ocpp", "OcppBridge")
    with pytest.raises(ConfigError, match=needle):
        settings_from_manager(ManagerEnv(Settings("ocpp")), got, defs)
