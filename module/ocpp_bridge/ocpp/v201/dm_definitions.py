"""What the OCPP 2.0.1 device model is made of (definitions only). PURE data: no SQLite, no I/O.

Owns the small dataclasses that describe components and variables (``ComponentDef``,
``VariableDef``, ``AttributeDef``, ``VariableKey``), the vocabularies of the 2.0.1 Part 2
appendix they use (data types, measurands, connector types, ...), and the per-EVSE and
per-connector component templates. The station-level components are assembled from the
blocks' declarations (``variables.py``, ``component_table.py``).
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


def _availability() -> tuple[VariableDef, VariableDef]:
    return (_v("Available", "boolean", RO, "true"),
            _v("AvailabilityState", "OptionList", RO, "Available", values_list=AVAILABILITY_STATES))


EVSE_COMPONENT = _c(
    "EVSE", *_availability(),
    _v("Power", "decimal", RO, "0", unit="W", min_limit=0, persistent=False,
       also=(AttributeDef("MaxSet", RO, "22000"),)),
)
CONNECTOR_COMPONENT = _c(
    "Connector", *_availability(),
    _v("ConnectorType", "OptionList", RO, "sType2", values_list=CONNECTOR_TYPES, constant=True),
)
