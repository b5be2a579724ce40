"""What the EVSEs tell the OCPP side, and what the OCPP side may ask of them. PURE.

Owns the neutral vocabulary between the charger (EVerest's evse_manager modules, translated
by ``impls/evse_link.py``) and the OCPP functional blocks of both versions: events in,
``EvsePort`` requests out. Nothing here knows MQTT topics or OCPP message shapes.

Ids: ``evse`` is the 1-based EVSE id (position of the evse_manager connection); ``connector``
is the connector id within that EVSE (1-based). OCPP 1.6 numbers connectors across the
station; the 1.6 blocks map (evse, connector) to their connector id (one connector per EVSE
in the usual layout: connectorId == evse).

Reasons use EVerest's ``StopTransactionReason`` names (EVDisconnected, Local, Remote,
PowerLoss, ...); each version's block maps them to its own enum.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Protocol


@dataclass(frozen=True)
class IdToken:
    """An identification token. ``type`` uses OCPP 2.0.1 IdTokenEnumType names
    (ISO14443, ISO15693, KeyCode, Local, MacAddress, NoAuthorization, Central, eMAID)."""

    value: str
    type: str = "ISO14443"


@dataclass(frozen=True)
class MeterSample:
    """One reading of an EVSE's power meter (EVerest ``Powermeter``), in base units.

    Phase dicts use the keys "L1", "L2", "L3" (and "N" for current).
    """

    timestamp: str
    energy_import_wh: float | None = None
    energy_export_wh: float | None = None
    power_w: float | None = None
    reactive_power_var: float | None = None
    frequency_hz: float | None = None
    current_a: dict[str, Any] = field(default_factory=dict)
    voltage_v: dict[str, Any] = field(default_factory=dict)
    power_w_phases: dict[str, Any] = field(default_factory=dict)
    energy_import_wh_phases: dict[str, Any] = field(default_factory=dict)
    soc_percent: float | None = None
    temperature_c: float | None = None


# --------------------------------------------------------------------------- events
@dataclass(frozen=True)
class EvseReady:
    """The EVSE finished initialising (evse_manager ``ready``); ``connectors`` from get_evse."""

    evse: int
    connectors: tuple[int, ...] = (1,)


@dataclass(frozen=True)
class EvseEnabled:
    evse: int
    connector: int
    enabled: bool


@dataclass(frozen=True)
class SessionStarted:
    """An EV was plugged in (or a user authorized first)."""

    evse: int
    connector: int
    session_id: str
    timestamp: str
    reason: str = "EVConnected"  # EVerest StartSessionReason: EVConnected | Authorized
    id_token: IdToken | None = None
    meter: MeterSample | None = None
    reservation_id: int | None = None


@dataclass(frozen=True)
class SessionResumed:
    """At start-up the EVSE restored a session that ran before the restart (same uuid): its
    transaction goes on. An EVSE that reports none has lost its sessions (power loss)."""

    evse: int
    connector: int
    session_id: str
    timestamp: str


@dataclass(frozen=True)
class AuthRequired:
    evse: int
    connector: int
    session_id: str


@dataclass(frozen=True)
class TransactionStarted:
    evse: int
    connector: int
    session_id: str
    timestamp: str
    id_token: IdToken
    meter: MeterSample
    reservation_id: int | None = None


@dataclass(frozen=True)
class ChargingStateChanged:
    """``state``: Charging | SuspendedEV | SuspendedEVSE | EVConnected (stopped charging, still plugged)."""

    evse: int
    connector: int
    session_id: str
    state: str
    timestamp: str


@dataclass(frozen=True)
class TransactionFinished:
    evse: int
    connector: int
    session_id: str
    timestamp: str
    reason: str
    meter: MeterSample
    id_token: IdToken | None = None


@dataclass(frozen=True)
class SessionFinished:
    """The EV is gone: the EVSE is free again."""

    evse: int
    connector: int
    session_id: str
    timestamp: str


@dataclass(frozen=True)
class ReservationChanged:
    evse: int
    connector: int
    active: bool


@dataclass(frozen=True)
class PluginTimeout:
    evse: int
    connector: int
    session_id: str


@dataclass(frozen=True)
class MeterReading:
    evse: int
    sample: MeterSample


@dataclass(frozen=True)
class EvseFault:
    """An evse_manager error raised (active) or cleared; ``code`` is the error type
    ("evse_manager/MREC...", "evse_board_support/..."), mapped per version to an error code."""

    evse: int
    code: str
    active: bool
    description: str = ""


@dataclass(frozen=True)
class EvInfo:
    evse: int
    soc_percent: float | None = None


@dataclass(frozen=True)
class FirmwareStatusChanged:
    """The system module's ``firmware_update_status``: ``status`` is EVerest's
    FirmwareUpdateStatusEnum name, ``request_id`` the request's id (-1: a 1.6 UpdateFirmware)."""

    status: str
    request_id: int


@dataclass(frozen=True)
class LogStatusChanged:
    """The system module's ``log_status``: ``status`` is EVerest's LogStatusEnum name,
    ``request_id`` the request's id (-1: a 1.6 GetDiagnostics)."""

    status: str
    request_id: int


EVSE_EVENTS = (EvseReady, EvseEnabled, SessionStarted, SessionResumed, AuthRequired, TransactionStarted,
               ChargingStateChanged, TransactionFinished, SessionFinished, ReservationChanged, PluginTimeout,
               MeterReading, EvseFault, EvInfo)
EvseEvent = (EvseReady | EvseEnabled | SessionStarted | SessionResumed | AuthRequired | TransactionStarted
             | ChargingStateChanged | TransactionFinished | SessionFinished | ReservationChanged | PluginTimeout
             | MeterReading | EvseFault | EvInfo)


# --------------------------------------------------------------------------- requests out
Done = Callable[[bool], None]


class EvsePort(Protocol):
    """What the OCPP blocks may ask of an EVSE. Every call returns at once; ``done(ok)`` is
    called later on the engine thread with the EVSE's answer (False on error or timeout)."""

    def enable_disable(self, evse: int, connector: int, enable: bool, done: Done | None = None) -> None: ...

    def stop_transaction(self, evse: int, reason: str, done: Done | None = None) -> None: ...

    def pause_charging(self, evse: int, done: Done | None = None) -> None: ...

    def resume_charging(self, evse: int, done: Done | None = None) -> None: ...

    def force_unlock(self, evse: int, connector: int, done: Done | None = None) -> None: ...

    def reserve(self, evse: int, reservation_id: int, done: Done | None = None, *, id_token: str = "",
                expiry_time: str = "", parent_id_token: str | None = None) -> None:
        """Through the ``reservation`` module when one is connected (it tells the EVSE), else
        straight to the EVSE manager's ``reserve``."""

    def cancel_reservation(self, evse: int, done: Done | None = None, *, reservation_id: int | None = None) -> None: ...

    def provide_token(self, token: IdToken, evses: list[int], prevalidated: bool, request_id: int | None = None) -> None:
        """A token from the CSMS (RemoteStart / RequestStartTransaction) for the Auth module."""

    def authorization_withdrawn(self, evse: int) -> None: ...

    def reset(self, kind: str, done: Done | None = None) -> None:
        """``kind`` Soft | Hard: the system module resets the charger; with none connected the
        module restarts its own OCPP side (reconnect and boot again)."""

    def data_transfer(self, request: dict[str, Any], done: Callable[[dict[str, Any] | None], None]) -> None:
        """A CSMS DataTransfer for the ``data_transfer`` module (OCPP camelCase request);
        ``done(None)`` when no such module is connected."""

    def security_present(self) -> bool:
        """A ``security`` (evse_security) module is connected."""

    def security_call(self, cmd: str, args: dict[str, Any], done: Callable[[Any, str | None], None]) -> None:
        """Call ``cmd`` of the evse_security module: ``done(result, None)`` or ``done(None, error)``."""

    def system_present(self) -> bool:
        """Is a ``system`` module connected (firmware updates and log uploads go to it)?"""

    def update_firmware(self, request: dict[str, Any], done: Callable[[str | None], None]) -> None:
        """EVerest ``FirmwareUpdateRequest`` (snake_case) to the system module; ``done`` gets its
        UpdateFirmwareResponse name, or None (no system module, an error or no answer in time)."""

    def allow_firmware_installation(self) -> None:
        """Tell the system module it may install the downloaded firmware now."""

    def upload_logs(self, request: dict[str, Any], done: Callable[[dict[str, Any] | None], None]) -> None:
        """EVerest ``UploadLogsRequest`` to the system module; ``done`` gets its
        UploadLogsResponse (``upload_logs_status``, ``file_name``?), or None."""


class NullEvsePort:
    """A port with no EVSEs behind it: every request fails (used before the bus is wired)."""

    def _fail(self, done: Done | None) -> None:
        if done is not None:
            done(False)

    def enable_disable(self, evse: int, connector: int, enable: bool, done: Done | None = None) -> None:
        self._fail(done)

    def stop_transaction(self, evse: int, reason: str, done: Done | None = None) -> None:
        self._fail(done)

    def pause_charging(self, evse: int, done: Done | None = None) -> None:
        self._fail(done)

    def resume_charging(self, evse: int, done: Done | None = None) -> None:
        self._fail(done)

    def force_unlock(self, evse: int, connector: int, done: Done | None = None) -> None:
        self._fail(done)

    def reserve(self, evse: int, reservation_id: int, done: Done | None = None, **details: Any) -> None:
        self._fail(done)

    def cancel_reservation(self, evse: int, done: Done | None = None, *,
                           reservation_id: int | None = None) -> None:
        self._fail(done)

    def provide_token(self, token: IdToken, evses: list[int], prevalidated: bool,
                      request_id: int | None = None) -> None:
        return None

    def authorization_withdrawn(self, evse: int) -> None:
        return None

    def reset(self, kind: str, done: Done | None = None) -> None:
        self._fail(done)

    def data_transfer(self, request: dict[str, Any], done: Callable[[dict[str, Any] | None], None]) -> None:
        done(None)

    def security_present(self) -> bool:
        return False

    def security_call(self, cmd: str, args: dict[str, Any], done: Callable[[Any, str | None], None]) -> None:
        done(None, "no security module")

    def system_present(self) -> bool:
        return False

    def update_firmware(self, request: dict[str, Any], done: Callable[[str | None], None]) -> None:
        done(None)

    def allow_firmware_installation(self) -> None:
        return None

    def upload_logs(self, request: dict[str, Any], done: Callable[[dict[str, Any] | None], None]) -> None:
        done(None)
