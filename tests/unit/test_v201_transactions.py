"""OCPP 2.0.1 TransactionEvent (block E) from EVSE session events, on the pure core.

Scripted CSMS, fake EVSE port, fake clock (``v201_harness``); every TransactionEvent the
station writes has passed the official schema in the core. Test ids cite OCA 2.0.1 cases
only where the test covers what the case checks.
"""

import json
import sqlite3

import pytest
from v201_harness import Sim, auth_first, charging, full_session_start, plug, sample, tx_finished, tx_started, unplug

from ocpp_bridge.impls.ocpp_generic import transaction_answer_value, transaction_event_value
from ocpp_bridge.ocpp import evse_events as E
from ocpp_bridge.ocpp.events import TxAnswered, TxEnded, TxStarted, TxUpdated
from ocpp_bridge.ocpp.v201.tx_records import Tx


def events(sim):
    return sim.payloads("TransactionEvent")


def brief(sim, since=0):
    return [(e["eventType"], e["triggerReason"], e["transactionInfo"].get("chargingState"))
            for e in events(sim)[since:]]


def points(start=None, stop=None):
    tx = {}
    if start:
        tx["TxStartPoint"] = start
    if stop:
        tx["TxStopPoint"] = stop
    return {"TxCtrlr": tx}


# ------------------------------------------------------------------------ start points
def test_tc_e_01_power_path_closed_starts_on_authorization_after_plug_in(tmp_path):
    sim = Sim(tmp_path)
    sim.ev(plug(1, "s1"))
    assert events(sim) == []
    sim.ev(tx_started(1, "s1", "TAG1", energy=100))
    started = events(sim)[0]
    assert started["eventType"] == "Started" and started["triggerReason"] == "Authorized"
    assert started["seqNo"] == 0
    assert started["transactionInfo"] == {"transactionId": "s1", "chargingState": "EVConnected"}
    assert started["evse"] == {"id": 1, "connectorId": 1}
    assert started["idToken"] == {"idToken": "TAG1", "type": "ISO14443"}
    begin = started["meterValue"][0]["sampledValue"][0]
    assert begin["context"] == "Transaction.Begin" and begin["value"] == 100
    assert begin["measurand"] == "Energy.Active.Import.Register"
    assert "offline" not in started


def test_tc_e_02_energy_transfer_start_point(tmp_path):
    sim = Sim(tmp_path, overrides=points(start="EnergyTransfer"))
    sim.ev(plug(1, "s1"), tx_started(1, "s1"))
    assert events(sim) == []
    sim.ev(charging(1, "s1"))
    assert brief(sim) == [("Started", "ChargingStateChanged", "Charging")]
    assert events(sim)[0]["idToken"]["idToken"] == "TAG1"


def test_tc_e_09_ev_connected_start_point_then_authorization(tmp_path):
    sim = Sim(tmp_path, overrides=points(start="EVConnected"))
    sim.ev(plug(1, "s1"))
    assert brief(sim) == [("Started", "CablePluggedIn", "EVConnected")]
    assert "idToken" not in events(sim)[0]
    sim.ev(tx_started(1, "s1", "TAG9"), charging(1, "s1"))
    assert brief(sim)[1:] == [("Updated", "Authorized", None), ("Updated", "ChargingStateChanged", "Charging")]
    assert events(sim)[1]["idToken"]["idToken"] == "TAG9"
    assert [e["seqNo"] for e in events(sim)] == [0, 1, 2]


def test_tc_e_10_authorized_start_point_authorization_first(tmp_path):
    sim = Sim(tmp_path, overrides=points(start="Authorized"))
    sim.ev(auth_first(2, "s2", "TAG2"))
    assert brief(sim) == [("Started", "Authorized", "Idle")]
    assert events(sim)[0]["idToken"]["idToken"] == "TAG2"
    sim.ev(tx_started(2, "s2", "TAG2"))
    updated = events(sim)[1]
    assert (updated["eventType"], updated["triggerReason"]) == ("Updated", "CablePluggedIn")
    assert updated["evse"] == {"id": 2, "connectorId": 1}                   # first event after the EV connected
    assert updated["transactionInfo"]["chargingState"] == "EVConnected"
    assert "idToken" not in updated                                          # already sent


def test_tc_e_04_authorization_first_then_plug_in_with_power_path_closed(tmp_path):
    sim = Sim(tmp_path)
    sim.ev(auth_first(1, "s1"))
    assert events(sim) == []
    sim.ev(tx_started(1, "s1"))
    assert brief(sim) == [("Started", "CablePluggedIn", "EVConnected")]
    assert events(sim)[0]["idToken"]["idToken"] == "TAG1"


# ------------------------------------------------------------------------ stop points
def test_tc_e_14_ev_disconnect_ends_the_transaction(tmp_path):
    sim = Sim(tmp_path)
    full_session_start(sim, 1, "s1")
    sim.ev(tx_finished(1, "s1", "EVDisconnected", energy=4200), unplug(1, "s1"))
    ended = events(sim)[-1]
    assert ended["eventType"] == "Ended" and ended["triggerReason"] == "EVCommunicationLost"
    assert ended["transactionInfo"] == {"transactionId": "s1", "chargingState": "Idle",
                                        "stoppedReason": "EVDisconnected"}
    end = ended["meterValue"][-1]["sampledValue"][0]
    assert end["context"] == "Transaction.End" and end["value"] == 4200
    assert len(events(sim)) == 3                                    # SessionFinished adds nothing


def test_tc_e_15_local_stop_authorized_ends_it_with_the_stop_token(tmp_path):
    sim = Sim(tmp_path)
    full_session_start(sim, 1, "s1")
    sim.ev(tx_finished(1, "s1", "Local", token="TAG1"))
    ended = events(sim)[-1]
    assert (ended["eventType"], ended["triggerReason"]) == ("Ended", "StopAuthorized")
    assert ended["transactionInfo"]["stoppedReason"] == "Local"
    assert ended["transactionInfo"]["chargingState"] == "EVConnected"
    assert ended["idToken"]["idToken"] == "TAG1"
    assert sim.cp.transactions.active_evses() == set()


def test_ev_connected_stop_point_keeps_the_transaction_until_unplug(tmp_path):
    sim = Sim(tmp_path, overrides=points(stop="EVConnected"))
    full_session_start(sim, 1, "s1")
    sim.ev(tx_finished(1, "s1", "Local", token="TAG1"))
    assert brief(sim)[-1] == ("Updated", "StopAuthorized", "EVConnected")
    assert events(sim)[-1]["idToken"]["idToken"] == "TAG1"
    assert sim.cp.transactions.active_evses() == {1}
    sim.ev(unplug(1, "s1"))
    assert brief(sim)[-1] == ("Ended", "EVCommunicationLost", "Idle")
    assert events(sim)[-1]["transactionInfo"]["stoppedReason"] == "EVDisconnected"


def test_tc_e_22_energy_transfer_stop_point_on_suspended_ev(tmp_path):
    sim = Sim(tmp_path, overrides=points(stop="EnergyTransfer"))
    full_session_start(sim, 1, "s1")
    sim.ev(charging(1, "s1", "SuspendedEV"))
    ended = events(sim)[-1]
    assert (ended["eventType"], ended["triggerReason"]) == ("Ended", "ChargingStateChanged")
    assert ended["transactionInfo"]["stoppedReason"] == "StoppedByEV"
    assert ended["transactionInfo"]["chargingState"] == "SuspendedEV"


@pytest.mark.parametrize("everest, reason, trigger", [
    ("HardReset", "ImmediateReset", "ResetCommand"),
    ("PowerLoss", "PowerLoss", "AbnormalCondition"),
    ("EmergencyStop", "EmergencyStop", "AbnormalCondition"),
    ("UnlockCommand", "Other", "AbnormalCondition"),
])
def test_an_abnormal_end_ends_it_whatever_the_stop_points(tmp_path, everest, reason, trigger):
    sim = Sim(tmp_path, overrides=points(stop="EVConnected"))
    full_session_start(sim, 1, "s1")
    sim.ev(tx_finished(1, "s1", everest))
    ended = events(sim)[-1]
    assert (ended["eventType"], ended["triggerReason"], ended["transactionInfo"]["stoppedReason"]) == \
        ("Ended", trigger, reason)
    assert ended["transactionInfo"]["chargingState"] == "EVConnected"    # charging has stopped


@pytest.mark.parametrize("everest, reason, trigger", [
    ("Remote", "Remote", "RemoteStop"), ("DeAuthorized", "DeAuthorized", "Deauthorized"),
    ("EnergyLimitReached", "EnergyLimitReached", "EnergyLimitReached"), ("Timeout", "Timeout", "EVConnectTimeout"),
])
def test_stop_reason_and_trigger_mapping(tmp_path, everest, reason, trigger):
    sim = Sim(tmp_path)
    full_session_start(sim, 1, "s1")
    sim.ev(tx_finished(1, "s1", everest))
    ended = events(sim)[-1]
    assert (ended["triggerReason"], ended["transactionInfo"]["stoppedReason"]) == (trigger, reason)


def test_session_without_transaction_sends_nothing(tmp_path):
    sim = Sim(tmp_path)
    sim.ev(plug(1, "s1"), unplug(1, "s1"))
    assert events(sim) == []
    assert sim.cp.transactions.store.load() == []


# ------------------------------------------------------------------------ seqNo, offline, restart
def test_tc_e_43_events_made_offline_are_flagged_and_sent_later(tmp_path):
    sim = Sim(tmp_path)
    sim.disconnect()
    full_session_start(sim, 1, "s1")
    sim.ev(tx_finished(1, "s1", "EVDisconnected"), unplug(1, "s1"))
    assert events(sim) == []
    assert sim.cp.core.messages_in_queue("s1") == 3
    sim.connect()
    assert [e["seqNo"] for e in events(sim)] == [0, 1, 2]
    assert all(e["offline"] is True for e in events(sim))


def test_seq_no_continues_after_a_restart(tmp_path):
    sim = Sim(tmp_path)
    full_session_start(sim, 1, "s1")
    sim.restart()
    sim.connect()
    sim.ev(charging(1, "s1", "SuspendedEVSE"), tx_finished(1, "s1", "EVDisconnected"))
    assert [e["seqNo"] for e in events(sim)] == [2, 3]
    assert events(sim)[-1]["eventType"] == "Ended"


def test_seq_no_is_persisted_with_each_event(tmp_path):
    sim = Sim(tmp_path)
    sim.hold.add("TransactionEvent")
    full_session_start(sim, 1, "s1")
    [record] = sim.cp.transactions.store.load()
    assert record.seq_no == 2 and record.started


def test_a_new_session_ends_a_stale_one_left_by_a_restart(tmp_path):
    sim = Sim(tmp_path)
    full_session_start(sim, 1, "old")
    sim.restart()
    sim.connect()
    sim.ev(plug(1, "new"))
    ended = events(sim)[-1]
    assert ended["transactionInfo"]["transactionId"] == "old" and ended["eventType"] == "Ended"
    assert ended["transactionInfo"]["stoppedReason"] == "PowerLoss"


def test_two_evses_charge_at_once(tmp_path):
    sim = Sim(tmp_path)
    full_session_start(sim, 1, "a")
    full_session_start(sim, 2, "b")
    sim.ev(tx_finished(1, "a", "EVDisconnected"))
    by_tx = {}
    for e in events(sim):
        by_tx.setdefault(e["transactionInfo"]["transactionId"], []).append((e["eventType"], e["seqNo"]))
    assert by_tx == {"a": [("Started", 0), ("Updated", 1), ("Ended", 2)], "b": [("Started", 0), ("Updated", 1)]}
    assert sim.cp.transactions.active_evses() == {2}


def test_long_session_ids_get_a_transaction_id_of_36_characters(tmp_path):
    sim = Sim(tmp_path)
    long_id = "x" * 50
    sim.ev(plug(1, long_id), tx_started(1, long_id))
    tid = events(sim)[0]["transactionInfo"]["transactionId"]
    assert len(tid) <= 36 and tid != long_id


# ------------------------------------------------------------------------ bus and responses
def test_bus_events_and_responses(tmp_path):
    sim = Sim(tmp_path)
    seen, responses = [], []
    for kind in (TxStarted, TxUpdated, TxEnded):
        sim.cp.core.events.subscribe(kind, lambda e: seen.append(transaction_event_value(e)))
    sim.cp.core.events.subscribe(TxAnswered, lambda a: responses.append(transaction_answer_value(a)))
    sim.answers["TransactionEvent"] = lambda req: {"totalCost": 1.5, "chargingPriority": 2,
                                                   "updatedPersonalMessage": {"format": "UTF8", "content": "hi"}}
    full_session_start(sim, 2, "s2")
    assert seen[0] == {"transaction_event": "Started", "session_id": "s2", "evse": {"id": 2, "connector_id": 1},
                       "transaction_id": "s2"}
    assert [s["transaction_event"] for s in seen] == ["Started", "Updated"]
    assert responses[0] == {"original_transaction_event": seen[0], "total_cost": 1.5, "charging_priority": 2,
                            "personal_message": {"content": "hi", "format": "UTF8"}}
    sim.ev(tx_finished(2, "s2", "EVDisconnected"))
    assert responses[-1]["original_transaction_event"]["transaction_event"] == "Ended"
    assert responses[-1]["original_transaction_event"]["evse"] == {"id": 2, "connector_id": 1}


def test_tc_c_16_invalid_token_in_the_response_stops_the_transaction(tmp_path):
    sim = Sim(tmp_path)
    sim.answers["TransactionEvent"] = lambda req: ({"idTokenInfo": {"status": "Invalid"}} if "idToken" in req else {})
    full_session_start(sim, 1, "s1")
    assert sim.port.of("stop_transaction") == [(1, "DeAuthorized")]


def test_tc_c_17_invalid_token_with_stop_tx_on_invalid_id_false_only_pauses(tmp_path):
    sim = Sim(tmp_path, overrides={"TxCtrlr": {"StopTxOnInvalidId": False}})
    sim.answers["TransactionEvent"] = lambda req: ({"idTokenInfo": {"status": "Blocked"}} if "idToken" in req else {})
    full_session_start(sim, 1, "s1")
    assert sim.port.of("stop_transaction") == []
    assert sim.port.of("pause_charging") == [(1,)]


def test_reservation_id_goes_into_started(tmp_path):
    sim = Sim(tmp_path)
    sim.ev(plug(1, "s1"), tx_started(1, "s1", reservation_id=7))
    assert events(sim)[0]["reservationId"] == 7


def test_meter_reading_with_phases_in_started(tmp_path):
    sim = Sim(tmp_path, overrides={"SampledDataCtrlr": {
        "TxStartedMeasurands": "Energy.Active.Import.Register,Voltage,Current.Import"}})
    reading = sample(10, voltage_v={"L1": 230.0, "L2": 231.0}, current_a={"L1": 16.0})
    sim.ev(plug(1, "s1"), E.TransactionStarted(1, 1, "s1", "2026-01-01T00:01:40Z", E.IdToken("T"), reading))
    values = {(v["measurand"], v.get("phase")): v["value"] for v in events(sim)[0]["meterValue"][0]["sampledValue"]}
    assert values == {("Energy.Active.Import.Register", None): 10, ("Voltage", "L1-N"): 230,
                      ("Voltage", "L2-N"): 231, ("Current.Import", "L1"): 16}


def test_an_ev_plugged_in_before_a_restart_still_occupies_its_connector(tmp_path):
    sim = Sim(tmp_path)
    full_session_start(sim, 2, "s2")
    sim.restart()
    sim.connect()
    assert [(p["evseId"], p["connectorStatus"]) for p in sim.payloads("StatusNotification")] == [
        (1, "Available"), (2, "Occupied")]
    sim.ev(unplug(2, "s2"))
    assert sim.payloads("StatusNotification")[-1]["connectorStatus"] == "Available"


# ------------------------------------------------------------------ crash / power-loss recovery
def test_unresumed_transaction_ends_as_power_loss_with_the_last_reading(tmp_path):
    sim = Sim(tmp_path)
    full_session_start(sim, 1, "s1")
    sim.ev(E.MeterReading(1, sample(4321.0)))
    before = events(sim)[-1]["seqNo"]
    sim.restart()
    sim.connect()
    sim.ev(E.EvseReady(1, (1,)))
    ended = events(sim)[-1]
    assert ended["eventType"] == "Ended" and ended["seqNo"] == before + 1
    assert ended["triggerReason"] == "AbnormalCondition"
    assert ended["transactionInfo"]["stoppedReason"] == "PowerLoss"
    end = ended["meterValue"][-1]["sampledValue"][0]
    assert (end["context"], end["value"]) == ("Transaction.End", 4321.0)
    assert sim.port.of("stop_transaction") == [(1, "PowerLoss")]
    assert sim.cp.transactions.on_evse(1) is None
    evse1 = [p["connectorStatus"] for p in sim.payloads("StatusNotification") if p["evseId"] == 1]
    assert evse1 == ["Occupied", "Available"]          # set Occupied at load; the session is over


def test_resumed_transaction_goes_on_with_the_next_seq_no(tmp_path):
    sim = Sim(tmp_path)
    full_session_start(sim, 1, "s1")
    before = events(sim)[-1]["seqNo"]
    sim.restart()
    sim.connect()
    sim.ev(E.SessionResumed(1, 1, "s1", "2026-01-01T00:00:00Z"), E.EvseReady(1, (1,)))
    assert events(sim) == [] and sim.port.of("stop_transaction") == []
    sim.ev(tx_finished(1, "s1", "EVDisconnected"))
    ended = events(sim)[-1]
    assert ended["eventType"] == "Ended" and ended["seqNo"] == before + 1
    assert ended["transactionInfo"]["stoppedReason"] == "EVDisconnected"


def test_ended_queued_just_before_a_crash_is_not_sent_again(tmp_path):
    sim = Sim(tmp_path)
    full_session_start(sim, 1, "s1")
    sim.disconnect()
    tx = sim.cp.transactions.store.load()[0]
    # a crash between queueing Ended and removing the record: queue it, keep the record
    sim.cp.core.send_transactional("TransactionEvent", {
        "eventType": "Ended", "timestamp": "2026-01-01T00:00:00Z", "triggerReason": "EVCommunicationLost",
        "seqNo": tx.seq_no, "transactionInfo": {"transactionId": "s1", "stoppedReason": "EVDisconnected"}}, "s1")
    sim.restart()
    sim.connect()
    sim.ev(E.EvseReady(1, (1,)))
    assert [e["eventType"] for e in events(sim)] == ["Ended"]
    assert sim.cp.transactions.store.load() == []


def test_record_saved_behind_the_outbox_takes_the_queued_seq_no(tmp_path):
    sim = Sim(tmp_path)
    sim.disconnect()
    full_session_start(sim, 1, "s1")                       # seqNo 0, 1 queued
    tx = sim.cp.transactions.store.load()[0]
    tx.seq_no = 1   # the crash came after seqNo 1 was queued and before the record was saved
    sim.cp.transactions.store.save(tx)
    sim.restart()
    sim.connect()
    sim.ev(E.SessionResumed(1, 1, "s1", "2026-01-01T00:00:00Z"), tx_finished(1, "s1"))
    assert [e["seqNo"] for e in events(sim)] == [0, 1, 2]


def test_started_queued_just_before_a_crash_rebuilds_the_lost_record(tmp_path):
    sim = Sim(tmp_path, overrides=points(start="EVConnected"))
    sim.disconnect()
    sim.ev(plug(1, "s1"))                                  # Started queued (seqNo 0)
    sim.cp.transactions.store.db.execute("DELETE FROM tx")  # ... and its record never written
    sim.restart()
    sim.connect()
    sim.ev(E.EvseReady(1, (1,)))
    assert [(e["eventType"], e["seqNo"]) for e in events(sim)] == [("Started", 0), ("Ended", 1)]
    assert events(sim)[-1]["transactionInfo"]["stoppedReason"] == "PowerLoss"


def test_max_energy_on_invalid_id_lets_that_much_energy_through_before_pausing(tmp_path):
    sim = Sim(tmp_path, overrides={"TxCtrlr": {"StopTxOnInvalidId": False, "MaxEnergyOnInvalidId": 500}})
    sim.answers["TransactionEvent"] = lambda req: ({"idTokenInfo": {"status": "Invalid"}} if "idToken" in req else {})
    full_session_start(sim, 1, "s1")
    assert sim.port.of("pause_charging") == []
    sim.ev(E.MeterReading(1, sample(300.0)))
    assert sim.port.of("pause_charging") == []
    sim.ev(E.MeterReading(1, sample(500.0)))
    assert sim.port.of("pause_charging") == [(1,)]
    sim.ev(E.MeterReading(1, sample(900.0)))
    assert sim.port.of("pause_charging") == [(1,)]  # once


def invalid_token_sim(tmp_path):
    sim = Sim(tmp_path, overrides={"TxCtrlr": {"StopTxOnInvalidId": False, "MaxEnergyOnInvalidId": 500}})
    sim.answers["TransactionEvent"] = lambda req: ({"idTokenInfo": {"status": "Invalid"}} if "idToken" in req else {})
    return sim


def test_max_energy_on_invalid_id_survives_a_restart(tmp_path):
    sim = invalid_token_sim(tmp_path)
    sim.ev(plug(1, "s1"), tx_started(1, "s1", energy=100.0), charging(1, "s1"))   # declared invalid
    sim.ev(E.MeterReading(1, sample(550.0)))                                       # 450 Wh so far
    assert sim.port.of("pause_charging") == []
    sim.restart()
    sim.connect()
    sim.ev(E.SessionResumed(1, 1, "s1", "2026-01-01T00:00:00Z"))
    sim.ev(E.MeterReading(1, sample(580.0)))
    assert sim.port.of("pause_charging") == []          # still counted from the start (100 Wh)
    sim.ev(E.MeterReading(1, sample(600.0)))
    assert sim.port.of("pause_charging") == [(1,)]


def block_sizes(block) -> dict:
    """The block's containers and those of the common parts it keeps its state in."""
    return {(part, name): len(value) for part in (block, block.recovery, block.invalid_token)
            for name, value in vars(part).items() if isinstance(value, (dict, set, list))}


def test_no_per_session_state_is_left_behind(tmp_path):
    sim = invalid_token_sim(tmp_path)
    block = sim.cp.transactions

    def session(n):
        sid = f"s{n}"
        sim.ev(plug(1, sid), tx_started(1, sid, energy=0.0), charging(1, sid), E.MeterReading(1, sample(600.0)),
               tx_finished(1, sid), unplug(1, sid))

    session(0)
    after_one = block_sizes(block)
    for n in range(1, 25):
        session(n)
    assert block_sizes(block) == after_one
    assert len(sim.port.of("pause_charging")) == 25 and block.store.load() == []


# ------------------------------------------------------------------ all or nothing (H6)
def disk_state(tmp_path) -> tuple[list, list]:
    """What a second connection sees: (queued seqNos, (started, seqNo) of each record)."""
    conn = sqlite3.connect(tmp_path / "outbox.db")
    try:
        queued = [json.loads(p)["seqNo"] for (p,) in conn.execute("SELECT payload FROM outbox ORDER BY id")]
        records = [(t.started, t.seq_no) for t in (Tx.from_json(d) for (d,) in conn.execute("SELECT data FROM tx"))]
        return queued, records
    finally:
        conn.close()


def failing_save_once(monkeypatch, store, when):
    """The next save of a record that ``when`` picks raises, after its message was queued."""
    original, left = store.save, [1]

    def save(tx):
        if left[0] and when(tx):
            left[0] = 0
            raise sqlite3.OperationalError("disk I/O error")
        original(tx)
    monkeypatch.setattr(store, "save", save)


def test_started_event_and_its_record_exist_both_or_neither(tmp_path, monkeypatch):
    sim = Sim(tmp_path)
    sim.hold.add("TransactionEvent")                     # keep what was queued in the outbox
    failing_save_once(monkeypatch, sim.cp.transactions.store, lambda tx: tx.started)
    sim.ev(plug(1, "s1"), tx_started(1, "s1"))
    assert events(sim) == [] and sim.cp.core.messages_in_queue("s1") == 0   # in memory: no message,
    assert sim.cp.transactions.active_evses() == set()                      # no transaction
    assert disk_state(tmp_path) == ([], [(False, 0)])                       # on disk: the plug-in only
    sim.ev(tx_started(1, "s1"))                                             # the EVSE says it again
    assert [(e["eventType"], e["seqNo"]) for e in events(sim)] == [("Started", 0)]
    assert disk_state(tmp_path) == ([0], [(True, 1)])


def test_an_updated_event_whose_record_write_fails_is_not_sent_and_leaves_no_seq_no_gap(tmp_path, monkeypatch):
    sim = Sim(tmp_path)
    full_session_start(sim, 1, "s1")                      # Started (0), Updated Charging (1)
    failing_save_once(monkeypatch, sim.cp.transactions.store, lambda tx: tx.charging_state == "SuspendedEV")
    sim.ev(charging(1, "s1", "SuspendedEV"))
    assert [e["seqNo"] for e in events(sim)] == [0, 1] and sim.cp.transactions.on_evse(1).seq_no == 2
    assert disk_state(tmp_path) == ([], [(True, 2)])
    sim.ev(charging(1, "s1", "SuspendedEV"))              # told again: now it goes, with the next number
    assert [(e["seqNo"], e["transactionInfo"].get("chargingState")) for e in events(sim)][2:] == [
        (2, "SuspendedEV")]


def test_a_transaction_id_the_block_makes_up_comes_from_its_context(tmp_path):
    sim = Sim(tmp_path)
    made = iter(["made-up-1", "made-up-2"])
    sim.cp.transactions.new_id = lambda: next(made)   # BlockContext.new_id (a uuid4 text by default)
    long_id = "x" * 50
    sim.ev(plug(1, long_id), tx_started(1, long_id))
    assert events(sim)[0]["transactionInfo"]["transactionId"] == "made-up-1"
