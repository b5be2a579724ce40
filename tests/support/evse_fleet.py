"""Many EVerest ``evse_manager`` modules on one MQTT connection, for scale tests.

``EvseFleet(port, prefix, count)`` answers every command called on
``<prefix>modules/evse_manager_<n>/impl/evse/cmd/<cmd>`` (framework generation 2025.12) for
n = 1..count, as the modules would: ``get_evse`` with one connector, ``true`` for anything
else. It records each call as (n, command). One paho client plays all of them, so a hundred
modules cost one thread, not a hundred; it is written from spec/everest.md §1 like
``everest_peer.py`` and never imports ``ocpp_bridge``. Everything is QoS 2, not retained.
"""

from __future__ import annotations

import json
import socket
import threading
import time

import paho.mqtt.client as mqtt


class EvseFleet:
    def __init__(self, broker_port: int, *, prefix: str, count: int, host: str = "127.0.0.1") -> None:
        self.prefix = prefix if prefix.endswith("/") else prefix + "/"
        self.count = count
        self.module_ids = [f"evse_manager_{n}" for n in range(1, count + 1)]
        self._cv = threading.Condition()
        self._calls: list[tuple[int, str]] = []
        self._subscribed = False
        self._client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
        self._client.max_queued_messages_set(0)
        self._client.on_socket_open = _nodelay
        self._client.on_connect = self._on_connect
        self._client.on_subscribe = self._on_subscribe
        self._client.on_message = self._on_message
        self._host, self._port = host, broker_port

    def start(self, timeout: float = 10) -> EvseFleet:
        self._client.connect_async(self._host, self._port, keepalive=20)
        self._client.loop_start()
        self._wait(lambda: self._subscribed, timeout, "the fleet's subscription")
        return self

    def stop(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    def calls(self, cmd: str) -> set[int]:
        """The EVSE numbers that received ``cmd`` at least once."""
        with self._cv:
            return {n for n, c in self._calls if c == cmd}

    def wait_all(self, cmd: str, evses: set[int], timeout: float) -> None:
        self._wait(lambda: evses <= self.calls(cmd), timeout,
                   f"{cmd} on every EVSE (missing: {sorted(evses - self.calls(cmd))[:20]}...)")

    # -- internals -------------------------------------------------------------------
    def _wait(self, cond, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        with self._cv:
            while not cond():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"timed out waiting for {what}")
                self._cv.wait(left)

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if not reason_code.is_failure:
            client.subscribe(f"{self.prefix}modules/+/impl/evse/cmd/+", qos=2)

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties) -> None:
        with self._cv:
            self._subscribed = True
            self._cv.notify_all()

    def _on_message(self, client, userdata, msg) -> None:
        parts = msg.topic[len(self.prefix):].split("/")  # modules/<id>/impl/evse/cmd/<cmd>
        if len(parts) != 6 or parts[1] not in self.module_ids:
            return
        try:
            data = json.loads(msg.payload)["data"]
            call_id, origin = data["id"], data["origin"]
        except (ValueError, KeyError, TypeError):
            return
        evse, cmd = int(parts[1].rsplit("_", 1)[1]), parts[5]
        retval = {"id": evse, "connectors": [{"id": 1, "type": "cType2"}]} if cmd == "get_evse" else True
        result = {"msg_type": "CmdResult", "data": {"type": "result", "data": {
            "id": call_id, "retval": retval, "origin": parts[1]}}}
        client.publish(f"{msg.topic}/response/{origin}", json.dumps(result), qos=2)
        with self._cv:
            self._calls.append((evse, cmd))
            self._cv.notify_all()


def _nodelay(client, userdata, sock) -> None:
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except (OSError, AttributeError):
        pass
