"""A simulated EVerest System module: firmware updates and log uploads that take seconds.

Owns the behaviour of one ``system`` implementation (interface ``system``) on a bus it is
handed: anything with ``implement(impl, cmd, handler)`` (the handler's return value is the
command's result; it runs off the bus thread and may block) and ``publish_var(impl, var,
value)`` — the tests' independent EverestPeer, or the demo's peer. It answers
``update_firmware``, ``allow_firmware_installation``, ``upload_logs``, ``get_boot_reason``,
``reset``, ``is_reset_allowed`` and ``set_system_time``, and publishes every status EVerest's
System module publishes, in its order:

  firmware: [DownloadScheduled (retrieve time ahead)] Downloading Downloaded
            [SignatureVerified | InvalidSignature (a signed request)] -- waits for
            allow_firmware_installation -- [InstallScheduled (install time ahead)] Installing
            (InstallRebooting: the next get_boot_reason says FirmwareUpdate | Installed)
            with DownloadFailed / InstallVerificationFailed / InstallationFailed on failure
            (an installation that succeeds writes the new version to ``version_file``);
  logs:     Uploading Uploaded (UploadFailure on failure).

(DownloadPaused, the one status of the enum left, is never published.) A new update while
one runs cancels it (its thread publishes nothing more) and is answered AcceptedCanceled.
``fail_at`` makes one step fail: "download", "signature", "verification", "install", "upload";
``answer`` (default "Accepted") is update_firmware's answer; ``silent`` leaves every
update_firmware / upload_logs call unanswered (a hung system module). ``step_s`` is the time
each step takes. Every status is recorded in ``published`` for a test to wait on.

Must never: touch OCPP, or import the bridge's bus code (it is a separate module on the bus).
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timezone
from typing import Any, Protocol

IMPL = "main"
NO_REPLY = object()
ALLOW_WAIT_S = 120.0
LONGEST_SCHEDULE_S = 60.0


class _Cancelled(Exception):
    """A newer update replaced this one."""


class Bus(Protocol):
    def implement(self, impl_id: str, cmd: str, handler: Any) -> None: ...

    def publish_var(self, impl_id: str, var: str, value: Any) -> None: ...


def _seconds_until(stamp: str | None) -> float:
    if not stamp:
        return 0.0
    try:
        when = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return 0.0
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


class SystemSimulator:
    def __init__(self, bus: Bus, *, step_s: float = 0.3, fail_at: str | None = None, answer: str = "Accepted",
                 reboot: bool = False, silent: bool = False, boot_reason: str = "PowerUp",
                 no_reply: object = NO_REPLY, version_file: str | None = None,
                 installs_version: str = "") -> None:
        """``reboot``: an installation ends in InstallRebooting (the caller restarts the bridge);
        ``no_reply``: what the bus's handler returns to send no reply; ``version_file`` (the
        bridge's FirmwareVersionPath): a successful installation writes ``installs_version`` there."""
        self.bus = bus
        self.step_s = step_s
        self.fail_at = fail_at
        self.answer = answer
        self.reboot = reboot
        self.silent = silent
        self.boot_reason = boot_reason
        self.version_file = version_file
        self.installs_version = installs_version
        self._no_reply = no_reply
        self.published: list[tuple[str, str, int]] = []  # (var, status, request_id)
        self.requests: list[tuple[str, dict]] = []
        self._allowed = threading.Event()
        self._lock = threading.Lock()
        self._current = 0          # the running update's number (0: none)
        self._updates = 0
        for cmd, fn in (("update_firmware", self._update_firmware),
                        ("allow_firmware_installation", self._allow),
                        ("upload_logs", self._upload_logs), ("get_boot_reason", lambda args: self.boot_reason),
                        ("reset", lambda args: None), ("is_reset_allowed", lambda args: True),
                        ("set_system_time", lambda args: True)):
            bus.implement(IMPL, cmd, fn)

    # ------------------------------------------------------------------ commands
    def _update_firmware(self, args: dict) -> Any:
        request = args.get("firmware_update_request") or {}
        self.requests.append(("update_firmware", request))
        if self.silent:
            return self._no_reply
        if self.answer not in ("Accepted", "AcceptedCanceled"):
            return self.answer
        with self._lock:
            cancelled = self._current != 0
            self._updates += 1
            self._current = number = self._updates
            self._allowed = allowed = threading.Event()
        threading.Thread(target=self._firmware, args=(request, number, allowed), daemon=True).start()
        return "AcceptedCanceled" if cancelled else self.answer

    def _allow(self, args: dict) -> None:
        self.requests.append(("allow_firmware_installation", {}))
        with self._lock:
            self._allowed.set()

    def _upload_logs(self, args: dict) -> Any:
        request = args.get("upload_logs_request") or {}
        self.requests.append(("upload_logs", request))
        if self.silent:
            return self._no_reply
        threading.Thread(target=self._logs, args=(request,), daemon=True).start()
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
        return {"upload_logs_status": "Accepted", "file_name": f"{request.get('type') or 'log'}-{stamp}.tar.gz"}

    # ------------------------------------------------------------------ the processes
    def _status(self, var: str, status: str, request_id: int, update: int | None = None) -> bool:
        """Publish ``status``; False (nothing published) when ``update`` is no longer the running one."""
        key = "firmware_update_status" if var == "firmware_update_status" else "log_status"
        with self._lock:
            if update is not None and update != self._current:
                return False
            self.published.append((var, status, request_id))
            self.bus.publish_var(IMPL, var, {key: status, "request_id": request_id})
            return True

    def _firmware(self, request: dict, number: int, allowed: threading.Event) -> None:
        try:
            self._firmware_steps(request, number, allowed)
        except _Cancelled:
            return
        with self._lock:
            if self._current == number:
                self._current = 0

    def _firmware_steps(self, request: dict, number: int, allowed: threading.Event) -> None:
        rid = int(request.get("request_id", -1))

        def fw(status: str) -> None:
            if not self._status("firmware_update_status", status, rid, number):
                raise _Cancelled

        wait = min(_seconds_until(request.get("retrieve_timestamp")), LONGEST_SCHEDULE_S)
        if wait > 0:
            fw("DownloadScheduled")
            time.sleep(wait)
        fw("Downloading")
        time.sleep(self.step_s)
        if self.fail_at == "download":
            fw("DownloadFailed")
            return
        fw("Downloaded")
        if request.get("signature") is not None:
            time.sleep(self.step_s)
            if self.fail_at == "signature":
                fw("InvalidSignature")
                return
            fw("SignatureVerified")
        if not allowed.wait(ALLOW_WAIT_S):
            fw("InstallationFailed")
            return
        wait = min(_seconds_until(request.get("install_timestamp")), LONGEST_SCHEDULE_S)
        if wait > 0:
            fw("InstallScheduled")
            time.sleep(wait)
        if self.fail_at == "verification":
            fw("InstallVerificationFailed")
            return
        fw("Installing")
        time.sleep(self.step_s)
        if self.fail_at == "install":
            fw("InstallationFailed")
            return
        if self.version_file:
            with open(self.version_file, "w", encoding="utf-8") as out:
                out.write(self.installs_version + "\n")
        if self.reboot:
            self.boot_reason = "FirmwareUpdate"
            fw("InstallRebooting")
        else:
            fw("Installed")

    def _logs(self, request: dict) -> None:
        rid = int(request.get("request_id", -1))
        self._status("log_status", "Uploading", rid)
        time.sleep(self.step_s)
        self._status("log_status", "UploadFailure" if self.fail_at == "upload" else "Uploaded", rid)
