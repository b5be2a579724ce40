"""The OCPP 2.0.1 charging station: the station core plus the 2.0.1 functional blocks. PURE.

Owns which blocks a 2.0.1 station has and the state they share (the device model, the durable
outbox, its retry policy and QueueAllMessages); the engine drives ``core`` and the EVerest
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
from ocpp_bridge.ocpp.v201 import device_model
from ocpp_bridge.ocpp.v201.authorization import MASTER_PASS_GROUP_ID, AuthorizationBlock
from ocpp_bridge.ocpp.v201.availability import AvailabilityBlock
from ocpp_bridge.ocpp.v201.blocks import Blocks201, build_blocks
from ocpp_bridge.ocpp.v201.component_table import STANDARD_COMPONENTS
from ocpp_bridge.ocpp.v201.core_variables import (
    IDENTITY,
    MESSAGE_ATTEMPT_INTERVAL,
    MESSAGE_ATTEMPTS,
    QUEUE_ALL_MESSAGES,
    SECURITY_PROFILE,
)
from ocpp_bridge.ocpp.v201.device_model import DeviceModel, VariableKey
from ocpp_bridge.ocpp.v201.meter_values import MeterValuesBlock
from ocpp_bridge.ocpp.v201.provisioning import Provisioning201
from ocpp_bridge.ocpp.v201.remote_control import RemoteControlBlock
from ocpp_bridge.ocpp.v201.reservation import ReservationBlock
from ocpp_bridge.ocpp.v201.status import StatusBlock
from ocpp_bridge.ocpp.v201.transactions import EV_CONNECTION_TIME_OUT, TransactionBlock


class ChargePoint201(ChargePoint):
    version = "2.0.1"
    connection_timeout_setting = EV_CONNECTION_TIME_OUT
    master_pass_group_setting = MASTER_PASS_GROUP_ID

    def __init__(self, *, db_dir: str, send_text: Callable[[str], bool], station: dict[str, Any],
                 overrides: dict[str, Any] | None, timeout_s: float, evse_count: int, security_profile: int) -> None:
        self.evse_count = evse_count
        databases = Databases(db_dir)
        self._db = databases.open(device_model.DATABASE_NAME, device_model.MIGRATIONS)
        self.model = self.open_configuration(self._db, overrides, evse_count)
        self.config = self.model
        if security_profile >= 1:  # 2.0.1 knows profiles 1..3 only; 0 (plain ws) is ours
            self.model.set_internal(VariableKey(SECURITY_PROFILE.component, SECURITY_PROFILE.name),
                                    str(security_profile))
        if station.get("identity") and not self.model.read(IDENTITY):  # SecurityCtrlr.Identity: the station's
            self.model.set_internal(VariableKey(IDENTITY.component, IDENTITY.name), str(station["identity"]))
        self.core = StationCore("2.0.1", send_text, timeout_s=timeout_s, outbox=Outbox.open(db_dir, "2.0.1"),
                                retry_policy=self.retry_policy, queue_all=self.queue_all)
        self.provisioning = Provisioning201(self.core, self.model, station)
        self._evse = EvseSwitch()
        context = BlockContext(self.core, self.model, self._evse, evse_count, databases)
        self.blocks: Blocks201 = build_blocks(context, self.provisioning)

    config_migrations = device_model.MIGRATIONS

    @staticmethod
    def open_configuration(db: sqlite3.Connection, overrides: dict[str, Any] | None,
                           evse_count: int = 0) -> DeviceModel:
        """The device model on ``db``, with EVSEs 1..``evse_count``; ValueError when
        ``overrides`` names an unknown component or variable or an invalid value."""
        model = DeviceModel(db, overrides, components=STANDARD_COMPONENTS)
        for evse_id in range(1, evse_count + 1):
            model.ensure_evse(evse_id, [1])
        return model

    @property
    def registration(self) -> Registration:
        return self.provisioning.registration

    def basic_auth_password(self) -> str | None:
        return self.provisioning.basic_auth_password()

    def takes_boot_reason(self) -> bool:
        return True

    def set_boot_reason(self, reason: str) -> None:
        self.provisioning.boot_reason = reason

    def retry_policy(self, action: str) -> tuple[int, float]:
        """OCPPCommCtrlr.MessageAttempts / MessageAttemptInterval [TransactionEvent], read at
        every failure; SecurityEventNotification shares them (as in libocpp)."""
        return self.model.read(MESSAGE_ATTEMPTS), float(self.model.read(MESSAGE_ATTEMPT_INTERVAL))

    def queue_all(self) -> bool:
        """OCPPCommCtrlr.QueueAllMessages: keep non-transactional messages while offline."""
        return self.model.read(QUEUE_ALL_MESSAGES)

    # ------------------------------------------------------------------ the blocks
    @property
    def status(self) -> StatusBlock:
        return self.blocks.status

    @property
    def availability(self) -> AvailabilityBlock:
        return self.blocks.availability

    @property
    def reservation(self) -> ReservationBlock:
        return self.blocks.reservation

    @property
    def authorization(self) -> AuthorizationBlock:
        return self.blocks.authorization

    @property
    def meter_values(self) -> MeterValuesBlock:
        return self.blocks.meter_values

    @property
    def transactions(self) -> TransactionBlock:
        return self.blocks.transactions

    @property
    def remote_control(self) -> RemoteControlBlock:
        return self.blocks.remote_control

    # ------------------------------------------------------------------ entry points
    def validate_token(self, token: IdToken) -> Deferred:
        return self.blocks.authorization.validate_token(token)

    def data_transfer_to_csms(self, vendor_id: str, message_id: str | None, data: Any) -> Deferred:
        return self.blocks.remote_control.data_transfer_to_csms(vendor_id, message_id, data)

    def change_availability(self, evse: int | None, connector: int | None, operative: bool) -> str:
        return self.blocks.availability.change_availability(evse, connector, operative)

    def _close_blocks(self) -> None:
        self.blocks.close()
