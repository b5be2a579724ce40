"""OCPP 2.0.1 provisioning (block B) on the pure core: the GetVariables / SetVariables item
limits (DeviceDataCtrlr.ItemsPerMessage). Scripted CSMS, fake clock."""

from v201_harness import Sim

HEARTBEAT = {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}}


def test_tc_b_08_get_variables_over_the_item_limit_rejects_the_excess(tmp_path):
    sim = Sim(tmp_path)
    limit = sim.cp.model.int_value("DeviceDataCtrlr", "ItemsPerMessage", variable_instance="GetVariables")
    reply = sim.request("GetVariables", {"getVariableData": [HEARTBEAT] * (limit + 2)})
    statuses = [r["attributeStatus"] for r in reply["getVariableResult"]]
    assert statuses == ["Accepted"] * limit + ["Rejected"] * 2
    assert reply["getVariableResult"][0]["attributeValue"] == "300"
    assert "attributeValue" not in reply["getVariableResult"][-1]


def test_set_variables_over_the_item_limit_is_a_callerror(tmp_path):
    sim = Sim(tmp_path)
    limit = sim.cp.model.int_value("DeviceDataCtrlr", "ItemsPerMessage", variable_instance="SetVariables")
    reply = sim.request("SetVariables", {"setVariableData": [{**HEARTBEAT, "attributeValue": "5"}] * (limit + 1)})
    assert reply[0] == 4 and reply[2] in ("OccurrenceConstraintViolation", "OccurenceConstraintViolation")
    assert sim.cp.model.value("OCPPCommCtrlr", "HeartbeatInterval") == "300"  # nothing was set
