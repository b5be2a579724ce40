"""Benchmark: many EVSEs charging at once on one bridge (issue 13's 128-EVSE workload).

Owns one run on loopback: a real mosquitto, the ``ocpp`` package's CSMS (``ocpp_bridge.demo.csms``,
recording every frame), the installed bridge as a real process, and ``--evses`` simulated EVSE
managers (``ocpp_bridge.demo.evse_simulator``, one MQTT client each). Every EVSE plugs in and
starts a transaction, then publishes ``powermeter`` every second for ``--seconds``, with
MeterValueSampleInterval (1.6) / SampledDataCtrlr.TxUpdatedInterval (2.0.1) = ``--interval``.

It prints the bridge process's CPU over the metering window (% of one core, from /proc), its RSS
at the end, how many periodic meter-value messages the CSMS received against how many the
interval implies (``--evses`` x time counted / interval, give or take one per EVSE), and
the CSMS's count per EVSE (min / max), so a backlog or a lost message shows. Figures only.

Run: ``.venv/bin/python bench/bench_evse_fleet.py [--evses 128] [--seconds 60] [--interval 10]
[--version 1.6|2.0.1]``
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CP_ID = "FLEET-CP"
MODULE = "ocpp"


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def periodic(entry: dict, version: str, evse_of: dict[str, int]) -> int | None:
    """The EVSE of a periodic meter-value message, else None (2.0.1 names the EVSE in a
    transaction's first event only: ``evse_of`` maps its transactionId)."""
    p = entry["payload"]
    if version == "1.6":
        return p["connectorId"] if entry["action"] == "MeterValues" and "transactionId" in p else None
    if entry["action"] != "TransactionEvent":
        return None
    tid = p["transactionInfo"]["transactionId"]
    if "evse" in p:
        evse_of[tid] = p["evse"]["id"]
    return evse_of.get(tid) if p["eventType"] == "Updated" and p["triggerReason"] == "MeterValuePeriodic" else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--evses", type=int, default=128)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--interval", type=int, default=10)
    parser.add_argument("--version", choices=("1.6", "2.0.1"), default="1.6")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "tests"))
    from ocpp_bridge.demo.csms import Csms
    from ocpp_bridge.demo.evse_simulator import EvseSimulator
    from support.bridge_process import BridgeProcess
    from support.broker import Mosquitto
    from support.everest_peer import EverestPeer

    folder = Path(tempfile.mkdtemp(prefix="bench-fleet-"))
    overrides = ({"MeterValueSampleInterval": str(args.interval)} if args.version == "1.6"
                 else {"SampledDataCtrlr": {"TxUpdatedInterval": str(args.interval)}})
    (folder / "overrides.json").write_text(json.dumps(overrides))
    broker = Mosquitto().start()
    csms = Csms(args.version, heartbeat_interval=3600).start()
    prefix = "everest/"
    sims = [EvseSimulator(broker.port, module_id=f"evse_manager_{n}", evse_id=n, prefix=prefix).start()
            for n in range(1, args.evses + 1)]
    peer = EverestPeer(broker.port, prefix=prefix, module_id="probe").start()
    config = {"ChargePointId": CP_ID, "CentralSystemURI": csms.url, "OcppVersion": args.version,
              "DatabasePath": str(folder / "db"), "ConfigOverridesPath": str(folder / "overrides.json"),
              "GlobalReadyTimeoutS": 0}
    bridge = BridgeProcess(config, broker_port=broker.port, module_id=MODULE, prefix=prefix.rstrip("/"),
                           evse_managers=[(s.module_id, "evse") for s in sims], workdir=folder / "bridge")
    try:
        bridge.start()
        peer.wait_module_ready(MODULE, timeout=60)
        peer.send_global_ready()
        csms.wait_for("BootNotification", timeout=60)
        for sim in sims:
            sim.wait_command("get_evse", timeout=60)
        energy = {s.evse_id: 1000.0 for s in sims}
        for sim in sims:
            sim.plug_in()
            sim.start_transaction(f"TAG{sim.evse_id}", meter_wh=energy[sim.evse_id])
            sim.start_charging()
        started = "StartTransaction" if args.version == "1.6" else "TransactionEvent"
        csms.wait_for(lambda e: len(csms.entries(started)) >= args.evses, timeout=120)
        time.sleep(2)
        mark, pid = csms.mark(), bridge.proc.pid
        cpu0, t0 = cpu_seconds(pid), time.monotonic()
        end = t0 + args.seconds
        while time.monotonic() < end:
            tick = time.monotonic()
            for sim in sims:
                energy[sim.evse_id] += 11000 / 3600
                sim.meter(energy[sim.evse_id], power_w=11000)
            time.sleep(max(0.0, 1.0 - (time.monotonic() - tick)))
        window = time.monotonic() - t0
        cpu = (cpu_seconds(pid) - cpu0) / window * 100
        time.sleep(args.interval + 2)  # the last interval's messages
        counted = time.monotonic() - t0  # sampling goes on after the window, on the last reading
        per_evse: dict[int, int] = {}
        evse_of: dict[str, int] = {}
        for entry in csms.ledger:
            evse = periodic(entry, args.version, evse_of)
            if evse is not None and entry["index"] >= mark:
                per_evse[evse] = per_evse.get(evse, 0) + 1
        expected = args.evses * int(counted // args.interval)
        print(f"{args.evses} EVSEs, OCPP {args.version}, powermeter every 1 s, interval {args.interval} s, "
              f"window {window:.1f} s")
        print(f"bridge CPU over the window: {cpu:.1f} % of one core; RSS at the end {rss_mib(pid):.1f} MiB")
        print(f"periodic meter-value messages: {sum(per_evse.values())} received, about {expected} expected "
              f"(time counted / interval per EVSE); per EVSE min {min(per_evse.values(), default=0)} "
              f"max {max(per_evse.values(), default=0)}, EVSEs heard {len(per_evse)} of {args.evses}")
    finally:
        bridge.stop()
        for sim in sims:
            sim.stop()
        peer.stop()
        csms.stop()
        broker.cleanup()


if __name__ == "__main__":
    main()
