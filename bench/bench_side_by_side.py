"""Benchmark: the installed bridge side by side with a bare websocket charge point, in one run.

Owns: one process tree on loopback: a reference CSMS (a minimal ``websockets`` server in this
process, answering every CP call with a fixed valid payload; not the ``ocpp`` package's central
system, whose own validation and thread pool add noise to both sides), a real mosquitto, an
EVerest peer (tests/support/everest_peer.py) and, interleaved over ``--rounds`` rounds, per OCPP
version:

- the bare floor: this file run with ``--bare-cp``, a websocket-client charge point that answers
  with fixed payloads and validates nothing (TCP_NODELAY like the bridge);
- the installed bridge: the ``ocpp-bridge`` console script of this interpreter's venv, started as
  a real process (tests/support/bridge_process.py);
- with ``--before PATH``, a second bridge side ("before"): the ``ocpp-bridge`` script at PATH
  (e.g. another venv with an older wheel), so a change is measured against its base in one run.

It prints, per workload, median and p99 of every sample of the run, the ratio of the medians to
the floor, and the range of the per-round ratios: CSMS->CP GetConfiguration (1.6) and
GetVariables (2.0.1) round trips; process start -> BootNotification answered (for the bridge also
start -> module ready and global ready -> BootNotification answered); idle RSS and idle CPU
(``/proc``); the MQTT floor (QoS 2 request/reply between two paho clients through mosquitto);
and a CP-initiated call: the bare CP's own DataTransfer calls, against the bridge's
``data_transfer`` command called over MQTT by the peer (the bridge sends a DataTransfer and
returns the CSMS's answer), with its ratio to (bare OCPP call + MQTT floor).

Must never: assert on timings (figures only), or import ``ocpp_bridge`` (the bridge is seen
only through its process, MQTT and OCPP).

Run: ``.venv/bin/python bench/bench_side_by_side.py [--rounds N] [--calls N] [--quick]``
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

ANSWERS = {
    "GetConfiguration": {"configurationKey": [{"key": "HeartbeatInterval", "readonly": False, "value": "300"}]},
    "GetVariables": {"getVariableResult": [{
        "attributeStatus": "Accepted", "attributeValue": "300",
        "component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}}]},
}
REQUESTS = {
    "1.6": ("GetConfiguration", {"key": ["HeartbeatInterval"]}),
    "2.0.1": ("GetVariables", {"getVariableData": [
        {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}}]}),
}
SUBPROTOCOL = {"1.6": "ocpp1.6", "2.0.1": "ocpp2.0.1"}


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def boot_payload(version: str) -> dict:
    if version == "1.6":
        return {"chargePointVendor": "bench", "chargePointModel": "bare"}
    return {"reason": "PowerUp", "chargingStation": {"vendorName": "bench", "model": "bare"}}


# ---------------------------------------------------------------- the bare floor (a process)

def bare_cp(url: str, version: str) -> None:
    """The floor: connect, boot, then answer every CALL with a fixed payload. No validation."""
    import websocket

    ws = websocket.create_connection(url, subprotocols=[SUBPROTOCOL[version]],
                                     sockopt=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)])
    ws.send(json.dumps([2, "boot-1", "BootNotification", boot_payload(version)]))
    while True:
        try:
            text = ws.recv()
        except Exception:
            return
        message = json.loads(text)
        if message[0] != 2:
            continue
        if message[2] == "DataTransfer" and str(message[3].get("data", "")).startswith("go:"):
            samples = own_calls(ws, int(message[3]["data"][3:]))
            ws.send(json.dumps([3, message[1], {"status": "Accepted", "data": json.dumps(samples)}]))
        else:
            ws.send(json.dumps([3, message[1], ANSWERS.get(message[2], {})]))


def own_calls(ws, n: int) -> list[float]:
    """``n`` CP->CSMS DataTransfer calls, one at a time; round trip of each in ms."""
    samples = []
    for i in range(n):
        start = time.perf_counter()
        ws.send(json.dumps([2, f"dt-{i}", "DataTransfer", {"vendorId": "bench", "data": "x"}]))
        while True:
            reply = json.loads(ws.recv())
            if reply[0] in (3, 4) and reply[1] == f"dt-{i}":
                break
        samples.append((time.perf_counter() - start) * 1e3)
    return samples


# ---------------------------------------------------------------- the reference CSMS (a thread)

class Csms:
    """A minimal websockets server: answers CP calls with fixed payloads, times CSMS calls."""

    def __init__(self) -> None:
        import asyncio
        import threading

        self._asyncio = asyncio
        self.loop = asyncio.new_event_loop()
        self.peers: dict[str, object] = {}
        self.booted: dict[str, float] = {}          # cp id -> perf_counter when Boot was answered
        self._pending: dict[str, object] = {}
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        self._started.wait(10)

    def _run(self) -> None:
        from websockets.asyncio.server import serve

        async def main() -> None:
            async with serve(self._handler, "127.0.0.1", 0, subprotocols=["ocpp1.6", "ocpp2.0.1"],
                             ping_interval=None, compression=None) as server:
                sock = next(iter(server.sockets))
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                self.port = sock.getsockname()[1]
                self._started.set()
                await self._asyncio.Future()
        self._asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(main())

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    async def _handler(self, ws) -> None:
        transport = ws.transport
        sock = transport.get_extra_info("socket") if transport else None
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        cp = ws.request.path.strip("/")
        self.peers[cp] = ws
        try:
            async for text in ws:
                message = json.loads(text)
                if message[0] == 2:
                    action = message[2]
                    if action == "BootNotification":
                        answer: dict = {"status": "Accepted", "interval": 300, "currentTime": now_iso()}
                    elif action == "Heartbeat":
                        answer = {"currentTime": now_iso()}
                    elif action == "DataTransfer":
                        answer = {"status": "Accepted"}
                    else:
                        answer = {}
                    await ws.send(json.dumps([3, message[1], answer]))
                    if action == "BootNotification":
                        self.booted.setdefault(cp, time.perf_counter())
                elif message[0] in (3, 4):
                    future = self._pending.pop(message[1], None)
                    if future is not None:
                        future.set_result((time.perf_counter(), message))  # type: ignore[attr-defined]
        except Exception:
            pass
        finally:
            if self.peers.get(cp) is ws:
                del self.peers[cp]

    async def _calls(self, cp: str, action: str, payload: dict, n: int) -> list[float]:
        ws = self.peers[cp]
        samples = []
        for i in range(n):
            uid = f"{cp}-{time.perf_counter_ns()}-{i}"
            future = self.loop.create_future()
            self._pending[uid] = future
            start = time.perf_counter()
            await ws.send(json.dumps([2, uid, action, payload]))  # type: ignore[attr-defined]
            end, message = await self._asyncio.wait_for(future, 10)
            if message[0] != 3:
                raise RuntimeError(f"{cp} answered {action} with {message}")
            samples.append((end - start) * 1e3)
        return samples

    async def _call_raw(self, cp: str, action: str, payload: dict) -> tuple[float, list]:
        uid = f"{cp}-raw-{time.perf_counter_ns()}"
        future = self.loop.create_future()
        self._pending[uid] = future
        await self.peers[cp].send(json.dumps([2, uid, action, payload]))  # type: ignore[attr-defined]
        return await self._asyncio.wait_for(future, 120)

    def call_raw(self, cp: str, action: str, payload: dict) -> tuple[float, list]:
        """One CSMS->CP call; (time of the answer, the answer)."""
        return self._asyncio.run_coroutine_threadsafe(self._call_raw(cp, action, payload), self.loop).result(130)

    def calls(self, cp: str, action: str, payload: dict, n: int) -> list[float]:
        """``n`` sequential CSMS->CP calls; round trip of each in milliseconds."""
        return self._asyncio.run_coroutine_threadsafe(self._calls(cp, action, payload, n), self.loop).result(120)

    def wait_boot(self, cp: str, timeout: float = 30) -> float:
        deadline = time.monotonic() + timeout
        while cp not in self.booted:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{cp} sent no BootNotification")
            time.sleep(0.0005)
        return self.booted[cp]


# ---------------------------------------------------------------- /proc

def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _CLK_TCK


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _clk_tck() -> int:
    import os
    return os.sysconf("SC_CLK_TCK")


_CLK_TCK = _clk_tck()


# ---------------------------------------------------------------- the MQTT floor

def module_of(tag: str) -> str:
    """The module id of a bridge side (each its own: they share the broker and the prefix)."""
    return "ocpp" if tag == "BRIDGE" else tag.lower()


def mqtt_command_calls(peer, module: str, n: int, warmup: int) -> list[float]:
    """``n`` calls of the bridge's ``data_transfer`` command (it sends a DataTransfer to the
    CSMS and returns the answer), one at a time, as the EVerest peer sees them; in ms."""
    args = {"request": {"vendor_id": "bench", "data": "x"}}
    for _ in range(warmup):
        peer.call(module, "data_transfer", "data_transfer", args)
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        peer.call(module, "data_transfer", "data_transfer", args)
        samples.append((time.perf_counter() - start) * 1e3)
    return samples


def mqtt_floor(port: int, n: int) -> list[float]:
    """QoS 2 request/reply between two paho clients (TCP_NODELAY) through mosquitto, in ms."""
    import threading

    import paho.mqtt.client as mqtt

    def nodelay(client, userdata, sock) -> None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def client(name: str):
        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=name, protocol=mqtt.MQTTv311)
        c.on_socket_open = nodelay
        subscribed = threading.Event()
        c.on_subscribe = lambda *a: subscribed.set()
        c.connect("127.0.0.1", port)
        c.loop_start()
        return c, subscribed

    server, s_ready = client("bench-floor-server")
    caller, c_ready = client("bench-floor-caller")
    got = threading.Event()
    server.on_message = lambda c, u, m: server.publish("bench/floor/res", m.payload, qos=2)
    caller.on_message = lambda c, u, m: got.set()
    server.subscribe("bench/floor/req", qos=2)
    caller.subscribe("bench/floor/res", qos=2)
    s_ready.wait(5)
    c_ready.wait(5)
    samples = []
    payload = json.dumps({"id": "x" * 16, "args": {"keys": ["HeartbeatInterval"]}})
    try:
        for _ in range(n):
            got.clear()
            start = time.perf_counter()
            caller.publish("bench/floor/req", payload, qos=2)
            if not got.wait(5):
                raise TimeoutError("the MQTT floor got no reply")
            samples.append((time.perf_counter() - start) * 1e3)
    finally:
        for c in (server, caller):
            c.disconnect()
            c.loop_stop()
    return samples


# ---------------------------------------------------------------- one round

class Round:
    def __init__(self, csms: Csms, broker, peer_factory, tmp: Path, args) -> None:
        self.csms, self.broker, self.peer_factory, self.tmp, self.args = csms, broker, peer_factory, tmp, args

    def bare(self, version: str, n: int) -> tuple[subprocess.Popen, str, float]:
        cp = f"BARE{version.replace('.', '')}-{n}"
        start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, __file__, "--bare-cp", f"{self.csms.url}/{cp}", version],
                                stdin=subprocess.DEVNULL)
        booted = self.csms.wait_boot(cp)
        return proc, cp, (booted - start) * 1e3

    def bridge(self, version: str, n: int, peer, script: str | None = None,
               tag: str = "BRIDGE") -> tuple[object, str, dict[str, float]]:
        from support.bridge_process import BridgeProcess

        class Bridge(BridgeProcess):
            def command(self) -> list[str]:
                command = super().command()
                return [script, *command[1:]] if script else command

        cp = f"{tag}{version.replace('.', '')}-{n}"
        work = self.tmp / cp
        (work / "db").mkdir(parents=True)
        proc = Bridge({"ChargePointId": cp, "CentralSystemURI": self.csms.url, "OcppVersion": version,
                              "GlobalReadyTimeoutS": 0, "WebsocketPingIntervalS": 0,
                              "DatabasePath": str(work / "db")},
                             broker_port=self.broker.port, module_id=module_of(tag), prefix=peer.prefix.rstrip("/"),
                             workdir=work)
        seen = peer.ready_count(module_of(tag))
        start = time.perf_counter()
        proc.start()
        deadline = time.monotonic() + 30
        with peer._cv:
            while peer._ready.get(module_of(tag), 0) <= seen:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"bridge {cp} not ready; log:\n{proc.log_text()[-2000:]}")
                peer._cv.wait(0.5)
        ready = time.perf_counter()
        peer.send_global_ready()
        booted = self.csms.wait_boot(cp)
        return proc, cp, {"ready": (ready - start) * 1e3, "boot_after_ready": (booted - ready) * 1e3,
                          "boot": (booted - start) * 1e3}


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def run(args) -> None:
    import tempfile

    sys.path.insert(0, str(ROOT / "tests"))
    from support.broker import Mosquitto
    from support.everest_peer import EverestPeer

    tmp = Path(tempfile.mkdtemp(prefix="bench-sbs-"))
    broker = Mosquitto().start()
    csms = Csms()
    results: dict[str, dict[str, list]] = {}   # workload -> side -> list of per-round sample lists

    def add(workload: str, side: str, samples: list[float]) -> None:
        results.setdefault(workload, {}).setdefault(side, []).append(samples)

    try:
        peer = EverestPeer(broker.port, prefix="bench/", module_id="probe", generation="2025.12").start()
        rnd = Round(csms, broker, None, tmp, args)
        for r in range(args.rounds):
            for version in ("1.6", "2.0.1"):
                action, payload = REQUESTS[version]
                bare_proc, bare_id, bare_boot = rnd.bare(version, r)
                add(f"start -> BootNotification answered, {version} (ms)", "bare", [bare_boot])
                # side -> (process, cp id, pid)
                sides: dict[str, tuple[object, str, int]] = {"bare": (bare_proc, bare_id, bare_proc.pid)}
                modules: dict[str, str] = {}
                bridges = [("bridge", None, "BRIDGE")] + ([("before", args.before, "BEFORE")] if args.before else [])
                for side, script, tag in bridges:
                    proc, cp, times = rnd.bridge(version, r, peer, script, tag)
                    sides[side] = (proc, cp, proc.pid)  # type: ignore[attr-defined]
                    modules[side] = module_of(tag)
                    add(f"start -> BootNotification answered, {version} (ms)", side, [times["boot"]])
                    add(f"start -> module ready, {version} (ms)", side, [times["ready"]])
                    add(f"global ready -> BootNotification answered, {version} (ms)", side,
                        [times["boot_after_ready"]])
                time.sleep(args.settle)
                for _, cp, _ in sides.values():
                    csms.calls(cp, action, payload, args.warmup)
                samples: dict[str, list[float]] = {side: [] for side in sides}
                block = max(1, args.calls // 4)
                for _ in range(4):  # interleaved in blocks, so drift hits every side alike
                    for side, (_, cp, _) in sides.items():
                        samples[side] += csms.calls(cp, action, payload, block)
                for side in sides:
                    add(f"CSMS->CP {action} round trip, {version} (ms)", side, samples[side])
                # CP-initiated: the bare CP's own DataTransfer calls; the bridge's through its
                # data_transfer command over MQTT (peer -> bridge -> CSMS -> bridge -> peer)
                cp_initiated = f"CP->CSMS DataTransfer (bridge: an MQTT command), {version} (ms)"
                go = {"vendorId": "bench", "data": f"go:{args.calls}"}
                end, reply = csms.call_raw(bare_id, "DataTransfer", go)
                add(cp_initiated, "bare", json.loads(reply[2]["data"]))
                for side in sides:
                    if side != "bare":
                        add(cp_initiated, side, mqtt_command_calls(peer, modules[side], args.calls, args.warmup))
                # idle: nothing is sent for args.idle seconds
                cpu0 = {side: cpu_seconds(pid) for side, (_, _, pid) in sides.items()}
                t0 = time.monotonic()
                time.sleep(args.idle)
                elapsed = time.monotonic() - t0
                for side, (_, _, pid) in sides.items():
                    add(f"idle CPU, {version} (% of a core)", side, [100 * (cpu_seconds(pid) - cpu0[side]) / elapsed])
                    add(f"idle RSS, {version} (MiB)", side, [rss_mib(pid)])
                for side, (proc, _, _) in sides.items():
                    if side != "bare":
                        proc.stop()  # type: ignore[attr-defined]
                bare_proc.terminate()
                bare_proc.wait(5)
            if args.mqtt:
                add("MQTT floor: QoS 2 request/reply (ms)", "mqtt", mqtt_floor(broker.port, args.calls))
            print(f"round {r + 1}/{args.rounds} done", file=sys.stderr, flush=True)
        peer.stop()
    finally:
        broker.cleanup()
    report(results, args)


def report(results: dict[str, dict[str, list]], args) -> None:
    print(f"\nside by side: {args.rounds} rounds, {args.calls} calls a round per side, idle {args.idle} s; "
          f"CSMS: minimal websockets server; loopback; {socket.gethostname()}")
    header = f"{'workload':58} {'side':6} {'median':>9} {'p99':>9} {'ratio':>6} {'per-round ratio':>16}"
    print(header)
    print("-" * len(header))
    for workload, sides in results.items():
        floor = sides.get("bare")
        floor_all = [x for s in floor for x in s] if floor else None
        for side, rounds in sides.items():
            every = [x for s in rounds for x in s]
            median = statistics.median(every)
            p99 = pct(every, 0.99)
            ratio = per_round = ""
            if floor_all and side != "bare":
                base = statistics.median(floor_all)
                ratio = f"{median / base:.2f}x" if base else "-"
                ratios = [statistics.median(s) / statistics.median(f) for s, f in zip(rounds, floor, strict=True)
                          if statistics.median(f)]
                per_round = f"{min(ratios):.2f}-{max(ratios):.2f}x" if ratios else "-"
            print(f"{workload:58} {side:6} {median:9.3f} {p99:9.3f} {ratio:>6} {per_round:>16}")
    mqtt_floor_rounds = results.get("MQTT floor: QoS 2 request/reply (ms)", {}).get("mqtt")
    if mqtt_floor_rounds:
        mqtt_median = statistics.median([x for s in mqtt_floor_rounds for x in s])
        for workload, sides in results.items():
            if workload.startswith("CP->CSMS") and "bare" in sides:
                floor = statistics.median([x for s in sides["bare"] for x in s]) + mqtt_median
                for side, rounds in sides.items():
                    if side != "bare":
                        median = statistics.median([x for s in rounds for x in s])
                        print(f"{workload}: {side} {median:.3f} ms = {median / floor:.2f}x (bare OCPP call "
                              f"+ MQTT floor = {floor:.3f} ms)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calls", type=int, default=400, help="CSMS calls per round and side")
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--idle", type=float, default=5.0, help="seconds of idle CPU measurement")
    parser.add_argument("--settle", type=float, default=1.0, help="seconds after boot before measuring")
    parser.add_argument("--no-mqtt", dest="mqtt", action="store_false", help="skip the MQTT floor")
    parser.add_argument("--before", metavar="PATH", help="an older ocpp-bridge script: a third side, 'before'")
    parser.add_argument("--quick", action="store_true", help="3 rounds, 100 calls, 2 s idle")
    parser.add_argument("--bare-cp", nargs=2, metavar=("URL", "VERSION"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare_cp:
        bare_cp(*args.bare_cp)
        return
    if args.quick:
        args.rounds, args.calls, args.idle, args.warmup = 3, 100, 2.0, 20
    run(args)


if __name__ == "__main__":
    main()
