"""Commands the bridge calls on optional modules it requires: the auth module's connection
timeout follows OCPP's (as in EVerest's OCPP module)."""

import pytest

from support.station import CP_ID


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
def test_auth_connection_timeout_follows_ocpp(station, peer, version):
    auth = peer(module_id="auth_module")
    seen = []
    auth.implement("main", "set_connection_timeout", lambda args: seen.append(args["connection_timeout"]))
    st = station(version=version, bridge_kwargs={"connections": {"auth": [("auth_module", "main")]}})
    auth.wait_call("main", "set_connection_timeout", timeout=10)
    assert seen[0] == 60  # the default
    if version == "1.6":
        st.csms.call(CP_ID, "ChangeConfiguration", {"key": "ConnectionTimeOut", "value": "45"})
    else:
        st.csms.call(CP_ID, "SetVariables", {"setVariableData": [{"component": {"name": "TxCtrlr"},
                     "variable": {"name": "EVConnectionTimeOut"}, "attributeValue": "45"}]})
    auth.wait_call("main", "set_connection_timeout", lambda args: args["connection_timeout"] == 45, timeout=10)


def test_boot_reason_from_the_system_module_2_0_1(station, peer):
    system = peer(module_id="system_module")
    system.implement("main", "get_boot_reason", lambda args: "Watchdog")
    st = station(version="2.0.1", bridge_kwargs={"connections": {"system": [("system_module", "main")]}})
    assert st.csms.entries("BootNotification")[0]["payload"]["reason"] == "Watchdog"


def test_reset_without_a_transaction_goes_to_the_system_module(station, peer):
    system = peer(module_id="system_module")
    system.implement("main", "reset", lambda args: None)
    st = station(version="1.6", bridge_kwargs={"connections": {"system": [("system_module", "main")]}})
    assert st.csms.call(CP_ID, "Reset", {"type": "Soft"}) == {"status": "Accepted"}
    call = system.wait_call("main", "reset", timeout=15)
    assert call["args"]["type"] == "Soft"
