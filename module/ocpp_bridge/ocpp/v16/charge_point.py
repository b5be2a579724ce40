"""The OCPP 1.6 charge point: the station core plus the 1.6 functional blocks. PURE.

Owns which blocks a 1.6 charge point has and the state they share (the configuration key
store, the durable outbox and its retry policy); the engine drives ``core`` and the EVerest
implementations call the entry points (``ocpp/charge_point.py``).
"""

from __future__ import annotations

import sqlite3
from typing import Any, Callable

from ocpp_bridge.deferred import Deferred
from ocpp_bridge.ocpp.charge_point import ChargePoint
from ocpp_bridge.ocpp.context import BlockContext, Databases, EvseSwitch
from ocpp_bridge.ocpp.evse_events import IdToken
from ocpp_bridge.ocpp.outbox import Outbox
from ocpp_bridge.ocpp.registration import Registration
from ocpp_bridge.ocpp.station import StationCore
from ocpp_bridge.ocpp.v16 import configuration
from ocpp_bridge.ocpp.v16.blocks import Blocks16, build_blocks
from ocpp_bridge.ocpp.v16.configuration import ConfigurationKeys
from ocpp_bridge.ocpp.v16.core_keys import (
    CONNECTION_TIME_OUT,
    NUMBER_OF_CONNECTORS,
    SECURITY_PROFILE,
    TRANSACTION_MESSAGE_ATTEMPTS,
    TRANSACTION_MESSAGE_RETRY_INTERVAL,
)
from ocpp_bridge.ocpp.v16.key_table import STANDARD_KEYS
from ocpp_bridge.ocpp.v16.provisioning import Provisioning16
from ocpp_bridge.ocpp.v16.reservation import validate_with_reservations


class ChargePoint16(ChargePoint):
    version = "1.6"
    connection_timeout_setting = CONNECTION_TIME_OUT
    master_pass_group_setting = None

    def __init__(self, *, db_dir: str, send_text: Callable[[str], bool], station: dict[str, Any],
                 overrides: dict[str, Any] | None, timeout_s: float, evse_count: int, security_profile: int) -> None:
        self.evse_count = evse_count
        databases = Databases(db_dir)
        self._db = databases.open(configuration.DATABASE_NAME, configuration.MIGRATIONS)
        self.keys = self.open_configuration(self._db, overrides)
        self.config = self.keys
        self.keys.set_internal(NUMBER_OF_CONNECTORS.name, str(evse_count))
        self.keys.set_internal(SECURITY_PROFILE.name, str(security_profile))
        self.core = StationCore("1.6", send_text, timeout_s=timeout_s, outbox=Outbox.open(db_dir, "1.6"),
                                retry_policy=self.retry_policy)
        self.provisioning = Provisioning16(self.core, self.keys, station)
        self._evse = EvseSwitch()
        context = BlockContext(self.core, self.keys, self._evse, evse_count, databases)
        self.blocks: Blocks16 = build_blocks(context, self.provisioning.registration,
                                             str(station.get("serial_number") or station.get("identity") or ""))

    config_migrations = configuration.MIGRATIONS

    @staticmethod
    def open_configuration(db: sqlite3.Connection, overrides: dict[str, Any] | None,
                           evse_count: int = 0) -> ConfigurationKeys:
        """The key store on ``db``; ValueError when ``overrides`` names an unknown key or an
        invalid value."""
        return ConfigurationKeys(db, overrides, definitions=STANDARD_KEYS)

    @property
    def registration(self) -> Registration:
        return self.provisioning.registration

    def basic_auth_password(self) -> str | None:
        return self.provisioning.basic_auth_password()

    def retry_policy(self, action: str) -> tuple[int, float]:
        """TransactionMessageAttempts / TransactionMessageRetryInterval, read at every failure."""
        return self.keys.read(TRANSACTION_MESSAGE_ATTEMPTS), float(self.keys.read(TRANSACTION_MESSAGE_RETRY_INTERVAL))

    # ------------------------------------------------------------------ entry points
    def validate_token(self, token: IdToken) -> Deferred:
        return validate_with_reservations(self.blocks.authorization, self.blocks.reservation, token)

    def data_transfer_to_csms(self, vendor_id: str, message_id: str | None, data: Any) -> Deferred:
        return self.blocks.remote_control.data_transfer_to_csms(vendor_id, message_id, data)

    def change_availability(self, evse: int | None, connector: int | None, operative: bool) -> str:
        return self.blocks.availability.change_availability(evse, connector, operative)

    def _close_blocks(self) -> None:
        self.blocks.close()
