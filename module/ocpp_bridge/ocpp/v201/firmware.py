"""OCPP 2.0.1 firmware update (L01-L04) and log upload (N01) — the 2.0.1 adapter of
``ocpp/common/firmware.py``. PURE.

Owns the 2.0.1 messages:
- UpdateFirmware (requestId, location, retrieveDateTime, installDateTime, signingCertificate,
  signature, retries, retryInterval -> the system module): the system's answer (Accepted,
  Rejected, AcceptedCanceled, InvalidCertificate, RevokedCertificate); Rejected without a
  ``system`` connection or without its answer in time.
- GetLog (DiagnosticsLog / SecurityLog, requestId) -> the system's answer and file name;
  Rejected without a system module or its answer.
- the system's statuses -> FirmwareStatusNotification / LogStatusNotification with the
  requestId (L01.FR.01, N01.FR.*); the installation waits for running transactions
  (``common/firmware.py``, L01.FR.06). After InstallRebooting the restart's BootNotification
  carries the reason the system module gives (EVerest's System says FirmwareUpdate).
- TriggerMessage FirmwareStatusNotification / LogStatusNotification: the current status and
  its requestId while one runs, Idle (no requestId) otherwise (F06.FR.16 / F06.FR.17).

Must never: download, install or upload anything, or touch the transactions.
"""

from __future__ import annotations

import logging
from typing import Any

from ocpp_bridge.deferred import Deferred, now_or_later
from ocpp_bridge.ocpp.common.firmware import FirmwareRequest, FirmwareUpdates, LogRequest, LogUploads, Process
from ocpp_bridge.ocpp.context import BlockContext
from ocpp_bridge.ocpp.v201.device_model import DeviceModel
from ocpp_bridge.ocpp.v201.remote_control import Evse, RemoteControlBlock
from ocpp_bridge.ocpp.v201.transactions import TransactionBlock

log = logging.getLogger("ocpp_bridge.ocpp.v201.firmware")

Payload = dict[str, Any]


class FirmwareBlock:
    def __init__(self, ctx: BlockContext[DeviceModel], transactions: TransactionBlock,
                 remote_control: RemoteControlBlock) -> None:
        self.core = ctx.core
        self.port = ctx.evse
        self.updates = FirmwareUpdates(self.core, self.port, busy=lambda: bool(transactions.active_evses()),
                                       notify=lambda status, rid: self._notify("FirmwareStatusNotification", status,
                                                                               rid))
        self.logs = LogUploads(self.core, self.port,
                               notify=lambda status, rid: self._notify("LogStatusNotification", status, rid))
        remote_control.add_trigger("FirmwareStatusNotification",
                                   lambda evse: self._trigger("FirmwareStatusNotification", self.updates.process, evse))
        remote_control.add_trigger("LogStatusNotification",
                                   lambda evse: self._trigger("LogStatusNotification", self.logs.process, evse))
        self.core.handle("UpdateFirmware", self._update_firmware)
        self.core.handle("GetLog", self._get_log)

    def _update_firmware(self, payload: Payload) -> Any:
        if not self.port.system_present():
            log.warning("UpdateFirmware: no system module is connected: Rejected")
            return {"status": "Rejected"}
        answer = Deferred()
        self.updates.request(FirmwareRequest.signed(payload)).then(
            lambda status, error: answer.resolve({"status": status}))
        return now_or_later(answer)

    def _get_log(self, payload: Payload) -> Any:
        if not self.port.system_present():
            log.warning("GetLog: no system module is connected: Rejected")
            return {"status": "Rejected"}
        answer = Deferred()

        def answered(result: Any, error: str | None) -> None:
            status, name = result
            answer.resolve({"status": status, **({"filename": name} if name and status != "Rejected" else {})})
        self.logs.request(LogRequest.get_log(payload)).then(answered)
        return now_or_later(answer)

    def _notify(self, action: str, status: str, request_id: int) -> None:
        payload: Payload = {"status": status}
        if request_id >= 0:
            payload["requestId"] = request_id
        self.core.call(action, payload)

    def _trigger(self, action: str, process: Process, evse: Evse | None) -> str:
        status, request_id = process.current()
        self._notify(action, status, -1 if request_id is None else request_id)
        return "Accepted"
