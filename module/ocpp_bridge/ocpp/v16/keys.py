"""How an OCPP 1.6 block declares a configuration key it owns. PURE data.

Owns ``KeyDef`` (what the key store knows of a key: access R/RW/W, kind of value, default,
limits), the typed handle ``Key[T]`` a block reads its key through (``keys.read(KEY)``, see
``ocpp/settings.py``), the constructors blocks use next to the code that gives the key its
meaning (``flag``, ``integer``, ``limit``, ``measurands``, ``choices``, ``text``,
``phase_rotation``), and the value vocabularies of 1.6 §9 (measurands, phases, feature
profiles, rate units, phase rotations).

``REPORT_ORDER``: GetConfiguration lists the keys in the order the 1.6 specification does
(§9.1 Core, §9.2 LocalAuthListManagement, §9.3 Reservation, §9.4 SmartCharging, then the
security whitepaper's); keys it does not name follow in declaration order.

Must never: store a value, or know which block declares what (``key_table.py`` assembles them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from ocpp_bridge.ocpp.settings import BOOL, INT, LIST, OPTIONAL_TEXT, Codec

T = TypeVar("T")

R, RW, W = "R", "RW", "W"
INT32_MAX = 2**31 - 1

MEASURANDS = frozenset(
    {
        "Energy.Active.Export.Register", "Energy.Active.Import.Register",
        "Energy.Reactive.Export.Register", "Energy.Reactive.Import.Register",
        "Energy.Active.Export.Interval", "Energy.Active.Import.Interval",
        "Energy.Reactive.Export.Interval", "Energy.Reactive.Import.Interval",
        "Power.Active.Export", "Power.Active.Import", "Power.Offered",
        "Power.Reactive.Export", "Power.Reactive.Import", "Power.Factor",
        "Current.Import", "Current.Export", "Current.Offered",
        "Voltage", "Frequency", "Temperature", "SoC", "RPM",
    }
)
PHASES = frozenset({"L1", "L2", "L3", "N", "L1-N", "L2-N", "L3-N", "L1-L2", "L2-L3", "L3-L1"})
FEATURE_PROFILES = frozenset(
    {"Core", "FirmwareManagement", "LocalAuthListManagement", "Reservation",
     "SmartCharging", "RemoteTrigger"}
)
RATE_UNITS = frozenset({"Current", "Power"})
PROFILE_PURPOSES = frozenset({"ChargePointMaxProfile", "TxDefaultProfile", "TxProfile"})
PHASE_ROTATIONS = frozenset({"NotApplicable", "Unknown", "RST", "RTS", "SRT", "STR", "TRS", "TSR"})
ENERGY_IMPORT_REGISTER = "Energy.Active.Import.Register"


@dataclass(frozen=True)
class KeyDef:
    """What a key is: access (R, RW or W), value type and default (as stored text).

    ``kind``: "bool", "int", "string", "measurands", "profiles", "rate_units", "purposes",
    "phase_rotation". ``max_length_key`` names the key holding the list's item limit.
    """

    name: str
    access: str
    kind: str
    default: str | None
    minimum: int = 0
    maximum: int = INT32_MAX
    max_length_key: str | None = None
    reboot_required: bool = False


@dataclass(frozen=True)
class Key(Generic[T]):
    """A declared key and how its stored text reads as a ``T`` (a ``settings.Setting``)."""

    definition: KeyDef
    codec: Codec[T]
    fallback: T

    @property
    def label(self) -> str:
        return self.definition.name

    @property
    def name(self) -> str:
        return self.definition.name

    def decode(self, raw: str | None) -> T:
        return self.codec.decode(raw)


def flag(name: str, default: bool, *, access: str = RW) -> Key[bool]:
    return Key(KeyDef(name, access, "bool", BOOL.encode(default)), BOOL, default)


def integer(name: str, default: int, *, access: str = RW, minimum: int = 0,
            maximum: int = INT32_MAX) -> Key[int]:
    return Key(KeyDef(name, access, "int", str(default), minimum=minimum, maximum=maximum), INT, default)


def limit(name: str, default: int, *, minimum: int = 0) -> Key[int]:
    """A read-only integer: what the charge point supports (a ...MaxLength, a maximum count)."""
    return integer(name, default, access=R, minimum=minimum)


def measurands(name: str, default: str, *, max_length_key: str) -> Key[tuple[str, ...]]:
    return Key(KeyDef(name, RW, "measurands", default, max_length_key=max_length_key), LIST, LIST.decode(default))


def choices(name: str, kind: str, default: str, *, access: str = R,
            max_length_key: str | None = None) -> Key[tuple[str, ...]]:
    """A comma list of items from a fixed vocabulary (``kind``: "profiles", "rate_units" or
    "purposes")."""
    return Key(KeyDef(name, access, kind, default, max_length_key=max_length_key), LIST, LIST.decode(default))


def phase_rotation(name: str, default: str, *, max_length_key: str) -> Key[tuple[str, ...]]:
    return Key(KeyDef(name, RW, "phase_rotation", default, max_length_key=max_length_key), LIST,
               LIST.decode(default))


def text(name: str, *, access: str, minimum: int = 0, maximum: int = 500,
         default: str | None = None) -> Key[str | None]:
    return Key(KeyDef(name, access, "string", default, minimum=minimum, maximum=maximum), OPTIONAL_TEXT, default)


REPORT_ORDER: tuple[str, ...] = (
    # §9.1 Core
    "AllowOfflineTxForUnknownId", "AuthorizationCacheEnabled", "AuthorizeRemoteTxRequests", "BlinkRepeat",
    "ClockAlignedDataInterval", "ConnectionTimeOut", "ConnectorPhaseRotation", "ConnectorPhaseRotationMaxLength",
    "GetConfigurationMaxKeys", "HeartbeatInterval", "LightIntensity", "LocalAuthorizeOffline", "LocalPreAuthorize",
    "MaxEnergyOnInvalidId", "MeterValuesAlignedData", "MeterValuesAlignedDataMaxLength", "MeterValuesSampledData",
    "MeterValuesSampledDataMaxLength", "MeterValueSampleInterval", "MinimumStatusDuration", "NumberOfConnectors",
    "ResetRetries", "StopTransactionOnEVSideDisconnect", "StopTransactionOnInvalidId", "StopTxnAlignedData",
    "StopTxnAlignedDataMaxLength", "StopTxnSampledData", "StopTxnSampledDataMaxLength", "SupportedFeatureProfiles",
    "SupportedFeatureProfilesMaxLength", "TransactionMessageAttempts", "TransactionMessageRetryInterval",
    "UnlockConnectorOnEVSideDisconnect", "WebSocketPingInterval",
    # §9.2 Local Auth List Management
    "LocalAuthListEnabled", "LocalAuthListMaxLength", "SendLocalListMaxLength",
    # §9.3 Reservation
    "ReserveConnectorZeroSupported",
    # §9.4 Smart Charging
    "ChargeProfileMaxStackLevel", "ChargingScheduleAllowedChargingRateUnit", "ChargingScheduleMaxPeriods",
    "MaxChargingProfilesInstalled",
    # security whitepaper
    "AdditionalRootCertificateCheck", "AuthorizationKey", "CertificateSignedMaxChainSize",
    "CertificateStoreMaxLength", "CpoName", "SecurityProfile",
)


def in_report_order(definitions: list[KeyDef]) -> tuple[KeyDef, ...]:
    """``definitions`` sorted as GetConfiguration lists them (see ``REPORT_ORDER``)."""
    rank = {name: i for i, name in enumerate(REPORT_ORDER)}
    indexed = list(enumerate(definitions))
    indexed.sort(key=lambda item: (rank.get(item[1].name, len(rank)), item[0]))
    return tuple(d for _, d in indexed)
