"""The websocket transport against real servers on 127.0.0.1 (ephemeral ports).

The CSMS side is a real ``websockets`` asyncio server on a background thread;
the "accepts TCP, never answers the handshake" case is a real listening socket.
Nothing here fakes a websocket.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import queue
import random
import socket
import threading
import time
from http import HTTPStatus

import pytest
from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed

from ocpp_bridge.ocpp.backoff import Backoff
from ocpp_bridge.ocpp.transport import Connected, DialFailed, Disconnected, TextReceived, WebSocketTransport

CP_ID = "CP-1"
PASSWORD = "s3cret-Ä"


class CountingRandom(random.Random):
    """Counts jitter draws: one per re-dial means the back-off was used."""

    def __init__(self, seed=1):
        super().__init__(seed)
        self.draws = 0

    def uniform(self, a, b):
        self.draws += 1
        return super().uniform(a, b)


def small_backoff(rng=None):
    return Backoff(0.05, 0.05, 2, rng or CountingRandom())


class Events:
    """The on_event sink: records everything the transport reports."""

    def __init__(self):
        self.queue: queue.Queue = queue.Queue()
        self.seen: list = []
        self.dial_failures: list = []
        self.threads: set[str] = set()

    def __call__(self, event):
        self.threads.add(threading.current_thread().name)
        self.queue.put(event)

    def next(self, kind, timeout=20.0):
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no {kind.__name__} within {timeout} s; saw {self.seen}")
            try:
                event = self.queue.get(timeout=remaining)
            except queue.Empty:
                continue
            self.seen.append(event)
            if isinstance(event, kind):
                return event

    def none_for(self, seconds):
        """Nothing but ``DialFailed`` (kept in ``dial_failures``) for ``seconds``."""
        deadline = time.monotonic() + seconds
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return True
            try:
                event = self.queue.get(timeout=remaining)
            except queue.Empty:
                return True
            self.seen.append(event)
            if not isinstance(event, DialFailed):
                return False
            self.dial_failures.append(event)


class CsmsServer:
    """A real websockets server on its own event loop thread."""

    def __init__(self, *, subprotocols=("ocpp1.6",), password=None, ping_interval=None,
                 silent_connections=0):
        self.subprotocols = list(subprotocols) if subprotocols else None
        self.password = password
        self.ping_interval = ping_interval
        self.silent_connections = silent_connections  # the first N stop reading (no pongs)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.handshakes: list = []        # request headers of every attempt
        self.connections: list = []       # accepted websocket connections
        self.received: queue.Queue = queue.Queue()
        self.close_codes: queue.Queue = queue.Queue()
        self.server = None
        self.port = None

    def __enter__(self):
        self.thread.start()
        self._run(self._start())
        return self

    def __exit__(self, *exc):
        self._run(self._stop(), timeout=10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)

    @property
    def url(self):
        return f"ws://127.0.0.1:{self.port}/ocpp/{CP_ID}"

    def _run(self, coro, timeout=5):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    async def _start(self):
        self.server = await serve(
            self._handler, "127.0.0.1", 0, subprotocols=self.subprotocols,
            process_request=self._process_request, ping_interval=self.ping_interval,
            ping_timeout=2, close_timeout=0.5)
        self.port = self.server.sockets[0].getsockname()[1]
        self.shutting_down = asyncio.Event()

    async def _stop(self):
        self.shutting_down.set()
        self.server.close()
        await asyncio.wait_for(self.server.wait_closed(), 5)

    def _process_request(self, connection, request):
        self.handshakes.append(request.headers)
        if self.password is not None:
            token = base64.b64encode(f"{CP_ID}:{self.password}".encode()).decode()
            if request.headers.get("Authorization") != f"Basic {token}":
                return connection.respond(HTTPStatus.UNAUTHORIZED, "bad credentials\n")
        return None

    async def _handler(self, connection):
        self.connections.append(connection)
        if len(self.connections) <= self.silent_connections:
            connection.transport.pause_reading()  # no reads, so no pongs, ever
            await self.shutting_down.wait()
            connection.transport.abort()
            return
        try:
            async for message in connection:
                self.received.put(message)
        finally:
            self.close_codes.put(connection.close_code)

    def _connection(self, index):
        assert wait_until(lambda: len(self.connections) > (index if index >= 0 else -index - 1))
        return self.connections[index]

    def send(self, text, index=-1):
        self._connection(index)
        self._run(self.connections[index].send(text))

    def send_bytes_as_text(self, data, index=-1):
        """A text frame whose payload is exactly ``data`` (which need not be UTF-8). The
        peer may close the connection before ``send`` returns: that is no error here."""
        self._connection(index)
        try:
            self._run(self.connections[index].send(data, text=True))
        except ConnectionClosed:
            pass

    def close(self, code=1001, index=-1):
        self._connection(index)
        self._run(self.connections[index].close(code))

    def ping_answered(self, index=-1, timeout=10):
        """Ping the client on that connection and wait for its pong."""
        self._connection(index)

        async def ping():
            await asyncio.wait_for(await self.connections[index].ping(), timeout)
            return True
        return self._run(ping(), timeout + 1)

    def abort(self, index=-1):
        self._connection(index)
        self.loop.call_soon_threadsafe(self.connections[index].transport.abort)


class MuteTcpServer:
    """Accepts TCP connections and never says a word."""

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.05)
        self.port = self.listener.getsockname()[1]
        self.accepted: list[socket.socket] = []
        self.running = True
        self.thread = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.running = False
        self.thread.join(2)
        for s in self.accepted + [self.listener]:
            s.close()

    def _accept(self):
        while self.running:
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:  # listener closed by the test
                return
            self.accepted.append(conn)


@pytest.fixture
def make_transport():
    made = []

    def make(url, events, **kwargs):
        kwargs.setdefault("backoff", small_backoff())
        kwargs.setdefault("basic_auth", (CP_ID, PASSWORD))
        kwargs.setdefault("connect_timeout_s", 2)
        transport = WebSocketTransport(url, kwargs.pop("subprotocol", "ocpp1.6"), events, **kwargs)
        made.append(transport)
        return transport

    yield make
    for transport in made:
        transport.stop(timeout=5)


def wait_until(predicate, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


# ------------------------------------------------------------------ tests

def test_connects_with_subprotocol_auth_and_nodelay_then_exchanges_text(make_transport):
    with CsmsServer(password=PASSWORD) as server:
        events = Events()
        transport = make_transport(server.url, events)
        transport.start()
        assert events.next(Connected) == Connected("ocpp1.6")
        assert transport.connected
        headers = server.handshakes[-1]
        assert headers["Sec-WebSocket-Protocol"] == "ocpp1.6"
        assert headers["Authorization"] == "Basic " + base64.b64encode(f"{CP_ID}:{PASSWORD}".encode()).decode()
        sock = transport._ws.sock
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0

        assert transport.send('[2,"1","Heartbeat",{}]') is True
        assert server.received.get(timeout=20) == '[2,"1","Heartbeat",{}]'
        server.send('[3,"1",{"currentTime":"2024-01-01T00:00:00Z"}]')
        assert events.next(TextReceived).text == '[3,"1",{"currentTime":"2024-01-01T00:00:00Z"}]'
        assert events.threads == {"ocpp-websocket"}


def test_ocpp201_subprotocol(make_transport):
    with CsmsServer(subprotocols=("ocpp1.6", "ocpp2.0.1")) as server:
        events = Events()
        make_transport(server.url, events, subprotocol="ocpp2.0.1").start()
        assert events.next(Connected) == Connected("ocpp2.0.1")


def test_wrong_password_gets_401_and_redials_with_backoff(make_transport):
    with CsmsServer(password="other") as server:
        events, rng = Events(), CountingRandom()
        transport = make_transport(server.url, events, backoff=small_backoff(rng))
        transport.start()
        assert wait_until(lambda: len(server.handshakes) >= 3)
        assert rng.draws >= 2, "every re-dial draws its jitter"
        assert not server.connections and not transport.connected
        assert transport.send("x") is False
        assert transport._thread.is_alive()
        assert events.none_for(0.1)
        assert events.dial_failures and all("401" in e.reason and not e.certificate_rejected
                                            for e in events.dial_failures)


def test_server_without_the_subprotocol_is_a_failed_dial(make_transport, caplog):
    with CsmsServer(subprotocols=None) as server:
        events = Events()
        make_transport(server.url, events).start()
        assert wait_until(lambda: len(server.handshakes) >= 2)
        assert events.none_for(0.2), "no Connected for a server that did not agree ocpp1.6"
        assert events.dial_failures and "not agreed" in events.dial_failures[0].reason
        assert any("subprotocol" in r.getMessage() for r in caplog.records)


def test_server_close_then_reconnect(make_transport):
    with CsmsServer() as server:
        events, rng = Events(), CountingRandom()
        transport = make_transport(server.url, events, backoff=small_backoff(rng))
        transport.start()
        events.next(Connected)
        server.close(1001)
        assert "1001" in events.next(Disconnected).reason
        assert not transport.connected and transport.send("x") is False
        events.next(Connected)
        assert wait_until(lambda: len(server.connections) == 2) and rng.draws == 1
        # And an abrupt TCP loss: Disconnected once, Connected again.
        server.abort()
        events.next(Disconnected)
        events.next(Connected)
        assert [type(e) for e in events.seen] == [Connected, Disconnected, Connected, Disconnected, Connected]
        assert transport.send("after") is True
        assert server.received.get(timeout=20) == "after"


def test_pings_answered_keep_the_connection_up(make_transport):
    # Our pings every 0.1 s and the server's own every 0.1 s, each side giving the other 2 s
    # for the pong (far above any scheduling delay of a loaded machine): nothing may drop
    # while both sides' pong timeouts run out more than once. A ping of the test's own at the
    # end proves the connection is still up, not merely unreported.
    with CsmsServer(ping_interval=0.1) as server:
        events = Events()
        make_transport(server.url, events, ping_interval_s=0.1, pong_timeout_s=2).start()
        events.next(Connected)
        assert events.none_for(5.0), f"unexpected {events.seen[-1]}"
        assert server.ping_answered()
        assert len(server.handshakes) == 1


def test_missing_pong_drops_and_redials_with_backoff(make_transport):
    with CsmsServer(silent_connections=1) as server:
        events, rng = Events(), CountingRandom()
        make_transport(server.url, events, backoff=small_backoff(rng),
                       ping_interval_s=0.2, pong_timeout_s=0.3).start()
        events.next(Connected)
        assert events.next(Disconnected, timeout=20).reason == "pong timeout"
        events.next(Connected, timeout=20)
        assert rng.draws == 1, "the re-dial after a pong timeout goes through the back-off"
        assert wait_until(lambda: len(server.connections) == 2)


def test_handshake_never_answered_times_out_and_backs_off(make_transport):
    with MuteTcpServer() as mute:
        events, rng = Events(), CountingRandom()
        transport = make_transport(f"ws://127.0.0.1:{mute.port}/ocpp/{CP_ID}", events,
                                   backoff=small_backoff(rng), connect_timeout_s=0.3)
        transport.start()
        assert wait_until(lambda: len(mute.accepted) >= 3, timeout=20)
        assert rng.draws >= 2
        assert events.none_for(0.05) and not transport.connected
        assert events.dial_failures and events.dial_failures[0].reason == "timed out"


def test_stop_cuts_a_hanging_handshake_short(make_transport):
    with MuteTcpServer() as mute:
        transport = make_transport(f"ws://127.0.0.1:{mute.port}/ocpp/{CP_ID}", Events(),
                                   connect_timeout_s=30)
        transport.start()
        assert wait_until(lambda: len(mute.accepted) == 1, timeout=20)
        transport.stop(timeout=10)
        assert not transport._thread.is_alive()  # it ended within stop's 10 s: not the 30 s connect timeout


def test_stop_cuts_a_tcp_connect_that_never_completes(make_transport):
    # A listener whose backlog is full: the kernel drops our SYN, so connect() itself hangs,
    # the way it does towards a CSMS behind a firewall that black-holes packets.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    try:
        while True:  # fill the backlog until a connect times out
            filler = socket.socket()
            filler.settimeout(0.3)
            fillers.append(filler)
            try:
                filler.connect(("127.0.0.1", port))
            except TimeoutError:
                break
        transport = make_transport(f"ws://127.0.0.1:{port}/ocpp/{CP_ID}", Events(), connect_timeout_s=60)
        transport.start()
        assert wait_until(lambda: transport._dialing is not None, timeout=20)
        transport.stop(timeout=10)
        assert not transport._thread.is_alive()  # within stop's 10 s: not the 60 s connect timeout
    finally:
        for s in fillers + [listener]:
            s.close()


def test_pause_closes_1000_and_waits_for_resume(make_transport):
    with CsmsServer() as server:
        events = Events()
        transport = make_transport(server.url, events)
        transport.start()
        events.next(Connected)
        transport.pause()
        assert transport.send("x") is False
        assert events.next(Disconnected).reason == "paused"
        assert server.close_codes.get(timeout=20) == 1000
        assert events.none_for(0.5) and len(server.handshakes) == 1, "no re-dial while paused"
        transport.resume()
        events.next(Connected, timeout=15)
        assert wait_until(lambda: len(server.connections) == 2) and transport.send("back") is True


def test_resume_skips_a_long_backoff(make_transport):
    with CsmsServer() as server:
        events = Events()
        transport = make_transport(server.url, events, backoff=Backoff(30, 0, 0, random.Random(0)))
        transport.start()
        events.next(Connected)
        server.close(1001)
        events.next(Disconnected)
        assert events.none_for(0.3), "waiting 30 s before the re-dial"
        transport.resume()
        events.next(Connected, timeout=15)  # well before the 30 s back-off


def test_send_before_start_and_after_stop(make_transport):
    with CsmsServer() as server:
        events = Events()
        transport = make_transport(server.url, events)
        assert transport.send("early") is False and not transport.connected
        transport.start()
        events.next(Connected)
        transport.stop(timeout=10)
        assert not transport._thread.is_alive()  # ended within stop's wait: not a hang
        assert events.next(Disconnected).reason == "stopped"
        assert server.close_codes.get(timeout=20) == 1000
        assert transport.send("late") is False and not transport.connected


def test_stop_during_a_long_backoff_wait_is_prompt(make_transport, caplog):
    caplog.set_level(logging.INFO, logger="ocpp_bridge.ocpp.transport")
    with MuteTcpServer() as mute:
        mute.listener.close()  # nothing listens: connection refused, then a 30 s wait
        transport = make_transport(f"ws://127.0.0.1:{mute.port}/ocpp/{CP_ID}", Events(),
                                   backoff=Backoff(30, 0, 0, random.Random(0)))
        transport.start()
        assert wait_until(lambda: any("re-dialling" in r.getMessage() for r in caplog.records), timeout=20)
        transport.stop(timeout=10)
        assert not transport._thread.is_alive()  # woken out of the 30 s wait, not waited out


def test_a_failing_callback_does_not_kill_the_thread(make_transport):
    with CsmsServer() as server:
        seen = queue.Queue()

        def on_event(event):
            seen.put(event)
            raise RuntimeError("engine bug")

        transport = make_transport(server.url, on_event)
        transport.start()
        assert isinstance(seen.get(timeout=20), Connected)
        server.send("hello")
        assert seen.get(timeout=20) == TextReceived("hello")
        assert transport.send("still here") is True


def test_reconnect_closes_1000_and_dials_again_at_once(make_transport):
    with CsmsServer() as server:
        events = Events()
        transport = make_transport(server.url, events, backoff=Backoff(30, 0, 0, random.Random(0)))
        transport.start()
        events.next(Connected)
        transport.reconnect()
        assert events.next(Disconnected).reason == "reconnecting"
        assert server.close_codes.get(timeout=20) == 1000
        events.next(Connected, timeout=15)  # no 30 s back-off on the way
        assert wait_until(lambda: len(server.connections) == 2) and transport.send("again") is True


# ------------------------------------------------------------------ writes on the transport thread

def test_send_never_waits_for_a_peer_that_stopped_reading_and_frames_leave_in_order(make_transport):
    from support.raw_csms import RawCsms

    with RawCsms(receive_buffer=64 * 1024) as raw:
        events = Events()
        transport = make_transport(raw.url + "/" + CP_ID, events, connect_timeout_s=30)
        transport.start()
        raw.accept()
        events.next(Connected)
        with open("/proc/sys/net/ipv4/tcp_wmem", encoding="ascii") as f:
            too_big = 2 * (int(f.read().split()[2]) + raw.receive_buffer_bytes)  # more than every buffer holds
        frames = ["x" * too_big] + [f"small-{i}" for i in range(50)]
        results = []
        sender = threading.Thread(target=lambda: results.extend(transport.send(t) for t in frames), daemon=True)
        sender.start()
        sender.join(10)
        assert not sender.is_alive() and results == [True] * len(frames), "queued at once, the peer reading nothing"
        assert [raw.read_text() for _ in frames] == frames  # now it reads: everything, in the order queued


def test_a_frame_for_an_earlier_connection_is_never_written_on_the_next(make_transport):
    with CsmsServer() as server:
        events = Events()
        transport = make_transport(server.url, events)
        transport.start()
        first = events.next(Connected).connection
        server.close(1001)
        events.next(Disconnected)
        second = events.next(Connected).connection
        assert second != first
        assert transport.send("for the first", first) is False
        assert transport.send("for the second", second) is True
        assert server.received.get(timeout=5) == "for the second"


def test_a_frame_queued_before_a_reconnect_leaves_on_the_old_connection(make_transport):
    with CsmsServer() as server:
        events = Events()
        transport = make_transport(server.url, events, backoff=Backoff(30, 0, 0, random.Random(0)))
        transport.start()
        events.next(Connected)
        assert transport.send("the answer") is True
        transport.reconnect()
        assert server.received.get(timeout=5) == "the answer"
        assert server.close_codes.get(timeout=5) == 1000
        events.next(Connected, timeout=5)


def test_new_basic_credentials_are_used_from_the_next_dial(make_transport):
    with CsmsServer(password=PASSWORD) as server:
        events = Events()
        transport = make_transport(server.url, events)
        transport.start()
        events.next(Connected)
        server.password = "an0ther-passw0rd-16"
        transport.set_basic_auth(CP_ID, server.password)
        assert transport.connected, "the live connection stays"
        transport.reconnect()
        events.next(Disconnected)
        events.next(Connected, timeout=5)
        token = base64.b64encode(f"{CP_ID}:{server.password}".encode()).decode()
        assert server.handshakes[-1]["Authorization"] == f"Basic {token}"


def test_a_text_frame_that_is_not_utf8_closes_with_1007_then_redials(make_transport):
    with CsmsServer() as server:
        events = Events()
        transport = make_transport(server.url, events)
        transport.start()
        events.next(Connected)
        server.send_bytes_as_text(b'[2,"1","Heartbeat",{"x":"\xff\xfe"}]')
        assert events.next(Disconnected).reason == "invalid UTF-8 from the server"
        assert server.close_codes.get(timeout=5) == 1007, "a close frame with 1007, not a dropped TCP connection"
        events.next(Connected)
        assert wait_until(lambda: len(server.connections) == 2)
        server.send('[3,"1",{}]')
        assert events.next(TextReceived).text == '[3,"1",{}]'
        assert not [e for e in events.seen if isinstance(e, TextReceived) and "Heartbeat" in e.text]
