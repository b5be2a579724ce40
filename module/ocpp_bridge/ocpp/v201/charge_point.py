"""The OCPP 2.0.1 charging station: the station core plus the 2.0.1 functional blocks. PURE.

Owns which blocks a 2.0.1 station has and the state they share (the device model, the durable
outbox, its retry policy and QueueAllMessages); the engine drives ``core`` and the EVerest
implementations call the blocks.
"""

from __future__ import annotations

from typing import Callable

from ocpp_bridge.ocpp.evse_events import NullEvsePort
from ocpp_bridge.ocpp.outbox import Outbox
from ocpp_bridge.ocpp.station import StationCore, StationLifecycle
from ocpp_bridge.ocpp.v201 import device_model
from ocpp_bridge.ocpp.v201.blocks import build_blocks
from ocpp_bridge.ocpp.v201.device_model import DeviceModel, VariableKey
from ocpp_bridge.ocpp.v201.provisioning import Provisioning201
from ocpp_bridge.store.database import open_database
from ocpp_bridge.ocpp.v201.authorization import MASTER_PASS_GROUP_ID
from ocpp_bridge.ocpp.v201.component_table import STANDARD_COMPONENTS
from ocpp_bridge.ocpp.v201.transactions import EV_CONNECTION_TIME_OUT
from ocpp_bridge.ocpp.v201.core_variables import MESSAGE_ATTEMPT_INTERVAL, MESSAGE_ATTEMPTS, QUEUE_ALL_MESSAGES


class ChargePoint201(StationLifecycle):
    version = "2.0.1"
    # what the bus side's Auth module link reads (both charge points have these)
    connection_timeout_setting = EV_CONNECTION_TIME_OUT
    master_pass_group_setting = MASTER_PASS_GROUP_ID

    def __init__(self, *, db_dir: str, send_text: Callable[[str], bool], station: dict, overrides: dict | None,
                 timeout_s: float, evse_count: int, security_profile: int):
        self.evse_count = evse_count
        self.db = open_database(db_dir, device_model.DATABASE_NAME, device_model.MIGRATIONS)
        self.model = DeviceModel(self.db, overrides, components=STANDARD_COMPONENTS)
        self.config = self.model
        for evse_id in range(1, evse_count + 1):
            self.model.ensure_evse(evse_id, [1])
        if security_profile >= 1:  # 2.0.1 knows profiles 1..3 only; 0 (plain ws) is ours
            self.model.set_internal(VariableKey("SecurityCtrlr", "SecurityProfile"), str(security_profile))
        self.core = StationCore("2.0.1", send_text, timeout_s=timeout_s, outbox=Outbox.open(db_dir, "2.0.1"),
                                retry_policy=self.retry_policy, queue_all=self.queue_all)
        self.provisioning = Provisioning201(self.core, self.model, station)
        self.db_dir = db_dir
        self.evse_port = NullEvsePort()
        build_blocks(self)

    def retry_policy(self, action: str) -> tuple[int, float]:
        """OCPPCommCtrlr.MessageAttempts / MessageAttemptInterval [TransactionEvent], read at
        every failure; SecurityEventNotification shares them (as in libocpp)."""
        return self.model.read(MESSAGE_ATTEMPTS), float(self.model.read(MESSAGE_ATTEMPT_INTERVAL))

    def queue_all(self) -> bool:
        """OCPPCommCtrlr.QueueAllMessages: keep non-transactional messages while offline."""
        return self.model.read(QUEUE_ALL_MESSAGES)
