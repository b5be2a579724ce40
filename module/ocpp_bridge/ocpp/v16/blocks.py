"""The OCPP 1.6 charging-session blocks of one charge point, built and wired. PURE.

Owns the construction order (it is also the order in which the blocks hear each EVSE
event: status first, so StatusNotification Finishing precedes StopTransaction, as in
libocpp) and the entry points the bus side calls on the charge point:
``on_evse_event(event)``, ``validate_token(token) -> Deferred``,
``data_transfer_to_csms(vendor_id, message_id, data) -> Deferred`` and
``change_availability(evse, connector, operative) -> str``. The blocks are reachable as
``charge_point.blocks`` (``status``, ``authorization``, ``transactions``, ``meter_values``,
``availability``, ``reservation``, ``remote_control``); their SQLite files are closed with
the charge point. ``validate_token`` is the authorization block's answer passed through the
reservation block (a token is not valid on a connector reserved for another one).

Must never: hold protocol logic of its own.
"""

from __future__ import annotations

from dataclasses import dataclass

from ocpp_bridge.deferred import Deferred
from ocpp_bridge.ocpp.evse_events import IdToken

from ocpp_bridge.ocpp.v16.authorization import Authorization16
from ocpp_bridge.ocpp.v16.availability import Availability16
from ocpp_bridge.ocpp.v16.meter_values import MeterValues16
from ocpp_bridge.ocpp.v16.remote_control import RemoteControl16
from ocpp_bridge.ocpp.v16.reservation import Reservation16
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

    def close(self) -> None:
        for block in (self.authorization, self.transactions, self.availability, self.reservation):
            block.close()


def validate_with_reservations(authorization: Authorization16, reservation: Reservation16, token: IdToken) -> Deferred:
    """The authorization block's answer, narrowed to the EVSEs no reservation of another
    token holds (``Reservation16.restrict``)."""
    answer = Deferred()
    id_tag = (token.value or "")[:20]
    authorization.validate_token(token).then(
        lambda result, error: answer.fail(error) if error is not None
        else answer.resolve(reservation.restrict(result, id_tag)))
    return answer


def build_blocks(cp) -> Blocks16:
    """Build the blocks on ``cp`` (needs ``core``, ``keys``, ``evse_count``, ``db_dir``,
    ``provisioning``; ``evse_port`` is read at every use) and attach the entry points."""
    status = Status16(cp)
    authorization = Authorization16(cp, status)
    transactions = Transactions16(cp, authorization.remember)
    meter_values = MeterValues16(cp, transactions)
    availability = Availability16(cp, status, transactions)
    reservation = Reservation16(cp, status, transactions, authorization.known_parent)
    remote_control = RemoteControl16(cp, status, transactions, meter_values, reservation)
    blocks = Blocks16(status, authorization, transactions, meter_values, availability, reservation, remote_control)
    cp.blocks = blocks
    cp.on_evse_event = cp.core.events.publish
    cp.validate_token = lambda token: validate_with_reservations(authorization, reservation, token)
    cp.data_transfer_to_csms = remote_control.data_transfer_to_csms
    cp.change_availability = availability.change_availability
    close_station = cp.close

    def close() -> None:
        close_station()
        blocks.close()

    cp.close = close
    return blocks
