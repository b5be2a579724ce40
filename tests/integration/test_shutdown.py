"""SIGTERM / SIGINT stop the module cleanly (exit code 0: neither its own SIGALRM watchdog nor
the harness ended it): the websocket is closed with the
normal close code (1000), what must persist is on disk, MQTT is left; and a signal while the
module still waits for its manager ends it at once. Real processes, broker and websocket."""

import asyncio
import json
import signal
import threading
import time

import pytest
from websockets.asyncio.server import serve

from support.fake_manager import G3, bridge_run_config, manager_factory

MODULE = "ocpp"

manager = pytest.fixture(name="manager")(manager_factory)


class ClosingCsms:
    """A bare OCPP 1.6 CSMS that accepts the boot and records how each connection ended."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.close_codes: list[int | None] = []
        self.actions: list[str] = []
        self.cv = threading.Condition()

    def __enter__(self) -> "ClosingCsms":
        self.thread.start()
        async def start():
            return await serve(self._serve, "127.0.0.1", 0, subprotocols=["ocpp1.6"])
        self.server = asyncio.run_coroutine_threadsafe(start(), self.loop).result(5)
        self.url = f"ws://127.0.0.1:{self.server.sockets[0].getsockname()[1]}/ocpp"
        return self

    def __exit__(self, *exc) -> None:
        async def stop():
            self.server.close()
            await self.server.wait_closed()
        asyncio.run_coroutine_threadsafe(stop(), self.loop).result(5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)

    async def _serve(self, ws) -> None:
        try:
            async for text in ws:
                _type, uid, action, _payload = json.loads(text)[:4]
                with self.cv:
                    self.actions.append(action)
                    self.cv.notify_all()
                now = "2026-01-01T00:00:00.000Z"
                answer = {"BootNotification": {"status": "Accepted", "currentTime": now, "interval": 300},
                          "Heartbeat": {"currentTime": now}}.get(action, {})
                await ws.send(json.dumps([3, uid, answer]))
        finally:
            with self.cv:
                self.close_codes.append(ws.close_code)
                self.cv.notify_all()

    def wait(self, cond, timeout: float = 20) -> None:
        with self.cv:
            assert self.cv.wait_for(cond, timeout), f"timed out; actions {self.actions}, closes {self.close_codes}"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_stops_cleanly_and_keeps_what_must_persist(bridge, peer, sig):
    probe = peer()
    with ClosingCsms() as server:
        b = bridge({"ChargePointId": "CP1", "CentralSystemURI": server.url, "GlobalReadyTimeoutS": 0},
                   module_id=MODULE)
        probe.wait_module_ready(MODULE, timeout=20)
        probe.send_global_ready()
        server.wait(lambda: "BootNotification" in server.actions)
        assert probe.call(MODULE, "main", "set_configuration_key", {"key": "ConnectionTimeOut", "value": "77"}) \
            == "Accepted"
        at = b.log_size()
        assert b.stop(sig, timeout=30) == 0  # not -14 (its watchdog) nor -9 (the harness)
        server.wait(lambda: server.close_codes)
        assert server.close_codes == [1000]
        log = b.log_text()[at:]
        assert "MQTT disconnected" in log
        assert log.rstrip().splitlines()[-2].endswith(f"stopped ({signal.Signals(sig).name})")
        seen = probe.ready_count(MODULE)
        b.start()  # the value was on disk when the process ended
        deadline = time.monotonic() + 20
        while probe.ready_count(MODULE) == seen and time.monotonic() < deadline:
            time.sleep(0.05)
        assert probe.call(MODULE, "main", "get_configuration_key", {"keys": ["ConnectionTimeOut"]},
                          timeout=20)["configuration_keys"][0]["value"] == "77"


def test_signal_while_waiting_for_the_manager_ends_at_once(manager, everest_module, tmp_path):
    cfg = {"ChargePointId": "CP1", "CentralSystemURI": "ws://127.0.0.1:9/ocpp", "DatabasePath": str(tmp_path / "db")}
    mgr = manager(G3, bridge_run_config(cfg), answer=False)
    proc = mgr.launch(MODULE, everest_module, tmp_path / "run", extra_env={"OCPP_BRIDGE_CONFIG_TIMEOUT_S": "60"})
    mgr.wait_requests(1)
    assert proc.stop(signal.SIGTERM, timeout=30) == 0
    assert "stopped before the manager answered" in proc.log_text()
