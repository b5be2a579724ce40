"""The real Engine serving MQTT commands in-process, for fuzzing: a recording bus, a scripted
CSMS and one scripted evse_manager, a fake clock.

``EngineRig(version, generation, db_dir)`` builds the ``Engine`` exactly as ``ocpp-bridge
run`` does (definitions from the module root, settings through ``build_settings``) but does
not start its threads: the engine's MQTT link is replaced by ``RecordingBus`` (every publish
is kept, and must be UTF-8 as paho would send it), the station's websocket by a scripted
CSMS that answers each CALL with a schema-valid default, and the evse_manager's commands are
answered at once. OCPP is started and the station booted the engine's own way.

``command(impl, cmd, payload_text)`` delivers one message on that command's topic through
the engine's own dispatch and returns the replies published on the caller's reply topic.
"""

from __future__ import annotations

import json

from station_rig import ANSWERS, T0

from ocpp_bridge.config import Settings, build_settings, impl_config_options
from ocpp_bridge.engine import Engine, MqttIn
from ocpp_bridge.everest.definitions import Definitions
from ocpp_bridge.everest.protocol import G3
from ocpp_bridge.ocpp.transport import Connected, TextReceived

MODULE = "ocpp"
PREFIX = "everest/"
EVSE = ("evse_manager_1", "evse")
CALLER = "fuzzer"
_DEFINITIONS: Definitions | None = None


def definitions() -> Definitions:
    global _DEFINITIONS
    if _DEFINITIONS is None:
        _DEFINITIONS = Definitions.load()
    return _DEFINITIONS


class RecordingBus:
    """Stands in for ``MqttLink``: keeps what the engine publishes."""

    def __init__(self) -> None:
        self.published: list[tuple[str, str]] = []
        self.unencodable: list[str] = []

    def publish(self, topic: str, payload: str, qos: int = 2, retain: bool = False) -> None:
        try:
            topic.encode("utf-8")
            payload.encode("utf-8")
        except UnicodeEncodeError:
            self.unencodable.append(f"{topic!r}: {payload[:200]!r}")
            return
        self.published.append((topic, payload))

    def subscribe(self, topics) -> None:
        return None


class EngineRig:
    def __init__(self, version: str, generation: str, db_dir: str) -> None:
        self.version, self.generation = version, generation
        self.now = T0
        defs = definitions()
        options = {"ChargePointId": "CP-FUZZ", "CentralSystemURI": "ws://127.0.0.1:9/ocpp", "OcppVersion": version,
                   "EverestProtocol": generation, "DatabasePath": db_dir, "GlobalReadyTimeoutS": 0,
                   "CommandTimeoutS": 5}
        settings = build_settings(
            Settings(MODULE, prefix=PREFIX), options=options,
            connections={"evse_manager": [{"module_id": EVSE[0], "implementation_id": EVSE[1]}]},
            declared=defs.config_options(), requires=defs.requires(), impl_options={},
            impl_declared=impl_config_options(defs.manifest))
        self.engine = Engine(settings, defs, clock=lambda: self.now)
        self.bus = RecordingBus()
        self.engine.mqtt = self.bus
        self._csms_inbox: list[str] = []
        self._answered: set[str] = set()
        self.unencodable_frames: list[str] = []
        self.engine.station.core._send_text = self._to_csms
        self.engine.transport.start = lambda: None  # the scripted CSMS stands in for the websocket
        self.engine._start_ocpp(self.now)
        self.engine._dispatch(Connected("ocpp1.6" if version == "1.6" else "ocpp2.0.1"), self.now)
        self.settle()

    # ------------------------------------------------------------------ the two peers
    def _to_csms(self, text: str) -> bool:
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            self.unencodable_frames.append(text[:300])
            return False
        self._csms_inbox.append(text)
        return True

    def _csms_answers(self) -> bool:
        frames, self._csms_inbox = self._csms_inbox, []
        for text in frames:
            frame = json.loads(text)
            if frame[0] == 2 and frame[1] not in self._answered:
                self._answered.add(frame[1])
                answer = ANSWERS[self.version].get(frame[2], {})
                if frame[2] == "StartTransaction":
                    answer = dict(answer, transactionId=len(self._answered))
                self.engine._dispatch(TextReceived(json.dumps([3, frame[1], answer])), self.now)
        return bool(frames)

    def _evse_answers(self, start: int) -> bool:
        """The evse_manager answers every command the engine called on it since ``start``."""
        answered = False
        root = f"{PREFIX}modules/{EVSE[0]}/impl/{EVSE[1]}/cmd"
        for topic, payload in self.bus.published[start:]:
            if not topic.startswith(root):
                continue
            msg = json.loads(payload)
            data, cmd = (msg["data"], topic.rsplit("/", 1)[1]) if self.generation == G3 else (msg["data"], msg["name"])
            if self.generation != G3 and msg.get("type") != "call":
                continue
            retval = {"id": 1, "connectors": [{"id": 1, "type": "cType2"}]} if cmd == "get_evse" else True
            inner = {"id": data["id"], "retval": retval, "origin": EVSE[0]}
            if self.generation == G3:
                reply_topic, body = f"{topic}/response/{MODULE}", {"msg_type": "CmdResult",
                                                                   "data": {"type": "result", "data": inner}}
            else:
                reply_topic, body = topic, {"name": cmd, "type": "result", "data": inner}
            self.engine._dispatch(MqttIn(reply_topic, json.dumps(body).encode()), self.now)
            answered = True
        return answered

    def settle(self, start: int = 0) -> None:
        seen = start
        for _ in range(50):
            mark = len(self.bus.published)
            busy = self._csms_answers() | self._evse_answers(seen)
            seen = mark
            self.engine._tick(self.now)
            if not busy and len(self.bus.published) == mark and not self._csms_inbox:
                return

    # ------------------------------------------------------------------ commands
    def topic(self, impl: str, cmd: str) -> str:
        root = f"{PREFIX}modules/{MODULE}/impl/{impl}/cmd"
        return f"{root}/{cmd}" if self.generation == G3 else root

    def envelope(self, cmd: str, call_id: str, args) -> dict:
        data = {"id": call_id, "args": args, "origin": CALLER}
        if self.generation == G3:
            return {"msg_type": "Cmd", "data": data}
        return {"name": cmd, "type": "call", "data": data}

    def deliver(self, topic: str, payload: bytes) -> list[dict]:
        """One incoming message; the replies published for the caller (decoded ``data``)."""
        start = len(self.bus.published)
        self.now += 1.0
        self.engine._dispatch(MqttIn(topic, payload), self.now)
        self.settle(start)
        for _ in range(10):  # a deferred answer waits on the scripted CSMS or the clock
            replies = self.replies(start)
            if replies:
                return replies
            self.now += 1.0
            self.settle(len(self.bus.published))
        return self.replies(start)

    def replies(self, start: int) -> list[dict]:
        out = []
        for topic, payload in self.bus.published[start:]:
            if not topic.startswith(f"{PREFIX}modules/{MODULE}/impl/"):
                continue
            msg = json.loads(payload)
            if self.generation == G3:
                if topic.endswith(f"/response/{CALLER}") and msg.get("msg_type") == "CmdResult":
                    out.append(msg["data"]["data"])
            elif topic.endswith("/cmd") and msg.get("type") == "result":
                out.append(msg["data"])
        return out

    def close(self) -> None:
        self.engine.station.close()
        self.engine.transport.stop()  # never started: this closes its wake-up sockets
