"""Builds the OCPP station of the configured version from the module settings.

Owns the choice between the 1.6 and the 2.0.1 charge point and the translation of module
options into their constructor arguments; nothing else.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

from ocpp_bridge.config import ConfigError, Settings


def station_info(settings: Settings) -> dict:
    return {
        "vendor": str(settings["ChargePointVendor"]),
        "model": str(settings["ChargePointModel"]),
        "serial_number": str(settings["ChargePointSerialNumber"]),
        "firmware_version": str(settings["FirmwareVersion"]),
    }


def read_overrides(settings: Settings) -> dict | None:
    path = settings["ConfigOverridesPath"]
    if not path:
        return None
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"ConfigOverridesPath {path}: {exc}") from None


def build_station(settings: Settings, send_text: Callable[[str], bool]):
    evse_count = len(settings.connections.get("evse_manager", []))
    common = dict(
        db_dir=settings["DatabasePath"],
        send_text=send_text,
        station=station_info(settings),
        overrides=read_overrides(settings),
        timeout_s=float(settings["MessageTimeoutS"]),
        evse_count=evse_count,
        security_profile=int(settings["SecurityProfile"]),
    )
    if settings.ocpp_version == "1.6":
        from ocpp_bridge.ocpp.v16.charge_point import ChargePoint16
        return ChargePoint16(**common)
    from ocpp_bridge.ocpp.v201.charge_point import ChargePoint201
    return ChargePoint201(**common)
