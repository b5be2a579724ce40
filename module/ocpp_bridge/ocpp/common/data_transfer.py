"""DataTransfer both ways, the same for both versions. PURE.

Owns the CSMS's DataTransfer (handed to the ``data_transfer`` module through
``EvsePort.data_transfer``) and ``to_csms``, a module's DataTransfer to the CSMS, with the
rules 1.6 (§4.3 / §5.6) and 2.0.1 (P01 / P02) share:
- From the CSMS: no module, or no answer from it -> UnknownVendorId; a status the version
  does not know (the module's answer is EVerest's, not OCPP's) -> UnknownVendorId; the
  module's ``data`` goes back as it came.
- To the CSMS: ``vendorId``, ``messageId`` and ``data`` when given. A request that makes no
  valid message (e.g. a vendorId longer than OCPP allows) is never sent: ``InvalidOutgoing``
  propagates to the caller (the bus command answers SchemaValidationError). The answer
  resolves to the CSMS's ``status`` and ``data``; no answer (offline, dropped, timed out)
  -> ``Offline``; a CALLERROR or an answer that breaks the schema -> ``Rejected``.

The one difference stays in the adapter (``encode_data``): 1.6 DataTransfer.data is a
string (other data is sent as its JSON text), 2.0.1 data is anyType (sent as it is).

Must never: interpret ``data``, or answer for the module.
"""

from __future__ import annotations

from typing import Any, Callable

from ocpp_bridge.deferred import Deferred, now_or_later
from ocpp_bridge.ocpp.evse_events import EvsePort
from ocpp_bridge.ocpp.outcome import Failure, undelivered
from ocpp_bridge.ocpp.station import StationCore

# 1.6 DataTransferStatus and 2.0.1 DataTransferStatusEnumType are the same four values
STATUSES = frozenset({"Accepted", "Rejected", "UnknownMessageId", "UnknownVendorId"})

Payload = dict[str, Any]


def module_answer(response: Payload | None) -> Payload:
    """The answer to the CSMS's DataTransfer from what the module said (None: no module)."""
    if response is None or response.get("status") not in STATUSES:
        answer: Payload = {"status": "UnknownVendorId"}
    else:
        answer = {"status": response["status"]}
    if response is not None and response.get("data") is not None:
        answer["data"] = response["data"]
    return answer


def csms_answer(result: Payload | None, failure: Failure | None, valid: bool) -> Payload:
    """What the module hears of its DataTransfer: the CSMS's answer (``valid``: it passed
    the schema), Offline when none came, Rejected for a CALLERROR or an unusable answer."""
    if result is not None and valid:
        return {k: result[k] for k in ("status", "data") if k in result}
    if result is None and undelivered(failure):
        return {"status": "Offline"}
    return {"status": "Rejected"}


def request(vendor_id: str, message_id: str | None, data: Any) -> Payload:
    payload: Payload = {"vendorId": vendor_id}
    if message_id is not None:
        payload["messageId"] = message_id
    if data is not None:
        payload["data"] = data
    return payload


class DataTransfer:
    def __init__(self, core: StationCore, evse: EvsePort, *, encode_data: Callable[[Any], Any]) -> None:
        """``encode_data``: the version's form of a module's ``data`` on the wire."""
        self.core = core
        self.evse = evse
        self.encode_data = encode_data
        core.handle("DataTransfer", self._from_csms)

    def _from_csms(self, payload: Payload) -> Any:
        answer = Deferred()
        self.evse.data_transfer(payload, lambda response: answer.resolve(module_answer(response)))
        return now_or_later(answer)

    def to_csms(self, vendor_id: str, message_id: str | None, data: Any) -> Deferred:
        """Resolves to ``{"status", "data"?}`` (see the module docstring); raises
        ``InvalidOutgoing`` for a request that makes no valid message."""
        answer = Deferred()

        def done(result: Payload | None, failure: Failure | None) -> None:
            valid = result is not None and self.core.check_response("DataTransfer", result)
            answer.resolve(csms_answer(result, failure, valid))

        self.core.call("DataTransfer", request(vendor_id, message_id, None if data is None else self.encode_data(data)),
                       done)
        return answer
