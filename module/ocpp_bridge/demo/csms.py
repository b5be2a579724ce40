"""A small CSMS (OCPP 1.6 and 2.0.1) for the demo and the test suite.

Owns a websocket server (``websockets``) and one ``ocpp`` package ChargePoint per connected
station, on an asyncio loop in a background thread, behind a synchronous API. It answers
every charge-point → CSMS action of its version with a schema-valid default response (or a
test's override), keeps a ledger of every CALL received, records every raw frame both ways,
and lets the caller send CALLs or arbitrary frames to a station.

Payloads are OCPP's wire camelCase everywhere (ledger, ``call``, overrides): the package's
snake/camel guessing is bypassed. It knows nothing of MQTT or of the bridge's internals and
must never import them: it is the bridge's independent counterpart.
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import copy
import enum
import json
import logging
import ssl
import threading
import time
import uuid
from collections.abc import Awaitable, Sequence
from datetime import datetime, timezone
from http import HTTPStatus
from typing import Any, Callable
from urllib.parse import unquote

import ocpp.messages
from ocpp.exceptions import InternalError, NotSupportedError, OCPPError
from ocpp.exceptions import NotImplementedError as OcppNotImplemented
from ocpp.messages import Call, CallError, CallResult, MessageType, validate_payload
from ocpp.routing import on
from ocpp.v16 import ChargePoint as _ChargePoint16
from ocpp.v16.enums import Action as _Action16
from ocpp.v201 import ChargePoint as _ChargePoint201
from ocpp.v201.enums import Action as _Action201
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

LOG = logging.getLogger("ocpp_bridge.demo.csms")
VERSIONS = ("1.6", "2.0.1")


class CallErrorReceived(Exception):
    """The station answered a CSMS CALL with a CALLERROR."""

    def __init__(self, code: str, description: str = "", details: Any = None) -> None:
        super().__init__(f"{code}: {description}")
        self.code, self.description, self.details = code, description, details


class InvalidResponse(Exception):
    """The station's CALLRESULT does not validate against the action's response schema."""

    def __init__(self, action: str, payload: Any, cause: Exception) -> None:
        super().__init__(f"{action} response {payload!r} is invalid: {cause}")
        self.action, self.payload, self.cause = action, payload, cause


class CallErrorReply(OCPPError):  # type: ignore[misc]  # the ocpp package has no type information
    """Give to ``set_response`` (or raise from a response function) to answer with a
    CALLERROR carrying exactly this ``code`` (any spelling)."""

    def __init__(self, code: str, description: str = "", details: dict | None = None) -> None:
        super().__init__(description, details or {})
        self.code = code


def now_iso() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


# -- default responses: (csms, request payload) -> response payload ---------------------
def _boot(c: Csms, p: dict) -> dict:
    return {"status": c._boot_status, "currentTime": now_iso(), "interval": c._interval}


def _empty(c: Csms, p: dict) -> dict:
    return {}


def _const(value: dict) -> Callable[[Csms, dict], dict]:
    return lambda c, p: copy.deepcopy(value)


_ACCEPTED = _const({"status": "Accepted"})

DEFAULTS_16: dict[str, Callable[[Csms, dict], dict]] = {
    "BootNotification": _boot,
    "Heartbeat": lambda c, p: {"currentTime": now_iso()},
    "StatusNotification": _empty,
    "Authorize": _const({"idTagInfo": {"status": "Accepted"}}),
    "StartTransaction": lambda c, p: {"transactionId": c._next_transaction_id(),
                                      "idTagInfo": {"status": "Accepted"}},
    "StopTransaction": lambda c, p: {"idTagInfo": {"status": "Accepted"}} if "idTag" in p else {},
    "MeterValues": _empty,
    "DataTransfer": _ACCEPTED,
    "DiagnosticsStatusNotification": _empty,
    "FirmwareStatusNotification": _empty,
    "SecurityEventNotification": _empty,
    "SignCertificate": _ACCEPTED,
    "LogStatusNotification": _empty,
    "SignedFirmwareStatusNotification": _empty,
}

DEFAULTS_201: dict[str, Callable[[Csms, dict], dict]] = {
    "BootNotification": _boot,
    "Heartbeat": lambda c, p: {"currentTime": now_iso()},
    "StatusNotification": _empty,
    "Authorize": _const({"idTokenInfo": {"status": "Accepted"}}),
    "TransactionEvent": lambda c, p: {"idTokenInfo": {"status": "Accepted"}} if "idToken" in p else {},
    "MeterValues": _empty,
    "NotifyEvent": _empty,
    "NotifyReport": _empty,
    "SecurityEventNotification": _empty,
    "DataTransfer": _ACCEPTED,
    "FirmwareStatusNotification": _empty,
    "LogStatusNotification": _empty,
    "NotifyChargingLimit": _empty,
    "ReportChargingProfiles": _empty,
    "ClearedChargingLimit": _empty,
    "NotifyEVChargingNeeds": _ACCEPTED,
    "NotifyEVChargingSchedule": _ACCEPTED,
    "NotifyMonitoringReport": _empty,
    "ReservationStatusUpdate": _empty,
    # No certificate authority behind this CSMS: say so, schema-validly.
    "Get15118EVCertificate": _const({"status": "Failed", "exiResponse": ""}),
    "GetCertificateStatus": _const({"status": "Failed"}),
    "SignCertificate": _ACCEPTED,
    "NotifyCustomerInformation": _empty,
    "NotifyDisplayMessages": _empty,
    "PublishFirmwareStatusNotification": _empty,
}


def _peek(text: str) -> tuple[Any, Any]:
    """(message type id, unique id) of a raw frame, (None, None) if it is not an array."""
    try:
        msg = json.loads(text)
    except ValueError:
        return None, None
    if isinstance(msg, list) and msg:
        return msg[0], (msg[1] if len(msg) > 1 else None)
    return None, None


class _Tap:
    """The websocket as the ChargePoint sees it: records every frame and diverts the
    replies that ``send_raw`` is waiting for."""

    def __init__(self, csms: Csms, cp_id: str, ws: ServerConnection) -> None:
        self.csms, self.cp_id, self.ws = csms, cp_id, ws
        self.pending_ids: set[str] = set()        # ids of CSMS calls in flight
        self.raw_waiter: asyncio.Future | None = None
        self.raw_lock = asyncio.Lock()
        self.closed = asyncio.Event()

    async def recv(self) -> str:
        while True:
            data = await self.ws.recv()
            text = data if isinstance(data, str) else data.decode("utf-8", errors="replace")
            self.csms._record(self.cp_id, "in", text)
            kind, uid = _peek(text)
            waiter = self.raw_waiter
            if kind in (MessageType.CallResult, MessageType.CallError) and waiter is not None \
                    and not waiter.done() and uid not in self.pending_ids:
                waiter.set_result(text)
                continue
            return text

    async def send(self, text: str) -> None:
        self.csms._record(self.cp_id, "out", text)
        await self.ws.send(text)


class _StationMixin:
    """What both versions' ChargePoints share: wire-camelCase dispatch and calls."""

    _csms: Csms
    _tap: _Tap
    _actions: type[enum.Enum]  # the version's Action enum (``_station_class`` sets it)
    # what the ocpp package's ChargePoint, the other base of every station class, provides
    id: str
    route_map: dict[str, dict[str, Any]]
    _ocpp_version: str
    _call_lock: asyncio.Lock
    _send: Callable[[str], Awaitable[None]]
    _get_specific_response: Callable[[str, float], Awaitable[Any]]

    async def _handle_call(self, msg: Call) -> None:  # replaces the package's camel/snake path
        csms = self._csms
        try:
            handlers = self.route_map.get(msg.action) or {}
            if "_on_action" not in handlers:
                known = msg.action in {a.value for a in self._actions}
                raise (OcppNotImplemented if known else NotSupportedError)(
                    details={"cause": f"{msg.action} is not handled by this CSMS"})
            await validate_payload(msg, self._ocpp_version)
            payload, validate = handlers["_on_action"](msg.payload)
            result = msg.create_call_result(payload)
            if validate:
                check = CallResult(msg.unique_id, copy.deepcopy(payload), msg.action)
                await validate_payload(check, self._ocpp_version)
        except OCPPError as e:
            csms._annotate(self.id, msg.unique_id, error=e.code)
            raise
        except Exception as e:  # noqa: BLE001 - a bug here must not kill the connection
            LOG.exception("CSMS handler for %s failed", msg.action)
            csms._annotate(self.id, msg.unique_id, error="InternalError")
            raise InternalError(details={"cause": repr(e)}) from e
        csms._annotate(self.id, msg.unique_id, response=payload)
        await self._send(result.to_json())

    async def call_payload(self, action: str, payload: dict, timeout: float,
                           validate: bool) -> dict:
        call = Call(str(uuid.uuid4()), action, payload)
        if validate:
            await validate_payload(Call(call.unique_id, action, copy.deepcopy(payload)),
                                   self._ocpp_version)
        async with self._call_lock:
            self._tap.pending_ids.add(call.unique_id)
            try:
                await self._send(call.to_json())
                response = await self._get_specific_response(call.unique_id, timeout)
            except asyncio.TimeoutError:
                raise TimeoutError(f"{self.id}: no reply to {action} within {timeout} s") from None
            finally:
                self._tap.pending_ids.discard(call.unique_id)
        if response.message_type_id == MessageType.CallError:
            assert isinstance(response, CallError)
            raise CallErrorReceived(response.error_code, response.error_description,
                                    response.error_details)
        if validate:
            check = CallResult(response.unique_id, copy.deepcopy(response.payload), action)
            try:
                await validate_payload(check, self._ocpp_version)
            except OCPPError as e:
                raise InvalidResponse(action, response.payload, e) from e
        return response.payload


def _make_handler(action: str) -> Callable:
    def handler(self, payload: dict) -> tuple[dict, bool]:
        return self._csms._respond(self.id, action, payload)
    handler.__name__ = "_csms_on_" + action
    return on(action)(handler)


def _station_class(base: type[Any], defaults: dict, actions: type[enum.Enum]) -> type:
    attrs: dict[str, Any] = {"_actions": actions}
    for action in defaults:
        fn = _make_handler(action)
        attrs[fn.__name__] = fn
    return type(f"CsmsStation{base._ocpp_version.replace('.', '')}", (_StationMixin, base), attrs)


_STATION16 = _station_class(_ChargePoint16, DEFAULTS_16, _Action16)
_STATION201 = _station_class(_ChargePoint201, DEFAULTS_201, _Action201)


def _tls_of(ws: ServerConnection) -> dict | None:
    """The TLS side of a connection: its version and the client certificate's subject and serial
    number (hex), or None."""
    ssl_object = ws.transport.get_extra_info("ssl_object")
    if ssl_object is None:
        return None
    cert = ssl_object.getpeercert() or {}
    subject = {k: v for rdn in cert.get("subject", ()) for k, v in rdn}
    return {"version": ssl_object.version(), "client_subject": subject or None,
            "client_serial": cert.get("serialNumber")}


class Csms:
    """``Csms("1.6").start()``; stations connect to ``url + "/" + cp_id``."""

    def __init__(self, version: str, *, host: str = "127.0.0.1", port: int = 0,
                 boot_status: str = "Accepted", heartbeat_interval: int = 300,
                 basic_auth_password: str | None = None,
                 on_frame: Callable[[str, str, str], None] | None = None,
                 also_accepts: Sequence[str] = (), ssl_context: ssl.SSLContext | None = None) -> None:
        """``also_accepts``: subprotocols the handshake takes after the version's own (it still
        picks its own first when a station offers it; for stations offering several).
        ``ssl_context``: a server context for ``wss://`` (with ``verify_mode`` CERT_REQUIRED the
        station's certificate is checked; ``handshake()`` then holds its subject)."""
        if version not in VERSIONS:
            raise ValueError(f"version must be one of {VERSIONS}")
        self.version = version
        self.subprotocol = "ocpp1.6" if version == "1.6" else "ocpp2.0.1"
        self.also_accepts = list(also_accepts)
        self.host, self.port = host, port
        self._boot_status, self._interval = boot_status, heartbeat_interval
        self.basic_auth_password = basic_auth_password
        self.ssl_context = ssl_context
        self.on_frame = on_frame
        self._defaults = DEFAULTS_16 if version == "1.6" else DEFAULTS_201
        self._station_cls = _STATION16 if version == "1.6" else _STATION201
        self._cv = threading.Condition()
        self._ledger: list[dict] = []
        self._by_uid: dict[tuple[str, str], dict] = {}
        self._frames: list[dict] = []
        self._overrides: dict[str, Any] = {}
        self._stations: dict[str, Any] = {}
        self._conn_count: dict[str, int] = {}
        self._handshakes: dict[str, dict] = {}
        self.rejected: list[dict] = []            # refused handshakes: {"path","status"}
        self._tx = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: Server | None = None

    # -- lifecycle -------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"{'wss' if self.ssl_context is not None else 'ws'}://{self.host}:{self.port}/ocpp"

    def start(self) -> Csms:
        ocpp.messages.ASYNC_VALIDATION = False    # field-notes: halves the latency
        loop = self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=loop.run_forever, name="csms", daemon=True)
        self._thread.start()
        self._run(self._astart(), 10)
        return self

    async def _astart(self) -> None:
        server = self._server = await serve(
            self._serve, self.host, self.port,
            subprotocols=[Subprotocol(name) for name in (self.subprotocol, *self.also_accepts)],
            process_request=self._process_request, ping_interval=None, close_timeout=3, ssl=self.ssl_context)
        self.port = next(iter(server.sockets)).getsockname()[1]

    def stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        try:
            self._run(self._astop(), 10)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(10)
            loop.close()
            self._loop = None

    async def _astop(self) -> None:
        server, self._server = self._server, None
        if server is not None:  # None when serve() failed in start()
            server.close()
            await server.wait_closed()

    def __enter__(self) -> Csms:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- configuration ---------------------------------------------------------------
    def set_boot_response(self, status: str, interval: int) -> None:
        self._boot_status, self._interval = status, interval

    def set_response(self, action: str, payload_or_fn: Any) -> None:
        """Override the answer to ``action``: a payload dict (sent as is, NOT validated),
        a function ``fn(request_payload) -> dict`` (may raise CallErrorReply), a
        CallErrorReply/OCPPError instance (answer with a CALLERROR), or None (default)."""
        with self._cv:
            if payload_or_fn is None:
                self._overrides.pop(action, None)
            else:
                self._overrides[action] = payload_or_fn

    def default_response(self, action: str, payload: dict | None = None) -> dict:
        """What this CSMS answers to ``action`` when not overridden."""
        return self._defaults[action](self, payload or {})

    # -- stations --------------------------------------------------------------------
    def connected(self, cp_id: str) -> bool:
        with self._cv:
            return cp_id in self._stations

    def stations(self) -> list[str]:
        with self._cv:
            return list(self._stations)

    def connection_count(self, cp_id: str) -> int:
        """How many times ``cp_id`` has opened a websocket to this CSMS."""
        with self._cv:
            return self._conn_count.get(cp_id, 0)

    def handshake(self, cp_id: str) -> dict:
        """The last accepted upgrade of ``cp_id``: {"path","headers","subprotocol"}."""
        with self._cv:
            return copy.deepcopy(self._handshakes[cp_id])

    def wait_for_station(self, cp_id: str, timeout: float = 10, count: int = 1) -> None:
        """Wait until ``cp_id`` is connected, on its ``count``-th connection or later."""
        self._wait(lambda: cp_id in self._stations and self._conn_count.get(cp_id, 0) >= count,
                   timeout, f"station {cp_id} to connect (connection #{count})")

    def wait_disconnected(self, cp_id: str, timeout: float = 10) -> None:
        self._wait(lambda: cp_id not in self._stations, timeout, f"station {cp_id} to go away")

    def disconnect(self, cp_id: str, code: int = 1000, timeout: float = 10, *,
                   abort: bool = False) -> None:
        """Close the station's websocket from the server side and wait until it is gone.
        ``abort=True`` drops the TCP connection without a closing handshake (a network
        failure as the station sees it)."""
        station = self._station(cp_id)

        async def close() -> None:
            if abort:
                station._tap.ws.transport.abort()
            else:
                await station._tap.ws.close(code)
            await station._tap.closed.wait()
        self._run(close(), timeout)

    # -- ledger and frames -----------------------------------------------------------
    @property
    def ledger(self) -> list[dict]:
        return self.entries()

    def entries(self, action: str | None = None, cp_id: str | None = None) -> list[dict]:
        """CALLs received from stations, in arrival order: {"index","cp_id","action",
        "payload","unique_id","time"} plus "response" (payload sent) or "error" (code)."""
        with self._cv:
            return [copy.deepcopy(e) for e in self._ledger
                    if (action is None or e["action"] == action)
                    and (cp_id is None or e["cp_id"] == cp_id)]

    def mark(self) -> int:
        """Current ledger length, for ``wait_for(..., after_index=csms.mark())``."""
        with self._cv:
            return len(self._ledger)

    def wait_for(self, predicate_or_action: str | Callable[[dict], bool], cp_id: str | None = None,
                 timeout: float = 10, after_index: int = 0, answered: bool = True) -> dict:
        """First ledger entry (index >= after_index) with that action / matching predicate.
        With ``answered`` (default) it also waits, within the same timeout, until the CSMS has
        answered that CALL, so ``"response"``/``"error"`` is in the entry when there is one."""
        if isinstance(predicate_or_action, str):
            action = predicate_or_action
            match: Callable[[dict], bool] = lambda e: e["action"] == action  # noqa: E731
        else:
            match = predicate_or_action
        found: list[dict] = []

        def check() -> bool:
            for e in self._ledger[after_index:]:
                if (cp_id is None or e["cp_id"] == cp_id) and match(e):
                    found.append(e)
                    return True
            return False
        try:
            self._wait(check, timeout, f"{predicate_or_action!r} from {cp_id or 'any station'}")
        except TimeoutError as e:
            seen = [x["action"] for x in self._ledger[after_index:]]
            raise TimeoutError(f"{e}; received since #{after_index}: {seen}") from None
        if answered:
            entry = found[0]
            try:
                self._wait(lambda: "response" in entry or "error" in entry, timeout, "the CSMS's answer")
            except TimeoutError:
                pass  # never answered (e.g. the connection was cut): the entry as it is
        with self._cv:
            return copy.deepcopy(found[0])

    def frames(self, cp_id: str | None = None) -> list[dict]:
        """Every raw frame both ways: {"cp_id","direction" ("in"|"out"),"text","time"}."""
        with self._cv:
            return [dict(f) for f in self._frames if cp_id is None or f["cp_id"] == cp_id]

    # -- CSMS -> station -------------------------------------------------------------
    def call(self, cp_id: str, action: str, payload: dict, timeout: float = 10, *,
             validate: bool = True) -> dict:
        """Send a CALL and return the CALLRESULT payload (camelCase). Raises
        CallErrorReceived, InvalidResponse (schema check of the reply) or TimeoutError.
        ``validate=False`` sends an invalid request and accepts any reply."""
        station = self._station(cp_id)
        return self._run(station.call_payload(action, payload, timeout, validate), timeout + 5)

    def send_raw(self, cp_id: str, text: str, timeout: float = 10, *,
                 expect_reply: bool = True) -> str | None:
        """Send any text frame; return the next CALLRESULT/CALLERROR frame the station sends
        (station CALLs and replies to ``call()`` in flight are not taken)."""
        station = self._station(cp_id)
        tap: _Tap = station._tap

        async def go() -> str | None:
            async with tap.raw_lock:
                if not expect_reply:
                    await tap.send(text)
                    return None
                tap.raw_waiter = asyncio.get_running_loop().create_future()
                try:
                    await tap.send(text)
                    return await asyncio.wait_for(tap.raw_waiter, timeout)
                finally:
                    tap.raw_waiter = None
        return self._run(go(), timeout + 5)

    # -- internals -------------------------------------------------------------------
    def _run(self, coro, timeout: float) -> Any:
        if self._loop is None:
            coro.close()
            raise RuntimeError("Csms is not started")
        fut = asyncio.run_coroutine_threadsafe(coro, self._loop)
        try:
            return fut.result(timeout)
        except (TimeoutError, concurrent.futures.TimeoutError):
            if fut.done():
                raise   # raised inside the operation: keep its message
            fut.cancel()
            raise TimeoutError(f"CSMS operation timed out after {timeout} s") from None

    def _wait(self, cond: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        with self._cv:
            while not cond():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"CSMS: timed out waiting for {what}")
                self._cv.wait(left)

    def _station(self, cp_id: str):
        with self._cv:
            station = self._stations.get(cp_id)
        if station is None:
            raise ConnectionError(f"station {cp_id!r} is not connected to the CSMS")
        return station

    def _next_transaction_id(self) -> int:
        with self._cv:
            self._tx += 1
            return self._tx

    def _respond(self, cp_id: str, action: str, payload: dict) -> tuple[dict, bool]:
        with self._cv:
            override = self._overrides.get(action)
        if override is None:
            return self._defaults[action](self, payload), True
        if isinstance(override, BaseException):
            raise override
        if callable(override):
            return override(copy.deepcopy(payload)), False
        return copy.deepcopy(override), False

    def _record(self, cp_id: str, direction: str, text: str) -> None:
        now = time.time()
        with self._cv:
            self._frames.append({"cp_id": cp_id, "direction": direction, "text": text, "time": now})
            if direction == "in":
                try:
                    msg = json.loads(text)
                except ValueError:
                    msg = None
                if isinstance(msg, list) and len(msg) >= 4 and msg[0] == MessageType.Call:
                    entry = {"index": len(self._ledger), "cp_id": cp_id, "action": msg[2],
                             "payload": msg[3], "unique_id": msg[1], "time": now}
                    self._ledger.append(entry)
                    self._by_uid[(cp_id, str(msg[1]))] = entry
            self._cv.notify_all()
        if self.on_frame is not None:
            try:
                self.on_frame(cp_id, direction, text)
            except Exception:  # noqa: BLE001 - a display callback must not break the CSMS
                LOG.exception("on_frame callback failed")

    def _annotate(self, cp_id: str, unique_id: str, **fields: Any) -> None:
        with self._cv:
            entry = self._by_uid.get((cp_id, str(unique_id)))
            if entry is not None:
                entry.update(copy.deepcopy(fields))
                self._cv.notify_all()

    def _process_request(self, connection: ServerConnection, request):
        path = request.path.split("?", 1)[0]
        cp_id = unquote(path[len("/ocpp/"):]) if path.startswith("/ocpp/") else ""
        if not cp_id or "/" in cp_id:
            return self._reject(connection, path, HTTPStatus.NOT_FOUND, "unknown path")
        if self.basic_auth_password is not None:
            expected = base64.b64encode(f"{cp_id}:{self.basic_auth_password}".encode()).decode()
            got = request.headers.get("Authorization", "")
            if got != f"Basic {expected}":
                response = self._reject(connection, path, HTTPStatus.UNAUTHORIZED, "bad credentials")
                response.headers["WWW-Authenticate"] = 'Basic realm="ocpp", charset="UTF-8"'
                return response
        return None

    def _reject(self, connection: ServerConnection, path: str, status: HTTPStatus, text: str):
        with self._cv:
            self.rejected.append({"path": path, "status": int(status)})
            self._cv.notify_all()
        return connection.respond(status, text + "\n")

    async def _serve(self, ws: ServerConnection) -> None:
        request = ws.request
        assert request is not None  # websockets runs the handler only after the handshake
        cp_id = unquote(request.path.split("?", 1)[0][len("/ocpp/"):])
        tap = _Tap(self, cp_id, ws)
        station = self._station_cls(cp_id, tap, response_timeout=30,
                                   logger=LOG.getChild("ocpp"))
        station._csms, station._tap = self, tap
        with self._cv:
            self._stations[cp_id] = station
            self._conn_count[cp_id] = self._conn_count.get(cp_id, 0) + 1
            self._handshakes[cp_id] = {"path": request.path,
                                       "headers": dict(request.headers.raw_items()),
                                       "subprotocol": ws.subprotocol,
                                       "tls": _tls_of(ws)}
            self._cv.notify_all()
        try:
            await station.start()
        except ConnectionClosed:
            pass
        finally:
            tap.closed.set()
            with self._cv:
                if self._stations.get(cp_id) is station:
                    del self._stations[cp_id]
                self._cv.notify_all()
