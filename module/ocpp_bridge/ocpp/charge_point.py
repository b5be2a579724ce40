"""What a charge point of either version is to the rest of the module. PURE.

Owns the base both ``v16.charge_point.ChargePoint16`` and ``v201.charge_point.ChargePoint201``
build on: the station core, the configuration store (``config``) and its SQLite file, the
EVSE port the blocks talk to (``evse_port``: the bus side plugs its EVSE link in), the entry
points the bus side calls (``on_evse_event``, ``validate_token``, ``data_transfer_to_csms``,
``change_availability``; each version answers them with its blocks) and the lifecycle
(``stop`` / ``start`` / ``close``). Each version's subclass says which blocks it has and builds
them from a ``BlockContext`` with its one ordered block list.

Must never: hold protocol logic of a version.
"""

from __future__ import annotations

import sqlite3
from abc import ABC, abstractmethod
from typing import Any, ClassVar

from ocpp_bridge.deferred import Deferred
from ocpp_bridge.ocpp.context import EvseSwitch
from ocpp_bridge.ocpp.evse_events import EvsePort, IdToken
from ocpp_bridge.ocpp.registration import Registration
from ocpp_bridge.ocpp.settings import Config, Setting
from ocpp_bridge.ocpp.station import StationCore


class ChargePoint(ABC):
    version: ClassVar[str]
    # what the bus side's Auth module link reads
    connection_timeout_setting: ClassVar[Setting[int]]
    master_pass_group_setting: ClassVar[Setting[str | None] | None]

    core: StationCore
    config: Config
    evse_count: int
    _db: sqlite3.Connection
    _evse: EvseSwitch

    @property
    def evse_port(self) -> EvsePort:
        return self._evse.target

    @evse_port.setter
    def evse_port(self, port: EvsePort) -> None:
        """The bus side's EVSE link (every block's EVSE requests go there from now on)."""
        self._evse.target = port

    @property
    @abstractmethod
    def registration(self) -> Registration: ...

    @abstractmethod
    def basic_auth_password(self) -> str | None:
        """The Basic-auth password the CSMS stored (1.6 AuthorizationKey, 2.0.1
        SecurityCtrlr.BasicAuthPassword), None when it set none."""

    def takes_boot_reason(self) -> bool:
        """Does BootNotification carry a reason (2.0.1) the system module can tell?"""
        return False

    def set_boot_reason(self, reason: str) -> None:
        """The reason the system module gave, for the next BootNotification (2.0.1 only)."""
        return None

    def on_evse_event(self, event: object) -> None:
        """An ``evse_events`` event from the bus side, for every block."""
        self.core.events.publish(event)

    @abstractmethod
    def validate_token(self, token: IdToken) -> Deferred: ...

    @abstractmethod
    def data_transfer_to_csms(self, vendor_id: str, message_id: str | None, data: Any) -> Deferred: ...

    @abstractmethod
    def change_availability(self, evse: int | None, connector: int | None, operative: bool) -> str: ...

    def stop(self) -> None:
        """Stop talking OCPP: forget the ordinary queue and the registration. The outbox stays
        (it is durable and is sent after ``start``); new messages are dropped while stopped."""
        self.core.running = False
        self.core.session.drop_queued(why="OCPP is stopped")
        self.registration.reset()

    def start(self) -> None:
        self.core.running = True

    def close(self) -> None:
        self._close_blocks()
        self.core.close()
        self._db.close()

    @abstractmethod
    def _close_blocks(self) -> None: ...
