"""OCPP 2.0.1 device model: Get/SetVariables statuses, validation, persistence, reports."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import jsonschema
import ocpp.v201
import pytest
from v201_harness import Sim

from ocpp_bridge.ocpp.v201.component_table import STANDARD_COMPONENTS
from ocpp_bridge.ocpp.v201.device_model import (
    CONNECTOR_COMPONENT,
    DATABASE_NAME,
    EVSE_COMPONENT,
    MIGRATIONS,
    AttributeDef,
    ComponentDef,
    DeviceModel,
    VariableDef,
    VariableKey,
)
from ocpp_bridge.store.database import open_database

HB = VariableKey("OCPPCommCtrlr", "HeartbeatInterval")
PASSWORD = VariableKey("SecurityCtrlr", "BasicAuthPassword")
SECRET = "s3cret-password-0123"


def open_model(path: Path, overrides=None, **kw):
    conn = open_database(path, DATABASE_NAME, MIGRATIONS)
    return conn, DeviceModel(conn, overrides, components=STANDARD_COMPONENTS, **kw)


@pytest.fixture
def dm():
    model = DeviceModel(sqlite3.connect(":memory:"), components=STANDARD_COMPONENTS)
    model.ensure_evse(1, [1])
    return model


# ------------------------------------------------------------------ content

EXPECTED = {
    "OCPPCommCtrlr": {"HeartbeatInterval", "MessageTimeout[Default]",
                      "MessageAttempts[TransactionEvent]",
                      "MessageAttemptInterval[TransactionEvent]", "NetworkConfigurationPriority",
                      "NetworkProfileConnectionAttempts", "OfflineThreshold", "QueueAllMessages",
                      "ResetRetries", "RetryBackOffRandomRange", "RetryBackOffRepeatTimes",
                      "RetryBackOffWaitMinimum", "UnlockOnEVSideDisconnect",
                      "WebSocketPingInterval", "FileTransferProtocols"},
    "SecurityCtrlr": {"SecurityProfile", "BasicAuthPassword", "Identity", "OrganizationName",
                      "MaxCertificateChainSize", "CertSigningWaitMinimum", "CertSigningRepeatTimes"},
    "ISO15118Ctrlr": {"CountryName"},
    "InternalCtrlr": {"AllowCSMSRootCertInstallWithUnsecureConnection", "AllowMFRootCertInstallWithUnsecureConnection"},
    "DeviceDataCtrlr": {f"{v}[{i}]" for v in ("ItemsPerMessage", "BytesPerMessage")
                        for i in ("GetReport", "GetVariables", "SetVariables")},
    "AuthCtrlr": {"AuthorizeRemoteStart", "LocalAuthorizeOffline", "LocalPreAuthorize",
                  "MasterPassGroupId", "OfflineTxForUnknownIdEnabled", "Enabled"},
    "AuthCacheCtrlr": {"Enabled", "LifeTime", "Storage"},
    "LocalAuthListCtrlr": {"Enabled", "Entries", "ItemsPerMessage", "BytesPerMessage"},
    "SampledDataCtrlr": {"Enabled", "TxEndedMeasurands", "TxEndedInterval",
                         "TxStartedMeasurands", "TxUpdatedMeasurands", "TxUpdatedInterval"},
    "AlignedDataCtrlr": {"Enabled", "Measurands", "Interval", "TxEndedMeasurands",
                         "TxEndedInterval"},
    "TxCtrlr": {"EVConnectionTimeOut", "StopTxOnEVSideDisconnect", "TxStartPoint",
                "TxStopPoint", "StopTxOnInvalidId", "MaxEnergyOnInvalidId"},
    "ReservationCtrlr": {"Enabled", "NonEvseSpecific"},
    "SmartChargingCtrlr": {"Enabled", "ProfileStackLevel", "RateUnit", "PeriodsPerSchedule",
                           "Entries[ChargingProfiles]", "ExternalControlSignalsEnabled", "Available",
                           "LimitChangeSignificance", "ACPhaseSwitchingSupported",
                           "CompositeScheduleDefaultLimitAmps",
                           "CompositeScheduleDefaultLimitWatts", "CompositeScheduleDefaultNumberPhases",
                           "SupplyVoltage", "IgnoredProfilePurposesOffline"},
    "ClockCtrlr": {"DateTime", "TimeSource"},
    "ChargingStation": {"Available", "AvailabilityState", "Problem", "SupplyPhases",
                        "AllowNewSessionsPendingFirmwareUpdate"},
    "MonitoringCtrlr": {"Enabled", "OfflineQueuingSeverity", "MonitoringBase", "MonitoringLevel",
                        "ActiveMonitoringBase", "ActiveMonitoringLevel",
                        *(f"{v}[{i}]" for v in ("ItemsPerMessage", "BytesPerMessage")
                          for i in ("SetVariableMonitoring", "ClearVariableMonitoring"))},
}


def test_standard_components_hold_the_expected_variables():
    found = {}
    for cdef in STANDARD_COMPONENTS:
        found[cdef.name] = {v.name + (f"[{v.instance}]" if v.instance else "")
                            for v in cdef.variables}
    assert found == EXPECTED


def test_defaults(dm):
    assert dm.get(HB) == ("Accepted", "300")
    assert dm.get(VariableKey("OCPPCommCtrlr", "MessageTimeout", variable_instance="Default")) \
        == ("Accepted", "30")
    assert dm.get(VariableKey("TxCtrlr", "TxStartPoint")) == ("Accepted", "PowerPathClosed")
    assert dm.get(VariableKey("TxCtrlr", "TxStopPoint")) \
        == ("Accepted", "EVConnected,Authorized")
    assert dm.int_value("SmartChargingCtrlr", "Entries", variable_instance="ChargingProfiles") == 0
    assert dm.bool_value("AuthCtrlr", "LocalAuthorizeOffline") is True


# ------------------------------------------------------------------ GetVariables statuses

def test_unknown_component_variable_and_attribute_are_told_apart(dm):
    assert dm.get(VariableKey("NoSuchCtrlr", "HeartbeatInterval")) == ("UnknownComponent", None)
    assert dm.get(VariableKey("OCPPCommCtrlr", "NoSuchVariable")) == ("UnknownVariable", None)
    assert dm.get(HB, "Target") == ("NotSupportedAttributeType", None)
    assert dm.get(HB, "Bogus") == ("NotSupportedAttributeType", None)
    assert dm.set(VariableKey("NoSuchCtrlr", "X"), "1", by_csms=True) == "UnknownComponent"
    assert dm.set(VariableKey("TxCtrlr", "X"), "1", by_csms=True) == "UnknownVariable"
    assert dm.set(HB, "1", "MaxSet", by_csms=True) == "NotSupportedAttributeType"


def test_instances_and_evse_are_part_of_the_identity(dm):
    assert dm.get(VariableKey("OCPPCommCtrlr", "MessageTimeout"))[0] == "UnknownVariable"
    assert dm.get(VariableKey("OCPPCommCtrlr", "MessageTimeout",
                              variable_instance="Other"))[0] == "UnknownVariable"
    assert dm.get(VariableKey("OCPPCommCtrlr", "HeartbeatInterval",
                              component_instance="X"))[0] == "UnknownComponent"
    assert dm.get(VariableKey("EVSE", "AvailabilityState"))[0] == "UnknownComponent"
    assert dm.get(VariableKey("EVSE", "AvailabilityState", evse=2))[0] == "UnknownComponent"
    assert dm.get(VariableKey("Connector", "ConnectorType", evse=1))[0] == "UnknownComponent"
    assert dm.get(VariableKey("HeartbeatInterval", "x", evse=1))[0] == "UnknownComponent"


def test_names_match_case_insensitively(dm):
    assert dm.get(VariableKey("ocppcommctrlr", "HEARTBEATINTERVAL")) == ("Accepted", "300")
    assert dm.get(VariableKey("DeviceDataCtrlr", "ItemsPerMessage",
                              variable_instance="getvariables")) == ("Accepted", "100")


def test_write_only_is_never_readable(dm):
    assert dm.get(PASSWORD) == ("Rejected", None)
    assert dm.set(PASSWORD, SECRET, by_csms=True) == "Accepted"
    assert dm.get(PASSWORD) == ("Rejected", None)
    assert SECRET not in json.dumps(dm.report())
    assert dm.value("SecurityCtrlr", "BasicAuthPassword") == SECRET  # for the transport


# ------------------------------------------------------------------ SetVariables

def test_read_only_rejected_for_csms_but_settable_by_module(dm):
    key = VariableKey("EVSE", "AvailabilityState", evse=1)
    assert dm.set(key, "Unavailable", by_csms=True) == "Rejected"
    assert dm.get(key) == ("Accepted", "Available")
    dm.set_internal(key, "Unavailable")
    assert dm.get(key) == ("Accepted", "Unavailable")
    assert dm.set(VariableKey("SecurityCtrlr", "SecurityProfile"), "2", by_csms=True) == "Rejected"


@pytest.mark.parametrize(
    "key, value",
    [
        (HB, "abc"),
        (HB, "-1"),  # minLimit 0
        (HB, "1.5"),
        (HB, ""),
        (HB, "3000000000"),
        (VariableKey("OCPPCommCtrlr", "QueueAllMessages"), "yes"),
        (VariableKey("TxCtrlr", "TxStartPoint"), "Foo"),
        (VariableKey("TxCtrlr", "TxStartPoint"), "DataSigned"),  # not in our valuesList
        (VariableKey("TxCtrlr", "TxStartPoint"), ""),  # a start point is needed
        (VariableKey("TxCtrlr", "TxStopPoint"), "EVConnected,EVConnected"),
        (VariableKey("SampledDataCtrlr", "TxUpdatedMeasurands"), "Temperature"),  # 1.6 only
        (VariableKey("ClockCtrlr", "TimeSource"), "Sundial"),
        (VariableKey("ClockCtrlr", "TimeSource"), ""),  # SequenceList needs an entry
        (VariableKey("OCPPCommCtrlr", "NetworkConfigurationPriority"), "1,x"),
        (VariableKey("SecurityCtrlr", "Identity"), "x" * 49),  # maxLimit 48
        (PASSWORD, "short"),
        (PASSWORD, "p" * 41),
    ],
)
def test_invalid_values_rejected_and_not_stored(dm, key, value):
    before = dm.value(key.component, key.variable, variable_instance=key.variable_instance)
    assert dm.set(key, value, by_csms=True) == "Rejected"
    with pytest.raises(ValueError):
        dm.set_internal(key, value)
    assert dm.value(key.component, key.variable, variable_instance=key.variable_instance) == before


@pytest.mark.parametrize(
    "key, value, stored",
    [
        (HB, "0", "0"),
        (HB, " 60 ", "60"),
        (VariableKey("OCPPCommCtrlr", "QueueAllMessages"), "TRUE", "true"),
        (VariableKey("TxCtrlr", "TxStopPoint"), "Authorized, EVConnected",
         "Authorized,EVConnected"),
        (VariableKey("AlignedDataCtrlr", "Measurands"), "", ""),
        (VariableKey("AlignedDataCtrlr", "Measurands"), "Energy.Active.Net,SoC",
         "Energy.Active.Net,SoC"),
        (VariableKey("ClockCtrlr", "TimeSource"), "NTP,Heartbeat", "NTP,Heartbeat"),
        (VariableKey("OCPPCommCtrlr", "NetworkConfigurationPriority"), "2,1", "2,1"),
        (VariableKey("SecurityCtrlr", "OrganizationName"), "Example Org", "Example Org"),
    ],
)
def test_valid_values_accepted_and_normalised(dm, key, value, stored):
    assert dm.set(key, value, by_csms=True) == "Accepted"
    assert dm.get(key) == ("Accepted", stored)


def test_module_sets_runtime_values_checked_by_type(dm):
    clock = VariableKey("ClockCtrlr", "DateTime")
    assert dm.get(clock) == ("Accepted", None)
    dm.set_internal(clock, "2024-05-01T12:00:00Z")
    assert dm.get(clock) == ("Accepted", "2024-05-01T12:00:00Z")
    with pytest.raises(ValueError):
        dm.set_internal(clock, "yesterday")
    power = VariableKey("EVSE", "Power", evse=1)
    dm.set_internal(power, "7400.5")
    assert dm.set(power, "-3", by_csms=False) == "Rejected"
    with pytest.raises(ValueError):
        dm.set_internal(power, "NaN")
    assert dm.get(power, "MaxSet") == ("Accepted", "22000")
    with pytest.raises(KeyError):
        dm.set_internal(VariableKey("NoSuchCtrlr", "X"), "1")


def test_a_non_persistent_value_lives_in_memory_only(tmp_path):
    conn = open_database(tmp_path, "dm", MIGRATIONS)
    first = DeviceModel(conn, components=STANDARD_COMPONENTS)
    first.ensure_evse(1, [1])
    power = VariableKey("EVSE", "Power", evse=1)
    heard = []
    first.add_listener(lambda key, attribute, value: heard.append(value))
    first.set_internal(power, "7400")
    assert first.get(power) == ("Accepted", "7400") and heard == ["7400"]
    assert conn.execute("SELECT COUNT(*) FROM dm_attribute WHERE source = 'set'").fetchone()[0] == 0
    again = DeviceModel(conn, components=STANDARD_COMPONENTS)
    again.ensure_evse(1, [1])
    assert again.get(power) == ("Accepted", "0")


def test_every_default_is_accepted_by_its_own_checks(dm):
    for cdef in (*STANDARD_COMPONENTS, EVSE_COMPONENT, CONNECTOR_COMPONENT):
        evse = 1 if cdef.name in ("EVSE", "Connector") else None
        connector = 1 if cdef.name == "Connector" else None
        for v in cdef.variables:
            for a in v.attributes:
                if a.default is None:
                    continue
                key = VariableKey(cdef.name, v.name, None, v.instance, evse, connector)
                dm.set_internal(key, a.default, a.type)


def test_reboot_required_and_vendor_components():
    vendor = ComponentDef("VendorCtrlr", (
        VariableDef("Mode", "OptionList", (AttributeDef("Actual", "ReadWrite", "eco"),),
                    values_list="eco,fast", reboot_required=True),
    ))
    dm = DeviceModel(sqlite3.connect(":memory:"), {"VendorCtrlr": {"Mode": "fast"}}, components=STANDARD_COMPONENTS,
                     extra_components=[vendor])
    key = VariableKey("VendorCtrlr", "Mode")
    assert dm.get(key) == ("Accepted", "fast")
    assert dm.set(key, "eco", by_csms=True) == "RebootRequired"
    assert dm.set(key, "turbo", by_csms=True) == "Rejected"
    bad_default = ComponentDef("BadCtrlr", (
        VariableDef("N", "integer", (AttributeDef("Actual", "ReadWrite", "x"),)),))
    with pytest.raises(ValueError):
        DeviceModel(sqlite3.connect(":memory:"), components=STANDARD_COMPONENTS, extra_components=[bad_default])


# ------------------------------------------------------------------ listeners

def test_listeners_fire_only_on_real_change_with_canonical_key(dm):
    heard = []
    dm.add_listener(lambda key, attribute, value: heard.append((key, attribute, value)))
    assert dm.set(VariableKey("ocppcommctrlr", "heartbeatinterval"), "60", by_csms=True) \
        == "Accepted"
    assert dm.set(HB, "60", by_csms=True) == "Accepted"  # unchanged
    assert dm.set(HB, "-60", by_csms=True) == "Rejected"
    assert dm.set(VariableKey("EVSE", "Available", evse=1), "false", by_csms=True) == "Rejected"
    dm.set_internal(VariableKey("EVSE", "Available", evse=1), "false")
    assert heard == [
        (HB, "Actual", "60"),
        (VariableKey("EVSE", "Available", evse=1), "Actual", "false"),
    ]


def broken_listener(key, attribute, value):
    raise RuntimeError("listener bug")


def test_a_failing_listener_does_not_turn_a_stored_change_into_an_error(dm, caplog):
    heard = []
    dm.add_listener(broken_listener)
    dm.add_listener(lambda key, attribute, value: heard.append(key.variable))
    assert dm.set(HB, "60", by_csms=True) == "Accepted"   # what happened: it is stored
    assert heard == ["HeartbeatInterval"] and dm.value("OCPPCommCtrlr", "HeartbeatInterval") == "60"
    [line] = [r for r in caplog.records if "broken_listener" in r.getMessage()]
    assert "OCPPCommCtrlr.HeartbeatInterval" in line.getMessage() and line.exc_info is not None
    dm.set_internal(HB, "90")   # a module change is not refused either
    assert dm.value("OCPPCommCtrlr", "HeartbeatInterval") == "90"


def test_a_failing_listener_keeps_reboot_required():
    vendor = ComponentDef("VendorCtrlr", (
        VariableDef("Mode", "OptionList", (AttributeDef("Actual", "ReadWrite", "eco"),),
                    values_list="eco,fast", reboot_required=True),
    ))
    dm = DeviceModel(sqlite3.connect(":memory:"), components=STANDARD_COMPONENTS, extra_components=[vendor])
    dm.add_listener(broken_listener)
    assert dm.set(VariableKey("VendorCtrlr", "Mode"), "fast", by_csms=True) == "RebootRequired"


def test_set_variables_is_accepted_when_a_listener_fails_after_the_change(tmp_path, caplog):
    sim = Sim(tmp_path)
    sim.cp.model.add_listener(broken_listener)
    reply = sim.request("SetVariables", {"setVariableData": [
        {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}, "attributeValue": "77"},
        {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "OfflineThreshold"}, "attributeValue": "5"}]})
    assert [r["attributeStatus"] for r in reply["setVariableResult"]] == ["Accepted", "Accepted"]
    assert sim.cp.model.value("OCPPCommCtrlr", "OfflineThreshold") == "5"
    assert sim.cp.core.timers.is_set("heartbeat")  # the other listeners took it in
    assert sum("broken_listener" in r.getMessage() for r in caplog.records) == 2


# ------------------------------------------------------------------ persistence and overrides

def test_changes_survive_reopening(tmp_path):
    conn, dm = open_model(tmp_path)
    dm.ensure_evse(1, [1, 2])
    assert dm.set(HB, "42", by_csms=True) == "Accepted"
    assert dm.set(PASSWORD, SECRET, by_csms=True) == "Accepted"
    dm.set_internal(VariableKey("Connector", "AvailabilityState", evse=1, connector=2),
                    "Unavailable")
    conn.close()
    conn, dm = open_model(tmp_path)
    dm.ensure_evse(1, [1, 2])
    assert dm.get(HB) == ("Accepted", "42")
    assert dm.value("SecurityCtrlr", "BasicAuthPassword") == SECRET
    assert dm.get(VariableKey("Connector", "AvailabilityState", evse=1, connector=2)) \
        == ("Accepted", "Unavailable")
    assert dm.get(VariableKey("Connector", "AvailabilityState", evse=1, connector=1)) \
        == ("Accepted", "Available")
    assert (tmp_path / "device_model.db").is_file()


def test_overrides_apply_first_time_and_never_clobber_later_changes(tmp_path):
    overrides = {
        "OCPPCommCtrlr": {"HeartbeatInterval": 60, "MessageTimeout[Default]": "45"},
        "SecurityCtrlr": {"Identity": "CP-0001"},
        "EVSE@1": {"Power": {"MaxSet": 11000}},
        "Connector@1.1": {"ConnectorType": "cType2"},
        "AuthCtrlr": {"AuthorizeRemoteStart": True},
    }
    conn, dm = open_model(tmp_path, overrides)
    dm.ensure_evse(1, [1])
    assert dm.get(HB) == ("Accepted", "60")
    assert dm.int_value("OCPPCommCtrlr", "MessageTimeout", variable_instance="Default") == 45
    assert dm.get(VariableKey("EVSE", "Power", evse=1), "MaxSet") == ("Accepted", "11000")
    assert dm.get(VariableKey("Connector", "ConnectorType", evse=1, connector=1)) \
        == ("Accepted", "cType2")
    assert dm.bool_value("AuthCtrlr", "AuthorizeRemoteStart") is True
    assert dm.set(HB, "900", by_csms=True) == "Accepted"
    conn.close()
    conn, dm = open_model(tmp_path, overrides)
    assert dm.get(HB) == ("Accepted", "900")
    assert dm.value("SecurityCtrlr", "Identity") == "CP-0001"
    conn.close()
    conn, dm = open_model(tmp_path, {})  # override removed: untouched values go back
    assert dm.value("SecurityCtrlr", "Identity") == ""
    assert dm.get(HB) == ("Accepted", "900")


@pytest.mark.parametrize(
    "overrides, needle",
    [
        ({"OCPPCommCtrl": {"HeartbeatInterval": "60"}}, "OCPPCommCtrl"),
        ({"OCPPCommCtrlr": {"HeartBeatIntervall": "60"}}, "HeartBeatIntervall"),
        ({"OCPPCommCtrlr": {"MessageTimeout": "60"}}, "MessageTimeout"),
        ({"OCPPCommCtrlr": {"HeartbeatInterval": "soon"}}, "HeartbeatInterval"),
        ({"OCPPCommCtrlr": {"HeartbeatInterval": {"Target": "60"}}}, "Target"),
        ({"EVSE": {"Power": "1"}}, "EVSE"),
        ({"EVSE@1": {"ConnectorType": "cType2"}}, "ConnectorType"),
        ({"Connector@1": {"ConnectorType": "cType2"}}, "Connector@1"),
        ({"TxCtrlr@1": {"TxStartPoint": "Authorized"}}, "TxCtrlr@1"),
        ({"TxCtrlr": "not an object"}, "TxCtrlr"),
    ],
)
def test_bad_overrides_are_clear_errors(overrides, needle):
    with pytest.raises(ValueError, match=needle.replace("[", r"\[")):
        DeviceModel(sqlite3.connect(":memory:"), overrides, components=STANDARD_COMPONENTS)


def test_ensure_evse_is_idempotent_and_checks_ids(dm):
    dm.set_internal(VariableKey("EVSE", "AvailabilityState", evse=1), "Faulted")
    dm.ensure_evse(1, [1])
    assert dm.get(VariableKey("EVSE", "AvailabilityState", evse=1)) == ("Accepted", "Faulted")
    evse_rows = [r for r in dm.report() if r["component"].get("evse") == {"id": 1}]
    assert sorted(r["variable"]["name"] for r in evse_rows) == [
        "AvailabilityState", "Available", "Power"]
    with pytest.raises(ValueError):
        dm.ensure_evse(0, [1])
    with pytest.raises(ValueError):
        dm.ensure_evse(2, [0])


# ------------------------------------------------------------------ report

def _notify_report_schema() -> dict:
    path = Path(ocpp.v201.__file__).parent / "schemas" / "NotifyReportRequest.json"
    return json.loads(path.read_text())


def test_report_is_valid_notify_report_data(dm):
    dm.ensure_evse(2, [1, 2])
    dm.set(PASSWORD, SECRET, by_csms=True)
    data = dm.report()
    jsonschema.validate(
        {"requestId": 1, "generatedAt": "2024-01-01T00:00:00Z", "seqNo": 0, "reportData": data},
        _notify_report_schema(),
    )
    identities = [json.dumps([r["component"], r["variable"]], sort_keys=True) for r in data]
    assert len(identities) == len(set(identities))
    by_name = {(r["component"]["name"], r["variable"]["name"],
                json.dumps(r["component"].get("evse"))): r for r in data}
    hb = by_name[("OCPPCommCtrlr", "HeartbeatInterval", "null")]
    assert hb["variableAttribute"] == [{"type": "Actual", "value": "300", "mutability": "ReadWrite",
                                        "persistent": True, "constant": False}]
    assert hb["variableCharacteristics"] == {"unit": "s", "dataType": "integer", "minLimit": 0,
                                             "supportsMonitoring": True}
    pw = by_name[("SecurityCtrlr", "BasicAuthPassword", "null")]
    assert "value" not in pw["variableAttribute"][0]
    assert pw["variableAttribute"][0]["mutability"] == "WriteOnly"
    connector = by_name[("Connector", "ConnectorType", json.dumps({"id": 2, "connectorId": 2}))]
    assert connector["variableAttribute"][0]["value"] == "sType2"
    power = by_name[("EVSE", "Power", json.dumps({"id": 1}))]
    assert [a["type"] for a in power["variableAttribute"]] == ["Actual", "MaxSet"]
    mt = [r for r in data if r["variable"]["name"] == "MessageTimeout"]
    assert mt[0]["variable"] == {"name": "MessageTimeout", "instance": "Default"}


def test_tables_mirror_the_model(tmp_path):
    conn, dm = open_model(tmp_path)
    dm.ensure_evse(1, [1])
    rows = conn.execute(
        "SELECT c.name, c.evse_id, c.connector_id, v.name, v.instance, v.data_type, a.type, "
        "a.mutability, a.value FROM dm_attribute a JOIN dm_variable v ON v.id = a.variable_id "
        "JOIN dm_component c ON c.id = v.component_id").fetchall()
    assert len(rows) == sum(len(r["variableAttribute"]) for r in dm.report())
    assert ("OCPPCommCtrlr", None, None, "MessageTimeout", "Default", "integer", "Actual",
            "ReadOnly", "30") in rows
    assert ("Connector", 1, 1, "ConnectorType", None, "OptionList", "Actual", "ReadOnly",
            "sType2") in rows
