"""``data_transfer``: DataTransfer between the charger's modules and the CSMS, both ways.

Owns the ``ocpp_data_transfer`` interface we provide (a module sends a DataTransfer to the
CSMS) and the forwarding of the CSMS's DataTransfer to the ``data_transfer`` module we
require, when one is connected. EVerest's DataTransferRequest/Response are snake_case;
OCPP's are camelCase: explicit maps.
"""

from __future__ import annotations

import json
from typing import Any, Callable

from ocpp_bridge.deferred import Deferred
from ocpp_bridge.impls import Implementation

REQ = "data_transfer"


def to_ocpp_request(request: dict) -> dict:
    payload = {"vendorId": request["vendor_id"]}
    if request.get("message_id") is not None:
        payload["messageId"] = request["message_id"]
    if request.get("data") is not None:
        payload["data"] = request["data"]
    return payload


def from_ocpp_request(payload: dict) -> dict:
    request = {"vendor_id": payload["vendorId"]}
    if "messageId" in payload:
        request["message_id"] = payload["messageId"]
    if "data" in payload:
        data = payload["data"]
        request["data"] = data if isinstance(data, str) else json.dumps(data)
    return request


def from_ocpp_response(payload: dict) -> dict:
    response = {"status": payload["status"]}
    if "data" in payload:
        data = payload["data"]
        response["data"] = data if isinstance(data, str) else json.dumps(data)
    return response


def to_ocpp_response(response: dict) -> dict:
    payload = {"status": response["status"]}
    if response.get("data") is not None:
        payload["data"] = response["data"]
    return payload


class DataTransferImpl(Implementation):
    interface = "ocpp_data_transfer"
    impl_id = "data_transfer"

    def __init__(self, engine):
        self.engine = engine
        self.commands = {"data_transfer": self.data_transfer}

    def data_transfer(self, request: dict) -> Deferred:
        answer = Deferred()
        ocpp = to_ocpp_request(request)
        self.station.data_transfer_to_csms(ocpp.get("vendorId"), ocpp.get("messageId"), ocpp.get("data")).then(
            lambda result, error: answer.fail(error) if error else answer.resolve(from_ocpp_response(result)))
        return answer

    def forward(self, payload: dict, done: Callable[[dict | None], None]) -> None:
        """A CSMS DataTransfer -> the required ``data_transfer`` module (None when there is none)."""
        if not self.engine.settings.connections.get(REQ):
            done(None)
            return

        def finished(retval: Any, error: tuple[str, str] | None) -> None:
            done(None if error or not isinstance(retval, dict) else to_ocpp_response(retval))

        self.engine.call_required(REQ, 0, "data_transfer", {"request": from_ocpp_request(payload)}, finished)
