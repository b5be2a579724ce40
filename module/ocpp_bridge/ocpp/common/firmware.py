"""Firmware updates and log uploads through EVerest's ``system`` module, for both versions. PURE.

Theory of operation. The charge point never downloads, installs or uploads anything itself:
each request goes to the system module (``EvsePort.update_firmware`` / ``upload_logs``, with
EVerest's snake_case ``FirmwareUpdateRequest`` / ``UploadLogsRequest`` built here by explicit
field maps), whose answer becomes the answer to the CSMS, and whose status variables
(``FirmwareStatusChanged`` / ``LogStatusChanged``) become the version's status notifications
(the adapter's ``notify``). Like EVerest's OCPP modules, a 1.6 UpdateFirmware / GetDiagnostics
goes with ``request_id`` -1, so a status with request id -1 is reported as the 1.6 core
message (FirmwareStatusNotification / DiagnosticsStatusNotification) and any other as the
security extension's (SignedFirmwareStatusNotification / LogStatusNotification).

Owns:
- ``Process``: one process as TriggerMessage reports it: the current status (and its request
  id) while one runs, Idle (no request id) otherwise. A process ends in an end state.
- ``FirmwareUpdates``: sends the request, maps the system's UpdateFirmwareResponse to the OCPP
  status (no answer, an error or no system: Rejected), tracks the status, and once the system
  says Downloaded (or SignatureVerified) it allows the installation
  (``allow_firmware_installation``) as soon as no transaction runs (checked again every
  ``INSTALL_RECHECK_S`` while one does: the update waits for the transaction, as both
  versions' specifications recommend). Meanwhile ``hold(True)`` (when the adapter gives one)
  keeps new sessions off; ``hold(False)`` once the update has ended (an end state) or another
  replaced it.
- ``LogUploads``: sends the request, hands back the system's UploadLogsResponse (None when it
  did not give one), tracks the status.
- the status maps from EVerest's enums to 1.6's smaller ones (``firmware_status_16``,
  ``diagnostics_status_16``, ``log_status_16``); 2.0.1 and SignedFirmwareStatusNotification
  take EVerest's names as they are.

Must never: download, install or upload, decide on a version's message shapes, or wait.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Callable

from ocpp_bridge.deferred import Deferred, mapped
from ocpp_bridge.ocpp.evse_events import EvsePort, FirmwareStatusChanged, LogStatusChanged
from ocpp_bridge.ocpp.station import StationCore

log = logging.getLogger("ocpp_bridge.ocpp.common.firmware")

UNSIGNED = -1  # EVerest's request id of a 1.6 UpdateFirmware / GetDiagnostics
INSTALL_RECHECK_S = 2.0
INSTALL_TIMER = "firmware-install"

FIRMWARE_END_STATES = frozenset({"Idle", "DownloadFailed", "InstallationFailed", "Installed",
                                 "InstallVerificationFailed", "InvalidSignature"})
READY_TO_INSTALL = frozenset({"Downloaded", "SignatureVerified"})
LOG_END_STATES = frozenset({"Idle", "Uploaded", "UploadFailure", "BadMessage", "NotSupportedOperation",
                            "PermissionDenied"})

_UPDATE_ANSWERS = {"Accepted": "Accepted", "Rejected": "Rejected", "AcceptedCanceled": "AcceptedCanceled",
                   "AcceptedCancelled": "AcceptedCanceled", "InvalidCertificate": "InvalidCertificate",
                   "RevokedCertificate": "RevokedCertificate"}
_UPLOAD_ANSWERS = {"Accepted": "Accepted", "Rejected": "Rejected", "AcceptedCanceled": "AcceptedCanceled",
                   "AcceptedCancelled": "AcceptedCanceled"}

# EVerest FirmwareUpdateStatusEnum -> 1.6 FirmwareStatus (None: 1.6 has no such status, nothing is sent)
_FIRMWARE_16 = {"Downloaded": "Downloaded", "DownloadFailed": "DownloadFailed", "Downloading": "Downloading",
                "Idle": "Idle", "InstallationFailed": "InstallationFailed", "Installing": "Installing",
                "Installed": "Installed", "InstallVerificationFailed": "InstallationFailed",
                "InvalidSignature": "InstallationFailed"}
# EVerest LogStatusEnum -> 1.6 DiagnosticsStatus
_DIAGNOSTICS_16 = {"Idle": "Idle", "Uploaded": "Uploaded", "Uploading": "Uploading", "UploadFailure": "UploadFailed",
                   "BadMessage": "UploadFailed", "PermissionDenied": "UploadFailed",
                   "NotSupportedOperation": "UploadFailed"}
_LOG_16 = frozenset({"BadMessage", "Idle", "NotSupportedOperation", "PermissionDenied", "Uploaded", "UploadFailure",
                     "Uploading"})


def firmware_status_16(status: str) -> str | None:
    """The 1.6 FirmwareStatus of an EVerest status (failures of the signed steps are an
    InstallationFailed), or None when 1.6 has none (DownloadScheduled, InstallRebooting, ...)."""
    return _FIRMWARE_16.get(status)


def diagnostics_status_16(status: str) -> str | None:
    """The 1.6 DiagnosticsStatus of an EVerest log status (every failure is UploadFailed)."""
    return _DIAGNOSTICS_16.get(status)


def log_status_16(status: str) -> str | None:
    """The 1.6 security extension's UploadLogStatusEnumType (it has no AcceptedCanceled)."""
    return status if status in _LOG_16 else None


@dataclass(frozen=True)
class FirmwareRequest:
    location: str
    request_id: int
    retrieve: str | None = None
    install: str | None = None
    retries: int | None = None
    retry_interval_s: int | None = None
    signing_certificate: str | None = None
    signature: str | None = None

    @classmethod
    def signed(cls, payload: dict[str, Any]) -> FirmwareRequest:
        """From a 2.0.1 UpdateFirmwareRequest or a 1.6 SignedUpdateFirmware.req (same shape)."""
        fw = payload["firmware"]
        return cls(fw["location"], payload["requestId"], fw.get("retrieveDateTime"), fw.get("installDateTime"),
                   payload.get("retries"), payload.get("retryInterval"), fw.get("signingCertificate"),
                   fw.get("signature"))

    def to_everest(self) -> dict[str, Any]:
        out: dict[str, Any] = {"location": self.location, "request_id": self.request_id}
        for key, value in (("retrieve_timestamp", self.retrieve), ("install_timestamp", self.install),
                           ("retries", self.retries), ("retry_interval_s", self.retry_interval_s),
                           ("signing_certificate", self.signing_certificate), ("signature", self.signature)):
            if value is not None:
                out[key] = value
        return out


@dataclass(frozen=True)
class LogRequest:
    location: str
    request_id: int
    log_type: str | None = None
    oldest: str | None = None
    latest: str | None = None
    retries: int | None = None
    retry_interval_s: int | None = None

    @classmethod
    def get_log(cls, payload: dict[str, Any]) -> LogRequest:
        """From a GetLog request (1.6 security extension and 2.0.1: same shape)."""
        params = payload["log"]
        return cls(params["remoteLocation"], payload["requestId"], payload["logType"], params.get("oldestTimestamp"),
                   params.get("latestTimestamp"), payload.get("retries"), payload.get("retryInterval"))

    def to_everest(self) -> dict[str, Any]:
        out: dict[str, Any] = {"location": self.location, "request_id": self.request_id}
        for key, value in (("type", self.log_type), ("oldest_timestamp", self.oldest),
                           ("latest_timestamp", self.latest), ("retries", self.retries),
                           ("retry_interval_s", self.retry_interval_s)):
            if value is not None:
                out[key] = value
        return out


class Process:
    """The status TriggerMessage reports for one kind of process."""

    def __init__(self, end_states: frozenset[str]) -> None:
        self._end = end_states
        self.status = "Idle"
        self.request_id: int | None = None

    @property
    def running(self) -> bool:
        return self.status not in self._end

    def note(self, status: str, request_id: int) -> None:
        self.status, self.request_id = status, request_id

    def current(self) -> tuple[str, int | None]:
        """(status, request id) while one runs; ("Idle", None) otherwise."""
        return (self.status, self.request_id) if self.running else ("Idle", None)


Notify = Callable[[str, int], None]  # (EVerest status, request id)


class FirmwareUpdates:
    def __init__(self, core: StationCore, port: EvsePort, *, busy: Callable[[], bool], notify: Notify,
                 hold: Callable[[bool], None] | None = None) -> None:
        """``busy()``: does a transaction run (installation waits)? ``notify(status, request_id)``:
        the adapter reports a status of the system module. ``hold(on)``: keep new sessions off
        while the installation waits (on) / no longer (off)."""
        self.core = core
        self.port = port
        self.busy = busy
        self.notify = notify
        self.hold = hold or (lambda on: None)
        self.process = Process(FIRMWARE_END_STATES)
        self._install_pending = False
        self._signed: dict[int, bool] = {}  # request id -> has a signature (installs after SignatureVerified)
        core.events.subscribe(FirmwareStatusChanged, self._on_status)

    def request(self, request: FirmwareRequest) -> Deferred:
        """Resolves to the OCPP UpdateFirmwareStatus (Rejected without a usable answer)."""
        answer = Deferred()
        self._signed = {request.request_id: request.signature is not None}

        def done(response: str | None) -> None:
            status = _UPDATE_ANSWERS.get(response or "", "Rejected")
            log.info("firmware update %d from %s: the system module says %s", request.request_id,
                     request.location, response)
            if status in ("Accepted", "AcceptedCanceled"):
                self._install_pending = False  # a new update replaces the one that waited
                self.hold(False)
            answer.resolve(status)
        self.port.update_firmware(request.to_everest(), done)
        return answer

    def _on_status(self, event: FirmwareStatusChanged) -> None:
        self.process.note(event.status, event.request_id)
        self.notify(event.status, event.request_id)
        signed = self._signed.get(event.request_id)
        if event.status in READY_TO_INSTALL and (signed is None or (event.status == "SignatureVerified") == signed):
            self._install_pending = True
            self._install_when_idle()
        elif event.status in FIRMWARE_END_STATES or event.status in ("Installing", "InstallRebooting"):
            self._install_pending = False
            self.core.timers.cancel(INSTALL_TIMER)
            if event.status in FIRMWARE_END_STATES:
                self.hold(False)

    def _install_when_idle(self) -> None:
        if not self._install_pending:
            return
        if self.busy():
            log.info("firmware downloaded: installation waits for the running transactions")
            self.hold(True)
            self.core.timers.set(INSTALL_TIMER, self.core.now + INSTALL_RECHECK_S, self._install_when_idle)
            return
        self._install_pending = False
        log.info("firmware downloaded and no transaction runs: the system module may install it")
        self.port.allow_firmware_installation()


class LogUploads:
    def __init__(self, core: StationCore, port: EvsePort, *, notify: Notify) -> None:
        self.port = port
        self.notify = notify
        self.process = Process(LOG_END_STATES)  # its status is the system's: nothing is guessed
        core.events.subscribe(LogStatusChanged, self._on_status)

    def request(self, request: LogRequest) -> Deferred:
        """Resolves to ``(OCPP LogStatus, file name or None)``: Rejected without a usable answer."""
        answer = Deferred()

        def done(response: dict[str, Any] | None) -> None:
            response = response or {}
            status = _UPLOAD_ANSWERS.get(str(response.get("upload_logs_status", "")), "Rejected")
            name = response.get("file_name")
            log.info("log upload %d (%s) to %s: the system module says %s", request.request_id, request.log_type,
                     request.location, status)
            answer.resolve((status, name if isinstance(name, str) else None))
        self.port.upload_logs(request.to_everest(), done)
        return answer

    def get_log(self, payload: dict[str, Any]) -> Deferred:
        """GetLog (1.6 security extension and 2.0.1 N01 answer alike): resolves to
        ``{"status", "filename"?}``, the file name only when the upload was not Rejected."""
        def answer(result: tuple[str, str | None]) -> dict[str, Any]:
            status, name = result
            return {"status": status, **({"filename": name} if name and status != "Rejected" else {})}
        return mapped(self.request(LogRequest.get_log(payload)), answer)

    def _on_status(self, event: LogStatusChanged) -> None:
        self.process.note(event.status, event.request_id)
        self.notify(event.status, event.request_id)
