"""OCPP 1.6 FirmwareManagement and the security extension's firmware and log messages — the
1.6 adapter of ``ocpp/common/firmware.py``. PURE.

Owns the 1.6 messages:
- UpdateFirmware (location, retrieveDate, retries, retryInterval -> the system module with
  request id -1): answered at once (the .conf is empty); a system module that refuses it or
  does not answer in time -> FirmwareStatusNotification DownloadFailed.
- GetDiagnostics (location, startTime / stopTime, retries, retryInterval -> ``upload_logs``
  type DiagnosticsLog, request id -1): the answer carries the system's fileName; refused or
  no answer -> no fileName and DiagnosticsStatusNotification UploadFailed.
- Without a ``system`` connection both are a NotSupported CALLERROR (FirmwareManagement stays
  in SupportedFeatureProfiles; a deployment without a system module cannot update firmware).
- SignedUpdateFirmware (signature and signing certificate passed on) and GetLog (DiagnosticsLog
  / SecurityLog, requestId): the system's answer (Rejected without a system module or answer).
- the system's statuses: request id -1 -> FirmwareStatusNotification / DiagnosticsStatusNotification
  in 1.6's smaller enums (a status 1.6 lacks is not sent); other ids ->
  SignedFirmwareStatusNotification / LogStatusNotification with the requestId.
- TriggerMessage FirmwareStatusNotification / DiagnosticsStatusNotification and
  ExtendedTriggerMessage FirmwareStatusNotification (as SignedFirmwareStatusNotification) /
  LogStatusNotification: the current status while such a process runs, Idle otherwise.
- the installation waits for running transactions (``common/firmware.py``).

Must never: download, install or upload anything, or touch the transactions.
"""

from __future__ import annotations

import logging
from typing import Any

from ocpp_bridge.deferred import Deferred, now_or_later, status_answer
from ocpp_bridge.ocpp.common.firmware import (
    UNSIGNED,
    FirmwareRequest,
    FirmwareUpdates,
    LogRequest,
    LogUploads,
    diagnostics_status_16,
    firmware_status_16,
    log_status_16,
)
from ocpp_bridge.ocpp.context import BlockContext
from ocpp_bridge.ocpp.errors import NotSupportedAction
from ocpp_bridge.ocpp.v16.configuration import ConfigurationKeys
from ocpp_bridge.ocpp.v16.extended_trigger import ExtendedTrigger16
from ocpp_bridge.ocpp.v16.remote_control import RemoteControl16
from ocpp_bridge.ocpp.v16.transactions import Transactions16

log = logging.getLogger("ocpp_bridge.ocpp.v16.firmware")

Payload = dict[str, Any]
NO_SYSTEM = "no system module is connected: firmware updates and diagnostics are not supported"


class Firmware16:
    def __init__(self, ctx: BlockContext[ConfigurationKeys], transactions: Transactions16,
                 remote_control: RemoteControl16, extended_trigger: ExtendedTrigger16) -> None:
        self.core = ctx.core
        self.port = ctx.evse
        self.updates = FirmwareUpdates(self.core, self.port, busy=lambda: bool(transactions.records()),
                                       notify=self._firmware_status)
        self.logs = LogUploads(self.core, self.port, notify=self._log_status)
        remote_control.add_trigger("FirmwareStatusNotification", lambda connector: self._trigger_firmware(False))
        remote_control.add_trigger("DiagnosticsStatusNotification", lambda connector: self._trigger_logs(False))
        extended_trigger.add("FirmwareStatusNotification", lambda connector: self._trigger_firmware(True))
        extended_trigger.add("LogStatusNotification", lambda connector: self._trigger_logs(True))
        for action, fn in (("UpdateFirmware", self._update_firmware), ("SignedUpdateFirmware", self._signed_update),
                           ("GetDiagnostics", self._get_diagnostics), ("GetLog", self._get_log)):
            self.core.handle(action, fn)

    # ------------------------------------------------------------------ requests
    def _update_firmware(self, payload: Payload) -> Payload:
        if not self.port.system_present():
            raise NotSupportedAction(NO_SYSTEM)
        request = FirmwareRequest(payload["location"], UNSIGNED, retrieve=payload["retrieveDate"],
                                  retries=payload.get("retries"), retry_interval_s=payload.get("retryInterval"))

        def answered(status: Any, error: str | None) -> None:
            if status not in ("Accepted", "AcceptedCanceled"):
                log.warning("UpdateFirmware %s: the system module did not take it (%s)", request.location, status)
                self._firmware_status("DownloadFailed", UNSIGNED)
        self.updates.request(request).then(answered)
        return {}

    def _signed_update(self, payload: Payload) -> Any:
        if not self.port.system_present():
            log.warning("SignedUpdateFirmware: %s: Rejected", NO_SYSTEM)
            return {"status": "Rejected"}
        return now_or_later(status_answer(self.updates.request(FirmwareRequest.signed(payload))))

    def _get_diagnostics(self, payload: Payload) -> Any:
        if not self.port.system_present():
            raise NotSupportedAction(NO_SYSTEM)
        request = LogRequest(payload["location"], UNSIGNED, "DiagnosticsLog", payload.get("startTime"),
                             payload.get("stopTime"), payload.get("retries"), payload.get("retryInterval"))
        answer = Deferred()

        def answered(result: Any, error: str | None) -> None:
            status, name = result
            if status == "Rejected":
                log.warning("GetDiagnostics %s: the system module did not take it", request.location)
                self._log_status("UploadFailure", UNSIGNED)
            answer.resolve({"fileName": name} if status != "Rejected" and name else {})
        self.logs.request(request).then(answered)
        return now_or_later(answer)

    def _get_log(self, payload: Payload) -> Any:
        if not self.port.system_present():
            log.warning("GetLog: %s: Rejected", NO_SYSTEM)
            return {"status": "Rejected"}
        return now_or_later(self.logs.get_log(payload))

    # ------------------------------------------------------------------ statuses
    def _firmware_status(self, status: str, request_id: int) -> None:
        if request_id != UNSIGNED:
            self.core.call("SignedFirmwareStatusNotification", {"status": status, "requestId": request_id})
            return
        wire = firmware_status_16(status)
        if wire is None:
            log.info("firmware status %s has no 1.6 FirmwareStatus: not sent", status)
            return
        self.core.call("FirmwareStatusNotification", {"status": wire})

    def _log_status(self, status: str, request_id: int) -> None:
        if request_id == UNSIGNED:
            wire = diagnostics_status_16(status)
            if wire is not None:
                self.core.call("DiagnosticsStatusNotification", {"status": wire})
            return
        wire = log_status_16(status)
        if wire is None:
            log.info("log status %s has no 1.6 UploadLogStatus: not sent", status)
            return
        self.core.call("LogStatusNotification", {"status": wire, "requestId": request_id})

    def _trigger_firmware(self, signed: bool) -> str:
        status, request_id = self.updates.process.current()
        if signed:
            payload: Payload = {"status": status}
            if request_id is not None and request_id != UNSIGNED:
                payload["requestId"] = request_id
            else:
                payload = {"status": "Idle"}
            self.core.call("SignedFirmwareStatusNotification", payload)
        else:
            wire = firmware_status_16(status) if request_id == UNSIGNED else None
            self.core.call("FirmwareStatusNotification", {"status": wire or "Idle"})
        return "Accepted"

    def _trigger_logs(self, security: bool) -> str:
        status, request_id = self.logs.process.current()
        if security:
            wire = log_status_16(status) if request_id is not None and request_id != UNSIGNED else None
            self.core.call("LogStatusNotification", {"status": wire, "requestId": request_id} if wire else
                           {"status": "Idle"})
        else:
            wire = diagnostics_status_16(status) if request_id == UNSIGNED else None
            self.core.call("DiagnosticsStatusNotification", {"status": wire or "Idle"})
        return "Accepted"
