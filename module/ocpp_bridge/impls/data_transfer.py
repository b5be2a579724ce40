"""``data_transfer``: DataTransfer between the charger's modules and the CSMS, both ways.

Owns the ``ocpp_data_transfer`` interface we provide (a module sends a DataTransfer to the
CSMS) and the forwarding of the CSMS's DataTransfer to the ``data_transfer`` module we
require, when one is connected. EVerest's DataTransferRequest/Response are snake_case and
carry ``data`` as a string; OCPP's are camelCase (2.0.1 data is anyType, sent to EVerest as
its JSON text): explicit maps. The OCPP rules (statuses, Offline, the version's data form)
are ``ocpp/common/data_transfer.py``'s.

Must never: decide an OCPP answer itself.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Callable

from ocpp_bridge.deferred import Deferred
from ocpp_bridge.impls import Implementation

if TYPE_CHECKING:
    from ocpp_bridge.engine import Engine

REQ = "data_transfer"

Payload = dict[str, Any]


def _text(data: Any) -> str:
    """EVerest's data is a string: anything else goes as its JSON text."""
    return data if isinstance(data, str) else json.dumps(data)


def to_ocpp_request(request: Payload) -> Payload:
    payload: Payload = {"vendorId": request["vendor_id"]}
    if request.get("message_id") is not None:
        payload["messageId"] = request["message_id"]
    if request.get("data") is not None:
        payload["data"] = request["data"]
    return payload


def from_ocpp_request(payload: Payload) -> Payload:
    request: Payload = {"vendor_id": payload["vendorId"]}
    if "messageId" in payload:
        request["message_id"] = payload["messageId"]
    if "data" in payload:
        request["data"] = _text(payload["data"])
    return request


def from_ocpp_response(payload: Payload) -> Payload:
    response: Payload = {"status": payload["status"]}
    if "data" in payload:
        response["data"] = _text(payload["data"])
    return response


def to_ocpp_response(response: Payload) -> Payload:
    payload: Payload = {"status": response["status"]}
    if response.get("data") is not None:
        payload["data"] = response["data"]
    return payload


class DataTransferImpl(Implementation):
    interface = "ocpp_data_transfer"
    impl_id = "data_transfer"

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.commands = {"data_transfer": self.data_transfer}

    def data_transfer(self, request: Payload) -> Deferred:
        """Raises ``InvalidOutgoing`` when the request makes no valid OCPP message (the engine
        answers SchemaValidationError)."""
        answer = Deferred()
        ocpp = to_ocpp_request(request)
        self.station.data_transfer_to_csms(ocpp["vendorId"], ocpp.get("messageId"), ocpp.get("data")).then(
            lambda result, error: answer.fail(error) if error else answer.resolve(from_ocpp_response(result)))
        return answer

    def forward(self, payload: Payload, done: Callable[[Payload | None], None]) -> None:
        """A CSMS DataTransfer -> the required ``data_transfer`` module (None when there is none)."""
        if not self.engine.settings.connections.get(REQ):
            done(None)
            return

        def finished(retval: Any, error: tuple[str, str] | None) -> None:
            done(None if error or not isinstance(retval, dict) else to_ocpp_response(retval))

        self.engine.call_required(REQ, 0, "data_transfer", {"request": from_ocpp_request(payload)}, finished)
