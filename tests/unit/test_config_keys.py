"""OCPP 1.6 configuration keys: GetConfiguration/ChangeConfiguration answers and persistence."""

from __future__ import annotations

import sqlite3

import pytest

from ocpp_bridge.ocpp.v16.authorization import LOCAL_PRE_AUTHORIZE
from ocpp_bridge.ocpp.v16.configuration import DATABASE_NAME, MIGRATIONS, ConfigurationKeys, KeyValue
from ocpp_bridge.ocpp.v16.core_keys import NUMBER_OF_CONNECTORS, SECURITY_PROFILE
from ocpp_bridge.ocpp.v16.key_table import STANDARD_KEYS
from ocpp_bridge.ocpp.v16.keys import RW, KeyDef
from ocpp_bridge.ocpp.v16.provisioning import HEARTBEAT_INTERVAL
from ocpp_bridge.store.database import open_database
from support.cp16 import Rig

EXPECTED_KEYS = [
    "AllowOfflineTxForUnknownId", "AuthorizationCacheEnabled", "AuthorizeRemoteTxRequests",
    "BlinkRepeat", "ClockAlignedDataInterval", "ConnectionTimeOut", "ConnectorPhaseRotation",
    "ConnectorPhaseRotationMaxLength", "GetConfigurationMaxKeys", "HeartbeatInterval",
    "LightIntensity", "LocalAuthorizeOffline", "LocalPreAuthorize", "MaxEnergyOnInvalidId",
    "MeterValuesAlignedData", "MeterValuesAlignedDataMaxLength", "MeterValuesSampledData",
    "MeterValuesSampledDataMaxLength", "MeterValueSampleInterval", "MinimumStatusDuration",
    "NumberOfConnectors", "ResetRetries", "StopTransactionOnEVSideDisconnect",
    "StopTransactionOnInvalidId", "StopTxnAlignedData", "StopTxnAlignedDataMaxLength",
    "StopTxnSampledData", "StopTxnSampledDataMaxLength", "SupportedFeatureProfiles",
    "SupportedFeatureProfilesMaxLength", "TransactionMessageAttempts",
    "TransactionMessageRetryInterval", "UnlockConnectorOnEVSideDisconnect",
    "WebSocketPingInterval", "LocalAuthListEnabled", "LocalAuthListMaxLength",
    "SendLocalListMaxLength", "ReserveConnectorZeroSupported", "ChargeProfileMaxStackLevel",
    "ChargingScheduleAllowedChargingRateUnit", "ChargingScheduleMaxPeriods",
    "MaxChargingProfilesInstalled", "AdditionalRootCertificateCheck", "AuthorizationKey",
    "CertificateSignedMaxChainSize", "CertificateStoreMaxLength", "CpoName", "SecurityProfile",
    # libocpp's keys (not in the specification: after its keys)
    "CompositeScheduleDefaultLimitAmps", "CompositeScheduleDefaultLimitWatts",
    "CompositeScheduleDefaultNumberPhases", "SupplyVoltage", "IgnoredProfilePurposesOffline",
    "AllowCSMSRootCertInstallWithUnsecureConnection", "AllowMFRootCertInstallWithUnsecureConnection",
]
READ_ONLY = {
    "ConnectorPhaseRotationMaxLength", "GetConfigurationMaxKeys",
    "MeterValuesAlignedDataMaxLength", "MeterValuesSampledDataMaxLength", "NumberOfConnectors",
    "StopTxnAlignedDataMaxLength", "StopTxnSampledDataMaxLength", "SupportedFeatureProfiles",
    "SupportedFeatureProfilesMaxLength", "LocalAuthListMaxLength", "SendLocalListMaxLength",
    "ReserveConnectorZeroSupported", "ChargeProfileMaxStackLevel",
    "ChargingScheduleAllowedChargingRateUnit", "ChargingScheduleMaxPeriods",
    "MaxChargingProfilesInstalled", "AdditionalRootCertificateCheck", "CertificateSignedMaxChainSize",
    "CertificateStoreMaxLength",
}
PASSWORD = "0123456789abcdef0123"


def open_keys(path, overrides=None, **kw):
    conn = open_database(path, DATABASE_NAME, MIGRATIONS)
    return conn, ConfigurationKeys(conn, overrides, definitions=STANDARD_KEYS, **kw)


@pytest.fixture
def keys():
    return ConfigurationKeys(sqlite3.connect(":memory:"), definitions=STANDARD_KEYS)


# ------------------------------------------------------------------ GetConfiguration

def test_get_all_lists_every_key_in_a_stable_order_with_access(keys):
    known, unknown = keys.get([])
    assert unknown == []
    assert [kv.key for kv in known] == EXPECTED_KEYS
    assert {kv.key for kv in known if kv.read_only} == READ_ONLY
    assert keys.get([])[0] == known


def test_every_default_is_a_value_its_key_accepts(keys):
    for d in STANDARD_KEYS:
        if d.default is not None:
            keys.set_internal(d.name, d.default)
            assert keys.value(d.name) == d.default


def test_get_some_and_unknown_keeps_request_order(keys):
    known, unknown = keys.get(["MeterValueSampleInterval", "NoSuchKey", "heartbeatinterval"])
    assert known == [KeyValue("MeterValueSampleInterval", False, "60"),
                     KeyValue("HeartbeatInterval", False, "300")]
    assert unknown == ["NoSuchKey"]


def test_authorization_key_is_listed_but_never_readable(keys):
    assert keys.set("AuthorizationKey", PASSWORD, by_csms=True) == "Accepted"
    assert keys.get(["AuthorizationKey"]) == ([KeyValue("AuthorizationKey", False, None)], [])
    everything = {kv.key: kv.value for kv in keys.get([])[0]}
    assert everything["AuthorizationKey"] is None
    assert PASSWORD not in everything.values()
    assert keys.value("AuthorizationKey") == PASSWORD  # the transport still gets it


# ------------------------------------------------------------------ ChangeConfiguration

def test_change_accepted_and_typed_readers(keys):
    assert keys.set("HeartbeatInterval", "120", by_csms=True) == "Accepted"
    assert keys.read(HEARTBEAT_INTERVAL) == 120
    assert keys.set("LocalPreAuthorize", "TRUE", by_csms=True) == "Accepted"
    assert keys.value("LocalPreAuthorize") == "true"
    assert keys.read(LOCAL_PRE_AUTHORIZE) is True


def test_unknown_key_is_not_supported(keys):
    assert keys.set("NoSuchKey", "1", by_csms=True) == "NotSupported"
    with pytest.raises(KeyError):
        keys.set_internal("NoSuchKey", "1")


def test_read_only_key_rejected_for_csms_but_settable_by_module(keys):
    assert keys.set("NumberOfConnectors", "2", by_csms=True) == "Rejected"
    assert keys.value("NumberOfConnectors") == "1"
    keys.set_internal("NumberOfConnectors", "2")
    assert keys.read(NUMBER_OF_CONNECTORS) == 2


@pytest.mark.parametrize(
    "key, value",
    [
        ("HeartbeatInterval", "abc"),
        ("HeartbeatInterval", "-5"),
        ("HeartbeatInterval", "1.5"),
        ("HeartbeatInterval", ""),
        ("HeartbeatInterval", "99999999999"),
        ("LocalPreAuthorize", "yes"),
        ("LocalPreAuthorize", "1"),
        ("LightIntensity", "101"),
        ("MeterValuesSampledData", "Energy.Active.Import.Register,Bogus"),
        ("MeterValuesSampledData", "Current.Import.L9"),
        ("MeterValuesSampledData", "SoC,SoC"),
        ("MeterValuesSampledData", "SoC,,Voltage"),
        ("MeterValuesAlignedData", ",".join(["Voltage.L1", "Voltage.L2", "Voltage.L3",
                                            "Current.Import.L1", "Current.Import.L2",
                                            "Current.Import.L3", "SoC", "Frequency",
                                            "Temperature", "RPM", "Power.Offered"])),
        ("ConnectorPhaseRotation", "1.XYZ"),
        ("ConnectorPhaseRotation", "RST"),
        ("ConnectorPhaseRotation", "x.RST"),
        ("ConnectionTimeOut", "1" * 501),
        ("SecurityProfile", "4"),
        ("AuthorizationKey", "short"),
        ("AuthorizationKey", "a" * 41),
        ("AuthorizationKey", "with space inside 0123"),
    ],
)
def test_invalid_values_rejected_and_not_stored(keys, key, value):
    before = keys.value(key)
    assert keys.set(key, value, by_csms=True) == "Rejected"
    assert keys.value(key) == before
    with pytest.raises(ValueError):
        keys.set_internal(key, value)


@pytest.mark.parametrize(
    "key, value, stored",
    [
        ("MeterValuesSampledData", "Current.Import.L1, Voltage.L1-N ,SoC",
         "Current.Import.L1,Voltage.L1-N,SoC"),
        ("MeterValuesSampledData", "Energy.Active.Import.Register,Temperature,RPM",
         "Energy.Active.Import.Register,Temperature,RPM"),
        ("StopTxnAlignedData", "", ""),
        ("ConnectorPhaseRotation", "0.RST, 1.RST, 2.RTS", "0.RST,1.RST,2.RTS"),
        ("ConnectorPhaseRotation", "1.NotApplicable", "1.NotApplicable"),
        ("HeartbeatInterval", "0", "0"),
        ("HeartbeatInterval", "+007", "7"),
        ("LightIntensity", "100", "100"),
    ],
)
def test_valid_values_are_normalised(keys, key, value, stored):
    assert keys.set(key, value, by_csms=True) == "Accepted"
    assert keys.value(key) == stored


def test_list_limit_follows_its_max_length_key(keys):
    three = "SoC,Voltage,Frequency"
    keys.set_internal("MeterValuesSampledDataMaxLength", "2")
    assert keys.set("MeterValuesSampledData", three, by_csms=True) == "Rejected"
    keys.set_internal("MeterValuesSampledDataMaxLength", "3")
    assert keys.set("MeterValuesSampledData", three, by_csms=True) == "Accepted"


def test_security_profile_never_lowered_and_needs_a_password(keys):
    assert keys.set("SecurityProfile", "1", by_csms=True) == "Rejected"  # no AuthorizationKey
    assert keys.set("AuthorizationKey", PASSWORD, by_csms=True) == "Accepted"
    assert keys.set("SecurityProfile", "2", by_csms=True) == "Accepted"
    assert keys.set("SecurityProfile", "1", by_csms=True) == "Rejected"
    assert keys.set("SecurityProfile", "3", by_csms=True) == "Accepted"
    assert keys.read(SECURITY_PROFILE) == 3


def test_extra_vendor_key_with_reboot_required():
    extra = KeyDef("VendorMaxCurrent", "RW", "int", "32", maximum=80, reboot_required=True)
    keys = ConfigurationKeys(sqlite3.connect(":memory:"), {"VendorMaxCurrent": 16}, definitions=STANDARD_KEYS,
                             extra_keys=[extra])
    assert keys.get(["VendorMaxCurrent"])[0] == [KeyValue("VendorMaxCurrent", False, "16")]
    assert keys.set("VendorMaxCurrent", "20", by_csms=True) == "RebootRequired"
    assert keys.set("VendorMaxCurrent", "81", by_csms=True) == "Rejected"
    with pytest.raises(ValueError):
        ConfigurationKeys(sqlite3.connect(":memory:"), definitions=STANDARD_KEYS, extra_keys=[KeyDef("HeartBeatInterval",
                                                                          "RW", "int", "1")])


# ------------------------------------------------------------------ listeners

def test_listeners_fire_only_on_real_change(keys):
    heard = []
    keys.add_listener(lambda key, value: heard.append((key, value)))
    assert keys.set("heartbeatinterval", "60", by_csms=True) == "Accepted"
    assert keys.set("HeartbeatInterval", "60", by_csms=True) == "Accepted"  # same value
    assert keys.set("HeartbeatInterval", "-1", by_csms=True) == "Rejected"
    assert keys.set("NumberOfConnectors", "3", by_csms=True) == "Rejected"
    keys.set_internal("NumberOfConnectors", "3")
    assert heard == [("HeartbeatInterval", "60"), ("NumberOfConnectors", "3")]


def broken_listener(key, value):
    raise RuntimeError("listener bug")


def test_a_failing_listener_does_not_hide_the_change_from_others(keys, caplog):
    heard = []
    keys.add_listener(broken_listener)
    keys.add_listener(lambda key, value: heard.append(key))
    assert keys.set("ResetRetries", "5", by_csms=True) == "Accepted"  # what happened: it is stored
    assert heard == ["ResetRetries"]
    assert keys.value("ResetRetries") == "5"
    [line] = [r for r in caplog.records if "broken_listener" in r.getMessage()]
    assert "ResetRetries" in line.getMessage() and line.exc_info is not None


def test_a_failing_listener_keeps_reboot_required():
    conn = sqlite3.connect(":memory:")
    mode = KeyDef("VendorMode", RW, "string", "eco", reboot_required=True)
    keys = ConfigurationKeys(conn, definitions=STANDARD_KEYS, extra_keys=[mode])
    keys.add_listener(broken_listener)
    assert keys.set("VendorMode", "fast", by_csms=True) == "RebootRequired"
    keys.set_internal("VendorMode", "eco")  # a module change is not refused either
    assert ConfigurationKeys(conn, definitions=STANDARD_KEYS, extra_keys=[mode]).value("VendorMode") == "eco"


def test_change_configuration_is_accepted_when_a_listener_fails_after_the_change(tmp_path, caplog):
    rig = Rig(tmp_path).boot()
    rig.cp.keys.add_listener(broken_listener)
    assert rig.request("ChangeConfiguration", {"key": "HeartbeatInterval", "value": "77"}) == {"status": "Accepted"}
    assert rig.cp.keys.value("HeartbeatInterval") == "77"
    assert rig.cp.core.timers.is_set("heartbeat")  # the other listeners took it in
    assert any("broken_listener" in r.getMessage() for r in caplog.records)


# ------------------------------------------------------------------ persistence and overrides

def test_changes_survive_reopening(tmp_path):
    conn, keys = open_keys(tmp_path)
    assert keys.set("MeterValueSampleInterval", "15", by_csms=True) == "Accepted"
    assert keys.set("AuthorizationKey", PASSWORD, by_csms=True) == "Accepted"
    conn.close()
    conn, keys = open_keys(tmp_path)
    assert keys.value("MeterValueSampleInterval") == "15"
    assert keys.value("AuthorizationKey") == PASSWORD
    assert (tmp_path / "config16.db").is_file()


def test_overrides_apply_first_time_and_never_clobber_later_changes(tmp_path):
    overrides = {"HeartbeatInterval": "60", "NumberOfConnectors": 2, "LocalPreAuthorize": True}
    conn, keys = open_keys(tmp_path, overrides)
    assert keys.value("HeartbeatInterval") == "60"
    assert keys.value("NumberOfConnectors") == "2"  # read-only keys are the integrator's
    assert keys.value("LocalPreAuthorize") == "true"
    assert keys.set("HeartbeatInterval", "900", by_csms=True) == "Accepted"
    conn.close()
    conn, keys = open_keys(tmp_path, overrides)
    assert keys.value("HeartbeatInterval") == "900"
    assert keys.value("NumberOfConnectors") == "2"
    conn.close()
    # an edited override file still reaches keys nobody changed at run time
    conn, keys = open_keys(tmp_path, {**overrides, "NumberOfConnectors": "4"})
    assert keys.value("NumberOfConnectors") == "4"
    assert keys.value("HeartbeatInterval") == "900"
    conn.close()
    # removing an override brings back the default of an untouched key
    conn, keys = open_keys(tmp_path, {})
    assert keys.value("NumberOfConnectors") == "1"
    assert keys.value("HeartbeatInterval") == "900"


def test_overrides_do_not_fire_listeners_or_count_as_changes(tmp_path):
    conn, keys = open_keys(tmp_path, {"ResetRetries": "7"})
    heard = []
    keys.add_listener(lambda key, value: heard.append(key))
    assert keys.set("ResetRetries", "7", by_csms=True) == "Accepted"
    assert heard == []


def test_unknown_override_key_is_a_clear_error():
    with pytest.raises(ValueError, match="HeartBeatIntervall"):
        ConfigurationKeys(sqlite3.connect(":memory:"), {"HeartBeatIntervall": "60"}, definitions=STANDARD_KEYS)


@pytest.mark.parametrize(
    "overrides",
    [{"HeartbeatInterval": "soon"}, {"MeterValuesSampledData": "Bogus"},
     {"MeterValuesSampledDataMaxLength": "1", "MeterValuesSampledData": "SoC,Voltage"},
     {"HeartbeatInterval": None}],
)
def test_invalid_override_value_is_a_clear_error(overrides):
    with pytest.raises(ValueError):
        ConfigurationKeys(sqlite3.connect(":memory:"), overrides, definitions=STANDARD_KEYS)


def test_override_list_checked_against_overridden_limit():
    keys = ConfigurationKeys(
        sqlite3.connect(":memory:"),
        {"MeterValuesSampledDataMaxLength": "12",
         "MeterValuesSampledData": "SoC,Voltage,Frequency,Temperature,RPM,Power.Offered,"
                                   "Current.Offered,Current.Import,Current.Export,"
                                   "Power.Active.Import,Power.Factor"},
        definitions=STANDARD_KEYS,
    )
    assert len(keys.value("MeterValuesSampledData").split(",")) == 11
