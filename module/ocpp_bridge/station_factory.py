"""Builds the OCPP station of a version from the module settings.

Owns the choice between the 1.6 and the 2.0.1 charge point, the folder of its files
(``ocpp_versions.database_dir``) and the translation of module options into their constructor
arguments; nothing else.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, TypedDict

from ocpp_bridge.config import ConfigError, Settings
from ocpp_bridge.ocpp.charge_point import ChargePoint
from ocpp_bridge.ocpp_versions import database_dir
from ocpp_bridge.store.database import apply_migrations

log = logging.getLogger("ocpp_bridge.engine")

if TYPE_CHECKING:
    from ocpp_bridge.ocpp.v16.charge_point import ChargePoint16
    from ocpp_bridge.ocpp.v201.charge_point import ChargePoint201


class StationArgs(TypedDict):
    """The constructor arguments both charge points take."""

    db_dir: str
    send_text: Callable[[str], bool]
    station: dict[str, Any]
    overrides: dict[str, Any] | None
    timeout_s: float
    evse_count: int
    security_profile: int


def firmware_version(settings: Settings) -> str:
    """The first line of the FirmwareVersionPath file (a firmware update changes it and restarts
    the charger), else the FirmwareVersion option."""
    path = str(settings["FirmwareVersionPath"])
    if path:
        try:
            first = Path(path).read_text(encoding="utf-8", errors="replace").strip().splitlines()
            if first and first[0].strip():
                return first[0].strip()
            log.warning("FirmwareVersionPath %s is empty: reporting FirmwareVersion", path)
        except OSError as exc:
            log.warning("FirmwareVersionPath %s unreadable (%s): reporting FirmwareVersion", path, exc)
    return str(settings["FirmwareVersion"])


def station_info(settings: Settings) -> dict[str, Any]:
    return {
        "vendor": str(settings["ChargePointVendor"]),
        "model": str(settings["ChargePointModel"]),
        "serial_number": str(settings["ChargePointSerialNumber"]),
        "firmware_version": firmware_version(settings),
        "identity": str(settings["ChargePointId"]),
    }


def read_overrides(settings: Settings) -> dict[str, Any] | None:
    """The JSON object in the ConfigOverridesPath file (None without one); ConfigError when
    the file cannot be read or holds anything but an object."""
    path = settings["ConfigOverridesPath"]
    if not path:
        return None
    try:
        overrides = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"ConfigOverridesPath {path}: {exc}") from None
    if not isinstance(overrides, dict):
        raise ConfigError(f"ConfigOverridesPath {path}: expected a JSON object, got {type(overrides).__name__}")
    return overrides


def overrides_for(overrides: dict[str, Any] | None, version: str, auto: bool) -> dict[str, Any] | None:
    """The part of the overrides file that ``version`` takes. With a fixed OcppVersion, all of
    it (a 2.0.1 component in a 1.6 file fails loudly). With OcppVersion "auto", one file serves
    both versions, told apart by shape: a 1.6 key has a value, a 2.0.1 component an object."""
    if overrides is None or not auto:
        return overrides
    for_201 = version != "1.6"
    return {name: value for name, value in overrides.items() if isinstance(value, dict) == for_201}


def build_station(settings: Settings, version: str, send_text: Callable[[str], bool],
                  security_profile: int | None = None) -> ChargePoint:
    """The charge point of ``version`` (the fixed OcppVersion, or the one an "auto" CSMS picked),
    on that version's files, reporting ``security_profile`` (default: the option's). ConfigError
    when the overrides file names an unknown key or an invalid value."""
    evse_count = len(settings.connections.get("evse_manager", []))
    overrides = overrides_for(read_overrides(settings), version, settings.ocpp_version == "auto")
    common = StationArgs(
        db_dir=database_dir(str(settings["DatabasePath"]), settings.ocpp_version, version),
        send_text=send_text,
        station=station_info(settings),
        overrides=overrides,
        timeout_s=float(settings["MessageTimeoutS"]),
        evse_count=evse_count,
        security_profile=int(settings["SecurityProfile"]) if security_profile is None else security_profile,
    )
    try:
        return _station_class(version)(**common)
    except ValueError as exc:
        if not overrides:
            raise
        raise _refused(settings, version, exc) from None


def check_overrides(settings: Settings, versions: Iterable[str]) -> None:
    """ConfigError when a version in ``versions`` would refuse its part of the overrides file:
    with OcppVersion "auto", a version may be spoken only long after the start, and its
    station is built then; the file is checked at the start (on a database in memory)."""
    evse_count = len(settings.connections.get("evse_manager", []))
    read = read_overrides(settings)
    for version in versions:
        overrides = overrides_for(read, version, settings.ocpp_version == "auto")
        if not overrides:
            continue
        cls = _station_class(version)
        db = sqlite3.connect(":memory:")
        try:
            apply_migrations(db, cls.config_migrations)
            cls.open_configuration(db, overrides, evse_count)
        except ValueError as exc:
            raise _refused(settings, version, exc) from None
        finally:
            db.close()


def _station_class(version: str) -> type[ChargePoint16] | type[ChargePoint201]:
    if version == "1.6":
        from ocpp_bridge.ocpp.v16.charge_point import ChargePoint16
        return ChargePoint16
    from ocpp_bridge.ocpp.v201.charge_point import ChargePoint201
    return ChargePoint201


def _refused(settings: Settings, version: str, exc: ValueError) -> ConfigError:
    return ConfigError(f"ConfigOverridesPath {settings['ConfigOverridesPath']} (OCPP {version}): {exc}")
