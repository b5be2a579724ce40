"""A real ChargePoint16 / ChargePoint201 on the bench for fuzzing: scripted CSMS, fake clock.

``StationRig(version, db_dir)`` builds the station of that version (its core checks every
frame it sends against the official schema), connects it and lets it boot. ``send(text)``
delivers one frame from the CSMS and returns the station's answer frame to it (a list), or
None when it wrote none; every CALL the station sends meanwhile is answered with a
schema-valid default, so its own traffic never blocks. Every frame the station writes must
be UTF-8 (a websocket text frame is): one that is not is recorded in ``unencodable``.
The EVSE side is the fake port of ``support/cp16.py``, answering every request at once.
"""

from __future__ import annotations

import itertools
import json

from ocpp_bridge.ocpp.schemas import OcppSchemas
from support.cp16 import FakePort

STATION = {"vendor": "ACME", "model": "Fuzz", "serial_number": "SN-F", "firmware_version": "1.0"}
T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z
NOW_TEXT = "2026-01-01T00:00:00Z"

ANSWERS = {
    "1.6": {
        "BootNotification": {"status": "Accepted", "interval": 3600, "currentTime": NOW_TEXT},
        "Heartbeat": {"currentTime": NOW_TEXT},
        "Authorize": {"idTagInfo": {"status": "Accepted"}},
        "StartTransaction": {"transactionId": 1, "idTagInfo": {"status": "Accepted"}},
        "DataTransfer": {"status": "Accepted"},
        "SignCertificate": {"status": "Accepted"},
    },
    "2.0.1": {
        "BootNotification": {"status": "Accepted", "interval": 3600, "currentTime": NOW_TEXT},
        "Heartbeat": {"currentTime": NOW_TEXT},
        "Authorize": {"idTokenInfo": {"status": "Accepted"}},
        "DataTransfer": {"status": "Accepted"},
        "SignCertificate": {"status": "Accepted"},
        "GetCertificateStatus": {"status": "Accepted"},
        "Get15118EVCertificate": {"status": "Accepted", "exiResponse": ""},
        "NotifyEVChargingNeeds": {"status": "Accepted"},
        "NotifyEVChargingSchedule": {"status": "Accepted"},
    },
}


class StationRig:
    def __init__(self, version: str, db_dir: str, *, evse_count: int = 2) -> None:
        self.version = version
        self.schemas = OcppSchemas(version)
        self.now = T0
        self.written: list[list] = []       # every frame the station wrote, parsed
        self.unencodable: list[str] = []
        self._answered: set[str] = set()
        self._tx_ids = itertools.count(1)
        self.port = FakePort()
        if version == "1.6":
            from ocpp_bridge.ocpp.v16.charge_point import ChargePoint16 as cls
        else:
            from ocpp_bridge.ocpp.v201.charge_point import ChargePoint201 as cls
        self.cp = cls(db_dir=db_dir, send_text=self._write, station=STATION, overrides=None, timeout_s=30,
                      evse_count=evse_count, security_profile=0)
        self.cp.evse_port = self.port
        self.cp.core.on_connected(self.now)
        self.settle()

    # ------------------------------------------------------------------ the wire
    def _write(self, text: str) -> bool:
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            self.unencodable.append(text[:300])
            return False
        self.written.append(json.loads(text))
        return True

    def _answer(self, action: str, payload: dict) -> dict:
        answer = ANSWERS[self.version].get(action, {})
        if action == "StartTransaction":
            answer = dict(answer, transactionId=next(self._tx_ids))
        return answer

    def settle(self) -> None:
        """Answer every CALL of the station not answered yet (its queue then drains)."""
        while True:
            pending = [f for f in self.written if f[0] == 2 and f[1] not in self._answered]
            if not pending:
                return
            frame = pending[0]
            self._answered.add(frame[1])
            self.cp.core.on_text(json.dumps([3, frame[1], self._answer(frame[2], frame[3])]), self.now)

    def send(self, text: str, unique_id: object = None) -> list | None:
        """Deliver ``text``; the station's CALLRESULT/CALLERROR for ``unique_id`` (None: the
        first answer it wrote to any frame of ours), waiting out deferred answers."""
        start = len(self.written)
        self.now += 1.0
        self.cp.core.on_text(text, self.now)
        self.settle()
        for _ in range(40):  # deferred answers (e.g. UnlockConnector) finish within seconds
            reply = self._reply(start, unique_id)
            if reply is not None:
                return reply
            self.tick(1.0)
        return self._reply(start, unique_id)

    def _reply(self, start: int, unique_id: object) -> list | None:
        for frame in self.written[start:]:
            if frame[0] in (3, 4) and (unique_id is None or frame[1] == unique_id):
                return frame
        return None

    def tick(self, seconds: float) -> None:
        self.now += seconds
        self.cp.core.poll(self.now)
        self.settle()

    def close(self) -> None:
        self.cp.close()
