"""The OCPP 2.0.1 functional blocks of one charging station: the one ordered list that builds
them. PURE.

Owns the order the blocks are built in (it is the order they hear each EVSE event: the
connector status first, so StatusNotification(Occupied) precedes TransactionEvent(Started),
as in the 2.0.1 use cases), which peers each block gets, and which store it is handed (the
files are opened here, from the context's ``databases``). A peer built after the block that
needs it comes in through ``Later``, bound right where it is built.

Must never: hold state of its own or contain protocol rules.
"""

from __future__ import annotations

from dataclasses import dataclass

from ocpp_bridge.ocpp import auth_store
from ocpp_bridge.ocpp.auth_store import AuthStore
from ocpp_bridge.ocpp.common.readings import MeterReadings
from ocpp_bridge.ocpp.context import BlockContext, Later
from ocpp_bridge.ocpp.v201 import availability as availability_db
from ocpp_bridge.ocpp.v201 import firmware as firmware_db
from ocpp_bridge.ocpp.v201 import monitor_store
from ocpp_bridge.ocpp.v201 import reservation as reservation_db
from ocpp_bridge.ocpp.v201.authorization import AuthorizationBlock
from ocpp_bridge.ocpp.v201.availability import AvailabilityBlock
from ocpp_bridge.ocpp.v201.certificates import CertificatesBlock
from ocpp_bridge.ocpp.v201.customer_information import CustomerInformationBlock
from ocpp_bridge.ocpp.v201.device_model import DeviceModel
from ocpp_bridge.ocpp.v201.firmware import FirmwareBlock
from ocpp_bridge.ocpp.v201.meter_values import MeterValuesBlock
from ocpp_bridge.ocpp.v201.monitoring import MonitoringBlock
from ocpp_bridge.ocpp.v201.provisioning import Provisioning201
from ocpp_bridge.ocpp.v201.remote_control import RemoteControlBlock
from ocpp_bridge.ocpp.v201.reservation import ReservationBlock
from ocpp_bridge.ocpp.v201.smart_charging import SmartChargingBlock
from ocpp_bridge.ocpp.v201.status import StatusBlock
from ocpp_bridge.ocpp.v201.transactions import TransactionBlock


@dataclass
class Blocks201:
    status: StatusBlock
    availability: AvailabilityBlock
    reservation: ReservationBlock
    authorization: AuthorizationBlock
    meter_values: MeterValuesBlock
    transactions: TransactionBlock
    remote_control: RemoteControlBlock
    smart_charging: SmartChargingBlock
    certificates: CertificatesBlock
    firmware: FirmwareBlock
    customer_information: CustomerInformationBlock
    monitoring: MonitoringBlock

    def close(self) -> None:
        for store in (self.availability, self.reservation, self.authorization, self.transactions,
                      self.smart_charging, self.firmware, self.monitoring):
            store.close()


def build_blocks(ctx: BlockContext[DeviceModel], provisioning: Provisioning201) -> Blocks201:
    """The blocks of a 2.0.1 station, in the order they hear each event."""
    availability_later: Later[AvailabilityBlock] = Later("the 2.0.1 availability block")
    transactions_later: Later[TransactionBlock] = Later("the 2.0.1 transaction block")
    status = StatusBlock(ctx, availability_later)
    availability = availability_later.bind(AvailabilityBlock(
        ctx, status, transactions_later, ctx.databases.open(availability_db.DATABASE_NAME, availability_db.MIGRATIONS)))
    authorization = AuthorizationBlock(ctx, AuthStore(ctx.databases.open(auth_store.DATABASE_NAME,
                                                                         auth_store.MIGRATIONS)))
    reservation = ReservationBlock(ctx, status, transactions_later,
                                   ctx.databases.open(reservation_db.DATABASE_NAME, reservation_db.MIGRATIONS),
                                   group_of=authorization.known_group)
    readings = MeterReadings(ctx.core.events)  # hears each event before the blocks that read it
    transactions = transactions_later.bind(TransactionBlock(ctx, status, authorization, readings))
    meter_values = MeterValuesBlock(ctx, transactions, readings)
    charging = SmartChargingBlock(ctx, transactions)
    remote_control = RemoteControlBlock(ctx, provisioning, status, authorization, reservation, meter_values,
                                        transactions, charging)
    certificates = CertificatesBlock(ctx, remote_control)
    firmware = FirmwareBlock(ctx, transactions, remote_control, provisioning, availability,
                             ctx.databases.open(firmware_db.DATABASE_NAME, firmware_db.MIGRATIONS))
    customer_information = CustomerInformationBlock(ctx.core, authorization.store, transactions)
    monitoring = MonitoringBlock(ctx, monitor_store.MonitorStore(ctx.databases.open(
        monitor_store.DATABASE_NAME, monitor_store.MIGRATIONS)), transactions)
    return Blocks201(status, availability, reservation, authorization, meter_values, transactions, remote_control,
                     charging, certificates, firmware, customer_information, monitoring)
