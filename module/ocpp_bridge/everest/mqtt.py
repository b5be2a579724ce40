"""The MQTT link: paho-mqtt's network thread, used as a black box.

Owns the broker connection: connect (TCP or unix socket), keep the subscriptions across
reconnects, publish at QoS 2, and hand every received message to ``on_message``. It decides
nothing: callbacks only forward to the engine's inbox, and never block. One link serves a
whole run: the start-up's configuration request hands its connected link to the engine
(``attach``), so the broker sees one connection.

In-flight window: at most ``INFLIGHT_WINDOW`` (20) QoS 1/2 publishes are unacknowledged at
once; the rest wait, unbounded, in paho's queue (``max_queued_messages_set(0)``). 20 is
mosquitto's default ``max_inflight_messages``, which mosquitto also applies to what a
client sends it: over MQTT 3.1.1 (no Receive Maximum to negotiate) a QoS 2 PUBLISH beyond
that quota is acknowledged with a PUBREC and then *dropped*, silently. With a window of 100
a start-up burst of 128 ``get_evse`` calls lost most of them (issue 8); a window no larger
than the broker's quota loses none. A broker configured with a smaller
``max_inflight_messages`` needs a smaller window here.

Must never: raise from ``publish`` (a payload or topic paho cannot encode is logged and
dropped: the encoders upstream already refuse such text, this is the last line).
"""

from __future__ import annotations

import logging
import socket
import threading
from typing import Callable, Literal

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

log = logging.getLogger("ocpp_bridge.mqtt")

INFLIGHT_WINDOW = 20  # mosquitto's default max_inflight_messages: see the module docstring


class MqttLink:
    """One paho client with TCP_NODELAY, automatic reconnect and sticky subscriptions."""

    def __init__(
        self,
        *,
        host: str = "localhost",
        port: int = 1883,
        socket_path: str | None = None,
        on_message: Callable[[str, bytes], None],
        on_connection: Callable[[bool], None] = lambda up: None,
        keepalive: int = 20,
    ):
        self._host, self._port, self._socket_path = host, port, socket_path
        self._on_message = on_message
        self._on_connection = on_connection
        self._keepalive = keepalive
        self._topics: list[str] = []
        self._lock = threading.Lock()
        self._connected = threading.Event()
        self._started = False
        self._stopping = False
        transport: Literal["unix", "tcp"] = "unix" if socket_path else "tcp"
        self._client = paho.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            protocol=paho.MQTTv311,
            transport=transport,
        )
        self._client.max_queued_messages_set(0)
        self._client.max_inflight_messages_set(INFLIGHT_WINDOW)
        self._client.reconnect_delay_set(min_delay=1, max_delay=10)
        self._client.on_connect = self._handle_connect
        self._client.on_disconnect = self._handle_disconnect
        self._client.on_message = self._handle_message
        self._client.on_socket_open = self._handle_socket_open

    # -------------------------------------------------------------- lifecycle
    def start(self, wait_s: float = 10.0) -> bool:
        """Connect and start the network thread (once); True when connected within ``wait_s``."""
        if not self._started:
            self._started = True
            target = self._socket_path or self._host
            self._client.connect_async(target, self._port if not self._socket_path else 0, self._keepalive)
            self._client.loop_start()
        return self._connected.wait(wait_s)

    def attach(self, *, on_message: Callable[[str, bytes], None],
               on_connection: Callable[[bool], None] = lambda up: None) -> None:
        """Hand the link (connected or not, with its subscriptions) to a new owner: from now on
        messages and connection changes go to these callbacks."""
        self._on_message = on_message
        self._on_connection = on_connection

    def stop(self) -> None:
        self._stopping = True
        try:
            self._client.disconnect()
        finally:
            self._client.loop_stop()

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    # -------------------------------------------------------------- traffic
    def subscribe(self, topics: list[str]) -> None:
        """Subscribe now (if connected) and again after every reconnect."""
        with self._lock:
            new = [t for t in topics if t not in self._topics]
            self._topics.extend(new)
        if new and self._connected.is_set():
            self._client.subscribe([(t, 2) for t in new])

    def unsubscribe(self, topics: list[str]) -> None:
        """Drop subscriptions made with ``subscribe`` (now, and for later reconnects)."""
        with self._lock:
            gone = [t for t in topics if t in self._topics]
            self._topics = [t for t in self._topics if t not in gone]
        if gone and self._connected.is_set():
            self._client.unsubscribe(gone)

    def publish(self, topic: str, payload: str, qos: int = 2, retain: bool = False) -> None:
        try:
            data = payload.encode("utf-8")
            info = self._client.publish(topic, data, qos=qos, retain=retain)
        except (ValueError, TypeError) as exc:  # a lone surrogate, a wildcard in the topic, ...
            log.error("not publishing to %r: %s", topic, exc)
            return
        if info.rc not in (paho.MQTT_ERR_SUCCESS, paho.MQTT_ERR_NO_CONN):
            log.warning("publish to %s failed: %s", topic, paho.error_string(info.rc))

    # -------------------------------------------------------------- paho callbacks
    def _handle_socket_open(self, client, userdata, sock) -> None:
        try:
            if sock.family in (socket.AF_INET, socket.AF_INET6):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError as exc:  # pragma: no cover - platform specific
            log.debug("TCP_NODELAY not set: %s", exc)

    def _handle_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            log.error("MQTT broker refused the connection: %s", reason_code)
            return
        with self._lock:
            topics = list(self._topics)
        if topics:
            client.subscribe([(t, 2) for t in topics])
        log.info("MQTT connected to %s", self._socket_path or f"{self._host}:{self._port}")
        self._connected.set()
        self._on_connection(True)

    def _handle_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        was_up = self._connected.is_set()
        self._connected.clear()
        if was_up and self._stopping:
            log.info("MQTT disconnected")
        elif was_up:
            log.warning("MQTT connection lost (%s); paho reconnects", reason_code)
            self._on_connection(False)

    def _handle_message(self, client, userdata, message) -> None:
        self._on_message(message.topic, message.payload)
