"""The OCPP 1.6 charging-session blocks of one charge point: the one ordered list that builds
them. PURE.

Owns the construction order (it is also the order in which the blocks hear each EVSE
event: status first, so StatusNotification Finishing precedes StopTransaction, as in
libocpp), which peers each block gets, and which store it is handed (the files are opened
here, from the context's ``databases``). A peer built after the block that needs it comes in
through ``Later``, bound right where it is built.

Must never: hold protocol logic of its own.
"""

from __future__ import annotations

from dataclasses import dataclass

from ocpp_bridge.ocpp import auth_store
from ocpp_bridge.ocpp.auth_store import AuthStore
from ocpp_bridge.ocpp.common.readings import MeterReadings
from ocpp_bridge.ocpp.context import BlockContext, Later
from ocpp_bridge.ocpp.registration import Registration
from ocpp_bridge.ocpp.v16 import availability as availability_db
from ocpp_bridge.ocpp.v16 import reservation as reservation_db
from ocpp_bridge.ocpp.v16.authorization import Authorization16
from ocpp_bridge.ocpp.v16.availability import Availability16
from ocpp_bridge.ocpp.v16.certificates import Certificates16
from ocpp_bridge.ocpp.v16.configuration import ConfigurationKeys
from ocpp_bridge.ocpp.v16.extended_trigger import ExtendedTrigger16
from ocpp_bridge.ocpp.v16.firmware import Firmware16
from ocpp_bridge.ocpp.v16.meter_values import MeterValues16
from ocpp_bridge.ocpp.v16.remote_control import RemoteControl16
from ocpp_bridge.ocpp.v16.reservation import Reservation16
from ocpp_bridge.ocpp.v16.smart_charging import SmartCharging16
from ocpp_bridge.ocpp.v16.status import Status16
from ocpp_bridge.ocpp.v16.transactions import Transactions16


@dataclass
class Blocks16:
    status: Status16
    authorization: Authorization16
    transactions: Transactions16
    meter_values: MeterValues16
    availability: Availability16
    reservation: Reservation16
    remote_control: RemoteControl16
    smart_charging: SmartCharging16
    certificates: Certificates16
    extended_trigger: ExtendedTrigger16
    firmware: Firmware16

    def close(self) -> None:
        for block in (self.authorization, self.transactions, self.availability, self.reservation,
                      self.smart_charging):
            block.close()


def build_blocks(ctx: BlockContext[ConfigurationKeys], registration: Registration, serial_number: str = "") -> Blocks16:
    """The blocks of a 1.6 charge point, in the order they hear each event (``serial_number``:
    the charge point's, the common name of its certificate)."""
    transactions_later: Later[Transactions16] = Later("the 1.6 transactions block")
    status = Status16(ctx, open_session=lambda evse: transactions_later.get().open_session(evse))
    authorization = Authorization16(ctx, status, AuthStore(ctx.databases.open(auth_store.DATABASE_NAME,
                                                                              auth_store.MIGRATIONS)))
    reservation = Reservation16(ctx, status, ctx.databases.open(reservation_db.DATABASE_NAME,
                                                                reservation_db.MIGRATIONS),
                                parent_of=authorization.known_parent)
    readings = MeterReadings(ctx.core.events)  # hears each event before the blocks that read it
    transactions = transactions_later.bind(Transactions16(ctx, readings, remember_id_tag=authorization.remember,
                                                          reservation_for=reservation.consume))
    meter_values = MeterValues16(ctx, transactions, readings)
    availability = Availability16(ctx, status, transactions, ctx.databases.open(availability_db.DATABASE_NAME,
                                                                                availability_db.MIGRATIONS))
    remote_control = RemoteControl16(ctx, registration, status, transactions, meter_values, reservation)
    charging = SmartCharging16(ctx, transactions)
    extended_trigger = ExtendedTrigger16(ctx, remote_control)
    certificates = Certificates16(ctx, serial_number, extended_trigger)
    firmware = Firmware16(ctx, transactions, remote_control, extended_trigger)
    return Blocks16(status, authorization, transactions, meter_values, availability, reservation, remote_control,
                    charging, certificates, extended_trigger, firmware)
