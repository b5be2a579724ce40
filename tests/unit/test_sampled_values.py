"""The shared MeterSample -> SampledValue translation, both versions; checked against the
official MeterValues schemas of each version."""

import pytest

from ocpp_bridge.ocpp.evse_events import MeterSample
from ocpp_bridge.ocpp.sampled_values import measurand_list, sampled_values, split_measurand
from ocpp_bridge.ocpp.schemas import OcppSchemas

AC = MeterSample(timestamp="2026-01-01T00:00:00Z", energy_import_wh=12345.6, energy_export_wh=7.0, power_w=7360.0,
                 current_a={"L1": 10.5, "L2": 10.0, "L3": 9.5, "N": 0.2}, voltage_v={"L1": 230.1, "L2": 231, "L3": 229},
                 frequency_hz=50.0, soc_percent=42.0, temperature_c=31.5, power_w_phases={"L1": 2400.0})
DC = MeterSample(timestamp="2026-01-01T00:00:00Z", energy_import_wh=1.0, current_a={"DC": 120.0}, voltage_v={"DC": 400.0})


def check(version, values):
    schemas = OcppSchemas(version)
    if version == "1.6":
        schemas.check_request("MeterValues", {"connectorId": 1, "meterValue": [{"timestamp": "2026-01-01T00:00:00Z",
                                                                                 "sampledValue": values}]})
    else:
        schemas.check_request("MeterValues", {"evseId": 1, "meterValue": [{"timestamp": "2026-01-01T00:00:00Z",
                                                                           "sampledValue": values}]})


def test_split_and_list():
    assert split_measurand("Current.Import.L2") == ("Current.Import", "L2")
    assert split_measurand("Voltage.L1-N") == ("Voltage", "L1-N")
    assert split_measurand("Energy.Active.Import.Register") == ("Energy.Active.Import.Register", None)
    assert measurand_list(" Voltage , SoC,,") == ["Voltage", "SoC"]
    assert measurand_list(None) == []


def test_16_values_are_strings_with_units_phases_contexts():
    values = sampled_values(AC, ["Energy.Active.Import.Register", "Power.Active.Import", "Current.Import", "Voltage",
                                 "SoC", "Temperature", "Frequency"], "Sample.Periodic", "1.6")
    check("1.6", values)
    by = {(v["measurand"], v.get("phase")): v for v in values}
    assert by[("Energy.Active.Import.Register", None)] == {
        "value": "12345.6", "unit": "Wh", "context": "Sample.Periodic", "measurand": "Energy.Active.Import.Register"}
    assert by[("Power.Active.Import", None)]["value"] == "7360" and by[("Power.Active.Import", None)]["unit"] == "W"
    # AC current and voltage have no total: one value per phase the meter reports
    assert [v["phase"] for v in values if v["measurand"] == "Current.Import"] == ["L1", "L2", "L3", "N"]
    assert [v["phase"] for v in values if v["measurand"] == "Voltage"] == ["L1-N", "L2-N", "L3-N"]
    assert by[("SoC", None)]["location"] == "EV" and by[("SoC", None)]["unit"] == "Percent"
    assert by[("Temperature", None)]["unit"] == "Celsius" and by[("Temperature", None)]["value"] == "31.5"
    assert "unit" not in by[("Frequency", None)]


def test_phase_suffix_selects_one_phase_and_missing_values_are_left_out():
    values = sampled_values(AC, ["Current.Import.L2", "Voltage.L3-N", "Power.Active.Import.L1",
                                 "Power.Active.Import.L3", "Energy.Reactive.Import.Register", "RPM"], "Trigger", "1.6")
    check("1.6", values)
    assert [(v["measurand"], v["phase"], v["value"]) for v in values] == [
        ("Current.Import", "L2", "10"), ("Voltage", "L3-N", "229"), ("Power.Active.Import", "L1", "2400")]


def test_dc_readings_have_no_phase():
    values = sampled_values(DC, ["Current.Import", "Voltage", "SoC"], "Sample.Clock", "1.6")
    assert [(v["measurand"], v["value"], v.get("phase")) for v in values] == [
        ("Current.Import", "120", None), ("Voltage", "400", None)]


def test_201_values_are_numbers_with_unit_of_measure():
    values = sampled_values(AC, ["Energy.Active.Import.Register", "Voltage.L1", "Frequency", "Temperature", "SoC"],
                            "Transaction.Begin", "2.0.1")
    check("2.0.1", values)
    assert values[0] == {"value": 12345.6, "context": "Transaction.Begin", "measurand": "Energy.Active.Import.Register",
                         "unitOfMeasure": {"unit": "Wh"}}
    assert values[1]["phase"] == "L1-N" and values[1]["value"] == 230.1
    assert values[2]["unitOfMeasure"] == {"unit": "Hz"}
    assert [v["measurand"] for v in values] == ["Energy.Active.Import.Register", "Voltage", "Frequency", "SoC"]


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
def test_empty_sample_gives_nothing(version):
    assert sampled_values(MeterSample(timestamp="x"), ["Energy.Active.Import.Register", "Voltage"], "Other",
                          version) == []
