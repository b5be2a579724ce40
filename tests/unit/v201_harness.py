"""A 2.0.1 charging station on the pure core, with a scripted CSMS, a fake EVSE port and a
fake clock: the harness of the ``test_v201_*`` unit tests (the fake port and the Deferred
probe are the 1.6 bench's, ``tests/support/cp16.py``).

``Sim`` answers every CALL of the station with a schema-valid default (or what the test set
in ``answers``; actions in ``hold`` stay unanswered), plays the CSMS's own CALLs
(``request``), feeds EVSE events (``ev``) and moves the clock (``tick``). Every frame the
station writes is checked against the official schema by the core itself; the replies the
tests get are checked again here.
"""

from __future__ import annotations

import itertools
import json

import support.cp16
from ocpp_bridge.ocpp import evse_events as E
from ocpp_bridge.ocpp.schemas import OcppSchemas
from ocpp_bridge.ocpp.v201.charge_point import ChargePoint201
from ocpp_bridge.ocpp.v201.device_model import VariableKey

STATION = {"vendor": "ACME", "model": "Box", "serial_number": "SN1", "firmware_version": "1.0"}
T0 = 1767225600.0 + 100  # 2026-01-01T00:01:40Z
TS = "2026-01-01T00:01:40.000Z"
SCHEMAS = OcppSchemas("2.0.1")

DEFAULT_ANSWERS = {
    "BootNotification": {"status": "Accepted", "interval": 300, "currentTime": "2026-01-01T00:00:00Z"},
    "Heartbeat": {"currentTime": "2026-01-01T00:00:00Z"},
    "Authorize": {"idTokenInfo": {"status": "Accepted"}},
    "DataTransfer": {"status": "Accepted"},
}


class FakePort(support.cp16.FakePort):
    """The 1.6 bench's fake EVSE port (``calls``, ``ok``, ``hold``/``held``), keeping the
    remoteStartId of ``provide_token`` too."""

    def of(self, name: str) -> list[tuple]:
        return [c[1:] for c in self.calls if c[0] == name]

    def provide_token(self, token, evses, prevalidated, request_id=None):
        self.calls.append(("provide_token", token, tuple(evses), prevalidated, request_id))


class Sim:
    def __init__(self, tmp_path, *, overrides: dict | None = None, evse_count: int = 2, connect: bool = True):
        self.tmp_path = tmp_path
        self.overrides = overrides
        self.evse_count = evse_count
        self.sent: list[list] = []        # every frame the station wrote, in order
        self.up = True
        self.now = T0
        self.answers: dict[str, object] = {}   # action -> payload or fn(payload) -> payload
        self.hold: set[str] = set()
        self._answered: set[str] = set()
        self._ids = itertools.count(1)
        self.port = FakePort()
        self.cp = self._build()
        if connect:
            self.connect()

    def _build(self) -> ChargePoint201:
        cp = ChargePoint201(db_dir=str(self.tmp_path), send_text=self._send, station=STATION,
                            overrides=self.overrides, timeout_s=30, evse_count=self.evse_count, security_profile=0)
        cp.evse_port = self.port
        return cp

    def restart(self) -> None:
        """Close the station and build it again from the same files (a module restart)."""
        self.cp.close()
        self.sent.clear()
        self._answered.clear()
        self.cp = self._build()

    # ------------------------------------------------------------------ wire
    def _send(self, text: str) -> bool:
        if not self.up:
            return False
        self.sent.append(json.loads(text))
        return True

    def calls(self, action: str | None = None) -> list[list]:
        return [f for f in self.sent if f[0] == 2 and (action is None or f[2] == action)]

    def payloads(self, action: str) -> list[dict]:
        return [f[3] for f in self.calls(action)]

    def actions(self) -> list[str]:
        return [f[2] for f in self.calls()]

    def settle(self) -> None:
        """Answer the station's CALLs until nothing is waiting (except held actions)."""
        while True:
            pending = [f for f in self.calls() if f[1] not in self._answered and f[2] not in self.hold]
            if not pending or not self.up:
                return
            frame = pending[0]
            self._answered.add(frame[1])
            answer = self.answers.get(frame[2], DEFAULT_ANSWERS.get(frame[2], {}))
            payload = answer(frame[3]) if callable(answer) else answer
            self.cp.core.on_text(json.dumps([3, frame[1], payload]), self.now)

    def answer_held(self, action: str, payload: dict) -> None:
        frame = next(f for f in self.calls(action) if f[1] not in self._answered)
        self._answered.add(frame[1])
        self.cp.core.on_text(json.dumps([3, frame[1], payload]), self.now)
        self.settle()

    def connect(self) -> None:
        self.up = True
        self.cp.core.on_connected(self.now)
        self.settle()

    def disconnect(self) -> None:
        self.up = False
        self.cp.core.on_disconnected(self.now)

    def request(self, action: str, payload: dict):
        """The CSMS sends a CALL; returns the CALLRESULT payload (schema-checked) or the
        CALLERROR frame; None when no answer was written (yet)."""
        uid = f"csms-{next(self._ids)}"
        self.cp.core.on_text(json.dumps([2, uid, action, payload]), self.now)
        reply = next((f for f in self.sent if f[0] in (3, 4) and f[1] == uid), None)
        self.settle()
        if reply is not None and reply[0] == 3:
            SCHEMAS.check_response(action, reply[2])
            return reply[2]
        return reply

    def reply_to(self, index_from_end: int = 1):
        return [f for f in self.sent if f[0] in (3, 4)][-index_from_end]

    # ------------------------------------------------------------------ time and events
    def tick(self, seconds: float) -> None:
        self.now += seconds
        self.cp.core.poll(self.now)
        self.settle()

    def ev(self, *events) -> None:
        for event in events:
            self.cp.on_evse_event(event)
            self.settle()

    def set(self, component: str, variable: str, value: str, **kw) -> None:
        assert self.cp.model.set(VariableKey(component, variable, **kw), value, by_csms=True) == "Accepted"


# ---------------------------------------------------------------------- event makers
def sample(energy: float, power: float = 0.0, **kw) -> E.MeterSample:
    return E.MeterSample(timestamp=TS, energy_import_wh=energy, power_w=power, **kw)


def plug(evse: int, sid: str, energy: float = 0.0) -> E.SessionStarted:
    return E.SessionStarted(evse, 1, sid, TS, "EVConnected", None, sample(energy))


def auth_first(evse: int, sid: str, token: str = "TAG1") -> E.SessionStarted:
    return E.SessionStarted(evse, 1, sid, TS, "Authorized", E.IdToken(token), sample(0))


def tx_started(evse: int, sid: str, token: str = "TAG1", energy: float = 0.0,
               reservation_id: int | None = None) -> E.TransactionStarted:
    return E.TransactionStarted(evse, 1, sid, TS, E.IdToken(token), sample(energy), reservation_id)


def charging(evse: int, sid: str, state: str = "Charging") -> E.ChargingStateChanged:
    return E.ChargingStateChanged(evse, 1, sid, state, TS)


def tx_finished(evse: int, sid: str, reason: str = "EVDisconnected", energy: float = 1000.0,
                token: str | None = None) -> E.TransactionFinished:
    return E.TransactionFinished(evse, 1, sid, TS, reason, sample(energy), E.IdToken(token) if token else None)


def unplug(evse: int, sid: str) -> E.SessionFinished:
    return E.SessionFinished(evse, 1, sid, TS)


def full_session_start(sim: Sim, evse: int, sid: str, token: str = "TAG1") -> None:
    """Plug in, authorize, charge: the default TxStartPoint (PowerPathClosed) starts it."""
    sim.ev(plug(evse, sid), tx_started(evse, sid, token), charging(evse, sid))
