"""The OCPP 1.6 charge point: the station core plus the 1.6 functional blocks. PURE.

Owns which blocks a 1.6 charge point has and the state they share (the configuration key
store, the durable outbox and its retry policy); the engine drives ``core`` and the EVerest
implementations call the blocks.
"""

from __future__ import annotations

from typing import Callable

from ocpp_bridge.ocpp.outbox import Outbox
from ocpp_bridge.ocpp.station import StationCore, StationLifecycle, default_retry_policy
from ocpp_bridge.ocpp.evse_events import NullEvsePort
from ocpp_bridge.ocpp.v16 import configuration
from ocpp_bridge.ocpp.v16.blocks import build_blocks
from ocpp_bridge.ocpp.v16.configuration import ConfigurationKeys
from ocpp_bridge.ocpp.v16.provisioning import Provisioning16
from ocpp_bridge.store.database import open_database


class ChargePoint16(StationLifecycle):
    version = "1.6"

    def __init__(self, *, db_dir: str, send_text: Callable[[str], bool], station: dict, overrides: dict | None,
                 timeout_s: float, evse_count: int, security_profile: int):
        self.evse_count = evse_count
        self.db = open_database(db_dir, configuration.DATABASE_NAME, configuration.MIGRATIONS)
        self.keys = ConfigurationKeys(self.db, overrides)
        self.keys.set_internal("NumberOfConnectors", str(evse_count))
        self.keys.set_internal("SecurityProfile", str(security_profile))
        self.core = StationCore("1.6", send_text, timeout_s=timeout_s, outbox=Outbox.open(db_dir, "1.6"),
                                retry_policy=self.retry_policy)
        self.provisioning = Provisioning16(self.core, self.keys, station)
        self.db_dir = db_dir
        self.evse_port = NullEvsePort()
        build_blocks(self)

    def retry_policy(self, action: str) -> tuple[int, float]:
        """TransactionMessageAttempts / TransactionMessageRetryInterval, read at every failure."""
        try:
            return (self.keys.int_value("TransactionMessageAttempts"),
                    float(self.keys.int_value("TransactionMessageRetryInterval")))
        except (KeyError, ValueError):
            return default_retry_policy(action)
