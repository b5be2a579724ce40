"""Wiring of the OCPP 2.0.1 session blocks onto a ``ChargePoint201``. PURE.

Owns the order the blocks are built in (it is the order they hear each EVSE event: the
connector status first, so StatusNotification(Occupied) precedes TransactionEvent(Started),
as in the 2.0.1 use cases) and the entry points the bus side calls on the charge point:

- ``on_evse_event(event)``: an ``evse_events`` event -> every block (core event "evse");
- ``validate_token(IdToken) -> Deferred``: authorization;
- ``data_transfer_to_csms(vendor_id, message_id, data) -> Deferred``: remote control;
- ``change_availability(evse, connector, operative) -> str``: availability.

Blocks reach each other through the charge point (``cp.status``, ``cp.transactions``, ...) at
call time, and ``cp.evse_port`` is read at call time too (the engine replaces it).

Must never: hold state of its own or contain protocol rules.
"""

from __future__ import annotations

from ocpp_bridge.ocpp.v201.authorization import AuthorizationBlock
from ocpp_bridge.ocpp.v201.availability import AvailabilityBlock
from ocpp_bridge.ocpp.v201.meter_values import MeterValuesBlock
from ocpp_bridge.ocpp.v201.remote_control import RemoteControlBlock
from ocpp_bridge.ocpp.v201.reservation import ReservationBlock
from ocpp_bridge.ocpp.v201.status import StatusBlock
from ocpp_bridge.ocpp.v201.transactions import TransactionBlock


def build_blocks(cp) -> None:
    """Build the session blocks on ``cp`` (needs ``core``, ``model``, ``db_dir``, ``evse_count``,
    ``evse_port``, ``provisioning``) and attach the entry points."""
    cp.status = StatusBlock(cp)
    cp.availability = AvailabilityBlock(cp)
    cp.reservation = ReservationBlock(cp)
    cp.authorization = AuthorizationBlock(cp)
    cp.meter_values = MeterValuesBlock(cp)
    cp.transactions = TransactionBlock(cp)
    cp.remote_control = RemoteControlBlock(cp)

    cp.on_evse_event = cp.core.events.publish
    cp.validate_token = cp.authorization.validate_token
    cp.data_transfer_to_csms = cp.remote_control.data_transfer_to_csms
    cp.change_availability = cp.availability.change_availability

    stores = (cp.availability, cp.reservation, cp.authorization, cp.transactions)
    close_station = cp.close

    def close() -> None:
        for block in stores:
            block.close()
        close_station()

    cp.close = close
