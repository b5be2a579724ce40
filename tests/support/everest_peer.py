"""An EVerest module emulator over paho-mqtt, for black-box tests of the bridge.

Owns its own encoding of the framework's MQTT protocol, written from spec/everest.md §1 for
both generations ("2025.12" = G3: per-name topics and the ``msg_type`` envelope; "2024.11" =
G2c: one ``cmd`` and one ``var`` topic per implementation, no envelope). It must never import
``ocpp_bridge``: the point is to check the module against the spec, not against itself.

It plays any peer module (an evse_manager, a probe calling the bridge's commands): it calls
commands, answers commands with test-provided handlers, publishes and collects variables,
and sends/observes ready messages. Everything is published at QoS 2, not retained.
Anything received that does not follow the spec is recorded in ``protocol_errors``.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from typing import Any, Callable

import paho.mqtt.client as mqtt

G3 = "2025.12"
G2C = "2024.11"
GENERATIONS = (G3, G2C)


class CommandError(Exception):
    """An error reply to a command (``__everest__error_type`` / ``__everest__error_msg``).

    Raised by ``EverestPeer.call``; a handler given to ``implement`` may raise it to reply
    with that error type."""

    def __init__(self, error_type: str, message: str = "") -> None:
        super().__init__(f"{error_type}: {message}")
        self.error_type = error_type
        self.message = message


NO_REPLY = object()  # a handler returning this sends no reply at all (timeout tests)


def _dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"))


def _set_nodelay(client, userdata, sock) -> None:  # paho on_socket_open
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except (OSError, AttributeError):
        pass


class EverestPeer:
    """One emulated EVerest module (``module_id``) on the broker at 127.0.0.1:``broker_port``."""

    NO_REPLY = NO_REPLY

    def __init__(self, broker_port: int, *, prefix: str = "everest/", module_id: str = "probe",
                 generation: str = G3, host: str = "127.0.0.1") -> None:
        if generation not in GENERATIONS:
            raise ValueError(f"generation must be one of {GENERATIONS}")
        self.host, self.port = host, broker_port
        self.prefix = prefix if prefix.endswith("/") else prefix + "/"
        self.module_id = module_id
        self.generation = generation
        self.protocol_errors: list[str] = []
        self._cv = threading.Condition()
        self._subs: list[str] = []
        self._acked: set[int] = set()
        self._connected = False
        self._resub_mid: int | None = None
        self.connect_count = 0
        self._pending: dict[str, dict] = {}           # call id -> {"module", "reply"}
        self._vars: dict[tuple, list] = {}            # (module, impl, var) -> values
        self._handlers: dict[tuple, Callable] = {}    # (impl, cmd) -> handler
        self._received: list[dict] = []               # calls to our commands
        self._ready: dict[str, int] = {}              # module id -> ready messages seen
        self._global_ready = 0
        self._raw_waiters: list[dict] = []
        self._pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix=f"peer-{module_id}")
        self._client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
        self._client.on_socket_open = _set_nodelay
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_subscribe = self._on_subscribe
        self._client.on_message = self._on_message
        self._client.reconnect_delay_set(min_delay=0.1, max_delay=1)

    # -- topics (the harness's own reading of everest.md §1) ----------------------------
    def impl_topic(self, module_id: str, impl_id: str) -> str:
        return f"{self.prefix}modules/{module_id}/impl/{impl_id}"

    def cmd_topic(self, module_id: str, impl_id: str, cmd: str) -> str:
        base = self.impl_topic(module_id, impl_id) + "/cmd"
        return f"{base}/{cmd}" if self.generation == G3 else base

    def var_topic(self, module_id: str, impl_id: str, var: str) -> str:
        base = self.impl_topic(module_id, impl_id) + "/var"
        return f"{base}/{var}" if self.generation == G3 else base

    def response_topic(self, module_id: str, impl_id: str, cmd: str, caller: str) -> str:
        if self.generation == G3:
            return f"{self.cmd_topic(module_id, impl_id, cmd)}/response/{caller}"
        return self.cmd_topic(module_id, impl_id, cmd)

    # -- lifecycle -------------------------------------------------------------------
    def start(self, timeout: float = 10) -> EverestPeer:
        self._subs = [f"{self.prefix}ready", f"{self.prefix}modules/+/ready"]
        if self.generation == G3:
            self._subs.append(f"{self.prefix}modules/+/impl/+/cmd/+/response/{self.module_id}")
        self._client.connect_async(self.host, self.port, keepalive=20)
        self._client.loop_start()
        self.wait_connected(timeout)
        return self

    def stop(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()
        self._pool.shutdown(wait=False, cancel_futures=True)

    def wait_connected(self, timeout: float = 10) -> None:
        """Wait until connected and every subscription is (re)acknowledged by the broker."""
        def done():
            return self._connected and self._resub_mid is not None and self._resub_mid in self._acked
        self._wait(done, timeout, "MQTT connection + subscriptions")

    @property
    def connected(self) -> bool:
        return self._connected

    # -- commands: caller side ---------------------------------------------------------
    def call(self, module_id: str, impl_id: str, cmd: str, args: dict | None,
             timeout: float = 10) -> Any:
        """Call ``module_id``'s command; return its ``retval`` or raise CommandError/TimeoutError."""
        call_id = str(uuid.uuid4())
        if self.generation == G2C:
            self._subscribe(self.cmd_topic(module_id, impl_id, cmd))
        with self._cv:
            self._pending[call_id] = {"module": module_id, "reply": None}
        inner = {"id": call_id, "args": args, "origin": self.module_id}
        if self.generation == G3:
            payload = {"msg_type": "Cmd", "data": inner}
        else:
            payload = {"name": cmd, "type": "call", "data": inner}
        self._publish(self.cmd_topic(module_id, impl_id, cmd), payload)
        try:
            self._wait(lambda: self._pending[call_id]["reply"] is not None, timeout,
                       f"result of {module_id}/{impl_id}/{cmd}")
        finally:
            with self._cv:
                entry = self._pending.pop(call_id)
        reply = entry["reply"]
        if "error" in reply:
            err = reply["error"] if isinstance(reply["error"], dict) else {}
            raise CommandError(
                str(err.get("__everest__error_type", err.get("event", "?"))),
                str(err.get("__everest__error_msg", err.get("msg", ""))))
        return reply.get("retval")

    def call_raw(self, topic: str, payload: bytes | str, reply_topic: str | None,
                 timeout: float = 5) -> dict | None:
        """Publish anything on ``topic``; return the first message then seen on
        ``reply_topic`` (decoded JSON, or ``{"_raw": text}``), or None after ``timeout``.
        Our own message echoed back on ``reply_topic`` (G2c) is skipped once."""
        data = payload.encode() if isinstance(payload, str) else payload
        waiter = None
        if reply_topic is not None:
            self._subscribe(reply_topic)
            waiter = {"topic": reply_topic, "skip": data if reply_topic == topic else None,
                      "got": None}
            with self._cv:
                self._raw_waiters.append(waiter)
        self._client.publish(topic, data, qos=2, retain=False)
        if waiter is None:
            return None
        try:
            self._wait(lambda: waiter["got"] is not None, timeout, "raw reply")
        except TimeoutError:
            return None
        finally:
            with self._cv:
                self._raw_waiters.remove(waiter)
        raw = waiter["got"]
        try:
            return json.loads(raw)
        except ValueError:
            return {"_raw": raw.decode(errors="replace")}

    # -- commands: callee side ---------------------------------------------------------
    def implement(self, impl_id: str, cmd: str, handler: Callable[[dict], Any]) -> None:
        """Answer calls of ``impl_id``/``cmd`` of THIS module with ``handler(args)``.
        The handler runs on a worker thread; raising CommandError replies with that error,
        any other exception with HandlerException; returning NO_REPLY sends nothing."""
        with self._cv:
            self._handlers[(impl_id, cmd)] = handler
        self._subscribe(self.cmd_topic(self.module_id, impl_id, cmd))

    def calls_received(self, impl_id: str | None = None, cmd: str | None = None) -> list[dict]:
        """Calls of our commands, in arrival order: ``{"impl","cmd","id","args","origin"}``."""
        with self._cv:
            return [dict(c) for c in self._received
                    if (impl_id is None or c["impl"] == impl_id) and (cmd is None or c["cmd"] == cmd)]

    def wait_call(self, impl_id: str, cmd: str, predicate: Callable[[dict], bool] = lambda c: True,
                  timeout: float = 10, after: int = 0) -> dict:
        """Wait for a call of our ``impl_id``/``cmd`` (index >= ``after`` among those)."""
        found: list[dict] = []

        def check():
            calls = [c for c in self._received if c["impl"] == impl_id and c["cmd"] == cmd]
            found[:] = [c for c in calls[after:] if predicate(c["args"])][:1]
            return bool(found)
        self._wait(check, timeout, f"call of {impl_id}/{cmd}")
        return dict(found[0])

    # -- variables -------------------------------------------------------------------
    def watch_var(self, module_id: str, impl_id: str, var: str) -> None:
        with self._cv:
            self._vars.setdefault((module_id, impl_id, var), [])
        self._subscribe(self.var_topic(module_id, impl_id, var))

    def values(self, module_id: str, impl_id: str, var: str) -> list:
        with self._cv:
            return list(self._vars.get((module_id, impl_id, var), []))

    def wait_var(self, module_id: str, impl_id: str, var: str,
                 predicate: Callable[[Any], bool] = lambda v: True, timeout: float = 10,
                 after: int = 0) -> Any:
        """First value (index >= ``after``) of a watched variable that satisfies ``predicate``."""
        key = (module_id, impl_id, var)
        if key not in self._vars:
            self.watch_var(module_id, impl_id, var)
        found: list = []

        def check():
            for v in self._vars[key][after:]:
                if predicate(v):
                    found.append(v)
                    return True
            return False
        self._wait(check, timeout, f"var {module_id}/{impl_id}/{var} (seen: {self._vars[key]})")
        return found[0]

    def publish_var(self, impl_id: str, var: str, value: Any) -> None:
        """Publish a variable of THIS module's implementation ``impl_id``."""
        if self.generation == G3:
            payload = {"msg_type": "Var", "data": {"data": value}}
        else:
            payload = {"name": var, "data": value}
        self._publish(self.var_topic(self.module_id, impl_id, var), payload)

    # -- errors (§1.2 / §1.3; the G2c form is our best reading: object raw on PI/error) -----
    def raise_error(self, impl_id: str, error_type: str, message: str = "", *,
                    severity: str = "High", sub_type: str = "", clear: bool = False,
                    uuid_: str | None = None) -> dict:
        obj = {
            "type": error_type, "sub_type": sub_type, "message": message, "description": message,
            "vendor_id": "everest-peer",
            "origin": {"module_id": self.module_id, "implementation_id": impl_id},
            "severity": severity,
            "timestamp": datetime.now(timezone.utc).isoformat().replace("+00:00", "Z"),
            "uuid": uuid_ or str(uuid.uuid4()),
            "state": "ClearedByModule" if clear else "Active",
        }
        base = self.impl_topic(self.module_id, impl_id) + "/error"
        if self.generation == G3:
            self._publish(f"{base}/{error_type}",
                          {"msg_type": "ClearError" if clear else "RaiseError", "data": obj})
        else:
            self._publish(base, obj)
        return obj

    def clear_error(self, impl_id: str, error_type: str, raised: dict | None = None) -> dict:
        return self.raise_error(impl_id, error_type, (raised or {}).get("message", ""),
                                clear=True, uuid_=(raised or {}).get("uuid"))

    # -- ready -----------------------------------------------------------------------
    def send_global_ready(self) -> None:
        self._publish(f"{self.prefix}ready",
                      {"msg_type": "GlobalReady", "data": True} if self.generation == G3 else True)

    def send_module_ready(self) -> None:
        self._publish(f"{self.prefix}modules/{self.module_id}/ready",
                      {"msg_type": "ModuleReady", "data": True} if self.generation == G3 else True)

    def wait_module_ready(self, module_id: str, timeout: float = 10) -> None:
        self._wait(lambda: self._ready.get(module_id, 0) > 0, timeout, f"ready of {module_id}")

    def ready_count(self, module_id: str) -> int:
        with self._cv:
            return self._ready.get(module_id, 0)

    # -- raw publish -----------------------------------------------------------------
    def publish_raw(self, topic: str, payload: bytes | str) -> None:
        self._client.publish(topic, payload, qos=2, retain=False)

    # -- internals -------------------------------------------------------------------
    def _publish(self, topic: str, obj: Any) -> None:
        self._client.publish(topic, _dumps(obj), qos=2, retain=False)

    def _wait(self, cond: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        with self._cv:
            while not cond():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{self.module_id}: timed out waiting for {what}")
                self._cv.wait(left)

    def _subscribe(self, topic: str) -> None:
        with self._cv:
            if topic in self._subs:
                return
            self._subs.append(topic)
            connected = self._connected
        if connected:
            _rc, mid = self._client.subscribe(topic, qos=2)
            self._wait(lambda: mid in self._acked, 10, f"SUBACK for {topic}")

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            return
        with self._cv:
            subs = list(self._subs)
            self._connected = True
            self.connect_count += 1
            self._resub_mid = None
        _rc, mid = client.subscribe([(t, 2) for t in subs])
        with self._cv:
            self._resub_mid = mid
            self._cv.notify_all()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        with self._cv:
            self._connected = False
            self._cv.notify_all()

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties) -> None:
        with self._cv:
            if any(rc.is_failure for rc in reason_codes):
                self.protocol_errors.append(f"subscription refused (mid {mid})")
            self._acked.add(mid)
            self._cv.notify_all()

    def _error(self, text: str) -> None:
        self.protocol_errors.append(text)

    def _on_message(self, client, userdata, msg) -> None:
        topic, raw = msg.topic, msg.payload
        with self._cv:
            for w in self._raw_waiters:
                if w["topic"] == topic and w["got"] is None:
                    if w["skip"] is not None and raw == w["skip"]:
                        w["skip"] = None
                    else:
                        w["got"] = raw
            try:
                payload = json.loads(raw)
            except ValueError:
                payload = _INVALID
            self._dispatch(topic, payload)
            self._cv.notify_all()

    def _envelope(self, topic: str, payload: Any, msg_type: str) -> Any:
        """G3: check the envelope and return ``data``; _INVALID if it is not ``msg_type``."""
        if (not isinstance(payload, dict) or payload.get("msg_type") != msg_type
                or "data" not in payload):
            self._error(f"{topic}: expected msg_type {msg_type}, got {payload!r}")
            return _INVALID
        return payload["data"]

    def _dispatch(self, topic: str, payload: Any) -> None:
        if not topic.startswith(self.prefix):
            return
        parts = topic[len(self.prefix):].split("/")
        g3 = self.generation == G3
        if parts == ["ready"]:
            data = self._envelope(topic, payload, "GlobalReady") if g3 else payload
            if data is True:
                self._global_ready += 1
            elif data is not _INVALID:
                self._error(f"{topic}: global ready is not true: {payload!r}")
            return
        if len(parts) == 3 and parts[0] == "modules" and parts[2] == "ready":
            data = self._envelope(topic, payload, "ModuleReady") if g3 else payload
            if data is True:
                self._ready[parts[1]] = self._ready.get(parts[1], 0) + 1
            elif data is not _INVALID:
                self._error(f"{topic}: module ready is not true: {payload!r}")
            return
        if len(parts) < 5 or parts[0] != "modules" or parts[2] != "impl":
            return
        module, impl, rest = parts[1], parts[3], parts[4:]
        if g3:
            self._dispatch_g3(topic, payload, module, impl, rest)
        else:
            self._dispatch_g2c(topic, payload, module, impl, rest)

    def _dispatch_g3(self, topic, payload, module, impl, rest) -> None:
        if rest[0] == "var" and len(rest) == 2:
            if (module, impl, rest[1]) in self._vars:
                data = self._envelope(topic, payload, "Var")
                if isinstance(data, dict) and "data" in data:
                    self._vars[(module, impl, rest[1])].append(data["data"])
                elif data is not _INVALID:
                    self._error(f"{topic}: Var without data.data: {payload!r}")
        elif rest[0] == "cmd" and len(rest) == 2 and module == self.module_id:
            data = self._envelope(topic, payload, "Cmd")
            if data is not _INVALID:
                self._incoming_call(topic, impl, rest[1], data)
        elif rest[0] == "cmd" and len(rest) == 4 and rest[2] == "response" \
                and rest[3] == self.module_id:
            data = self._envelope(topic, payload, "CmdResult")
            if data is _INVALID:
                return
            if not isinstance(data, dict) or data.get("type") != "result" \
                    or not isinstance(data.get("data"), dict):
                self._error(f"{topic}: CmdResult data is not {{type:result,data:{{}}}}: {payload!r}")
                return
            self._result(topic, module, data["data"])

    def _dispatch_g2c(self, topic, payload, module, impl, rest) -> None:
        if rest == ["var"]:
            if not isinstance(payload, dict) or "name" not in payload or "data" not in payload:
                if any(k[:2] == (module, impl) for k in self._vars):
                    self._error(f"{topic}: var payload is not {{name,data}}: {payload!r}")
                return
            key = (module, impl, payload["name"])
            if key in self._vars:
                self._vars[key].append(payload["data"])
        elif rest == ["cmd"]:
            if not isinstance(payload, dict) or not isinstance(payload.get("data"), dict):
                return  # raw garbage published by a test on a cmd topic
            kind = payload.get("type")
            if kind == "call" and module == self.module_id:
                self._incoming_call(topic, impl, str(payload.get("name")), payload["data"])
            elif kind == "result" and payload["data"].get("id") in self._pending:
                self._result(topic, module, payload["data"])

    def _result(self, topic: str, module: str, inner: dict) -> None:
        entry = self._pending.get(inner.get("id"))
        if entry is None:
            return
        if "retval" not in inner and "error" not in inner:
            self._error(f"{topic}: result without retval or error: {inner!r}")
        if inner.get("origin") != entry["module"]:
            self._error(f"{topic}: result origin {inner.get('origin')!r} != {entry['module']!r}")
        entry["reply"] = inner

    def _incoming_call(self, topic: str, impl: str, cmd: str, data: Any) -> None:
        if not isinstance(data, dict) or "id" not in data:
            self._error(f"{topic}: call without data.id: {data!r}")
            return
        record = {"impl": impl, "cmd": cmd, "id": data["id"], "args": data.get("args"),
                  "origin": data.get("origin")}
        if "args" not in data:
            self._error(f"{topic}: call without args: {data!r}")
        self._received.append(record)
        handler = self._handlers.get((impl, cmd))
        if handler is not None:
            self._pool.submit(self._run_handler, handler, record)

    def _run_handler(self, handler: Callable, record: dict) -> None:
        inner: dict[str, Any] = {"id": record["id"]}
        try:
            result = handler(record["args"] if record["args"] is not None else {})
            if result is NO_REPLY:
                return
            inner["retval"] = result
        except CommandError as e:
            inner["error"] = {"__everest__error_type": e.error_type, "__everest__error_msg": e.message}
        except Exception as e:  # noqa: BLE001 - a failing handler is a HandlerException reply
            inner["error"] = {"__everest__error_type": "HandlerException",
                              "__everest__error_msg": f"{type(e).__name__}: {e}"}
        inner["origin"] = self.module_id
        impl, cmd, caller = record["impl"], record["cmd"], str(record["origin"])
        topic = self.response_topic(self.module_id, impl, cmd, caller)
        if self.generation == G3:
            payload = {"msg_type": "CmdResult", "data": {"type": "result", "data": inner}}
        else:
            payload = {"name": cmd, "type": "result", "data": inner}
        self._publish(topic, payload)


_INVALID = object()
