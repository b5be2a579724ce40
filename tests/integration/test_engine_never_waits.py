"""The engine never waits for the network (review H4): while the bridge owes a CSMS that has
stopped reading more bytes than every TCP buffer between them holds, it still answers MQTT
commands at once; when the CSMS reads again it gets everything, in order, on the same
connection.

Real parts: mosquitto, the bridge process, an EVerest peer playing the ``data_transfer``
module, and a CSMS on a bare socket (``support.raw_csms``), because it must be able not to
read. The CSMS's DataTransfer gets the module's answer, which is larger than all buffers:
the bridge cannot write it while the CSMS does not read."""

from __future__ import annotations

import json
import re

from support.raw_csms import RawCsms

MODULE = "ocpp"
BOOT_ACCEPTED = {"status": "Accepted", "interval": 300, "currentTime": "2026-01-01T00:00:00Z"}


def send_buffer_max_bytes() -> int:
    """The most a sender's kernel buffer grows to on this machine (tcp_wmem's maximum)."""
    with open("/proc/sys/net/ipv4/tcp_wmem", encoding="ascii") as f:
        return int(f.read().split()[2])


def test_h4_mqtt_commands_are_answered_while_the_csms_is_not_reading(bridge, peer):
    with RawCsms(receive_buffer=64 * 1024) as csms:
        probe = peer()
        b = bridge({"ChargePointId": "CP1", "CentralSystemURI": csms.url, "OcppVersion": "1.6",
                    "GlobalReadyTimeoutS": 0, "WebsocketPingIntervalS": 0,
                    "RetryBackOffWaitMinimumS": 1, "RetryBackOffRandomRangeS": 1},
                   module_id=MODULE, connections={"data_transfer": [(probe.module_id, "data_transfer")]})
        probe.wait_module_ready(MODULE, timeout=20)
        probe.send_global_ready()
        csms.accept(timeout=20)
        boot = csms.read_call("BootNotification")
        csms.send_text(json.dumps([3, boot[1], BOOT_ACCEPTED]))

        size = 3 * (send_buffer_max_bytes() + csms.receive_buffer_bytes) // 2  # half as much again as they hold
        probe.implement("data_transfer", "data_transfer", lambda args: {"status": "Accepted", "data": "x" * size})
        csms.send_text(json.dumps([2, "dt-1", "DataTransfer", {"vendorId": "acme"}]))
        # from here on the CSMS does not read; the bridge has begun the answer it cannot finish
        b.wait_log(re.escape('-> [3,"dt-1",{"status":"Accepted","data":"xxx'), timeout=30)

        reply = probe.call(MODULE, "main", "get_configuration_key", {"keys": ["HeartbeatInterval"]}, timeout=60)
        assert reply["configuration_keys"][0]["key"] == "HeartbeatInterval"

        # the connection lived through it: reading again, the CSMS gets the whole answer
        while (message := csms.read_message())[0] != 3:
            pass
        assert message == [3, "dt-1", {"status": "Accepted", "data": "x" * size}]
