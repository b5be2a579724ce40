"""OCPP 2.0.1 firmware update (L01 secure, L02 without a signature) and log upload (N01) — the 2.0.1 adapter of
``ocpp/common/firmware.py``. PURE.

Owns the 2.0.1 messages:
- UpdateFirmware (requestId, location, retrieveDateTime, installDateTime, signingCertificate,
  signature, retries, retryInterval -> the system module): the system's answer (Accepted,
  Rejected, AcceptedCanceled, InvalidCertificate, RevokedCertificate); Rejected without a
  ``system`` connection or without its answer in time.
- GetLog (DiagnosticsLog / SecurityLog, requestId) -> the system's answer and file name;
  Rejected without a system module or its answer.
- the system's statuses -> FirmwareStatusNotification / LogStatusNotification with the
  requestId (L01.FR.01: every new state is reported); the installation waits for running
  transactions (``common/firmware.py``); meanwhile, unless
  ChargingStation.AllowNewSessionsPendingFirmwareUpdate is true, the EVSEs without a
  transaction are Unavailable (``AvailabilityBlock.hold_for_firmware``) until the update ends.
- the reboot of an installation: InstallRebooting stores its requestId (file
  ``firmware201.db``); the next start boots with reason FirmwareUpdate (unless the system module
  tells another reason) and, once that BootNotification is Accepted, reports Installed with the
  stored requestId: the end of the update, which the rebooted system may not report again. A
  status the system reports before that BootNotification is Accepted (it may go before we are
  even connected) is held and sent then instead of Installed.
- TriggerMessage FirmwareStatusNotification / LogStatusNotification: the current status and
  its requestId while one runs, Idle (no requestId) otherwise.

Must never: download, install or upload anything, or touch the transactions.
"""

from __future__ import annotations

import logging
import sqlite3
from typing import Any

from ocpp_bridge.deferred import now_or_later, status_answer
from ocpp_bridge.ocpp.common.firmware import FirmwareRequest, FirmwareUpdates, LogUploads, Process
from ocpp_bridge.ocpp.context import BlockContext
from ocpp_bridge.ocpp.events import Registered
from ocpp_bridge.ocpp.v201.availability import AvailabilityBlock
from ocpp_bridge.ocpp.v201.core_variables import ALLOW_NEW_SESSIONS_PENDING_FIRMWARE_UPDATE
from ocpp_bridge.ocpp.v201.device_model import DeviceModel
from ocpp_bridge.ocpp.v201.provisioning import Provisioning201
from ocpp_bridge.ocpp.v201.remote_control import Evse, RemoteControlBlock
from ocpp_bridge.ocpp.v201.transactions import TransactionBlock

log = logging.getLogger("ocpp_bridge.ocpp.v201.firmware")

Payload = dict[str, Any]

DATABASE_NAME = "firmware201"
MIGRATIONS = ["CREATE TABLE rebooting (request_id INTEGER NOT NULL);"]


class FirmwareBlock:
    def __init__(self, ctx: BlockContext[DeviceModel], transactions: TransactionBlock,
                 remote_control: RemoteControlBlock, provisioning: Provisioning201, availability: AvailabilityBlock,
                 db: sqlite3.Connection) -> None:
        """``db``: the file of ``DATABASE_NAME`` / ``MIGRATIONS``."""
        self.core = ctx.core
        self.port = ctx.evse
        self.db = db
        model = ctx.config

        def hold(on: bool) -> None:
            availability.hold_for_firmware(on and not model.read(ALLOW_NEW_SESSIONS_PENDING_FIRMWARE_UPDATE))
        self.updates = FirmwareUpdates(self.core, self.port, busy=lambda: bool(transactions.active_evses()),
                                       notify=self._firmware_status, hold=hold)
        self._awaiting_boot = self._rebooted() is not None  # the start after an installation's reboot
        self._held: tuple[str, int] | None = None  # a status the system reported before that boot
        if self._awaiting_boot:
            provisioning.boot_reason = "FirmwareUpdate"
            self.core.events.subscribe(Registered, self._after_reboot)
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
        return now_or_later(status_answer(self.updates.request(FirmwareRequest.signed(payload))))

    def _get_log(self, payload: Payload) -> Any:
        if not self.port.system_present():
            log.warning("GetLog: no system module is connected: Rejected")
            return {"status": "Rejected"}
        return now_or_later(self.logs.get_log(payload))

    def close(self) -> None:
        self.db.close()

    # ------------------------------------------------------------------ the reboot of an installation
    def _rebooted(self) -> int | None:
        row = self.db.execute("SELECT request_id FROM rebooting").fetchone()
        return None if row is None else int(row[0])

    def _firmware_status(self, status: str, request_id: int) -> None:
        if self._awaiting_boot:
            log.info("firmware status %s (request %d) before the boot after the reboot: sent after it",
                     status, request_id)
            self._held = (status, request_id)
            return
        if status == "InstallRebooting":
            with self.db:
                self.db.execute("DELETE FROM rebooting")
                self.db.execute("INSERT INTO rebooting (request_id) VALUES (?)", (request_id,))
        self._notify("FirmwareStatusNotification", status, request_id)

    def _after_reboot(self, event: Registered) -> None:
        request_id = self._rebooted()
        if not self._awaiting_boot or request_id is None:
            return
        self._awaiting_boot = False
        with self.db:
            self.db.execute("DELETE FROM rebooting")
        status, request_id = self._held or ("Installed", request_id)
        log.info("booted after the reboot of firmware request %d: %s", request_id, status)
        self._firmware_status(status, request_id)

    def _notify(self, action: str, status: str, request_id: int) -> None:
        payload: Payload = {"status": status}
        if request_id >= 0:
            payload["requestId"] = request_id
        self.core.call(action, payload)

    def _trigger(self, action: str, process: Process, evse: Evse | None) -> str:
        status, request_id = process.current()
        self._notify(action, status, -1 if request_id is None else request_id)
        return "Accepted"
