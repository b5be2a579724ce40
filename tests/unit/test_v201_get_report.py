"""OCPP 2.0.1 B08 GetReport on the pure core: componentVariable matching, componentCriteria,
NotifyReport paging, EmptyResultSet and the DeviceDataCtrlr limits. Scripted CSMS, fake clock."""

from v201_harness import Sim

from ocpp_bridge.ocpp import evse_events as E
from ocpp_bridge.ocpp.v201.device_model import VariableKey


def report(sim: Sim, **request) -> tuple[dict, list[dict]]:
    """The GetReportResponse and the NotifyReport messages it brought."""
    before = len(sim.payloads("NotifyReport"))
    reply = sim.request("GetReport", {"requestId": 7, **request})
    return reply, sim.payloads("NotifyReport")[before:]


def keys(messages: list[dict]) -> list[tuple]:
    out = []
    for m in messages:
        for d in m.get("reportData", []):
            c, v = d["component"], d["variable"]
            evse = c.get("evse", {})
            out.append((c["name"], evse.get("id"), evse.get("connectorId"), v["name"], v.get("instance")))
    return out


def actual(messages: list[dict], component: str, variable: str) -> str:
    for m in messages:
        for d in m.get("reportData", []):
            if d["component"]["name"] == component and d["variable"]["name"] == variable:
                return next(a["value"] for a in d["variableAttribute"] if a["type"] == "Actual")
    raise AssertionError(f"{component}.{variable} not reported")


def test_tc_b_55_component_variable_with_instance(tmp_path):
    sim = Sim(tmp_path)
    reply, msgs = report(sim, componentVariable=[{"component": {"name": "devicedatactrlr"},
                                                  "variable": {"name": "ItemsPerMessage", "instance": "GetReport"}}])
    assert reply == {"status": "Accepted"}
    assert keys(msgs) == [("DeviceDataCtrlr", None, None, "ItemsPerMessage", "GetReport")]
    assert (msgs[0]["requestId"], msgs[0]["seqNo"], msgs[0]["tbc"]) == (7, 0, False)
    assert msgs[0]["reportData"][0]["variableCharacteristics"]["dataType"] == "integer"


def test_tc_b_54_variable_without_instance_reports_every_instance(tmp_path):
    sim = Sim(tmp_path)
    _, msgs = report(sim, componentVariable=[{"component": {"name": "DeviceDataCtrlr"},
                                              "variable": {"name": "ItemsPerMessage"}}])
    assert [k[4] for k in keys(msgs)] == ["GetReport", "GetVariables", "SetVariables"]


def test_tc_b_56_component_without_evse_reports_every_evse(tmp_path):
    sim = Sim(tmp_path, evse_count=2)
    _, msgs = report(sim, componentVariable=[{"component": {"name": "EVSE"}, "variable": {"name": "AvailabilityState"}}])
    assert keys(msgs) == [("EVSE", 1, None, "AvailabilityState", None), ("EVSE", 2, None, "AvailabilityState", None)]
    _, msgs = report(sim, componentVariable=[{"component": {"name": "Connector", "evse": {"id": 2}}}])
    assert {(k[1], k[2]) for k in keys(msgs)} == {(2, 1)}


def test_component_without_variable_reports_all_its_variables(tmp_path):
    sim = Sim(tmp_path)
    _, msgs = report(sim, componentVariable=[{"component": {"name": "AuthCacheCtrlr"}}])
    names = [k[3] for k in keys(msgs)]
    assert {"Enabled", "LifeTime", "Storage"} <= set(names)
    assert {k[0] for k in keys(msgs)} == {"AuthCacheCtrlr"}


def test_b08_fr_09_enabled_criterion_with_component_variables(tmp_path):
    sim = Sim(tmp_path)
    sim.set("AuthCacheCtrlr", "Enabled", "true")
    sim.set("SampledDataCtrlr", "Enabled", "false")
    wanted = [{"component": {"name": n}} for n in ("SampledDataCtrlr", "DeviceDataCtrlr", "AuthCacheCtrlr")]
    _, msgs = report(sim, componentVariable=wanted, componentCriteria=["Enabled"])
    components = {k[0] for k in keys(msgs)}
    # DeviceDataCtrlr has no Enabled variable: it matches; SampledDataCtrlr is disabled: it does not
    assert components == {"DeviceDataCtrlr", "AuthCacheCtrlr"}


def test_b08_fr_07_08_active_and_available_match_components_without_that_variable(tmp_path):
    sim = Sim(tmp_path)
    everything = len(sim.cp.model.report())  # no component has Active; every Available is true
    for criterion in ("Active", "Available"):
        _, msgs = report(sim, componentCriteria=[criterion])
        assert sum(len(m["reportData"]) for m in msgs) == everything


def test_available_criterion_leaves_out_an_unavailable_evse(tmp_path):
    sim = Sim(tmp_path, evse_count=2)
    sim.cp.model.set_internal(VariableKey("EVSE", "Available", evse=2), "false")
    _, msgs = report(sim, componentCriteria=["Available"],
                     componentVariable=[{"component": {"name": "EVSE"}, "variable": {"name": "AvailabilityState"}}])
    assert keys(msgs) == [("EVSE", 1, None, "AvailabilityState", None)]


def test_b08_fr_10_problem_only_components_with_a_true_problem(tmp_path):
    sim = Sim(tmp_path)
    reply, msgs = report(sim, componentCriteria=["Problem"])
    assert reply == {"status": "EmptyResultSet"} and msgs == []
    sim.ev(E.EvseFault(1, "evse_board_support/MREC2GroundFailure", True))
    reply, msgs = report(sim, componentCriteria=["Problem"])
    assert reply == {"status": "Accepted"}
    assert {k[0] for k in keys(msgs)} == {"ChargingStation"}
    assert actual(msgs, "ChargingStation", "Problem") == "true"
    sim.ev(E.EvseFault(1, "evse_board_support/MREC2GroundFailure", False))
    assert report(sim, componentCriteria=["Problem"])[0] == {"status": "EmptyResultSet"}


def test_criteria_are_ored(tmp_path):
    sim = Sim(tmp_path)
    sim.set("SampledDataCtrlr", "Enabled", "false")
    wanted = [{"component": {"name": "SampledDataCtrlr"}, "variable": {"name": "Enabled"}}]
    assert report(sim, componentVariable=wanted, componentCriteria=["Enabled"])[0] == {"status": "EmptyResultSet"}
    reply, msgs = report(sim, componentVariable=wanted, componentCriteria=["Problem", "Active"])
    assert reply == {"status": "Accepted"} and keys(msgs) == [("SampledDataCtrlr", None, None, "Enabled", None)]


def test_tc_b_18_criteria_and_component_variable(tmp_path):
    sim = Sim(tmp_path)
    wanted = [{"component": {"name": "EVSE", "evse": {"id": 1}}, "variable": {"name": "AvailabilityState"}}]
    reply, msgs = report(sim, componentCriteria=["Available"], componentVariable=wanted)
    assert reply == {"status": "Accepted"}
    assert actual(msgs, "EVSE", "AvailabilityState") == "Available"
    assert report(sim, componentCriteria=["Problem"], componentVariable=wanted)[0] == {"status": "EmptyResultSet"}


def test_unknown_component_or_variable_is_an_empty_result(tmp_path):
    sim = Sim(tmp_path)
    for wanted in ({"component": {"name": "NoSuchCtrlr"}},
                   {"component": {"name": "TxCtrlr"}, "variable": {"name": "NotAVariable"}},
                   {"component": {"name": "EVSE", "evse": {"id": 9}}}):
        reply, msgs = report(sim, componentVariable=[wanted])
        assert reply == {"status": "EmptyResultSet"} and msgs == []


def test_write_only_values_are_never_reported(tmp_path):
    sim = Sim(tmp_path)
    sim.set("SecurityCtrlr", "BasicAuthPassword", "0123456789abcdefXYZ")
    _, msgs = report(sim, componentVariable=[{"component": {"name": "SecurityCtrlr"},
                                              "variable": {"name": "BasicAuthPassword"}}])
    assert [a.get("value") for a in msgs[0]["reportData"][0]["variableAttribute"]] == [None]
    assert "0123456789abcdef" not in str(sim.sent)


def test_notify_report_pages_by_items_per_message(tmp_path):
    sim = Sim(tmp_path, overrides={"DeviceDataCtrlr": {"ItemsPerMessage[GetReport]": 4}})
    reply, msgs = report(sim, componentVariable=[{"component": {"name": "OCPPCommCtrlr"}},
                                                 {"component": {"name": "DeviceDataCtrlr"}}])
    assert reply == {"status": "Accepted"}
    total = sum(len(m["reportData"]) for m in msgs)
    assert total > 8 and all(len(m["reportData"]) <= 4 for m in msgs)
    assert [m["seqNo"] for m in msgs] == list(range(len(msgs)))
    assert [m["tbc"] for m in msgs] == [True] * (len(msgs) - 1) + [False]
    assert {m["requestId"] for m in msgs} == {7}
    assert all(m["generatedAt"] for m in msgs)


def test_b08_fr_17_more_component_variables_than_items_per_message(tmp_path):
    sim = Sim(tmp_path, overrides={"DeviceDataCtrlr": {"ItemsPerMessage[GetReport]": 2}})
    wanted = [{"component": {"name": n}} for n in ("TxCtrlr", "DeviceDataCtrlr", "AlignedDataCtrlr")]
    reply, msgs = report(sim, componentVariable=wanted)
    assert reply[0] == 4 and reply[2] in ("OccurrenceConstraintViolation", "OccurenceConstraintViolation")
    assert msgs == []
    assert report(sim, componentVariable=wanted[:2])[0] == {"status": "Accepted"}


def test_b08_fr_18_request_longer_than_bytes_per_message(tmp_path):
    sim = Sim(tmp_path, overrides={"DeviceDataCtrlr": {"BytesPerMessage[GetReport]": 60}})
    reply, msgs = report(sim, componentCriteria=["Available"], componentVariable=[{"component": {"name": "TxCtrlr"}}])
    assert reply[0] == 4 and reply[2] == "FormatViolation" and msgs == []
    assert report(sim, componentCriteria=["Available"])[0] == {"status": "Accepted"}  # 49 bytes
