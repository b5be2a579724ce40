"""How an OCPP 2.0.1 block declares a device-model variable it owns. PURE data.

Owns the typed handle ``Var[T]`` (a component, a ``VariableDef`` and how its stored text reads
as a ``T``: a ``settings.Setting``) that a block reads through ``model.read(VAR)`` and hooks with
``model.on_change(VAR, fn)``, and the constructors blocks use next to the code that gives the
variable its meaning (``boolean``, ``integer``, ``decimal``, ``member_list``, ``string``, ``option``,
``enabled``, ``fixed``).

``REPORT_ORDER``: the standardized components in the order GetBaseReport reports them, each
with its variables in order; variables a component's list does not name follow in
declaration order, components it does not name after the listed ones.

Must never: store a value, or know which block declares what (``component_table.py``
assembles them).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Generic, TypeVar

from ocpp_bridge.ocpp.settings import BOOL, INT, LIST, OPTIONAL_TEXT, Codec
from ocpp_bridge.ocpp.v201.dm_definitions import RO, RW, AttributeDef, VariableDef

T = TypeVar("T")


@dataclass(frozen=True)
class Var(Generic[T]):
    """A declared variable of a station-level component (``component`` [``component_instance``])."""

    component: str
    definition: VariableDef
    codec: Codec[T]
    fallback: T
    component_instance: str | None = None
    attribute: str = "Actual"

    @property
    def name(self) -> str:
        return self.definition.name

    @property
    def label(self) -> str:
        instance = f"[{self.definition.instance}]" if self.definition.instance else ""
        return f"{self.component}.{self.definition.name}{instance}"

    def decode(self, raw: str | None) -> T:
        return self.codec.decode(raw)


def _declare(component: str, name: str, data_type: str, mutability: str, default: str | None,
             codec: Codec[T], fallback: T, **characteristics: Any) -> Var[T]:
    also: tuple[AttributeDef, ...] = characteristics.pop("also", ())
    definition = VariableDef(name, data_type, (AttributeDef("Actual", mutability, default), *also), **characteristics)
    return Var(component, definition, codec, fallback)


def boolean(component: str, name: str, default: bool, *, mutability: str = RW, **kw: Any) -> Var[bool]:
    return _declare(component, name, "boolean", mutability, BOOL.encode(default), BOOL, default, **kw)


def enabled(component: str, default: bool = True) -> Var[bool]:
    """The ``Enabled`` variable of a controller component."""
    return boolean(component, "Enabled", default)


def integer(component: str, name: str, default: int, *, mutability: str = RW, min_limit: int | None = 0,
            **kw: Any) -> Var[int]:
    return _declare(component, name, "integer", mutability, str(default), INT, default, min_limit=min_limit, **kw)


def _decimal_text(value: float) -> str:
    return f"{value:g}"


def _decimal(raw: str | None) -> float:
    if raw is None:
        raise ValueError("no value")
    return float(raw)


DECIMAL: Codec[float] = Codec(_decimal, _decimal_text)


def decimal(component: str, name: str, default: float, *, mutability: str = RW, min_limit: int | None = 0,
            **kw: Any) -> Var[float]:
    return _declare(component, name, "decimal", mutability, _decimal_text(default), DECIMAL, default,
                    min_limit=min_limit, **kw)


def fixed(component: str, name: str, default: int, *, instance: str | None = None, **kw: Any) -> Var[int]:
    """A read-only, constant integer: something the station supports (a limit, a size)."""
    return integer(component, name, default, mutability=RO, instance=instance, constant=True, **kw)


def member_list(component: str, name: str, default: str, *, values_list: str, mutability: str = RW,
                **kw: Any) -> Var[tuple[str, ...]]:
    return _declare(component, name, "MemberList", mutability, default, LIST, LIST.decode(default),
                    values_list=values_list, **kw)


def sequence_list(component: str, name: str, default: str, *, mutability: str = RW,
                  **kw: Any) -> Var[tuple[str, ...]]:
    return _declare(component, name, "SequenceList", mutability, default, LIST, LIST.decode(default), **kw)


def string(component: str, name: str, default: str | None, *, mutability: str = RW,
           **kw: Any) -> Var[str | None]:
    return _declare(component, name, "string", mutability, default, OPTIONAL_TEXT, default, **kw)


def option(component: str, name: str, default: str, *, values_list: str, mutability: str = RW,
           **kw: Any) -> Var[str | None]:
    return _declare(component, name, "OptionList", mutability, default, OPTIONAL_TEXT, default,
                    values_list=values_list, **kw)


def date_time(component: str, name: str, *, mutability: str = RO, **kw: Any) -> Var[str | None]:
    return _declare(component, name, "dateTime", mutability, None, OPTIONAL_TEXT, None, **kw)


def with_instance(var: Var[T], component_instance: str) -> Var[T]:
    """The same variable on an instance of its component."""
    return replace(var, component_instance=component_instance)


REPORT_ORDER: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("OCPPCommCtrlr", ("FileTransferProtocols", "HeartbeatInterval", "MessageTimeout[Default]",
                       "MessageAttempts[TransactionEvent]", "MessageAttemptInterval[TransactionEvent]",
                       "NetworkConfigurationPriority", "NetworkProfileConnectionAttempts", "OfflineThreshold",
                       "QueueAllMessages", "ResetRetries", "RetryBackOffRandomRange", "RetryBackOffRepeatTimes",
                       "RetryBackOffWaitMinimum", "UnlockOnEVSideDisconnect", "WebSocketPingInterval")),
    ("SecurityCtrlr", ("BasicAuthPassword", "Identity", "OrganizationName", "SecurityProfile")),
    ("DeviceDataCtrlr", ("ItemsPerMessage[GetReport]", "ItemsPerMessage[GetVariables]", "ItemsPerMessage[SetVariables]",
                         "BytesPerMessage[GetReport]", "BytesPerMessage[GetVariables]",
                         "BytesPerMessage[SetVariables]")),
    ("AuthCtrlr", ("Enabled", "AuthorizeRemoteStart", "LocalAuthorizeOffline", "LocalPreAuthorize",
                   "MasterPassGroupId", "OfflineTxForUnknownIdEnabled")),
    ("AuthCacheCtrlr", ("Enabled", "LifeTime", "Storage")),
    ("LocalAuthListCtrlr", ("Enabled", "Entries", "ItemsPerMessage", "BytesPerMessage")),
    ("SampledDataCtrlr", ("Enabled", "TxEndedMeasurands", "TxEndedInterval", "TxStartedMeasurands",
                          "TxUpdatedMeasurands", "TxUpdatedInterval")),
    ("AlignedDataCtrlr", ("Enabled", "Measurands", "Interval", "TxEndedMeasurands", "TxEndedInterval")),
    ("TxCtrlr", ("EVConnectionTimeOut", "StopTxOnEVSideDisconnect", "TxStartPoint", "TxStopPoint",
                 "StopTxOnInvalidId", "MaxEnergyOnInvalidId")),
    ("ReservationCtrlr", ("Enabled", "NonEvseSpecific")),
    ("SmartChargingCtrlr", ("Enabled", "Entries[ChargingProfiles]", "ExternalControlSignalsEnabled",
                            "PeriodsPerSchedule", "ProfileStackLevel", "RateUnit")),
    ("ClockCtrlr", ("DateTime", "TimeSource")),
    ("ChargingStation", ("Available", "AvailabilityState", "Problem", "SupplyPhases")),
)
