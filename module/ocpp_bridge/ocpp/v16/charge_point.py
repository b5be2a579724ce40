"""The OCPP 1.6 charge point: the station core plus the 1.6 functional blocks. PURE.

Owns which blocks a 1.6 charge point has and the state they share (the configuration key
store, the durable outbox and its retry policy); the engine drives ``core`` and the EVerest
implementations call the blocks.
"""

from __future__ import annotations

from typing import Callable

from ocpp_bridge.ocpp.outbox import Outbox
from ocpp_bridge.ocpp.station import StationCore, StationLifecycle
from ocpp_bridge.ocpp.evse_events import NullEvsePort
from ocpp_bridge.ocpp.v16 import configuration
from ocpp_bridge.ocpp.v16.blocks import build_blocks
from ocpp_bridge.ocpp.v16.configuration import ConfigurationKeys
from ocpp_bridge.ocpp.v16.provisioning import Provisioning16
from ocpp_bridge.store.database import open_database
from ocpp_bridge.ocpp.v16.core_keys import (CONNECTION_TIME_OUT, NUMBER_OF_CONNECTORS, SECURITY_PROFILE, TRANSACTION_MESSAGE_ATTEMPTS,
                                           TRANSACTION_MESSAGE_RETRY_INTERVAL)
from ocpp_bridge.ocpp.v16.key_table import STANDARD_KEYS


class ChargePoint16(StationLifecycle):
    version = "1.6"
    # what the bus side's Auth module link reads (both charge points have these)
    connection_timeout_setting = CONNECTION_TIME_OUT
    master_pass_group_setting = None

    def __init__(self, *, db_dir: str, send_text: Callable[[str], bool], station: dict, overrides: dict | None,
                 timeout_s: float, evse_count: int, security_profile: int):
        self.evse_count = evse_count
        self.db = open_database(db_dir, configuration.DATABASE_NAME, configuration.MIGRATIONS)
        self.keys = ConfigurationKeys(self.db, overrides, definitions=STANDARD_KEYS)
        self.config = self.keys
        self.keys.set_internal(NUMBER_OF_CONNECTORS.name, str(evse_count))
        self.keys.set_internal(SECURITY_PROFILE.name, str(security_profile))
        self.core = StationCore("1.6", send_text, timeout_s=timeout_s, outbox=Outbox.open(db_dir, "1.6"),
                                retry_policy=self.retry_policy)
        self.provisioning = Provisioning16(self.core, self.keys, station)
        self.db_dir = db_dir
        self.evse_port = NullEvsePort()
        build_blocks(self)

    def retry_policy(self, action: str) -> tuple[int, float]:
        """TransactionMessageAttempts / TransactionMessageRetryInterval, read at every failure."""
        return (self.keys.read(TRANSACTION_MESSAGE_ATTEMPTS), float(self.keys.read(TRANSACTION_MESSAGE_RETRY_INTERVAL)))
