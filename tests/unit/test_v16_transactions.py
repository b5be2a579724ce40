"""OCPP 1.6 StartTransaction / StopTransaction from the EVSE events: ids, reasons, meter
values in Wh, transactionData, the bus's transaction events, invalid idTags, offline starts,
restarts. Pure charge point, scripted CSMS, fake clock."""

import sqlite3

import pytest

from ocpp_bridge.impls.ocpp_generic import transaction_event_value
from ocpp_bridge.ocpp import evse_events as E
from ocpp_bridge.ocpp.events import TxEnded, TxStarted, TxUpdated
from support.cp16 import Rig


def events(rig):
    seen = []
    for kind in (TxStarted, TxUpdated, TxEnded):
        rig.cp.core.events.subscribe(kind, lambda e: seen.append(transaction_event_value(e)))
    return seen


def test_tc_003_regular_charging_session(tmp_path):
    rig = Rig(tmp_path).boot()
    seen = events(rig)
    s = rig.plug_in(1)
    rig.start_tx(1, s, id_tag="TAG1", energy=1234.4)
    rig.advance(30)
    rig.stop_tx(1, s, reason="Local", energy=5678.6, id_tag="TAG1")
    rig.unplug(1, s)
    start = rig.calls("StartTransaction")[0]
    assert start == {"connectorId": 1, "idTag": "TAG1", "meterStart": 1234, "timestamp": "2026-01-01T00:00:00.000Z"}
    stop = rig.calls("StopTransaction")[0]
    assert (stop["transactionId"], stop["meterStop"], stop["reason"], stop["idTag"]) == (100, 5679, "Local", "TAG1")
    assert stop["timestamp"] == "2026-01-01T00:00:30.000Z"
    assert seen == [
        {"transaction_event": "Started", "session_id": s, "evse": {"id": 1, "connector_id": 1}},
        {"transaction_event": "Updated", "session_id": s, "evse": {"id": 1, "connector_id": 1}, "transaction_id": "100"},
        {"transaction_event": "Ended", "session_id": s, "evse": {"id": 1, "connector_id": 1}, "transaction_id": "100"},
    ]
    assert rig.cp.blocks.transactions.records() == []


@pytest.mark.parametrize("everest, ocpp", [("EVDisconnected", "EVDisconnected"), ("Remote", "Remote"),
                                           ("SoftReset", "SoftReset"), ("UnlockCommand", "UnlockCommand"),
                                           ("DeAuthorized", "DeAuthorized"), ("EnergyLimitReached", "Other"),
                                           ("TimeLimitReached", "Other"), ("EmergencyStop", "EmergencyStop")])
def test_stop_reason_mapping(tmp_path, everest, ocpp):
    rig = Rig(tmp_path).boot()
    s = rig.plug_in(1)
    rig.start_tx(1, s)
    rig.stop_tx(1, s, reason=everest)
    assert rig.calls("StopTransaction")[0]["reason"] == ocpp
    assert "idTag" not in rig.calls("StopTransaction")[0]


def test_transaction_data_follows_stop_txn_keys(tmp_path):
    rig = Rig(tmp_path, overrides={"StopTxnSampledData": "Energy.Active.Import.Register,Power.Active.Import",
                                   "StopTxnAlignedData": "Energy.Active.Import.Register",
                                   "MeterValueSampleInterval": 60, "ClockAlignedDataInterval": 900,
                                   "MeterValuesSampledData": "Power.Active.Import"}).boot()
    rig.advance(800)
    s = rig.plug_in(1)
    rig.start_tx(1, s, energy=100)
    rig.meter(1, 150, power_w=7000.0)
    rig.advance(60)   # periodic sample at +60 (T0+860)
    rig.meter(1, 250, power_w=7100.0)
    rig.advance(40)   # clock-aligned at T0+900
    rig.stop_tx(1, s, energy=300)
    data = rig.calls("StopTransaction")[0]["transactionData"]
    contexts = [[(v["context"], v["measurand"], v["value"]) for v in mv["sampledValue"]] for mv in data]
    assert contexts == [
        [("Transaction.Begin", "Energy.Active.Import.Register", "100")],
        [("Sample.Periodic", "Energy.Active.Import.Register", "150"), ("Sample.Periodic", "Power.Active.Import", "7000")],
        [("Sample.Clock", "Energy.Active.Import.Register", "250")],
        [("Transaction.End", "Energy.Active.Import.Register", "300")],
    ]
    assert data[2]["timestamp"] == "2026-01-01T00:15:00.000Z"


def test_no_transaction_data_when_keys_empty(tmp_path):
    rig = Rig(tmp_path, overrides={"StopTxnSampledData": "", "StopTxnAlignedData": ""}).boot()
    s = rig.plug_in(1)
    rig.start_tx(1, s)
    rig.advance(120)
    rig.stop_tx(1, s)
    assert "transactionData" not in rig.calls("StopTransaction")[0]


def test_tc_037_offline_start_gets_placeholder_then_real_id(tmp_path):
    rig = Rig(tmp_path, overrides={"MeterValueSampleInterval": 10}).boot()
    seen = events(rig)
    rig.disconnect()
    s = rig.plug_in(1)
    rig.start_tx(1, s)
    rig.meter(1, 1100)
    rig.advance(10)
    rig.stop_tx(1, s)
    assert rig.cp.core.messages_in_queue(s) == 3  # Start, MeterValues, Stop: all durable
    pending = rig.cp.core.pending_transactional(s)
    assert [a for a, _ in pending] == ["StartTransaction", "MeterValues", "StopTransaction"]
    assert pending[1][1]["transactionId"] == -1 and pending[2][1]["transactionId"] == -1
    rig.reconnect()
    assert rig.calls("MeterValues")[0]["transactionId"] == 100
    assert rig.calls("StopTransaction")[0]["transactionId"] == 100
    assert [e["transaction_event"] for e in seen] == ["Started", "Ended", "Updated"]
    assert seen[2]["transaction_id"] == "100" and seen[2]["evse"] == {"id": 1, "connector_id": 1}


def test_invalid_id_tag_stops_with_deauthorized(tmp_path):  # StopTransactionOnInvalidId
    rig = Rig(tmp_path).boot()
    rig.answers["StartTransaction"] = {"transactionId": 7, "idTagInfo": {"status": "Blocked"}}
    s = rig.plug_in(1)
    rig.start_tx(1, s, id_tag="BAD")
    assert ("stop_transaction", 1, "DeAuthorized") in rig.port.calls
    # the answer went to the cache: offline, the tag is Blocked
    rig.disconnect()
    result = rig.cp.validate_token(E.IdToken("BAD"))
    assert result.value == {"status": "Blocked"}


def test_invalid_id_tag_without_stop_pauses_after_max_energy(tmp_path):
    rig = Rig(tmp_path, overrides={"StopTransactionOnInvalidId": False, "MaxEnergyOnInvalidId": 500}).boot()
    rig.answers["StartTransaction"] = {"transactionId": 7, "idTagInfo": {"status": "Invalid"}}
    s = rig.plug_in(1)
    rig.start_tx(1, s, energy=1000)
    assert "stop_transaction" not in rig.port.names() and "pause_charging" not in rig.port.names()
    rig.meter(1, 1400)
    assert "pause_charging" not in rig.port.names()
    rig.meter(1, 1500)
    rig.meter(1, 1600)
    assert rig.port.names().count("pause_charging") == 1


def test_max_energy_on_invalid_id_survives_a_restart(tmp_path):
    """As in 2.0.1: the invalid mark and the energy at the start are in the record."""
    rig = Rig(tmp_path, overrides={"StopTransactionOnInvalidId": False, "MaxEnergyOnInvalidId": 500}).boot()
    rig.answers["StartTransaction"] = {"transactionId": 7, "idTagInfo": {"status": "Invalid"}}
    s = rig.plug_in(1)
    rig.start_tx(1, s, energy=100)
    rig.meter(1, 550)
    rig.restart()
    rig.boot()
    rig.event(E.SessionResumed(1, 1, s, rig.stamp()))
    rig.meter(1, 580)
    assert "pause_charging" not in rig.port.names()
    rig.meter(1, 600)
    assert rig.port.names().count("pause_charging") == 1


def test_no_per_session_state_is_left_behind(tmp_path):
    rig = Rig(tmp_path, overrides={"StopTransactionOnInvalidId": False, "MaxEnergyOnInvalidId": 500}).boot()
    rig.answers["StartTransaction"] = lambda p: {"transactionId": 7, "idTagInfo": {"status": "Invalid"}}
    block = rig.cp.blocks.transactions

    def session():
        s = rig.plug_in(1)
        rig.start_tx(1, s, energy=0)
        rig.meter(1, 600)
        rig.stop_tx(1, s)
        rig.unplug(1, s)

    def sizes():  # the block's containers and those of the common parts it keeps its state in
        return {(part, name): len(v) for part in (block, block.recovery, block.invalid_token)
                for name, v in vars(part).items() if isinstance(v, (dict, set, list))}

    session()
    after_one = sizes()
    for _ in range(24):
        session()
    assert sizes() == after_one and block.records() == []
    assert rig.port.names().count("pause_charging") == 25


def test_invalid_id_tag_zero_max_energy_pauses_at_once(tmp_path):
    rig = Rig(tmp_path, overrides={"StopTransactionOnInvalidId": False}).boot()
    rig.answers["StartTransaction"] = {"transactionId": 7, "idTagInfo": {"status": "Expired"}}
    s = rig.plug_in(1)
    rig.start_tx(1, s)
    assert ("pause_charging", 1) in rig.port.calls


@pytest.mark.parametrize("flag, stops", [(True, True), (False, False)])
def test_tc_005_1_ev_side_disconnect(tmp_path, flag, stops):
    rig = Rig(tmp_path, overrides={"StopTransactionOnEVSideDisconnect": flag}).boot()
    s = rig.plug_in(1)
    rig.start_tx(1, s)
    rig.unplug(1, s)  # the EV left while the transaction is still open
    assert (("stop_transaction", 1, "EVDisconnected") in rig.port.calls) is stops


def test_reservation_id_in_start(tmp_path):
    rig = Rig(tmp_path).boot()
    s = rig.plug_in(2)
    rig.start_tx(2, s, reservation_id=42)
    assert rig.calls("StartTransaction")[0]["reservationId"] == 42


def test_long_id_tag_is_cut_to_20(tmp_path):
    rig = Rig(tmp_path).boot()
    s = rig.plug_in(1)
    rig.start_tx(1, s, id_tag="X" * 36)
    assert rig.calls("StartTransaction")[0]["idTag"] == "X" * 20


def test_restart_keeps_transaction_and_stops_it_later(tmp_path):
    rig = Rig(tmp_path).boot()
    s = rig.plug_in(1)
    rig.start_tx(1, s)
    rig.restart()
    rig.boot()
    rec = rig.cp.blocks.transactions.active(1)
    assert rec is not None and rec.transaction_id == 100
    rig.stop_tx(1, s, energy=3000)
    assert rig.calls("StopTransaction")[-1]["transactionId"] == 100
    assert rig.request("RemoteStopTransaction", {"transactionId": 100}) == {"status": "Rejected"}


def test_orphan_after_charger_restart_is_closed_as_power_loss(tmp_path):
    rig = Rig(tmp_path).boot()
    s = rig.plug_in(1)
    rig.start_tx(1, s, energy=100)
    rig.meter(1, 900)
    rig.advance(60)  # the periodic sample stores the last reading
    rig.restart()
    rig.boot()
    rig.plug_in(1)  # the EVSE starts afresh: the old transaction can never finish
    stop = rig.calls("StopTransaction")[-1]
    assert (stop["transactionId"], stop["reason"], stop["meterStop"]) == (100, "PowerLoss", 900)
    assert rig.cp.blocks.transactions.records() == []


def test_stop_queued_before_crash_is_not_sent_twice(tmp_path):
    rig = Rig(tmp_path).boot()
    s = rig.plug_in(1)
    rig.start_tx(1, s)
    rig.disconnect()
    # a crash between queueing StopTransaction and forgetting the record: simulate by
    # queueing a StopTransaction for the session directly, then restarting
    rig.cp.core.send_transactional("StopTransaction", {"transactionId": 100, "meterStop": 1, "timestamp":
                                                       "2026-01-01T00:00:00Z"}, s)
    rig.restart()
    assert rig.cp.blocks.transactions.records() == []


def test_two_evses_at_once(tmp_path):
    rig = Rig(tmp_path).boot()
    a, b = rig.plug_in(1), rig.plug_in(2)
    rig.start_tx(1, a, id_tag="A")
    rig.start_tx(2, b, id_tag="B")
    rig.stop_tx(2, b)
    rig.stop_tx(1, a)
    starts = {p["idTag"]: p["connectorId"] for p in rig.calls("StartTransaction")}
    assert starts == {"A": 1, "B": 2}
    assert [p["transactionId"] for p in rig.calls("StopTransaction")] == [101, 100]


# ------------------------------------------------------------------ crash / power-loss recovery
def running(tmp_path, energy: float = 1000.0):
    """A booted charge point with a transaction on EVSE 1 (transactionId 100); (rig, session)."""
    rig = Rig(tmp_path).boot()
    s = rig.plug_in(1)
    rig.start_tx(1, s, energy=energy)
    return rig, s


def last_stop(rig) -> tuple:
    stop = rig.calls("StopTransaction")[-1]
    return stop["transactionId"], stop["reason"], stop["meterStop"]


def test_unresumed_transaction_is_stopped_as_power_loss_when_the_evse_is_ready(tmp_path):
    rig, s = running(tmp_path, energy=100)
    rig.meter(1, 1234.4)   # every change of the energy reading is kept (no periodic sample needed)
    rig.restart()
    rig.boot()
    rig.cp.on_evse_event(E.EvseReady(1, (1,)))   # ready, and it did not resume the session
    rig.pump_answers()
    assert last_stop(rig) == (100, "PowerLoss", 1234)
    assert ("stop_transaction", 1, "PowerLoss") in rig.port.calls     # the EVSE is told
    assert rig.cp.blocks.transactions.records() == []


def test_resumed_transaction_goes_on_after_the_evse_is_ready(tmp_path):
    rig, s = running(tmp_path)
    rig.restart()
    rig.boot()
    rig.cp.on_evse_event(E.SessionResumed(1, 1, s, "2026-01-01T00:00:00Z"))
    rig.cp.on_evse_event(E.EvseReady(1, (1,)))
    assert rig.calls("StopTransaction") == [] and "stop_transaction" not in rig.port.names()
    assert rig.statuses(1)[-1] == "Charging"  # the resumed transaction's connector is not Available
    rig.stop_tx(1, s, energy=3000)
    assert last_stop(rig) == (100, "Local", 3000)


def test_evse_ready_leaves_transactions_of_this_run_alone(tmp_path):
    rig, s = running(tmp_path)
    rig.cp.on_evse_event(E.EvseReady(1, (1,)))   # e.g. a second get_evse answer
    assert rig.calls("StopTransaction") == [] and rig.cp.blocks.transactions.active(1) is not None


def test_transaction_id_acknowledged_just_before_a_crash_is_recovered_from_the_outbox(tmp_path):
    rig, s = running(tmp_path)
    db = rig.cp.blocks.transactions.db   # the crash came between the outbox commit and this update
    db.execute("UPDATE tx16 SET transaction_id = NULL WHERE session_id = ?", (s,))
    rig.cp.core.outbox.set_transaction_id(s, 100)   # the map row lives until StopTransaction is acked
    rig.restart()
    rig.boot()
    assert rig.cp.blocks.transactions.active(1).transaction_id == 100


def test_session_finished_with_a_transaction_the_evse_no_longer_has_is_stopped_here(tmp_path):
    rig, s = running(tmp_path, energy=100)
    rig.meter(1, 700)
    rig.port.ok["stop_transaction"] = False   # its TransactionFinished was lost (published while we were down)
    rig.unplug(1, s)
    assert last_stop(rig) == (100, "EVDisconnected", 700)
    assert rig.cp.blocks.transactions.records() == []


def test_start_queued_just_before_a_crash_rebuilds_the_lost_record(tmp_path):
    rig = Rig(tmp_path).boot()
    rig.disconnect()
    # the crash came after the StartTransaction was queued and before its record was written
    rig.cp.core.send_transactional("StartTransaction", {"connectorId": 1, "idTag": "TAG1", "meterStart": 500,
                                                        "timestamp": "2026-01-01T00:00:00.000Z"}, "s-lost")
    rig.restart()
    rec = rig.cp.blocks.transactions.active(1)
    assert (rec.session_id, rec.id_tag, rec.meter_start) == ("s-lost", "TAG1", 500)
    rig.reconnect()
    rig.cp.on_evse_event(E.EvseReady(1, (1,)))   # the EVSE did not resume it
    rig.pump_answers()
    assert [a for a in rig.actions() if a.endswith("Transaction")] == ["StartTransaction", "StopTransaction"]
    assert last_stop(rig) == (100, "PowerLoss", 500)


def test_unlock_connector_on_ev_side_disconnect_follows_its_key(tmp_path):
    rig, s = running(tmp_path)
    rig.stop_tx(1, s, reason="EVDisconnected")
    assert ("force_unlock", 1, 1) in rig.port.calls
    rig2, s2 = running(tmp_path / "off")
    assert rig2.request("ChangeConfiguration", {"key": "UnlockConnectorOnEVSideDisconnect", "value": "false"}) == \
        {"status": "Accepted"}
    rig2.stop_tx(1, s2, reason="EVDisconnected")
    assert "force_unlock" not in rig2.port.names()


# ------------------------------------------------------------------ all or nothing (H6)
def disk_state(tmp_path) -> tuple[list, list]:
    """What a second connection sees: (queued actions, transaction records)."""
    conn = sqlite3.connect(tmp_path / "outbox.db")
    try:
        return ([a for (a,) in conn.execute("SELECT action FROM outbox ORDER BY id")],
                [s for (s,) in conn.execute("SELECT session_id FROM tx16")])
    finally:
        conn.close()


def fail_write(*args):
    raise sqlite3.OperationalError("disk I/O error")


def test_start_transaction_and_its_record_exist_both_or_neither(tmp_path, monkeypatch):
    rig = Rig(tmp_path).boot()
    rig.answers["StartTransaction"] = None            # unanswered: what was queued stays queued
    seen = events(rig)
    tx = rig.cp.blocks.transactions
    monkeypatch.setattr(tx, "_insert", fail_write)   # the record's write fails after the message's
    s = rig.plug_in(1)
    rig.start_tx(1, s)
    assert tx.records() == [] and rig.cp.core.messages_in_queue(s) == 0   # in memory: neither
    assert disk_state(tmp_path) == ([], [])                              # on disk: neither
    assert rig.calls("StartTransaction") == [] and seen == []            # nothing went out
    monkeypatch.undo()
    rig.restart()
    rig.boot()
    assert rig.cp.blocks.transactions.records() == [] and rig.calls("StartTransaction") == []
    s2 = rig.plug_in(1)                                                  # the next session works
    rig.start_tx(1, s2)
    assert [r.session_id for r in rig.cp.blocks.transactions.records()] == [s2]
    assert disk_state(tmp_path) == (["StartTransaction"], [s2]) and len(rig.calls("StartTransaction")) == 1


def test_stop_transaction_and_the_removal_of_its_record_happen_both_or_neither(tmp_path, monkeypatch):
    rig, s = running(tmp_path)
    rig.answers["StopTransaction"] = None
    seen = events(rig)
    tx = rig.cp.blocks.transactions
    monkeypatch.setattr(tx, "_forget", fail_write)   # the record's removal fails after the message's
    rig.stop_tx(1, s)
    assert [r.session_id for r in tx.records()] == [s] and rig.cp.core.messages_in_queue(s) == 0
    assert rig.calls("StopTransaction") == [] and seen == []
    assert disk_state(tmp_path) == ([], [s])
    monkeypatch.undo()
    rig.stop_tx(1, s)                                                    # the EVSE says it again
    assert last_stop(rig) == (100, "Local", 2000) and tx.records() == []
    assert disk_state(tmp_path) == (["StopTransaction"], []) and len(rig.calls("StopTransaction")) == 1
