"""The websocket connection to the CSMS, on its own thread (websocket-client).

Owns: dialling the CSMS URL offering the OCPP subprotocol(s) (``ocpp1.6`` and/or
``ocpp2.0.1``, in our order of preference) and, for security profile 1, an HTTP Basic
``Authorization`` header; checking that the server agreed one of them (``Connected`` says
which); websocket pings and
the pong timeout; closing with 1007 on a text message that is not UTF-8 (RFC 6455
§8.1: we decode it ourselves); re-dialling forever with ``Backoff`` (jitter on every re-dial,
also after a pong timeout: libocpp #1175 is the bug we must not have);
``pause``/``resume``/``stop``; TCP_NODELAY on the socket; the queue of frames
waiting to be written (``send`` hands them over, this thread writes them);
new Basic credentials, a new TLS context or a whole new endpoint (URL, credentials, TLS
context: a security-profile switch) for the next dial (``set_basic_auth``, ``set_ssl_context``,
``set_endpoint``); every failed dial is reported as ``DialFailed``, saying whether the TLS
handshake found the server's certificate invalid (then re-dialled with back-off like any
failed dial, and never retried without TLS: the URL's scheme alone decides).

Must never: parse or build OCPP messages, keep protocol state, block in the
``on_event`` callback's place, make a caller of ``send`` wait for the network,
or log the Authorization header. It turns network traffic into four events,
``Connected``, ``Disconnected`` (once per connection that was up and went
down), ``DialFailed`` (once per dial that did not bring a connection up; not for a dial cut
short by ``pause``/``stop``) and ``TextReceived``, delivered
by calling ``on_event`` from the transport thread; the engine is expected to
put them on its inbox queue and return at once.

Theory of operation
-------------------
One thread runs ``_loop``: dial, serve, wait, dial again. Serving is a
``poll`` over the websocket's socket and a wake-up socket pair, with a timeout
that lands on the next ping or the pong deadline, so the thread owns every read,
every write and every ping, and ``pause``/``resume``/``stop`` take effect at once
by setting a flag under the lock and writing one byte to the wake-up pair.

Writes: ``send`` (from the engine thread) only appends the text to the outgoing
queue of the live connection and wakes the thread; it never waits for the
network. The thread writes queued frames in the order they were queued, before
it acts on a ``pause``/``reconnect``/``stop`` asked for after them (so an answer
queued before a reconnect still leaves on the old connection). A write that makes
no progress for ``connect_timeout_s`` (a peer that stopped reading) fails and
drops the connection, like any failed write; the engine hears ``Disconnected``.
Frames still queued when a connection ends are discarded, never written on the
next connection: each connection has a number (``Connected.connection``) and a
``send`` for another number is refused. A dial in progress is cut short by
``pause``/``stop`` shutting its socket down: the socket is opened here (TCP, then TLS for
``wss://``) and handed to websocket-client for the HTTP upgrade, so every step of the dial
can be cut, the TCP connect included. A server that never completes TCP, TLS or the
handshake is given ``connect_timeout_s`` for each step. HTTP proxies are not used: the
CSMS is dialled directly.
"""

from __future__ import annotations

import base64
import logging
import select
import socket
import ssl
import threading
import time
import urllib.parse
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Callable

import websocket

from .backoff import Backoff

log = logging.getLogger(__name__)

CLOSE_TIMEOUT_S = 1.0
STATUS_NORMAL = 1000
STATUS_PROTOCOL_ERROR = 1002
STATUS_INVALID_PAYLOAD = 1007  # RFC 6455 §7.4.1: a text message that is not UTF-8


@dataclass(frozen=True)
class Connected:
    subprotocol: str
    connection: int = field(default=0, compare=False)  # the number to pass to ``send``


@dataclass(frozen=True)
class Disconnected:
    reason: str


@dataclass(frozen=True)
class DialFailed:
    """A dial did not bring a connection up; ``certificate_rejected``: because the server's
    certificate did not verify (``reason`` is then the TLS library's)."""
    reason: str
    certificate_rejected: bool = False


@dataclass(frozen=True)
class TextReceived:
    text: str


def basic_auth_token(user: str, password: str) -> str:
    """The credentials of an HTTP Basic ``Authorization`` header (base64 of ``user:password``)."""
    if ":" in user:
        raise ValueError("a Basic auth user id (the charge point id) must not contain ':'")
    return base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


def _describe(exc: BaseException) -> str:
    if isinstance(exc, websocket.WebSocketBadStatusException):
        return f"HTTP status {exc.status_code}"
    if isinstance(exc, (socket.timeout, websocket.WebSocketTimeoutException)):
        return "timed out"
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class WebSocketTransport:
    def __init__(self, url: str, subprotocols: str | Sequence[str], on_event: Callable[[object], None], *,
                 basic_auth: tuple[str, str] | None = None, ping_interval_s: float = 30,
                 pong_timeout_s: float = 10, backoff: Backoff, connect_timeout_s: float = 10,
                 ssl_context: ssl.SSLContext | None = None) -> None:
        if ping_interval_s < 0 or pong_timeout_s <= 0 or connect_timeout_s <= 0:
            raise ValueError("ping interval must be >= 0 (0: no pings), timeouts > 0")
        self._url = url
        self._subprotocols = [subprotocols] if isinstance(subprotocols, str) else list(subprotocols)
        if not self._subprotocols:
            raise ValueError("at least one subprotocol to offer")
        self._agreed = self._subprotocols[0]
        self._on_event = on_event
        self._ping_interval_s = float(ping_interval_s)
        self._pong_timeout_s = float(pong_timeout_s)
        self._connect_timeout_s = float(connect_timeout_s)
        self._backoff = backoff
        self._ssl_context = ssl_context  # for wss:// (None: the system's default trust)
        self._authorization: str | None = None
        if basic_auth is not None:
            self._authorization = f"Authorization: Basic {basic_auth_token(*basic_auth)}"

        self._lock = threading.Lock()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._wake_poll = select.poll()  # poll, not select: no FD_SETSIZE limit
        self._wake_poll.register(self._wake_r, select.POLLIN)
        self._thread: threading.Thread | None = None
        self._stop = False
        self._paused = False
        self._dial_now = False
        self._reconnect = False  # close the live connection once and dial again (reconnect())
        self._ws: websocket.WebSocket | None = None       # up and handed out
        self._dialing: socket.socket | None = None        # a duplicate of the socket being dialled
        self._connection = 0                              # number of the latest connection that came up
        self._outgoing: deque[str] = deque()              # frames queued for the live connection

    # ------------------------------------------------------------ public API

    def start(self) -> None:
        """Start the thread; it connects, and re-dials with back-off until ``stop``."""
        with self._lock:
            if self._thread is not None:
                raise RuntimeError("transport already started")
            if self._stop:
                raise RuntimeError("transport was stopped")
            self._thread = threading.Thread(target=self._run, name="ocpp-websocket", daemon=True)
        self._thread.start()

    def send(self, text: str, connection: int | None = None) -> bool:
        """Queue one text message for the live connection; the transport thread writes it.

        Thread-safe; never waits for the network and never raises. False when there is no
        live connection, or (``connection`` given) when the live one is not that number:
        a frame meant for a connection that is gone is never written on the next one.
        True means queued: if the connection ends before the frame is written, it is
        discarded and ``Disconnected`` follows."""
        with self._lock:
            if (self._ws is None or self._stop or self._paused
                    or (connection is not None and connection != self._connection)):
                return False
            self._outgoing.append(text)
        self._wake()
        return True

    def set_basic_auth(self, user: str, password: str) -> None:
        """Use these HTTP Basic credentials from the next dial on (the live connection stays)."""
        header = f"Authorization: Basic {basic_auth_token(user, password)}"
        with self._lock:
            self._authorization = header

    def set_endpoint(self, url: str, basic_auth: tuple[str, str] | None, context: ssl.SSLContext | None) -> None:
        """Dial ``url`` with these credentials and TLS context from the next dial on."""
        header = None if basic_auth is None else f"Authorization: Basic {basic_auth_token(*basic_auth)}"
        with self._lock:
            self._url = url
            self._authorization = header
            self._ssl_context = context

    def set_ssl_context(self, context: ssl.SSLContext | None) -> None:
        """Use this TLS context for ``wss://`` from the next dial on (the live connection stays)."""
        with self._lock:
            self._ssl_context = context

    def pause(self) -> None:
        """Close the connection (1000) and do not re-dial until ``resume``."""
        with self._lock:
            self._paused = True
            self._dial_now = False
            dialing = self._dialing
        self._wake()
        if dialing is not None:
            _cut(dialing)

    def resume(self) -> None:
        """Dial again now, with the back-off reset. No effect while connected."""
        with self._lock:
            if self._stop:
                return
            self._paused = False
            if self._ws is None:
                self._dial_now = True
        self._wake()

    def reconnect(self) -> None:
        """Close the connection (1000) if there is one and dial again at once (after a reset)."""
        with self._lock:
            if self._stop:
                return
            self._paused = False
            self._reconnect = self._ws is not None
            self._dial_now = True
        self._wake()

    def stop(self, timeout: float = 5) -> None:
        """Close the connection (1000) and join the thread (at most ``timeout`` s)."""
        with self._lock:
            self._stop = True
            thread = self._thread
            dialing = self._dialing
        self._wake()
        if dialing is not None:
            _cut(dialing)
        if thread is None:
            self._close_wake_pair()
            return
        if thread is threading.current_thread():
            return  # called from on_event: the loop ends when the callback returns
        thread.join(timeout)
        if thread.is_alive():  # e.g. a write stuck on a peer that stopped reading: cut it
            with self._lock:
                ws = self._ws
            if ws is not None:
                self._abort(ws)
            thread.join(CLOSE_TIMEOUT_S)
        if thread.is_alive():
            log.warning("transport thread still running %.1f s after stop()", timeout + CLOSE_TIMEOUT_S)

    @property
    def connected(self) -> bool:
        with self._lock:
            return self._ws is not None and not self._paused and not self._stop

    # ------------------------------------------------------------ thread

    def _run(self) -> None:
        try:
            self._loop()
        except Exception:  # a bug here must be visible, not a silent dead link
            log.exception("transport thread failed")
        finally:
            self._end_connection()
            self._close_wake_pair()

    def _loop(self) -> None:
        while True:
            with self._lock:
                if self._stop:
                    return
                paused = self._paused
                if not paused and self._dial_now:
                    self._dial_now = False
                    self._backoff.reset()
            if paused:
                self._sleep(None)
                continue

            ws = self._dial()
            if ws is None:
                if not self._interrupted():
                    self._wait_backoff()
                continue

            self._backoff.reset()
            with self._lock:
                abandon = self._stop or self._paused
                if not abandon:
                    self._ws = ws
                    self._dial_now = False
                    self._connection += 1
                    self._outgoing.clear()
                    number = self._connection
            if abandon:
                self._close(ws, STATUS_NORMAL, "closing")
                continue

            log.info("connected to %s (%s)", self._url, self._agreed)
            self._emit(Connected(self._agreed, number))
            reason = self._serve(ws)
            self._end_connection()
            log.info("disconnected: %s", reason)
            self._emit(Disconnected(reason))
            if not self._interrupted():
                self._wait_backoff()

    def _dial(self) -> websocket.WebSocket | None:
        with self._lock:
            url = self._url
            headers = [f"Sec-WebSocket-Protocol: {', '.join(self._subprotocols)}"]
            if self._authorization is not None:
                headers.append(self._authorization)
        try:
            sock = self._open_socket(url)
            if sock is None:
                return None  # stopped or paused before the dial began
            ws = websocket.WebSocket(
                enable_multithread=True,
                # We decode text ourselves (``_serve``) so that bad UTF-8 gets its close code 1007;
                # websocket-client's own check raises first and the connection would just drop.
                skip_utf8_validation=True,
            )
            # The subprotocol header is ours, not websocket-client's
            # ``subprotocols=``: we check the answer ourselves and say why.
            ws.connect(url, socket=sock, timeout=self._connect_timeout_s, header=headers)
        except Exception as exc:
            log.warning("dial %s failed: %s", url, _describe(exc))
            self._end_dial()
            if isinstance(exc, ssl.SSLCertVerificationError):
                self._emit(DialFailed(exc.verify_message or _describe(exc), certificate_rejected=True))
            elif not self._interrupted():
                self._emit(DialFailed(_describe(exc)))
            return None
        self._end_dial()
        agreed = (ws.getheaders() or {}).get("sec-websocket-protocol")
        if agreed is None or agreed.strip() not in self._subprotocols:
            log.warning("dial %s failed: server agreed subprotocol %r, we offered %s",
                        url, agreed, ", ".join(self._subprotocols))
            self._close(ws, STATUS_PROTOCOL_ERROR, "subprotocol not agreed")
            self._emit(DialFailed(f"subprotocol {agreed!r} not agreed"))
            return None
        self._agreed = agreed.strip()
        return ws

    def _open_socket(self, url: str) -> socket.socket | None:
        """TCP (and for ``wss://`` TLS) to the URL's host, each step bounded by the connect timeout.

        The socket is ours, not websocket-client's, so that ``pause``/``stop`` can cut every
        step of the dial (TCP connect, TLS and HTTP handshakes) by shutting down a duplicate of
        it (``_dialing``); websocket-client would hand its socket out only after TCP is up.
        None when stopped or paused before the dial began."""
        parts = urllib.parse.urlsplit(url)
        secure = parts.scheme == "wss"
        host = parts.hostname or ""
        port = parts.port or (443 if secure else 80)
        error: OSError = OSError(f"no address for {host}")
        with self._lock:
            context = self._ssl_context
        for family, kind, proto, _, address in socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM):
            sock = socket.socket(family, kind, proto)
            with self._lock:
                if self._stop or self._paused:
                    sock.close()
                    return None
                self._dialing = sock.dup()
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.settimeout(self._connect_timeout_s)
            try:
                sock.connect(address)
                if secure:
                    sock = (context or ssl.create_default_context()).wrap_socket(sock, server_hostname=host)
                return sock
            except OSError as exc:
                sock.close()
                self._end_dial()
                if isinstance(exc, ssl.SSLCertVerificationError):
                    raise  # the same server behind every address: its certificate is the problem
                error = exc
        raise error

    def _end_dial(self) -> None:
        """The dial is over: drop the duplicate that let ``pause``/``stop`` cut it."""
        with self._lock:
            dialing, self._dialing = self._dialing, None
        if dialing is not None:
            dialing.close()

    def _serve(self, ws: websocket.WebSocket) -> str:
        """Write, read and ping until the connection ends; returns why it ended."""
        sock = ws.sock
        assert sock is not None  # a connected websocket has its socket
        poller = select.poll()
        poller.register(sock, select.POLLIN)
        poller.register(self._wake_r, select.POLLIN)
        wake_fd = self._wake_r.fileno()
        interval = self._ping_interval_s
        next_ping = time.monotonic() + interval if interval > 0 else None
        pong_deadline: float | None = None
        while True:
            with self._lock:  # one look: every frame queued before a flag was set is in the batch
                batch = list(self._outgoing)
                self._outgoing.clear()
                stop, paused, again = self._stop, self._paused, self._reconnect
                self._reconnect = False
            failed = self._write(ws, batch)
            if failed is not None:
                return failed
            if stop or paused or again:
                why = "stopped" if stop else ("paused" if paused else "reconnecting")
                self._close(ws, STATUS_NORMAL, why)
                return why

            now = time.monotonic()
            if pong_deadline is not None and now >= pong_deadline:
                log.warning("no pong within %.1f s; dropping the connection", self._pong_timeout_s)
                ws.shutdown()
                return "pong timeout"
            if next_ping is not None and now >= next_ping:
                try:
                    ws.ping()
                except Exception as exc:
                    ws.shutdown()
                    return f"ping failed: {_describe(exc)}"
                if pong_deadline is None:
                    pong_deadline = now + self._pong_timeout_s
                next_ping = now + interval

            deadlines = [t for t in (next_ping, pong_deadline) if t is not None]
            timeout = max(0.0, min(deadlines) - now) if deadlines else None
            if isinstance(sock, ssl.SSLSocket) and sock.pending():
                readable = True
            else:
                try:
                    ready = poller.poll(None if timeout is None else timeout * 1000)
                except OSError as exc:
                    ws.shutdown()
                    return f"connection lost: {_describe(exc)}"
                readable = False
                for fd, _ in ready:  # POLLHUP/POLLERR too: recv will say what happened
                    if fd == wake_fd:
                        self._drain_wake()
                    else:
                        readable = True
            if not readable:
                continue

            try:
                opcode, frame = ws.recv_data_frame(True)
            except websocket.WebSocketConnectionClosedException:
                ws.shutdown()
                return "connection closed"
            except Exception as exc:
                ws.shutdown()
                return f"connection lost: {_describe(exc)}"

            if opcode == websocket.ABNF.OPCODE_TEXT:
                try:
                    text = frame.data.decode("utf-8") if isinstance(frame.data, bytes) else frame.data
                except UnicodeDecodeError:
                    log.warning("the CSMS sent a text message that is not UTF-8; closing with 1007")
                    self._close(ws, STATUS_INVALID_PAYLOAD, "invalid UTF-8")
                    return "invalid UTF-8 from the server"
                self._emit(TextReceived(text))
            elif opcode == websocket.ABNF.OPCODE_PONG:
                pong_deadline = None
            elif opcode == websocket.ABNF.OPCODE_CLOSE:
                ws.shutdown()  # websocket-client has already answered the close
                return f"closed by the server ({_close_status(frame.data)})"
            elif opcode == websocket.ABNF.OPCODE_BINARY:
                log.warning("ignoring a binary message of %d bytes (OCPP-J is text)", len(frame.data))
            # OPCODE_PING: websocket-client has answered it with a pong.

    # ------------------------------------------------------------ helpers

    def _write(self, ws: websocket.WebSocket, frames: list[str]) -> str | None:
        """Write ``frames`` in order; on a failure drop the connection and say why."""
        for text in frames:
            try:
                ws.send(text)
            except Exception as exc:  # a half-written frame: this connection is done for
                log.warning("send failed (%s); dropping the connection", _describe(exc))
                ws.shutdown()
                return f"send failed: {_describe(exc)}"
        return None

    def _end_connection(self) -> None:
        """The live connection is over: what is still queued for it is never written."""
        with self._lock:
            self._ws = None
            unsent = len(self._outgoing)
            self._outgoing.clear()
        if unsent:
            log.info("%d queued frame(s) not written: the connection ended", unsent)

    def _interrupted(self) -> bool:
        with self._lock:
            return self._stop or self._paused or self._dial_now

    def _wait_backoff(self) -> None:
        delay = self._backoff.next_delay()
        log.info("re-dialling %s in %.2f s (attempt %d)", self._url, delay, self._backoff.attempts)
        deadline = time.monotonic() + delay
        while not self._interrupted():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            self._sleep(remaining)

    def _sleep(self, timeout: float | None) -> None:
        try:
            ready = self._wake_poll.poll(None if timeout is None else timeout * 1000)
        except OSError:
            return
        if ready:
            self._drain_wake()

    def _wake(self) -> None:
        try:
            self._wake_w.send(b"\0")
        except OSError:  # full (already woken) or closed (thread gone)
            pass

    def _drain_wake(self) -> None:
        try:
            while self._wake_r.recv(4096):
                pass
        except OSError:
            pass

    def _close_wake_pair(self) -> None:
        for s in (self._wake_r, self._wake_w):
            try:
                s.close()
            except OSError:
                pass

    def _emit(self, event: object) -> None:
        try:
            self._on_event(event)
        except Exception:
            log.exception("on_event raised for %s", type(event).__name__)

    @staticmethod
    def _close(ws: websocket.WebSocket, status: int, reason: str) -> None:
        try:
            ws.close(status=status, reason=reason.encode("utf-8"), timeout=CLOSE_TIMEOUT_S)
        except Exception:
            pass
        finally:
            ws.shutdown()

    @staticmethod
    def _abort(ws: websocket.WebSocket) -> None:
        if ws.sock is not None:
            _cut(ws.sock)


def _cut(sock: socket.socket) -> None:
    """Shut the connection down under whatever is blocked on it (connect, handshake, write)."""
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def _close_status(data: bytes) -> str:
    if isinstance(data, bytes) and len(data) >= 2:
        return f"code {int.from_bytes(data[:2], 'big')}"
    return "no code"
