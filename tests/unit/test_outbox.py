"""The durable outbox and its delivery rules, on the pure station core with a fake clock.

A hand-played CSMS (``Wire``) sees every frame; the outbox file is opened again, or read by a
second SQLite connection, to check what is durable. Covers ordering, one call in flight,
retries (new ids, persisted attempts, policy read at each failure), offline not spending
attempts, late answers, the 1.6 transactionId substitution (also across reopening), the
thinning rule, QueueAllMessages, boot-first after a restart, the resume delay and ``stop``.

The rules are tested on a bare station (core + registration + outbox: ``Bare``) so that no
other block's traffic (StatusNotification after boot, ...) takes the line; the last tests
check that the real charge points read their retry settings and QueueAllMessages from their
stores.
"""

import json
import logging
import sqlite3

import pytest
from test_station_core import Wire, answer, boot_answer, make

from ocpp_bridge.ocpp.charge_point import ChargePoint
from ocpp_bridge.ocpp.outbox import Outbox
from ocpp_bridge.ocpp.registration import Registration
from ocpp_bridge.ocpp.security_events import send_security_event
from ocpp_bridge.ocpp.station import InvalidOutgoing, StationCore
from ocpp_bridge.ocpp.v201.device_model import VariableKey
from ocpp_bridge.store.database import SchemaVersionError

T = "2026-01-01T00:00:00Z"
BOOT = {"1.6": {"chargePointVendor": "ACME", "chargePointModel": "Box"},
        "2.0.1": {"chargingStation": {"vendorName": "ACME", "model": "Box"}, "reason": "PowerUp"}}


class Bare(ChargePoint):
    """A station with nothing but the core, BootNotification and the outbox in ``directory``
    (the charge point's lifecycle, no blocks). ``attempts``/``interval`` and
    ``queue_all_messages`` are read by the core at each use."""

    def __init__(self, version, directory, wire, attempts=3, interval=60.0):
        self.version = version
        self.attempts, self.interval, self.queue_all_messages = attempts, interval, False
        self.core = StationCore(version, wire.send, timeout_s=30, outbox=Outbox.open(str(directory), version),
                                retry_policy=lambda action: (self.attempts, self.interval),
                                queue_all=lambda: self.queue_all_messages)
        self._registration = Registration(self.core, lambda: BOOT[version], lambda: 0, lambda interval: None)

    @property
    def registration(self):
        return self._registration

    def validate_token(self, token):
        raise AssertionError("no blocks")

    data_transfer_to_csms = change_availability = basic_auth_password = validate_token

    def _close_blocks(self):
        return None

    def close(self):
        self.core.close()


def online(cp, wire, now=0.0, status="Accepted"):
    """Connect and have the CSMS answer the BootNotification."""
    cp.core.on_connected(now)
    answer(cp, wire.calls("BootNotification")[-1], boot_answer(status, 300, cp.version), now)


def error(cp, frame, now, code="InternalError"):
    cp.core.on_text(json.dumps([4, frame[1], code, "nope", {}]), now)


def security(cp, n):
    assert send_security_event(cp.core, "TamperDetectionActivated", f"event {n}")


def infos(wire, action="SecurityEventNotification"):
    return [f[3].get("techInfo") for f in wire.calls(action)]


def committed(tmp_path, query):
    """What a second connection sees in outbox.db: committed rows only."""
    conn = sqlite3.connect(tmp_path / "outbox.db")
    try:
        return conn.execute(query).fetchall()
    finally:
        conn.close()


def rows(tmp_path):
    return committed(tmp_path, "SELECT action, tx_key, attempts, payload FROM outbox ORDER BY id")


def start16(tx, n=1):
    return {"connectorId": n, "idTag": "TAG1", "meterStart": 0, "timestamp": T}


def meter16(value, tx_id=-1):
    return {"connectorId": 1, "transactionId": tx_id,
            "meterValue": [{"timestamp": T, "sampledValue": [{"value": str(value)}]}]}


def stop16(tx_id=-1):
    return {"transactionId": tx_id, "meterStop": 100, "timestamp": T, "reason": "Local"}


def event201(seq, event_type="Updated", trigger="MeterValuePeriodic", tx="tx-1"):
    return {"eventType": event_type, "timestamp": T, "triggerReason": trigger, "seqNo": seq,
            "transactionInfo": {"transactionId": tx}}


class Results:
    """An ``on_tx_result`` handler that records what it hears."""

    def __init__(self, cp, *actions):
        self.heard: list[tuple] = []
        for action in actions:
            cp.core.on_tx_result(action, lambda key, payload, result, a=action: self.heard.append(
                (a, key, payload, result)))


# ------------------------------------------------------------------ durability and order
def test_stored_durably_before_send_transactional_returns(tmp_path):
    wire = Wire()
    cp = Bare("1.6", tmp_path, wire)
    row_id = cp.core.send_transactional("StartTransaction", start16("a"), "a")
    assert row_id > 0
    assert rows(tmp_path) == [("StartTransaction", "a", 0, json.dumps(start16("a"), separators=(",", ":")))]
    assert wire.sent == []  # offline: nothing written, still queued
    with pytest.raises(InvalidOutgoing):
        cp.core.send_transactional("StartTransaction", {"connectorId": 1}, "a")
    assert len(rows(tmp_path)) == 1


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
def test_fifo_one_in_flight_removed_only_after_callresult(version, tmp_path):
    wire = Wire()
    cp = Bare(version, tmp_path, wire)
    results = Results(cp, "SecurityEventNotification")
    for n in range(3):
        security(cp, n)
    online(cp, wire, 1.0)
    assert infos(wire) == ["event 0"]  # one in flight
    assert len(rows(tmp_path)) == 3
    answer(cp, wire.calls("SecurityEventNotification")[0], {}, 2.0)
    assert len(rows(tmp_path)) == 2 and infos(wire) == ["event 0", "event 1"]
    answer(cp, wire.calls()[-1], {}, 3.0)
    answer(cp, wire.calls()[-1], {}, 4.0)
    assert infos(wire) == ["event 0", "event 1", "event 2"]
    assert rows(tmp_path) == [] and cp.core.outbox.head() is None
    assert [(r[1], r[2]["techInfo"], r[3]) for r in results.heard] == [
        (None, "event 0", {}), (None, "event 1", {}), (None, "event 2", {})]


def test_ordinary_messages_interleave_by_age_but_never_overtake(tmp_path):
    wire = Wire()
    cp = Bare("1.6", tmp_path, wire)
    online(cp, wire)
    security(cp, 0)                                   # in flight
    cp.core.call("Heartbeat", {})                     # older than event 1
    security(cp, 1)
    cp.core.call("StatusNotification", {"connectorId": 0, "errorCode": "NoError", "status": "Available"})
    for _ in range(3):
        answer(cp, wire.calls()[-1], {"currentTime": T} if wire.calls()[-1][2] == "Heartbeat" else {}, 1.0)
    assert [f[2] for f in wire.calls()][1:] == ["SecurityEventNotification", "Heartbeat",
                                                "SecurityEventNotification", "StatusNotification"]


def test_messages_of_a_previous_run_go_first_and_find_their_handler(tmp_path):
    wire = Wire()
    cp = Bare("1.6", tmp_path, wire)
    security(cp, "old")
    cp.close()
    cp = Bare("1.6", tmp_path, wire)
    results = Results(cp, "SecurityEventNotification")  # registered by a block, no closure per message
    online(cp, wire)
    security(cp, "new")
    answer(cp, wire.calls()[-1], {}, 1.0)
    answer(cp, wire.calls()[-1], {}, 2.0)
    assert infos(wire) == ["event old", "event new"]
    assert [r[2]["techInfo"] for r in results.heard] == ["event old", "event new"]


# ------------------------------------------------------------------ retries
def test_callerror_retried_with_new_ids_persisted_attempts_then_dropped(tmp_path, caplog):
    wire = Wire()
    cp = Bare("1.6", tmp_path, wire, attempts=3, interval=10)
    results = Results(cp, "SecurityEventNotification")
    online(cp, wire)
    security(cp, 0)
    error(cp, wire.calls()[-1], 1.0)
    assert rows(tmp_path)[0][2] == 1                   # the attempt is on disk
    assert cp.core.poll(1.0) == pytest.approx(11.0)    # RetryInterval x 1
    cp.core.poll(10.9)
    assert len(infos(wire)) == 1
    cp.core.poll(11.0)
    assert len(infos(wire)) == 2
    error(cp, wire.calls()[-1], 12.0)
    assert rows(tmp_path)[0][2] == 2
    cp.core.poll(31.9)
    assert len(infos(wire)) == 2                       # RetryInterval x 2
    cp.core.poll(32.0)
    ids = [f[1] for f in wire.calls("SecurityEventNotification")]
    assert len(ids) == 3 and len(set(ids)) == 3        # a new message id every time
    with caplog.at_level(logging.ERROR, "ocpp_bridge.ocpp"):
        error(cp, wire.calls()[-1], 33.0)
    assert "SecurityEventNotification dropped after 3 failed attempt(s)" in caplog.text
    assert rows(tmp_path) == []
    assert results.heard == [("SecurityEventNotification", None, wire.calls()[-1][3], None)]
    cp.core.poll(1000.0)
    assert len(infos(wire)) == 3


def test_retry_settings_are_read_at_each_failure(tmp_path):
    wire = Wire()
    cp = Bare("2.0.1", tmp_path, wire, attempts=5, interval=7)
    online(cp, wire)
    cp.core.send_transactional("TransactionEvent", event201(0, "Started", "Authorized"), "tx-1")
    error(cp, wire.calls()[-1], 1.0)
    assert cp.core.poll(1.0) == pytest.approx(8.0)
    cp.attempts = 2
    cp.core.poll(8.0)
    error(cp, wire.calls()[-1], 9.0)                   # 2 of 2: dropped under the new setting
    assert cp.core.messages_in_queue() == 0 and rows(tmp_path) == []


def test_attempts_survive_a_restart(tmp_path):
    wire = Wire()
    cp = Bare("1.6", tmp_path, wire, attempts=2)
    online(cp, wire)
    security(cp, 0)
    error(cp, wire.calls()[-1], 1.0)
    cp.close()
    cp = Bare("1.6", tmp_path, wire, attempts=2)
    online(cp, wire, 100.0)
    error(cp, wire.calls()[-1], 101.0)                 # the second and last attempt
    assert rows(tmp_path) == []
    assert len(infos(wire)) == 2


@pytest.mark.parametrize("retried", [False, True], ids=["before-retry", "after-retry"])
def test_timeout_spends_an_attempt_and_a_late_result_counts_until_the_retry(tmp_path, retried):
    wire = Wire()
    cp = Bare("1.6", tmp_path, wire)
    results = Results(cp, "SecurityEventNotification")
    online(cp, wire)
    security(cp, 0)
    first = wire.calls()[-1]
    cp.core.poll(30.0)                                 # MessageTimeout
    assert rows(tmp_path)[0][2] == 1
    if retried:
        cp.core.poll(90.0)                             # the retry went out: the old id is dead
    answer(cp, first, {}, 91.0 if retried else 35.0)
    if not retried:                                    # taken: the CSMS gets it exactly once
        assert rows(tmp_path) == [] and len(results.heard) == 1
        cp.core.poll(200.0)
        assert len(infos(wire)) == 1
        return
    assert len(rows(tmp_path)) == 1 and results.heard == []
    answer(cp, wire.calls()[-1], {}, 92.0)
    assert rows(tmp_path) == [] and len(results.heard) == 1


def test_connection_lost_in_flight_and_offline_time_spend_no_attempt(tmp_path):
    wire = Wire()
    cp = Bare("1.6", tmp_path, wire)
    online(cp, wire)
    security(cp, 0)
    security(cp, 1)
    first = wire.calls()[-1]
    wire.up = False
    cp.core.on_disconnected(1.0)
    for t in range(2, 5000, 500):                      # long offline: timeouts must not count
        cp.core.poll(float(t))
    assert [r[2] for r in rows(tmp_path)] == [0, 0]
    wire.up = True
    cp.core.on_connected(5000.0)                       # still Accepted: no new boot needed
    again = wire.calls()[-1]
    assert again[3] == first[3] and again[1] != first[1]
    answer(cp, again, {}, 5001.0)
    assert infos(wire) == ["event 0", "event 0", "event 1"]


def test_a_failed_write_puts_the_message_back_without_an_attempt(tmp_path):
    wire = Wire()
    cp = Bare("1.6", tmp_path, wire)
    online(cp, wire)
    wire.up = False                                    # the socket died, the event is not in yet
    security(cp, 0)
    assert cp.core.session.in_flight is None and rows(tmp_path)[0][2] == 0
    cp.core.on_disconnected(1.0)
    wire.up = True
    cp.core.on_connected(2.0)
    assert infos(wire) == ["event 0"]


def test_handler_failure_does_not_stop_the_queue(tmp_path, caplog):
    wire = Wire()
    cp = Bare("1.6", tmp_path, wire)
    cp.core.on_tx_result("SecurityEventNotification", lambda *a: 1 / 0)
    online(cp, wire)
    security(cp, 0)
    security(cp, 1)
    answer(cp, wire.calls()[-1], {}, 1.0)
    assert "result handler of SecurityEventNotification failed" in caplog.text
    assert infos(wire) == ["event 0", "event 1"] and len(rows(tmp_path)) == 1


# ------------------------------------------------------------------ 1.6 transaction ids
def test_16_offline_transaction_gets_its_real_id_in_queued_messages(tmp_path):
    wire = Wire()
    cp = Bare("1.6", tmp_path, wire)
    results = Results(cp, "StartTransaction", "StopTransaction")
    cp.core.send_transactional("StartTransaction", start16("a"), "a")
    cp.core.send_transactional("MeterValues", meter16(10), "a")
    cp.core.send_transactional("StopTransaction", stop16(), "a")
    assert cp.core.messages_in_queue("a") == 3 and cp.core.messages_in_queue("b") == 0
    assert [a for a, _ in cp.core.pending_transactional("a")] == ["StartTransaction", "MeterValues",
                                                                  "StopTransaction"]
    online(cp, wire)
    answer(cp, wire.calls("StartTransaction")[0], {"transactionId": 42, "idTagInfo": {"status": "Accepted"}}, 1.0)
    assert cp.core.pending_transactional("a")[1][1]["transactionId"] == 42
    answer(cp, wire.calls("MeterValues")[0], {}, 2.0)
    answer(cp, wire.calls("StopTransaction")[0], {}, 3.0)
    assert wire.calls("MeterValues")[0][3]["transactionId"] == 42
    assert wire.calls("StopTransaction")[0][3]["transactionId"] == 42
    assert [(r[0], r[3]) for r in results.heard][0] == ("StartTransaction", {
        "transactionId": 42, "idTagInfo": {"status": "Accepted"}})
    assert results.heard[1][2]["transactionId"] == 42
    assert cp.core.outbox.transaction_id("a") is None  # forgotten with its StopTransaction


def test_16_transaction_id_survives_reopening_the_outbox(tmp_path):
    wire = Wire()
    cp = Bare("1.6", tmp_path, wire)
    online(cp, wire)
    cp.core.send_transactional("StartTransaction", start16("a"), "a")
    wire.up = False
    cp.core.send_transactional("MeterValues", meter16(10), "a")   # queued behind the start
    wire.up = True
    answer(cp, wire.calls("StartTransaction")[0], {"transactionId": 7, "idTagInfo": {"status": "Accepted"}}, 1.0)
    cp.core.on_disconnected(1.5)                                  # the meter value is cut in flight
    cp.core.send_transactional("StopTransaction", stop16(), "a")
    cp.close()                                                    # restart
    cp = Bare("1.6", tmp_path, wire)
    assert [p["transactionId"] for _, p in cp.core.pending_transactional("a")] == [7, 7]
    assert [json.loads(r[3])["transactionId"] for r in rows(tmp_path)] == [-1, -1]  # stored as queued
    online(cp, wire, 10.0)
    answer(cp, wire.calls("MeterValues")[-1], {}, 11.0)
    assert wire.calls("MeterValues")[-1][3]["transactionId"] == 7
    assert wire.calls("StopTransaction")[-1][3]["transactionId"] == 7


def test_16_explicit_set_transaction_id_is_persisted(tmp_path):
    wire = Wire()
    cp = Bare("1.6", tmp_path, wire)
    cp.core.send_transactional("StopTransaction", stop16(), "b")
    cp.core.set_transaction_id("b", 99)
    cp.close()
    cp = Bare("1.6", tmp_path, wire)
    online(cp, wire)
    assert wire.calls("StopTransaction")[0][3]["transactionId"] == 99


# ------------------------------------------------------------------ thinning
def test_thinning_drops_every_second_update_only(tmp_path, caplog):
    wire = Wire()
    cp = Bare("1.6", tmp_path, wire)
    cp.core.queue_threshold = 6
    results = Results(cp, "MeterValues")
    cp.core.send_transactional("StartTransaction", start16("a"), "a")
    for v in range(1, 7):
        cp.core.send_transactional("MeterValues", meter16(v), "a")
    cp.core.send_transactional("StopTransaction", stop16(), "a")
    security(cp, 0)
    kept = [(a, p["meterValue"][0]["sampledValue"][0]["value"] if a == "MeterValues" else None)
            for a, p in cp.core.pending_transactional("a")]
    assert kept == [("StartTransaction", None), ("MeterValues", "1"), ("MeterValues", "3"),
                    ("MeterValues", "5"), ("StopTransaction", None)]
    assert len(cp.core.outbox) == 6 == len(rows(tmp_path))
    assert sorted(r[2]["meterValue"][0]["sampledValue"][0]["value"] for r in results.heard) == ["2", "4", "6"]
    assert all(r[3] is None for r in results.heard)
    assert "thinned out MeterValues" in caplog.text


def test_thinning_never_drops_start_stop_or_other_events(tmp_path):
    wire = Wire()
    cp = Bare("2.0.1", tmp_path, wire)
    cp.core.queue_threshold = 2
    cp.core.send_transactional("TransactionEvent", event201(0, "Started", "Authorized"), "t")
    cp.core.send_transactional("TransactionEvent", event201(1, "Updated", "ChargingStateChanged"), "t")
    cp.core.send_transactional("TransactionEvent", event201(2), "t")
    cp.core.send_transactional("TransactionEvent", event201(3), "t")
    cp.core.send_transactional("TransactionEvent", event201(4, "Ended", "StopAuthorized"), "t")
    assert [p["seqNo"] for _, p in cp.core.pending_transactional("t")] == [0, 1, 2, 4]
    assert cp.core.messages_in_queue() == 4  # above the threshold: nothing else may go


def test_threshold_drops_oldest_ordinary_messages_first(tmp_path):
    wire = Wire()
    cp = Bare("2.0.1", tmp_path, wire)
    cp.queue_all_messages = True
    cp.core.queue_threshold = 4
    dropped = []
    for n in range(4):
        cp.core.call("Heartbeat", {}, lambda r, e, n=n: dropped.append((n, e.reason)) if e else None)
    cp.core.send_transactional("TransactionEvent", event201(0), "t")
    cp.core.send_transactional("TransactionEvent", event201(1), "t")
    assert dropped == [(0, "dropped"), (1, "dropped")]
    assert len(cp.core.session.queued()) == 2 and cp.core.messages_in_queue("t") == 2


# ------------------------------------------------------------------ offline, boot, resume, stop
def test_offline_ordinary_messages_dropped_unless_queue_all_messages(tmp_path):
    wire = Wire()
    cp = Bare("2.0.1", tmp_path, wire)
    online(cp, wire)
    cp.core.on_disconnected(1.0)
    outcome = []
    assert cp.core.call("Heartbeat", {}, lambda r, e: outcome.append(e.reason)) is None
    assert outcome == ["dropped"]
    cp.queue_all_messages = True
    cp.core.call("Heartbeat", {})
    cp.core.on_connected(2.0)
    assert wire.calls()[-1][2] == "Heartbeat"


def test_disconnect_drops_queued_ordinary_messages_but_not_the_outbox(tmp_path):
    wire = Wire()
    cp = Bare("1.6", tmp_path, wire)
    online(cp, wire)
    security(cp, 0)                                    # in flight
    outcome = []
    cp.core.call("Heartbeat", {}, lambda r, e: outcome.append(e.reason))
    security(cp, 1)
    cp.core.on_disconnected(1.0)
    assert outcome == ["dropped"] and len(rows(tmp_path)) == 2
    cp.core.on_connected(2.0)
    answer(cp, wire.calls()[-1], {}, 3.0)
    assert [f[2] for f in wire.calls()][-3:] == ["SecurityEventNotification"] * 3
    assert infos(wire) == ["event 0", "event 0", "event 1"]


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
def test_after_a_restart_nothing_but_boot_before_accepted(version, tmp_path):
    wire = Wire()
    cp = Bare(version, tmp_path, wire)
    security(cp, 0)
    cp.close()
    cp = Bare(version, tmp_path, wire)
    cp.core.on_connected(0.0)
    answer(cp, wire.calls()[-1], boot_answer("Pending", 10, version), 0.1)
    cp.core.poll(5.0)
    assert [f[2] for f in wire.calls()] == ["BootNotification"]
    cp.core.poll(10.2)
    answer(cp, wire.calls()[-1], boot_answer("Accepted", 300, version), 10.3)
    assert [f[2] for f in wire.calls()] == ["BootNotification", "BootNotification", "SecurityEventNotification"]


def test_resume_delay_holds_the_outbox_after_each_connection(tmp_path):
    wire = Wire()
    cp = Bare("1.6", tmp_path, wire)
    cp.core.resume_delay_s = 5.0
    online(cp, wire, 100.0)
    security(cp, 0)
    cp.core.call("Heartbeat", {})                      # ordinary messages are not held
    assert [f[2] for f in wire.calls()] == ["BootNotification", "Heartbeat"]
    answer(cp, wire.calls()[-1], {"currentTime": T}, 101.0)
    assert cp.core.poll(101.0) == pytest.approx(105.0)
    cp.core.poll(104.9)
    assert infos(wire) == []
    cp.core.poll(105.0)
    assert infos(wire) == ["event 0"]
    cp.core.on_disconnected(106.0)
    cp.core.on_connected(200.0)
    cp.core.poll(204.0)
    assert infos(wire) == ["event 0"]
    cp.core.poll(205.0)
    assert infos(wire) == ["event 0", "event 0"]


def test_stop_keeps_the_outbox_and_refuses_new_messages(tmp_path, caplog):
    wire = Wire()
    cp = Bare("1.6", tmp_path, wire)
    online(cp, wire)
    security(cp, 0)                                    # in flight when stopped
    cp.stop()
    cp.core.on_disconnected(1.0)
    with caplog.at_level(logging.INFO, "ocpp_bridge.ocpp"):
        assert not send_security_event(cp.core, "TamperDetectionActivated", "while stopped")
        assert cp.core.send_transactional("StartTransaction", start16("a"), "a") == 0
    assert "OCPP is stopped: not queueing StartTransaction" in caplog.text
    assert [r[2] for r in rows(tmp_path)] == [0]
    cp.start()
    online(cp, wire, 2.0)
    assert infos(wire) == ["event 0", "event 0"]


def test_in_memory_outbox_without_a_directory():
    box = Outbox.in_memory("2.0.1")
    entry = box.add("TransactionEvent", event201(0), "t", 0.0)
    assert box.head() is entry and box.count() == 1 and box.count("t") == 1
    assert not box.record_failure(entry, 1.0, 1, 5.0)  # 1 of 1
    box.remove(entry)
    assert len(box) == 0


def test_a_message_queued_by_a_result_handler_waits_for_that_commit(tmp_path):
    wire = Wire()
    cp = Bare("1.6", tmp_path, wire)
    written = []

    def chain(key, payload, result):
        cp.core.send_transactional("StopTransaction", stop16(), "a")
        written.append(len(wire.calls()))              # nothing went out from inside the commit

    cp.core.on_tx_result("StartTransaction", chain)
    online(cp, wire)
    cp.core.send_transactional("StartTransaction", start16("a"), "a")
    answer(cp, wire.calls()[-1], {"transactionId": 5, "idTagInfo": {"status": "Accepted"}}, 1.0)
    assert written == [2]                              # BootNotification, StartTransaction
    assert wire.calls()[-1][2] == "StopTransaction" and wire.calls()[-1][3]["transactionId"] == 5
    assert [(r[0], r[1]) for r in rows(tmp_path)] == [("StopTransaction", "a")]


# ------------------------------------------------------------------ all or nothing (core.atomic, guests)
GUEST = ["CREATE TABLE record (tx_key TEXT PRIMARY KEY);"]


def guest_rows(tmp_path):
    return committed(tmp_path, "SELECT tx_key FROM record")


def test_a_message_and_a_guest_record_commit_together_and_go_after_the_commit(tmp_path):
    wire = Wire()
    cp = Bare("1.6", tmp_path, wire)
    db = cp.core.outbox.host("guest", GUEST)
    online(cp, wire)
    with cp.core.atomic():
        cp.core.send_transactional("StartTransaction", start16("a"), "a")
        db.execute("INSERT INTO record VALUES ('a')")
        assert wire.calls("StartTransaction") == []    # nothing on the wire before the commit
        assert rows(tmp_path) == [] and guest_rows(tmp_path) == []   # nor on disk
    assert [r[0] for r in rows(tmp_path)] == ["StartTransaction"] and guest_rows(tmp_path) == [("a",)]
    assert len(wire.calls("StartTransaction")) == 1


def test_a_failed_change_leaves_neither_the_message_nor_the_record(tmp_path):
    wire = Wire()
    cp = Bare("1.6", tmp_path, wire)
    db = cp.core.outbox.host("guest", GUEST)
    online(cp, wire)
    security(cp, 0)                                   # in flight: counts stay as they are
    cp.core.send_transactional("StartTransaction", start16("a"), "a")
    error(cp, wire.calls()[-1], 1.0)                  # attempt 1 of the security event, in memory too
    before = [(e.action, e.attempts, e.not_before) for e in cp.core.outbox.entries()]
    with pytest.raises(sqlite3.OperationalError):
        with cp.core.atomic():
            cp.core.send_transactional("StopTransaction", stop16(), "a")
            cp.core.outbox.set_transaction_id("a", 7)
            cp.core.outbox.record_failure(cp.core.outbox.head(), 2.0, 3, 60.0)
            db.execute("INSERT INTO record VALUES ('a')")
            db.execute("INSERT INTO no_such_table VALUES (1)")   # the store write that fails
    assert [(e.action, e.attempts, e.not_before) for e in cp.core.outbox.entries()] == before
    assert cp.core.outbox.transaction_id("a") is None and cp.core.messages_in_queue("a") == 1
    assert [r[0] for r in rows(tmp_path)] == ["SecurityEventNotification", "StartTransaction"]
    assert guest_rows(tmp_path) == [] and wire.calls("StopTransaction") == []
    cp.close()
    reopened = Outbox.open(str(tmp_path), "1.6")       # and so it stays after a restart
    assert [e.action for e in reopened.entries()] == ["SecurityEventNotification", "StartTransaction"]


def test_a_nested_change_that_fails_is_rolled_back_alone(tmp_path):
    cp = Bare("2.0.1", tmp_path, Wire())
    db = cp.core.outbox.host("guest", GUEST)
    with cp.core.atomic():
        cp.core.send_transactional("TransactionEvent", event201(0, "Started", "Authorized"), "tx-1")
        db.execute("INSERT INTO record VALUES ('tx-1')")
        with pytest.raises(ZeroDivisionError):
            with cp.core.atomic():
                cp.core.send_transactional("TransactionEvent", event201(1), "tx-1")
                db.execute("INSERT INTO record VALUES ('tx-2')")
                raise ZeroDivisionError("the block fails between its writes")
        assert [e.payload["seqNo"] for e in cp.core.outbox.entries()] == [0]
    assert [json.loads(r[3])["seqNo"] for r in rows(tmp_path)] == [0] and guest_rows(tmp_path) == [("tx-1",)]


def test_guest_tables_keep_their_own_schema_version(tmp_path):
    box = Outbox.open(str(tmp_path), "1.6")
    box.host("guest", GUEST)
    box.host("guest", GUEST)                           # a second start runs nothing again
    box.host("guest", [*GUEST, "ALTER TABLE record ADD COLUMN n INTEGER;"])
    assert box.conn.execute("SELECT name, version FROM guest_schema").fetchall() == [("guest", 2)]
    assert box.conn.execute("PRAGMA user_version").fetchone()[0] == 1   # the outbox's own
    with pytest.raises(SchemaVersionError):
        box.host("guest", GUEST)                       # written by a newer release
    box.add("StartTransaction", start16("a"), "a", 0.0)
    box.close()
    assert [e.action for e in Outbox.open(str(tmp_path), "1.6").entries()] == ["StartTransaction"]


# ------------------------------------------------------------------ the real charge points' settings
def test_16_retry_policy_reads_the_configuration_keys(tmp_path):
    cp = make("1.6", tmp_path, Wire())
    assert cp.core.delivery.retry_policy("StopTransaction") == (3, 60.0)
    cp.keys.set("TransactionMessageAttempts", "5", by_csms=True)
    cp.keys.set("TransactionMessageRetryInterval", "9", by_csms=True)
    assert cp.core.delivery.retry_policy("StopTransaction") == (5, 9.0)
    assert cp.core.queue_all() is False


def test_201_retry_policy_and_queue_all_read_the_device_model(tmp_path):
    cp = make("2.0.1", tmp_path, Wire())
    assert cp.core.delivery.retry_policy("TransactionEvent") == (3, 60.0)
    for name, value in (("MessageAttempts", "4"), ("MessageAttemptInterval", "11")):
        cp.model.set(VariableKey("OCPPCommCtrlr", name, variable_instance="TransactionEvent"), value, by_csms=True)
    cp.model.set(VariableKey("OCPPCommCtrlr", "QueueAllMessages"), "true", by_csms=True)
    assert cp.core.delivery.retry_policy("SecurityEventNotification") == (4, 11.0)
    assert cp.core.queue_all() is True
