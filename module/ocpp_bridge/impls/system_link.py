"""The ``system`` module on the bus, seen from the OCPP side (EVerest's ``system`` interface).

Owns the calls the station makes of the system module: the boot reason before a 2.0.1
BootNotification (``get_boot_reason``, waited for ``BOOT_REASON_WAIT_S`` at most: a silent system
module only delays OCPP that long) and the charger's reset (``reset``). Without a system
connection a reset restarts the module's own OCPP side instead (reconnect and boot again), as
EVerest's OCPP module does with no system to ask.

It also owns the firmware and log side of the ``system`` interface, both ways:
- out: ``update_firmware`` (FirmwareUpdateRequest), ``allow_firmware_installation`` and
  ``upload_logs`` (UploadLogsRequest); each answer waited for ``CsmsAnswerTimeoutS`` at most
  (a silent system module yields ``None``, the failure answer, never a hang); without a system
  connection ``None`` at once;
- in: its variables ``firmware_update_status`` and ``log_status`` become the neutral
  ``FirmwareStatusChanged`` / ``LogStatusChanged`` events for the station (explicit field map).

Must never: decide when to reset or what to report (the OCPP blocks do).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Callable

from ocpp_bridge.ocpp.evse_events import FirmwareStatusChanged, LogStatusChanged

if TYPE_CHECKING:
    from ocpp_bridge.engine import Engine

log = logging.getLogger("ocpp_bridge.system")

REQ = "system"
BOOT_REASON_WAIT_S = 10.0


class SystemLink:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        engine.on_required_var(REQ, "firmware_update_status", self._on_firmware_status)
        engine.on_required_var(REQ, "log_status", self._on_log_status)

    # ------------------------------------------------------------------ firmware and logs
    def _answer_wait_s(self) -> float:
        return float(self.engine.settings["CsmsAnswerTimeoutS"])

    def update_firmware(self, request: dict[str, Any], done: Callable[[str | None], None]) -> None:
        """``done(UpdateFirmwareResponse name)``, or None: no system, an error, or no answer in time."""
        if not self.present:
            log.warning("firmware update requested and no system module connected")
            done(None)
            return

        def finished(retval: Any, error: tuple[str, str] | None) -> None:
            if error is None and isinstance(retval, str):
                done(retval)
                return
            log.warning("update_firmware: no usable answer from the system module (%s, %r)", error, retval)
            done(None)
        self.engine.call_required(REQ, 0, "update_firmware", {"firmware_update_request": request}, finished,
                                  timeout_s=self._answer_wait_s())

    def allow_firmware_installation(self) -> None:
        if not self.present:
            return

        def finished(retval: Any, error: tuple[str, str] | None) -> None:
            if error is not None:
                log.warning("allow_firmware_installation failed: %s", error)
        self.engine.call_required(REQ, 0, "allow_firmware_installation", {}, finished,
                                  timeout_s=self._answer_wait_s())

    def upload_logs(self, request: dict[str, Any], done: Callable[[dict[str, Any] | None], None]) -> None:
        """``done(UploadLogsResponse)``, or None: no system, an error, or no answer in time."""
        if not self.present:
            log.warning("log upload requested and no system module connected")
            done(None)
            return

        def finished(retval: Any, error: tuple[str, str] | None) -> None:
            if error is None and isinstance(retval, dict) and isinstance(retval.get("upload_logs_status"), str):
                done(retval)
                return
            log.warning("upload_logs: no usable answer from the system module (%s, %r)", error, retval)
            done(None)
        self.engine.call_required(REQ, 0, "upload_logs", {"upload_logs_request": request}, finished,
                                  timeout_s=self._answer_wait_s())

    def _on_firmware_status(self, index: int, value: Any) -> None:
        if not isinstance(value, dict) or not isinstance(value.get("firmware_update_status"), str):
            log.warning("firmware_update_status without a status ignored: %r", value)
            return
        request_id = value.get("request_id")
        self.engine.station.on_evse_event(FirmwareStatusChanged(
            value["firmware_update_status"], request_id if isinstance(request_id, int) else -1))

    def _on_log_status(self, index: int, value: Any) -> None:
        if not isinstance(value, dict) or not isinstance(value.get("log_status"), str):
            log.warning("log_status without a status ignored: %r", value)
            return
        request_id = value.get("request_id")
        self.engine.station.on_evse_event(LogStatusChanged(
            value["log_status"], request_id if isinstance(request_id, int) else -1))

    @property
    def present(self) -> bool:
        return bool(self.engine.settings.connections.get(REQ))

    def boot_reason(self, done: Callable[[str | None], None]) -> None:
        """``done(reason)``, the system's BootReason name (the same names as 2.0.1's), or None."""
        def finished(retval: Any, error: tuple[str, str] | None) -> None:
            if error is None and isinstance(retval, str):
                done(retval)
                return
            log.warning("no boot reason from the system module (%s)", error)
            done(None)
        self.engine.call_required(REQ, 0, "get_boot_reason", {}, finished, timeout_s=BOOT_REASON_WAIT_S)

    def reset(self, kind: str, done: Callable[[bool], None] | None = None) -> None:
        """``kind`` Soft | Hard: the system module resets the charger; without one, OCPP
        reconnects and boots again."""
        if self.present:
            def finished(retval: Any, error: tuple[str, str] | None) -> None:
                if done is not None:
                    done(error is None)
            self.engine.call_required(REQ, 0, "reset", {"type": kind, "scheduled": False}, finished)
            return
        log.warning("%s reset requested and no system module connected: restarting the OCPP connection", kind)
        self.engine.reconnect_ocpp()
        if done is not None:
            done(True)
