"""The OCPP 2.0.1 standardized components and variables this station has (definitions only).

Owns the table the device model is built from: names, data types, mutability, limits and
defaults from the 2.0.1 Part 2 appendix, plus the per-EVSE and per-connector components, and
the small dataclasses that describe them. PURE data: no SQLite, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

ATTRIBUTES = ("Actual", "Target", "MinSet", "MaxSet")
RO, WO, RW = "ReadOnly", "WriteOnly", "ReadWrite"
DATA_TYPES = frozenset(
    {"string", "decimal", "integer", "dateTime", "boolean", "OptionList", "SequenceList",
     "MemberList"}
)
_LISTS = frozenset({"OptionList", "SequenceList", "MemberList"})
VALUE_MAX_CHARS = 2500  # VariableAttributeType.value
INT32 = (-(2**31), 2**31 - 1)

MEASURANDS = (
    "Current.Export,Current.Import,Current.Offered,Energy.Active.Export.Register,"
    "Energy.Active.Import.Register,Energy.Reactive.Export.Register,"
    "Energy.Reactive.Import.Register,Energy.Active.Export.Interval,Energy.Active.Import.Interval,"
    "Energy.Active.Net,Energy.Reactive.Export.Interval,Energy.Reactive.Import.Interval,"
    "Energy.Reactive.Net,Energy.Apparent.Net,Energy.Apparent.Import,Energy.Apparent.Export,"
    "Frequency,Power.Active.Export,Power.Active.Import,Power.Factor,Power.Offered,"
    "Power.Reactive.Export,Power.Reactive.Import,SoC,Voltage"
)
CONNECTOR_TYPES = (
    "cCCS1,cCCS2,cG105,cTesla,cType1,cType2,s309-1P-16A,s309-1P-32A,s309-3P-16A,s309-3P-32A,"
    "sBS1361,sCEE-7-7,sType2,sType3,Other1PhMax16A,Other1PhOver16A,Other3Ph,Pan,wInductive,"
    "wResonant,Undetermined,Unknown"
)
AVAILABILITY_STATES = "Available,Occupied,Reserved,Unavailable,Faulted"
TX_POINTS = "EVConnected,Authorized,PowerPathClosed,EnergyTransfer"
TIME_SOURCES = "Heartbeat,NTP,GPS,RealTimeClock,MobileNetwork,RadioTimeTransmitter"


@dataclass(frozen=True)
class VariableKey:
    """Which variable: component (+instance, EVSE, connector) and variable (+instance)."""

    component: str
    variable: str
    component_instance: str | None = None
    variable_instance: str | None = None
    evse: int | None = None
    connector: int | None = None


@dataclass(frozen=True)
class AttributeDef:
    type: str  # Actual, Target, MinSet, MaxSet
    mutability: str
    default: str | None


@dataclass(frozen=True)
class VariableDef:
    """A variable, its attributes and characteristics.

    ``pattern``: a regex the whole value (string) or every item (lists) must match.
    ``allow_empty``: whether a Member/SequenceList may be empty (default: MemberList only).
    """

    name: str
    data_type: str
    attributes: tuple[AttributeDef, ...]
    instance: str | None = None
    unit: str | None = None
    min_limit: int | float | None = None
    max_limit: int | float | None = None
    values_list: str | None = None
    supports_monitoring: bool = True
    persistent: bool = True
    constant: bool = False
    reboot_required: bool = False
    allow_empty: bool | None = None
    pattern: str | None = None


@dataclass(frozen=True)
class ComponentDef:
    name: str
    variables: tuple[VariableDef, ...]
    instance: str | None = None


def _v(name: str, data_type: str, mutability: str, default: str | None, *,
       also: tuple[AttributeDef, ...] = (), **kw: Any) -> VariableDef:
    return VariableDef(name, data_type, (AttributeDef("Actual", mutability, default), *also), **kw)


def _c(name: str, *variables: VariableDef) -> ComponentDef:
    return ComponentDef(name, tuple(variables))


_EAIR = "Energy.Active.Import.Register"


def _enabled() -> VariableDef:
    return _v("Enabled", "boolean", RW, "true")


def _availability() -> tuple[VariableDef, VariableDef]:
    return (_v("Available", "boolean", RO, "true"),
            _v("AvailabilityState", "OptionList", RO, "Available", values_list=AVAILABILITY_STATES))


def _per_message(name: str, default: str, *instances: str) -> list[VariableDef]:
    return [_v(name, "integer", RO, default, instance=i, min_limit=1, constant=True)
            for i in instances]


STANDARD_COMPONENTS: tuple[ComponentDef, ...] = (
    _c("OCPPCommCtrlr",
       _v("FileTransferProtocols", "MemberList", RO, "HTTP,HTTPS",
          values_list="FTP,FTPS,HTTP,HTTPS,SFTP", constant=True),
       _v("HeartbeatInterval", "integer", RW, "300", unit="s", min_limit=0),
       _v("MessageTimeout", "integer", RO, "30", instance="Default", unit="s", min_limit=1),
       _v("MessageAttempts", "integer", RW, "3", instance="TransactionEvent", min_limit=0),
       _v("MessageAttemptInterval", "integer", RW, "60", instance="TransactionEvent", unit="s",
          min_limit=0),
       _v("NetworkConfigurationPriority", "SequenceList", RW, "1", pattern=r"[0-9]{1,2}"),
       _v("NetworkProfileConnectionAttempts", "integer", RW, "3", min_limit=0),
       _v("OfflineThreshold", "integer", RW, "60", unit="s", min_limit=0),
       _v("QueueAllMessages", "boolean", RW, "false"),
       _v("ResetRetries", "integer", RW, "3", min_limit=0),
       _v("RetryBackOffRandomRange", "integer", RW, "10", unit="s", min_limit=0),
       _v("RetryBackOffRepeatTimes", "integer", RW, "5", min_limit=0),
       _v("RetryBackOffWaitMinimum", "integer", RW, "10", unit="s", min_limit=0),
       _v("UnlockOnEVSideDisconnect", "boolean", RW, "true"),
       _v("WebSocketPingInterval", "integer", RW, "30", unit="s", min_limit=0)),
    _c("SecurityCtrlr",
       _v("BasicAuthPassword", "string", WO, None, max_limit=40, pattern=r"[\x21-\x7e]{16,40}"),
       _v("Identity", "string", RW, "", max_limit=48),
       _v("OrganizationName", "string", RW, ""),
       _v("SecurityProfile", "integer", RO, "1", min_limit=1, max_limit=3)),
    _c("DeviceDataCtrlr",
       *_per_message("ItemsPerMessage", "100", "GetReport", "GetVariables", "SetVariables"),
       *_per_message("BytesPerMessage", "65536", "GetReport", "GetVariables", "SetVariables")),
    _c("AuthCtrlr",
       _enabled(),
       _v("AuthorizeRemoteStart", "boolean", RW, "false"),
       _v("LocalAuthorizeOffline", "boolean", RW, "true"),
       _v("LocalPreAuthorize", "boolean", RW, "false"),
       _v("MasterPassGroupId", "string", RW, "", max_limit=36),  # C16; empty: no master pass
       _v("OfflineTxForUnknownIdEnabled", "boolean", RW, "false")),
    _c("AuthCacheCtrlr",
       _enabled(),
       _v("LifeTime", "integer", RW, "86400", unit="s", min_limit=0),
       _v("Storage", "integer", RO, "0", unit="B", min_limit=0, max_limit=1048576)),
    _c("LocalAuthListCtrlr",
       _enabled(),
       _v("Entries", "integer", RO, "0", min_limit=0, max_limit=1000),
       _v("ItemsPerMessage", "integer", RO, "100", min_limit=1, constant=True),
       _v("BytesPerMessage", "integer", RO, "16384", min_limit=1, constant=True)),
    _c("SampledDataCtrlr",
       _enabled(),
       _v("TxEndedMeasurands", "MemberList", RW, _EAIR, values_list=MEASURANDS),
       _v("TxEndedInterval", "integer", RW, "0", unit="s", min_limit=0),
       _v("TxStartedMeasurands", "MemberList", RW, _EAIR, values_list=MEASURANDS),
       _v("TxUpdatedMeasurands", "MemberList", RW, _EAIR, values_list=MEASURANDS),
       _v("TxUpdatedInterval", "integer", RW, "60", unit="s", min_limit=0)),
    _c("AlignedDataCtrlr",
       _enabled(),
       _v("Measurands", "MemberList", RW, _EAIR, values_list=MEASURANDS),
       _v("Interval", "integer", RW, "900", unit="s", min_limit=0),
       _v("TxEndedMeasurands", "MemberList", RW, "", values_list=MEASURANDS),
       _v("TxEndedInterval", "integer", RW, "0", unit="s", min_limit=0)),
    _c("TxCtrlr",
       _v("EVConnectionTimeOut", "integer", RW, "60", unit="s", min_limit=0),
       _v("StopTxOnEVSideDisconnect", "boolean", RW, "true"),
       _v("TxStartPoint", "MemberList", RW, "PowerPathClosed", values_list=TX_POINTS,
          allow_empty=False),
       _v("TxStopPoint", "MemberList", RW, "EVConnected,Authorized", values_list=TX_POINTS,
          allow_empty=False),
       _v("StopTxOnInvalidId", "boolean", RW, "true"),
       _v("MaxEnergyOnInvalidId", "integer", RW, "0", unit="Wh", min_limit=0)),
    _c("ReservationCtrlr",
       _enabled(),
       _v("NonEvseSpecific", "boolean", RO, "true")),  # reservations without evseId (H01)
    _c("SmartChargingCtrlr",
       _enabled(),
       _v("Entries", "integer", RO, "0", instance="ChargingProfiles", min_limit=0, max_limit=20),
       _v("ExternalControlSignalsEnabled", "boolean", RW, "false"),
       _v("PeriodsPerSchedule", "integer", RO, "24", min_limit=1, constant=True),
       _v("ProfileStackLevel", "integer", RO, "8", min_limit=0, constant=True),
       _v("RateUnit", "MemberList", RO, "A,W", values_list="A,W", constant=True)),
    _c("ClockCtrlr",
       _v("DateTime", "dateTime", RO, None, persistent=False),
       _v("TimeSource", "SequenceList", RW, "Heartbeat", values_list=TIME_SOURCES)),
    _c("ChargingStation",
       *_availability(),
       _v("SupplyPhases", "integer", RO, "3", min_limit=0, max_limit=3, constant=True)),
)

EVSE_COMPONENT = _c(
    "EVSE", *_availability(),
    _v("Power", "decimal", RO, "0", unit="W", min_limit=0, persistent=False,
       also=(AttributeDef("MaxSet", RO, "22000"),)),
)
CONNECTOR_COMPONENT = _c(
    "Connector", *_availability(),
    _v("ConnectorType", "OptionList", RO, "sType2", values_list=CONNECTOR_TYPES, constant=True),
)
