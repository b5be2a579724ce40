"""OcppVersion "auto": the bridge offers both subprotocols and speaks whichever the CSMS picks;
each version keeps its own files, so a CSMS that switches versions between runs finds each
version's queue as it was left, never translated and never lost. Real bridge process, real
broker, the ``ocpp`` package's CSMS of each version, a simulated EVSE manager."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from support.station import CP_ID

AUTO = {"OcppVersion": "auto"}


def offered(st) -> list[str]:
    header = st.csms.handshake(CP_ID)["headers"].get("Sec-WebSocket-Protocol", "")
    return [p.strip() for p in header.split(",")]


def boot_of(st) -> dict:
    return st.csms.wait_for("BootNotification", timeout=20)["payload"]


def last_version(st) -> str:
    return (Path(st.bridge.config["DatabasePath"]) / "last-version").read_text().strip()


def queued(st, version: str) -> list[str]:
    """The actions waiting in ``version``'s outbox (read from its file)."""
    path = Path(st.bridge.config["DatabasePath"]) / f"ocpp{version}" / "outbox.db"
    conn = sqlite3.connect(path)
    try:
        return [action for (action,) in conn.execute("SELECT action FROM outbox ORDER BY id")]
    finally:
        conn.close()


@pytest.mark.parametrize("csms_version, boot_field", [("1.6", "chargePointVendor"), ("2.0.1", "chargingStation")])
def test_a_csms_that_speaks_one_version_gets_that_version(charging_station, csms_version, boot_field):
    st = charging_station(version=csms_version, config=AUTO)
    assert offered(st) == ["ocpp2.0.1", "ocpp1.6"], "both offered, 2.0.1 first (AutoOcppVersions)"
    assert st.csms.handshake(CP_ID)["subprotocol"] == f"ocpp{csms_version}"
    assert boot_field in boot_of(st), "the BootNotification is the picked version's"
    assert last_version(st) == csms_version
    st.evse(1).plug_in()  # the EVSE side reaches the picked version's station
    plugged = "Preparing" if csms_version == "1.6" else "Occupied"
    st.csms.wait_for(lambda e: e["action"] == "StatusNotification"
                     and plugged in (e["payload"].get("status"), e["payload"].get("connectorStatus")), timeout=20)


def test_a_csms_that_accepts_both_gets_2_0_1(charging_station):
    st = charging_station(version="2.0.1", config=AUTO, csms_kwargs={"also_accepts": ["ocpp1.6"]})
    assert st.csms.handshake(CP_ID)["subprotocol"] == "ocpp2.0.1"
    assert "chargingStation" in boot_of(st)
    assert last_version(st) == "2.0.1"


def test_the_preference_order_is_a_module_option(charging_station):
    st = charging_station(version="1.6", config={**AUTO, "AutoOcppVersions": "1.6,2.0.1"},
                          csms_kwargs={"also_accepts": ["ocpp2.0.1"]})
    assert offered(st) == ["ocpp1.6", "ocpp2.0.1"]
    assert st.csms.handshake(CP_ID)["subprotocol"] == "ocpp1.6" and "chargePointVendor" in boot_of(st)


def test_a_switch_between_runs_leaves_each_versions_queue_intact(charging_station, csms16, csms201):
    # run 1: a 1.6 CSMS; it goes away, and a charging session happens offline
    st = charging_station(version="1.6", config=AUTO)
    port = st.csms.port
    ev = st.evse(1)
    st.csms.stop()
    st.bridge.wait_log(r"CSMS connection lost", timeout=20)
    ev.plug_in()
    ev.start_transaction("TAG-16")
    ev.meter(1500)
    ev.stop_transaction("Local")
    ev.unplug()
    st.bridge.wait_log(r"stopped: Local", timeout=20)
    st.bridge.stop()
    assert queued(st, "1.6")[:1] == ["StartTransaction"] and "StopTransaction" in queued(st, "1.6")

    # run 2: the CSMS now speaks 2.0.1 only: the 1.6 queue is neither sent nor translated
    csms2 = csms201(port=port)
    st.restart_bridge()
    assert "chargingStation" in csms2.wait_for("BootNotification", timeout=30)["payload"]
    sentinel = csms2.mark()
    assert csms2.call(CP_ID, "TriggerMessage", {"requestedMessage": "Heartbeat"}) == {"status": "Accepted"}
    csms2.wait_for("Heartbeat", after_index=sentinel, timeout=10)
    assert not csms2.entries("TransactionEvent"), "nothing of the 1.6 transaction reached the 2.0.1 CSMS"
    assert last_version(st) == "2.0.1"
    st.bridge.stop()
    assert queued(st, "1.6")[:1] == ["StartTransaction"], "the 1.6 queue is still there"
    csms2.stop()

    # run 3: back to a 1.6 CSMS: the queued transaction goes out, in order
    csms3 = csms16(port=port)
    st.restart_bridge()
    start = csms3.wait_for("StartTransaction", timeout=30)
    assert start["payload"]["idTag"] == "TAG-16"
    stop = csms3.wait_for("StopTransaction", after_index=start["index"], timeout=30)
    assert stop["payload"]["reason"] == "Local"
    assert last_version(st) == "1.6"
