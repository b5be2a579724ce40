"""The demo's stand-in for the manager and for another module on the bus.

Owns one paho client that (G3 framework protocol, via ``everest.protocol``) waits for the
bridge's module ready, sends global ready, calls the bridge's commands and reports every
variable the bridge publishes. Demo only: tests use their own independent peer.
"""

from __future__ import annotations

import json
import threading
import uuid
from typing import Any, Callable

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from ocpp_bridge.everest import protocol as P


class DemoPeer:
    def __init__(self, broker_port: int, bridge_id: str, *, on_var: Callable[[str, str, Any], None],
                 own_id: str = "demo", prefix: str = "everest/"):
        self._bridge = bridge_id
        self._me = P.Protocol(prefix, own_id, P.G3)
        self._prefix = prefix
        self._on_var = on_var
        self._port = broker_port
        self._ready = threading.Event()
        self._results: dict[str, tuple[threading.Event, list]] = {}
        self._client = paho.Client(callback_api_version=CallbackAPIVersion.VERSION2, protocol=paho.MQTTv311)
        self._client.on_message = self._on_message

    def start(self) -> None:
        self._client.connect("127.0.0.1", self._port)
        self._client.loop_start()
        root = f"{self._prefix}modules/{self._bridge}"
        self._client.subscribe([(f"{root}/ready", 2), (f"{root}/impl/+/var/+", 2),
                                (f"{root}/impl/+/cmd/+/response/demo", 2)])

    def stop(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    def wait_module_ready(self, timeout: float) -> bool:
        return self._ready.wait(timeout)

    def send_global_ready(self) -> None:
        self._client.publish(f"{self._prefix}ready", json.dumps({"msg_type": "GlobalReady", "data": True}), qos=2)

    def call(self, impl: str, cmd: str, args: dict, timeout: float = 10) -> Any:
        call_id = str(uuid.uuid4())
        done: tuple[threading.Event, list] = (threading.Event(), [])
        self._results[call_id] = done
        out = self._me.call(self._bridge, impl, cmd, args, call_id)
        self._client.publish(out.topic, out.payload, qos=2)
        if not done[0].wait(timeout):
            return {"error": "no answer"}
        result: P.IncomingResult = done[1][0]
        return result.retval if result.error is None else {"error": list(result.error)}

    def _on_message(self, client, userdata, message) -> None:
        if message.topic.endswith("/ready"):
            self._ready.set()
            return
        try:
            decoded = self._me.decode(message.topic, message.payload)
        except P.BadMessage:
            return
        if isinstance(decoded, P.IncomingResult):
            waiter = self._results.pop(decoded.call_id, None)
            if waiter:
                waiter[1].append(decoded)
                waiter[0].set()
        elif isinstance(decoded, P.IncomingVar):
            self._on_var(decoded.impl, decoded.var, decoded.value)
