"""The demo's bus for the simulated System module: one paho client speaking the G3 framework
protocol (``everest.protocol``) as module ``system_1``.

Owns what ``system_simulator.SystemSimulator`` needs of a bus: ``implement(impl, cmd,
handler)`` (the handler runs on its own thread, its return value is the command's result;
``NO_REPLY`` sends none) and ``publish_var(impl, var, value)``. Demo only: the tests hand the
simulator their own independent peer instead.
"""

from __future__ import annotations

import threading
from typing import Any, Callable

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from ocpp_bridge.demo.system_simulator import NO_REPLY
from ocpp_bridge.everest import protocol as P

MODULE_ID = "system_1"


class SystemBus:
    def __init__(self, broker_port: int, *, prefix: str = "everest/", module_id: str = MODULE_ID,
                 on_event: Callable[[str, str, Any], None] | None = None) -> None:
        self._port = broker_port
        self._me = P.Protocol(prefix, module_id, P.G3)
        self._handlers: dict[tuple[str, str], Callable[[dict], Any]] = {}
        self._on_event = on_event or (lambda kind, name, value: None)
        self._client = paho.Client(callback_api_version=CallbackAPIVersion.VERSION2, protocol=paho.MQTTv311)
        self._client.on_message = self._on_message

    def implement(self, impl_id: str, cmd: str, handler: Callable[[dict], Any]) -> None:
        self._handlers[(impl_id, cmd)] = handler

    def publish_var(self, impl_id: str, var: str, value: Any) -> None:
        out = self._me.var(impl_id, var, value)
        self._client.publish(out.topic, out.payload, qos=2)
        self._on_event("var", var, value)

    def start(self) -> SystemBus:
        self._client.connect("127.0.0.1", self._port)
        self._client.loop_start()
        impls = sorted({impl for impl, _cmd in self._handlers})
        self._client.subscribe([(topic, 2) for topic in self._me.subscriptions(impls, [], [])])
        return self

    def stop(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    def _on_message(self, client, userdata, message) -> None:
        try:
            decoded = self._me.decode(message.topic, message.payload)
        except P.BadMessage:
            return
        if isinstance(decoded, P.IncomingCommand):
            handler = self._handlers.get((decoded.impl, decoded.cmd))
            if handler is not None:
                threading.Thread(target=self._run, args=(handler, decoded), daemon=True).start()

    def _run(self, handler: Callable[[dict], Any], call: P.IncomingCommand) -> None:
        self._on_event("cmd", call.cmd, call.args)
        try:
            result = handler(call.args if isinstance(call.args, dict) else {})
        except Exception as exc:  # noqa: BLE001 - a simulator bug answers the call with an error
            out = self._me.error(call, "HandlerException", f"{type(exc).__name__}: {exc}")
        else:
            if result is NO_REPLY:
                return
            out = self._me.result(call, result)
        self._client.publish(out.topic, out.payload, qos=2)
