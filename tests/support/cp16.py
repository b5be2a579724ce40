"""A pure OCPP 1.6 charge point on a test bench: scripted CSMS, fake EVSE port, fake clock.

``Rig`` builds a real ``ChargePoint16`` (its station core checks every frame it sends against
the official schema) and plays the CSMS by hand: CALLs of the charge point are answered
automatically per action (``rig.answers``; ``None`` holds the call unanswered until
``rig.answer_held``), and ``rig.request`` sends a CALL of the CSMS and returns the
CALLRESULT payload (or None while a deferred answer is still pending). ``FakePort`` records
every EvsePort request; its ``done`` callbacks run at once with ``port.ok[name]`` (default
True) unless ``port.hold`` names the request. ``port.security`` plays the evse_security module
(cmd -> answer; None: no such module).
"""

from __future__ import annotations

import itertools
import json
from collections import defaultdict

from ocpp_bridge.ocpp import evse_events as E
from ocpp_bridge.ocpp.v16.charge_point import ChargePoint16

STATION = {"vendor": "ACME", "model": "Box", "serial_number": "SN1", "firmware_version": "1.0"}
T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z


class FakePort:
    def __init__(self):
        self.calls: list[tuple] = []
        self.ok: dict[str, bool] = defaultdict(lambda: True)
        self.hold: set[str] = set()
        self.held: list[tuple[str, object]] = []
        self.data_transfer_answer: dict | None = None
        self.security: dict | None = None  # evse_security: cmd -> answer (callable: of the args); None: absent
        self.system = True  # a system module is connected (firmware updates, log uploads)

    def _done(self, name, done):
        if done is None:
            return
        if name in self.hold:
            self.held.append((name, done))
        else:
            done(self.ok[name])

    def names(self):
        return [c[0] for c in self.calls]

    def enable_disable(self, evse, connector, enable, done=None):
        self.calls.append(("enable_disable", evse, connector, enable))
        self._done("enable_disable", done)

    def stop_transaction(self, evse, reason, done=None):
        self.calls.append(("stop_transaction", evse, reason))
        self._done("stop_transaction", done)

    def pause_charging(self, evse, done=None):
        self.calls.append(("pause_charging", evse))
        self._done("pause_charging", done)

    def resume_charging(self, evse, done=None):
        self.calls.append(("resume_charging", evse))
        self._done("resume_charging", done)

    def force_unlock(self, evse, connector, done=None):
        self.calls.append(("force_unlock", evse, connector))
        self._done("force_unlock", done)

    def reserve(self, evse, reservation_id, done=None, **details):
        self.calls.append(("reserve", evse, reservation_id))
        self._done("reserve", done)

    def cancel_reservation(self, evse, done=None, *, reservation_id=None):
        self.calls.append(("cancel_reservation", evse))
        self._done("cancel_reservation", done)

    def provide_token(self, token, evses, prevalidated, request_id=None):
        self.calls.append(("provide_token", token, list(evses), prevalidated))

    def authorization_withdrawn(self, evse):
        self.calls.append(("authorization_withdrawn", evse))

    def reset(self, kind, done=None):
        self.calls.append(("reset", kind))
        self._done("reset", done)

    def data_transfer(self, request, done):
        self.calls.append(("data_transfer", request))
        done(self.data_transfer_answer)

    def security_present(self):
        return self.security is not None

    def security_call(self, cmd, args, done):
        self.calls.append(("security", cmd, args))
        if cmd in self.hold:
            self.held.append((cmd, done))
            return
        answer = (self.security or {}).get(cmd)
        answer = answer(args) if callable(answer) else answer
        if isinstance(answer, Exception):
            done(None, str(answer))
        else:
            done(answer, None)

    def system_present(self):
        return self.system

    def update_firmware(self, request, done):
        self.calls.append(("update_firmware", request))
        done("Accepted" if self.system else None)

    def allow_firmware_installation(self):
        self.calls.append(("allow_firmware_installation",))

    def upload_logs(self, request, done):
        self.calls.append(("upload_logs", request))
        done({"upload_logs_status": "Accepted", "file_name": "log.tar.gz"} if self.system else None)


class Rig:
    def __init__(self, tmp_path, *, evse_count: int = 2, overrides: dict | None = None, port: FakePort | None = None):
        self.tmp_path = tmp_path
        self.evse_count = evse_count
        self.overrides = overrides
        self.sent: list[list] = []
        self.up = True
        self.now = T0
        self._tx_ids = itertools.count(100)
        self._ids = itertools.count(1)
        self.answers: dict = {
            "BootNotification": {"status": "Accepted", "interval": 3600, "currentTime": "2026-01-01T00:00:00Z"},
            "StatusNotification": {},
            "Heartbeat": {"currentTime": "2026-01-01T00:00:00Z"},
            "MeterValues": {},
            "StopTransaction": {},
            "Authorize": {"idTagInfo": {"status": "Accepted"}},
            "StartTransaction": lambda p: {"transactionId": next(self._tx_ids), "idTagInfo": {"status": "Accepted"}},
            "DataTransfer": {"status": "Accepted"},
            "DiagnosticsStatusNotification": {},
            "FirmwareStatusNotification": {},
            "SecurityEventNotification": {},
        }
        self.port = port or FakePort()
        self.cp = self._build()

    def _build(self) -> ChargePoint16:
        cp = ChargePoint16(db_dir=str(self.tmp_path), send_text=self._send, station=STATION, overrides=self.overrides,
                           timeout_s=30, evse_count=self.evse_count, security_profile=0)
        cp.evse_port = self.port
        return cp

    def restart(self) -> None:
        """The bridge process restarts: same database directory, a new charge point."""
        self.cp.close()
        self.cp = self._build()

    # ------------------------------------------------------------------ wire
    def _send(self, text: str) -> bool:
        if not self.up:
            return False
        self.sent.append(json.loads(text))
        return True

    def calls(self, action: str | None = None) -> list[dict]:
        """Payloads of the charge point's CALLs (of ``action``), in the order sent."""
        return [f[3] for f in self.sent if f[0] == 2 and (action is None or f[2] == action)]

    def actions(self, after: int = 0) -> list[str]:
        return [f[2] for f in self.sent[after:] if f[0] == 2]

    def statuses(self, connector: int | None = None) -> list[str]:
        return [p["status"] for p in self.calls("StatusNotification")
                if connector is None or p["connectorId"] == connector]

    def _in_flight(self):
        call = self.cp.core.session.in_flight
        return call

    def pump_answers(self) -> None:
        """Answer the charge point's in-flight CALLs while a rule for them exists."""
        while True:
            call = self._in_flight()
            if call is None or call.unique_id is None:
                return
            rule = self.answers.get(call.action)
            if rule is None:
                return
            payload = rule(call.payload) if callable(rule) else rule
            self.cp.core.on_text(json.dumps([3, call.unique_id, payload]), self.now)

    def answer_held(self, payload: dict) -> dict:
        """Answer the in-flight (held) CALL with ``payload``; returns that CALL's payload."""
        call = self._in_flight()
        assert call is not None, "nothing in flight"
        sent = call.payload
        self.cp.core.on_text(json.dumps([3, call.unique_id, payload]), self.now)
        self.pump_answers()
        return sent

    def error_held(self, code: str = "InternalError") -> None:
        call = self._in_flight()
        self.cp.core.on_text(json.dumps([4, call.unique_id, code, "", {}]), self.now)
        self.pump_answers()

    # ------------------------------------------------------------------ driving
    def boot(self) -> Rig:
        self.cp.core.on_connected(self.now)
        self.pump_answers()
        assert self.cp.core.registration == "Accepted"
        return self

    def advance(self, seconds: float) -> None:
        """Let time pass, running every timer on the way in order."""
        end = self.now + seconds
        while True:
            nxt = self.cp.core.poll(self.now)
            self.pump_answers()
            if nxt is None or nxt > end:
                break
            self.now = max(self.now, nxt)
        self.now = end
        self.cp.core.poll(self.now)
        self.pump_answers()

    def disconnect(self) -> None:
        self.up = False
        self.cp.core.on_disconnected(self.now)

    def reconnect(self) -> None:
        self.up = True
        self.cp.core.on_connected(self.now)
        self.pump_answers()

    def event(self, ev) -> None:
        self.cp.on_evse_event(ev)
        self.cp.core.poll(self.now)
        self.pump_answers()

    def request(self, action: str, payload: dict):
        """A CALL from the CSMS; the CALLRESULT payload, or a CALLERROR frame as a list, or None."""
        uid = f"csms-{next(self._ids)}"
        self.last_request_id = uid
        self.cp.core.on_text(json.dumps([2, uid, action, payload]), self.now)
        reply = self.reply(uid)
        self.cp.core.poll(self.now)
        self.pump_answers()
        return reply

    def reply(self, uid: str | None = None):
        uid = uid or self.last_request_id
        for f in self.sent:
            if f[0] in (3, 4) and f[1] == uid:
                return f[2] if f[0] == 3 else f
        return None

    # ------------------------------------------------------------------ an EVSE's session
    def plug_in(self, evse: int = 1, session: str | None = None) -> str:
        session = session or f"sess-{evse}-{next(self._ids)}"
        self.event(E.SessionStarted(evse, 1, session, self.stamp()))
        return session

    def start_tx(self, evse: int, session: str, id_tag: str = "TAG1", energy: float = 1000.0,
                 reservation_id: int | None = None) -> None:
        self.event(E.TransactionStarted(evse, 1, session, self.stamp(), E.IdToken(id_tag),
                                        sample(self.stamp(), energy), reservation_id))

    def stop_tx(self, evse: int, session: str, reason: str = "Local", energy: float = 2000.0,
                id_tag: str | None = None) -> None:
        self.event(E.TransactionFinished(evse, 1, session, self.stamp(), reason, sample(self.stamp(), energy),
                                         E.IdToken(id_tag) if id_tag else None))

    def unplug(self, evse: int, session: str) -> None:
        self.event(E.SessionFinished(evse, 1, session, self.stamp()))

    def meter(self, evse: int, energy: float, **kw) -> None:
        self.event(E.MeterReading(evse, sample(self.stamp(), energy, **kw)))

    def stamp(self) -> str:
        from ocpp_bridge.ocpp.timefmt import iso
        return iso(self.now)


def sample(stamp: str, energy: float, **kw) -> E.MeterSample:
    return E.MeterSample(timestamp=stamp, energy_import_wh=energy, **kw)
